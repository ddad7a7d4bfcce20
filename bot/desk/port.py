"""The desk's port: what the work side (the dispatcher) needs of a desk, and the desk used when
none is configured.

The dispatcher holds a `DeskPort` and calls all three methods; it never asks what the object can
do. `NullDesk` keeps a person who finished the intake in the waiting state with a holding line
(the dispatcher's), and counts the handoff, as the service did before it had a desk.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from flows.engine import Handoff
from flows.messages import Message
from storage.cases import CaseStore

from ..metrics import Metrics

log = logging.getLogger(__name__)

After = Literal["wait", "end", "start"]
Terms = tuple[str, datetime]  # the version of the terms a person accepted, and when (bot/work/consent.py)


@dataclass(frozen=True)
class DeskReply:
    """What the desk answers a person's message with, after their intake ended.

    `after`: "wait" keeps the conversation with the desk; "end" ends it; "start" begins a new
    intake with this message (the desk no longer holds the person, e.g. after Close).
    """

    messages: tuple[Message, ...] = ()
    after: After = "wait"


class DeskPort(Protocol):
    def on(self, cases: CaseStore) -> DeskPort:
        """The same desk working inside a batch's transaction (`cases` made on its connection)."""
        ...

    async def handoff(self, *, pseudonym: str, channel: str, handoff: Handoff, now: datetime,
                      terms: Terms | None = None) -> None:
        """The intake ended: find the person a counselor (or tell them who is open)."""
        ...

    async def from_person(
        self, *, pseudonym: str, channel: str, source_key: str, text: str | None, media: str | None,
        command: str | None, language: str | None, now: datetime,
    ) -> DeskReply | None:
        """A message from a person the desk holds. None: the desk does not hold them (the
        dispatcher answers with its holding line and honours stop/restart itself)."""
        ...

    async def screen(
        self, *, pseudonym: str, channel: str, text: str | None, language: str | None, now: datetime
    ) -> tuple[Message, ...]:
        """A text during the intake: remember risk words for the case to come; what to add."""
        ...

    async def erased(self, *, case_ids: Sequence[int], channel: str, now: datetime) -> None:
        """The person erased their data (on `channel`) and these cases of theirs, open until now,
        were closed (in the same transaction): tell their counselors, and record the erasure."""
        ...


class NullDesk:
    """No desk configured (no Slack, no web desk account): handoffs are counted and logged."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def on(self, cases: CaseStore) -> NullDesk:
        return self

    async def handoff(self, *, pseudonym: str, channel: str, handoff: Handoff, now: datetime,
                      terms: Terms | None = None) -> None:
        self.metrics.handoffs.labels(channel).inc()
        log.info("handoff urgent=%s (no desk configured)", handoff.urgent)

    async def from_person(
        self, *, pseudonym: str, channel: str, source_key: str, text: str | None, media: str | None,
        command: str | None, language: str | None, now: datetime,
    ) -> DeskReply | None:
        return None

    async def screen(
        self, *, pseudonym: str, channel: str, text: str | None, language: str | None, now: datetime
    ) -> tuple[Message, ...]:
        return ()

    async def erased(self, *, case_ids: Sequence[int], channel: str, now: datetime) -> None:
        return None


class Staffing:
    """Whether anyone could see a case yet: Slack is set up, or the web desk has an account. Asked
    again (one count) until it says yes, so an account created while the service runs takes the
    next handoff; once staffed, always (accounts are not taken away mid-run)."""

    def __init__(self, check: Callable[[], Awaitable[bool]]) -> None:
        self._check = check
        self.known = False

    async def staffed(self) -> bool:
        if not self.known:
            self.known = await self._check()
        return self.known


class StaffedDesk:
    """The desk while someone can answer a handoff, NullDesk while nobody can (see Staffing).
    Risk words are screened by the desk either way: the emergency lines never depend on who is
    configured."""

    def __init__(self, desk: DeskPort, null: NullDesk, *, staffing: Staffing) -> None:
        self.desk = desk
        self.null = null
        self.staffing = staffing

    async def current(self) -> DeskPort:
        return self.desk if await self.staffing.staffed() else self.null

    def on(self, cases: CaseStore) -> DeskPort:
        return StaffedDesk(self.desk.on(cases), self.null, staffing=self.staffing)

    async def handoff(self, *, pseudonym: str, channel: str, handoff: Handoff, now: datetime,
                      terms: Terms | None = None) -> None:
        await (await self.current()).handoff(pseudonym=pseudonym, channel=channel, handoff=handoff, now=now,
                                             terms=terms)

    async def from_person(
        self, *, pseudonym: str, channel: str, source_key: str, text: str | None, media: str | None,
        command: str | None, language: str | None, now: datetime,
    ) -> DeskReply | None:
        return await (await self.current()).from_person(
            pseudonym=pseudonym, channel=channel, source_key=source_key, text=text, media=media, command=command,
            language=language, now=now)

    async def screen(
        self, *, pseudonym: str, channel: str, text: str | None, language: str | None, now: datetime
    ) -> tuple[Message, ...]:
        return await self.desk.screen(pseudonym=pseudonym, channel=channel, text=text, language=language, now=now)

    async def erased(self, *, case_ids: Sequence[int], channel: str, now: datetime) -> None:
        # Whoever is configured now, counselors who held these cases are told.
        await self.desk.erased(case_ids=case_ids, channel=channel, now=now)
