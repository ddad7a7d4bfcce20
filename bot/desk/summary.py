"""The intake summary as counselors read it: one rule for what a card may show, one set of labels,
for the Slack card and the web desk alike.

A card shows the intake answers only on the card of the partner the person was routed to (it
sees what they answered for it), or on any card if the person agreed to sharing. An overflow's,
a transfer's and a follow-up's card without that consent shows the topics only. Urgency and risk
words stay on every card: they are there to protect a life (APPI allows that without consent). A
person who asked for a partner outside their own area has their prefecture hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from routing import PREFECTURES, PREFECTURES_EN, TOPICS, municipalities
from storage.cases import Card, Case

from .queue import effective_priority

LABELS: dict[str, str] = {
    "topics": "テーマ / Topics", "age_band": "年代 / Age", "prefecture": "都道府県 / Prefecture",
    "municipality": "市区町村 / Municipality",
    "danger": "命の危険 / Danger now", "language": "言語 / Language",
    "avoid_own_area": "地域外を希望 / Outside own area", "share_consent": "引継ぎ同意 / Consent to share",
}
HIDDEN = frozenset({"agreed", "urgent"})
HIDDEN_PREFECTURE = "非表示 / hidden"
NONE = "—"
# The intake's answers in words (Japanese / English), never the codes the flow saves.
VALUES: dict[str, dict[str, str]] = {
    "age_band": {
        "under_13": "12歳以下 / 12 or under", "13_15": "13〜15歳 / 13–15", "16_18": "16〜18歳 / 16–18",
        "19_29": "19〜29歳 / 19–29", "30s": "30代 / 30s", "40s": "40代 / 40s", "50s": "50代 / 50s",
        "60s": "60代 / 60s", "70_plus": "70歳以上 / 70 or over",
    },
    "danger": {"yes": "はい / yes", "no": "いいえ / no"},
    "language": {"ja": "日本語 / Japanese", "en": "英語 / English", "other": "ほかの言語 / another language"},
}
ANSWERED_NOTHING = "答えたくない / rather not say"


def topics_text(case: Case) -> str:
    """The case's topics in words, first chosen first, Japanese then English."""
    return answer_text("topics", case.answers.get("topics")) or NONE


def answer_text(key: str, value: Any) -> str:
    """One intake answer for a counselor to read: words in both languages, never a code; 「—」 for
    none."""
    if key == "topics":
        topics = list(value or ())
        if not topics:
            return ""
        ja = "、".join(TOPICS.get(t, (t, t))[0] for t in topics)
        en = ", ".join(TOPICS.get(t, (t, t))[1] for t in topics)
        return f"{ja} / {en}"
    if key == "prefecture" and value is not None:
        return f"{PREFECTURES[value]} / {PREFECTURES_EN[value]}" if value in PREFECTURES else str(value)
    if key == "municipality" and value is not None:
        found = municipalities.get(str(value))
        return f"{found.full_name} / {found.name_en}" if found is not None else str(value)
    if isinstance(value, bool):
        return "はい / yes" if value else "いいえ / no"
    if value is None:  # the person chose 答えたくない
        return ANSWERED_NOTHING if key in VALUES or key in ("prefecture", "municipality") else NONE
    words = VALUES.get(key, {}).get(str(value))
    return words if words is not None else str(value).replace("_", "–")


def shows_answers(case: Case, card: Card) -> bool:
    return card.via == "route" or case.share_consent


@dataclass(frozen=True)
class Summary:
    """A card's summary as data; each front end lays it out its own way."""

    case_id: int
    label: str
    status: str
    topics: str
    full: bool  # the answers are shown (see the module docstring)
    answers: tuple[tuple[str, str], ...]  # (label, text), topics excluded; empty unless full
    age_band: str
    prefecture: str
    urgent: bool
    risk_words: tuple[str, ...]
    language: str
    waited_minutes: int
    priority: float
    via: str
    counselor: str | None


def summarize(case: Case, card: Card, now: datetime) -> Summary:
    full = shows_answers(case, card)
    hide_prefecture = bool(case.answers.get("avoid_own_area"))
    answers: list[tuple[str, str]] = []
    if full:
        answers = [(LABELS.get(k, k), answer_text(k, v)) for k, v in case.answers.items()
                   if k not in HIDDEN and k != "topics"
                   and not (k in ("prefecture", "municipality") and hide_prefecture)]
    def given(key: str) -> str:
        return answer_text(key, case.answers[key]) if key in case.answers else NONE

    prefecture = HIDDEN_PREFECTURE if hide_prefecture or not full else given("prefecture")
    language = VALUES["language"].get(case.language, case.language)
    return Summary(
        case_id=case.id, label=case.label, status=case.status, topics=topics_text(case), full=full,
        answers=tuple(answers), age_band=given("age_band") if full else NONE,
        prefecture=prefecture, urgent=case.urgent, risk_words=tuple(case.risk_words), language=language,
        waited_minutes=int(case.waited(now).total_seconds() // 60),
        priority=round(effective_priority(case, now), 1), via=card.via, counselor=case.counselor_name,
    )
