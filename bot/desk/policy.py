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

What a partner may read of a case (`readable`, for every front end): the messages exchanged under
its own cards (since the case reached it), messages from before only if the person agreed to
sharing, and internal notes only those its own counselors wrote, consent or not: a note never
leaves the organization that wrote it. What a card's summary shows is summary.py's rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from storage.cases import Card, Case, CaseMessage

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


def owner_card(message: CaseMessage, cards: Sequence[Card]) -> Card | None:
    """The card a message belongs to: the one recorded with it, or (rows written before that was
    recorded) the last card made at or before it; a message left before any card belongs to the
    first (the partner that finally took the case is shown what was left for it)."""
    by_id = {c.id: c for c in cards}
    if message.card_id is not None and message.card_id in by_id:
        return by_id[message.card_id]
    ordered = sorted(cards, key=lambda c: c.id)
    before = [c for c in ordered if c.created_at is not None and c.created_at <= message.created_at]
    if before:
        return before[-1]
    return ordered[0] if ordered else None


def may_read(case: Case, card: Card, message: CaseMessage, cards: Sequence[Card]) -> bool:
    """Whether the partner of `card` may read `message` of `case` (see the module docstring)."""
    owner = owner_card(message, cards)
    org = message.org_id or (owner.org_id if owner else None)
    if message.direction == "note":
        return org == card.org_id
    return case.share_consent or org == card.org_id


def readable(case: Case, card: Card, messages: Sequence[CaseMessage], cards: Sequence[Card]
             ) -> tuple[CaseMessage, ...]:
    """The messages of `case` the partner of `card` may read, in order."""
    return tuple(m for m in messages if may_read(case, card, m, cards))
