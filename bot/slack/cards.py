"""A case's card in Block Kit, rendered from the stored case when it is sent (so it is current).

Japanese first, then English. What the card may show is decided once, in bot/desk/summary.py
(the person appears only by handle; without consent an overflow's, transfer's or follow-up's card
shows the topics only); this module only lays it out.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from storage.cases import Card, Case

from ..desk.summary import summarize
from ..desk.texts import OUTCOMES
from .markup import escape

ACCEPT, CLOSE, TRANSFER, RELEASE = "tsunagu_accept", "tsunagu_close", "tsunagu_transfer", "tsunagu_release"
TAKE_OVER = "tsunagu_takeover"


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


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def render(case: Case, card: Card, *, now: datetime) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for `card` of `case` as it stands at `now`."""
    s = summarize(case, card, now)
    s = replace(s, topics=escape(s.topics), answers=tuple((escape(a), escape(b)) for a, b in s.answers))
    urgency = "🔴 緊急 / urgent" if s.urgent else "通常 / normal"
    fields = [("テーマ / Topics", s.topics)]
    if s.full:
        fields += [("年代 / Age", s.age_band), ("都道府県 / Prefecture", s.prefecture)]
    fields += [("言語 / Language", s.language), ("緊急度 / Urgency", urgency),
               ("リスク語 / Risk words", "⚠️ " + "、".join(s.risk_words) if s.risk_words else "—"),
               ("待ち時間 / Waiting", f"{s.waited_minutes}分 / {s.waited_minutes} min")]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": s.label}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in fields]},
    ]
    if s.full:
        lines = [f"• テーマ / Topics: {s.topics}"] + [f"• {label}: {text}" for label, text in s.answers]
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": "*受付の回答 / Intake answers*\n" + "\n".join(lines)}})
    else:
        blocks.append(_context("相談者が共有に同意していないため、テーマのみ表示しています。 / "
                               "The person did not agree to sharing: topics only."))
    if s.via == "overflow":
        blocks.append(_context("⏩ 他の団体から回ってきた相談です / Overflowed from another partner"))
    blocks.append(_context(_status(case, card)))
    here = card.state == "open" and case.org_id == card.org_id
    value = str(card.id)
    if here and case.status == "queued":
        blocks.append({"type": "actions", "elements": [_button("対応する / Accept", ACCEPT, value, "primary")]})
    elif here and case.status == "active":
        blocks.append({"type": "actions", "elements": [
            _button("終了 / Close", CLOSE, value, "danger"),
            _button("引継ぎ / Transfer", TRANSFER, value),
            _button("順番待ちに戻す / Release", RELEASE, value),
            _button("交代する（SV） / Take over (supervisor)", TAKE_OVER, value)]})
    text = f"{s.label} — {s.topics} — {_status(case, card)}"
    return text, blocks


def outcome_buttons(card_id: int) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": "終了の理由 / Outcome"}},
            {"type": "actions", "elements": [
                _button(label, CLOSE, f"{card_id}|{key}") for key, label in OUTCOMES.items()
                if key not in ("person_left", "erased")]}]


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
