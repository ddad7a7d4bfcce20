"""The desk's port: what the work side (the dispatcher) needs of a desk, and the desk used when
none is configured.

The dispatcher holds a `DeskPort` and calls all three methods; it never asks what the object can
do. `NullDesk` keeps a person who finished the intake in the waiting state with a holding line
(the dispatcher's), and counts the handoff, as the service did before it had a desk.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from flows.engine import Handoff
from flows.messages import Message

from ..metrics import Metrics

log = logging.getLogger(__name__)

After = Literal["wait", "end", "start"]


@dataclass(frozen=True)
class DeskReply:
    """What the desk answers a person's message with, after their intake ended.

    `after`: "wait" keeps the conversation with the desk; "end" ends it; "start" begins a new
    intake with this message (the desk no longer holds the person, e.g. after Close).
    """

    messages: tuple[Message, ...] = ()
    after: After = "wait"


class DeskPort(Protocol):
    async def handoff(self, *, pseudonym: str, channel: str, handoff: Handoff, now: datetime) -> None:
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


class NullDesk:
    """No desk configured (no Slack, no web desk account): handoffs are counted and logged."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def handoff(self, *, pseudonym: str, channel: str, handoff: Handoff, now: datetime) -> None:
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
