"""The intake summary as counselors read it: one rule for what a card may show, one set of labels,
for the Slack card and the web desk alike.

A card shows the intake answers only if the person agreed to sharing, or the card is not a
transfer's (the partner the person was routed to sees what they answered for it). Without that,
the topics only. A person who asked for a partner outside their own area has their prefecture
hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from routing import PREFECTURES, TOPICS
from storage.cases import Card, Case

from .queue import effective_priority

LABELS: dict[str, str] = {
    "topics": "テーマ / Topics", "age_band": "年代 / Age", "prefecture": "都道府県 / Prefecture",
    "danger": "命の危険 / Danger now", "language": "言語 / Language",
    "avoid_own_area": "地域外を希望 / Outside own area", "share_consent": "引継ぎ同意 / Consent to share",
}
HIDDEN = frozenset({"agreed", "urgent"})
HIDDEN_PREFECTURE = "非表示 / hidden"


def topics_text(case: Case) -> str:
    """The case's topics by their Japanese labels, first chosen first."""
    return answer_text("topics", case.answers.get("topics")) or "—"


def answer_text(key: str, value: Any) -> str:
    """One intake answer for a person to read (labels, not ids; 「—」 for none)."""
    if key == "topics":
        return "、".join(TOPICS.get(t, (t,))[0] for t in value or ())
    if key == "prefecture":
        return PREFECTURES.get(value, "—") if value else "—"
    if isinstance(value, bool):
        return "はい / yes" if value else "いいえ / no"
    return "—" if value is None else str(value).replace("_", "–")


def shows_answers(case: Case, card: Card) -> bool:
    return card.via != "transfer" or case.share_consent


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
                   if k not in HIDDEN and k != "topics" and not (k == "prefecture" and hide_prefecture)]
    prefecture = HIDDEN_PREFECTURE if hide_prefecture else answer_text("prefecture", case.answers.get("prefecture"))
    return Summary(
        case_id=case.id, label=case.label, status=case.status, topics=topics_text(case), full=full,
        answers=tuple(answers), age_band=answer_text("age_band", case.answers.get("age_band")),
        prefecture=prefecture, urgent=case.urgent, risk_words=tuple(case.risk_words), language=case.language,
        waited_minutes=int(case.waited(now).total_seconds() // 60),
        priority=round(effective_priority(case, now), 1), via=card.via, counselor=case.counselor_name,
    )
