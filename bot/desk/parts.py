"""What every part of the desk shares: the case store, the partners, the risk lexicon, the clock,
and a few small helpers (what a card's front ends are told, the emergency lines)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flows.messages import Choice, Message
from routing import Hotlines
from storage.audit import AuditLog
from storage.cases import Card, Case, CaseStore
from storage.demand import DemandStore
from storage.presence import Presence

from ..metrics import Metrics
from . import notices
from . import texts as T
from .partners import Partners
from .risk import RiskLexicon

Clock = Callable[[], datetime]
ROUTE_AGAIN = timedelta(minutes=1)


def message(text: str, choices: Sequence[Choice] = ()) -> Message:
    return Message(text, tuple(choices))


def yes_no(language: str | None) -> tuple[Choice, ...]:
    return tuple(Choice(label, value) for label, value in T.yes_no(language))


@dataclass
class DeskParts:
    cases: CaseStore
    partners: Partners
    hotlines: Hotlines
    lexicon: RiskLexicon
    clock: Clock
    metrics: Metrics | None = None
    demand: DemandStore | None = None  # anonymous rows of people unanswered (unmet.py)
    wake_sender: Callable[[], None] = field(default=lambda: None)
    retention: timedelta = timedelta(days=30)  # how long a closed case stays in a partner's history
    presence: Presence | None = None  # counselors on duty (None: not known, hours alone count)
    audit: AuditLog | None = None  # the audit trail (storage/audit.py); None: not kept (tools, tests)

    def wake(self) -> None:
        """Something was written to the outbox: let the sender look now rather than at its poll."""
        self.wake_sender()

    def overflow_at(self, org_id: str | None, now: datetime) -> datetime:
        """When a case offered to `org_id` now goes on to the next partner if nobody takes it."""
        return now + timedelta(minutes=self.partners.response_minutes(org_id))

    @staticmethod
    def route_again_at(next_open: datetime | None, now: datetime) -> datetime:
        """When to look for a partner again for a case that found none: when the next one opens,
        and at least every few minutes (capacity frees, a partner comes back from a pause)."""
        soon = now + ROUTE_AGAIN
        return min(next_open, soon) if next_open is not None and next_open > now else soon

    def emergency(self, topics: Sequence[str], language: str | None, now: datetime) -> Message:
        lines = self.hotlines.for_topics(tuple(topics) or ("suicide",), now, urgent=True)
        return message(f"{T.person('emergency', language)}\n{T.hotline_lines(lines, language)}")

    async def open_card(self, case: Case) -> Card | None:
        """The card of the case at the partner that holds it now."""
        cards = [c for c in await self.cases.cards(case.id) if c.state == "open" and c.org_id == case.org_id]
        return cards[-1] if cards else None

    @staticmethod
    def card_notices(card: Card | None, line: str | None = None) -> tuple[dict[str, Any], ...]:
        """The card changed (and, with `line`, what to write in its log)."""
        if card is None:
            return ()
        found: list[dict[str, Any]] = [notices.changed(card.id)]
        if line:
            found.append(notices.said(card.id, line))
        return tuple(found)
