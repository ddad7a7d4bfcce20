"""A case's card in Block Kit, rendered from the stored case when it is sent (so it is current).

Japanese first, then English. The person appears only by handle; a card made by a transfer shows
the intake answers only if the person agreed to sharing, otherwise only the topics.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.cases import Card, Case

from ..desk.summary import answer_text, topics_text
from ..desk.texts import OUTCOMES

ACCEPT, CLOSE, TRANSFER, RELEASE = "tsunagu_accept", "tsunagu_close", "tsunagu_transfer", "tsunagu_release"

_ANSWER_LABELS = {
    "topics": "テーマ / Topics", "age_band": "年代 / Age", "prefecture": "都道府県 / Prefecture",
    "danger": "命の危険 / Danger now", "language": "言語 / Language",
    "avoid_own_area": "地域外を希望 / Outside own area", "share_consent": "引継ぎ同意 / Consent to share",
}
_HIDDEN = {"agreed", "urgent"}


def full_summary(case: Case, card: Card) -> bool:
    return card.via != "transfer" or case.share_consent


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": text},
                              "action_id": action_id, "value": value}
    if style:
        button["style"] = style
    return button


def _status(case: Case, card: Card) -> str:
    if card.state == "moved" or case.org_id != card.org_id:
        return "➡️ 他の団体に移りました / Moved to another partner"
    if case.status == "closed" or card.state == "closed":
        return f"⏹ 終了 / Closed — {OUTCOMES.get(case.outcome or '', case.outcome or '')}"
    if case.status == "active":
        return f"💬 {case.counselor_name} さんが対応中 / In conversation with {case.counselor_name}"
    return "⏳ 対応待ち / Waiting for a counselor"


def render(case: Case, card: Card, *, now: datetime) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for `card` of `case` as it stands at `now`."""
    waited = int(case.waited(now).total_seconds() // 60)
    prefecture = "非表示 / hidden" if case.answers.get("avoid_own_area") else answer_text(
        "prefecture", case.answers.get("prefecture"))
    full = full_summary(case, card)
    urgency = "🔴 緊急 / urgent" if case.urgent else "通常 / normal"
    fields = [("テーマ / Topics", topics_text(case))]
    if full:
        fields += [("年代 / Age", answer_text("age_band", case.answers.get("age_band"))),
                   ("都道府県 / Prefecture", prefecture)]
    fields += [("言語 / Language", str(case.language)), ("緊急度 / Urgency", urgency),
               ("リスク語 / Risk words", "⚠️ " + "、".join(case.risk_words) if case.risk_words else "—"),
               ("待ち時間 / Waiting", f"{waited}分 / {waited} min")]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{case.label}"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in fields]},
    ]
    if full:
        lines = [f"• {_ANSWER_LABELS.get(k, k)}: {answer_text(k, v)}" for k, v in case.answers.items()
                 if k not in _HIDDEN and not (k == "prefecture" and case.answers.get("avoid_own_area"))]
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": "*受付の回答 / Intake answers*\n" + "\n".join(lines)}})
    else:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                       "相談者が共有に同意していないため、テーマのみ表示しています。 / "
                       "The person did not agree to sharing: topics only."}]})
    if card.via == "overflow":
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                       "⏩ 他の団体から回ってきた相談です / Overflowed from another partner"}]})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _status(case, card)}]})
    here = card.state == "open" and case.org_id == card.org_id
    value = str(card.id)
    if here and case.status == "queued":
        blocks.append({"type": "actions", "elements": [_button("対応する / Accept", ACCEPT, value, "primary")]})
    elif here and case.status == "active":
        blocks.append({"type": "actions", "elements": [
            _button("終了 / Close", CLOSE, value, "danger"),
            _button("引継ぎ / Transfer", TRANSFER, value),
            _button("順番待ちに戻す / Release", RELEASE, value)]})
    text = f"{case.label} — {topics_text(case)} — {_status(case, card)}"
    return text, blocks


def outcome_buttons(card_id: int) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": "終了の理由 / Outcome"}},
            {"type": "actions", "elements": [
                _button(label, CLOSE, f"{card_id}|{key}") for key, label in OUTCOMES.items() if key != "person_left"]}]


def followup_buttons(card_id: int, outcome: str, days: tuple[int, ...]) -> list[dict[str, Any]]:
    buttons = [_button("フォローなし / No check-in", CLOSE, f"{card_id}|{outcome}|0")]
    buttons += [
        _button(f"{d}日後にフォロー / Check in after {d} days", CLOSE, f"{card_id}|{outcome}|{d}") for d in days
    ]
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "フォローアップを提案しますか？ / Offer a check-in?"}},
        {"type": "actions", "elements": buttons},
    ]


def transfer_buttons(card_id: int, options: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "引継ぎ先 / Transfer to"}},
        {"type": "actions", "elements": [_button(name[:70], TRANSFER, f"{card_id}|{org}") for org, name in options]},
    ]
