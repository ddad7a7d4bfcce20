"""Who may do what with a case: one set of rules for every front end (Slack and the web desk).

A counselor acts for one organization (`Actor.org_id`: on Slack the partner whose desk channel
the button or thread is in; on the web the account's partner), and only on that partner's open
card of a case. Within that:

- accept: any counselor of the partner, while the case waits there;
- note, and reading the case: any counselor of the partner (a colleague may add a note); a
  closed case stays readable by the partner that closed it, and by no one after it has moved;
- say, close, transfer, release: the counselor who has the case;
- take over: a supervisor of the partner, while a colleague has the case.

The rules answer with a reason code (texts.COUNSELOR holds what it says), or None when allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from storage.cases import Card, Case

Front = Literal["slack", "web"]
Action = Literal["accept", "view", "note", "say", "close", "transfer", "release", "take_over"]
OWNER_ONLY: frozenset[Action] = frozenset({"say", "close", "transfer", "release"})


@dataclass(frozen=True)
class Actor:
    """A counselor as the desk sees them: never a platform identity of a person."""

    id: str  # the Slack user id, or "web:<account id>"; kept as the case's counselor_id
    name: str  # the nickname the person is told
    org_id: str
    front: Front
    supervisor: bool = False


def refusal(actor: Actor, action: Action, case: Case | None, card: Card | None) -> str | None:
    """Why `actor` may not do `action` on `card` of `case`; None if they may."""
    if case is None or card is None or card.org_id != actor.org_id:
        return "unknown"  # another partner's card looks like no card at all
    if card.state == "moved" or case.org_id != card.org_id:
        return "moved"
    if case.status == "closed" or card.state != "open":
        # The partner that closed the case may still read it (its history), nothing more.
        return None if action == "view" and card.state == "closed" else "closed"
    if action in ("view", "note"):
        return None
    if action == "accept":
        return None if case.status == "queued" else "taken"
    if case.status != "active":
        return "not_active"
    if action == "take_over":
        if not actor.supervisor:
            return "not_supervisor"
        return "already_yours" if case.counselor_id == actor.id else None
    if action in OWNER_ONLY and case.counselor_id != actor.id:
        return "not_yours"
    return None
