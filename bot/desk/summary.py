"""The intake summary as counselors read it, shared by the Slack card and the web desk."""

from __future__ import annotations

from typing import Any

from routing import PREFECTURES, TOPICS
from storage.cases import Case


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
