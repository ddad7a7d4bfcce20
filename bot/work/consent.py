"""Consent on record (issue 11): which terms a person accepted in the intake, and when.

The terms are the intake's question whose answer is saved as `agreed` (flows/scripts/intake.yaml);
their version is a hash of what that question says, in every language, so a coordinator who
changes the wording changes the version without having to remember to. Every conversation runs
the intake, so a new version is asked at the next conversation; a session pinned to an older
flow keeps the version it showed. When the person says yes, the version and the time go into the
stored session (`{"terms": {"version", "at"}}`, beside the engine's state, which ignores it) and,
at the handoff, onto the case (`cases.terms_version`, `terms_accepted_at`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from flows import Flow
from flows.model import Ask

AGREED = "agreed"  # the intake's answer to the terms
KEY = "terms"  # in the stored session state


def terms_version(flow: Flow) -> str | None:
    """"t-" and 16 hex characters of a hash of the terms question's texts and choices; None
    for a flow without one."""
    for step in flow.steps:
        if isinstance(step, Ask) and step.save_as == AGREED:
            shown = {"text": list(step.text.by_lang),
                     "choices": [[c.key, list(c.label.by_lang)] for c in step.choices]}
            digest = hashlib.sha256(json.dumps(shown, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
            return f"t-{digest[:16]}"
    return None


def stamp(state: dict[str, Any] | None, before: dict[str, Any] | None, flow: Flow | None,
          now: datetime) -> dict[str, Any] | None:
    """The session state to store: with the terms' version and time once the person agreed (kept
    from the state before, or stamped now), without them while they have not."""
    if state is None or flow is None:
        return state
    answers = state.get("answers")
    if not isinstance(answers, dict) or answers.get(AGREED) is not True:
        return state
    version = terms_version(flow)
    if version is None:
        return state
    earlier = before.get(KEY) if before else None
    if isinstance(earlier, dict) and earlier.get("version") == version and isinstance(earlier.get("at"), str):
        return {**state, KEY: earlier}
    return {**state, KEY: {"version": version, "at": now.isoformat()}}


def accepted(state: dict[str, Any] | None) -> tuple[str, datetime] | None:
    """(version, when) from a stored session state, if the person agreed."""
    terms = state.get(KEY) if state else None
    if not isinstance(terms, dict):
        return None
    try:
        return str(terms["version"]), datetime.fromisoformat(str(terms["at"]))
    except (KeyError, ValueError):
        return None
