"""What every part of the desk shares: the case store, the partners, the risk lexicon, the clock,
and a few small helpers (what a card's front ends are told, the emergency lines)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flows.messages import Choice, Message
from routing import Hotlines
from storage.cases import Card, Case, CaseStore

from ..metrics import Metrics
from . import notices
from . import texts as T
from .partners import Partners
from .risk import RiskLexicon

Clock = Callable[[], datetime]


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
    wake_sender: Callable[[], None] = field(default=lambda: None)

    def wake(self) -> None:
        """Something was written to the outbox: let the sender look now rather than at its poll."""
        self.wake_sender()

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
