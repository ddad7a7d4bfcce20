"""The worker: claims batches of work from the database and runs them, each in one transaction.

A batch is up to `batch_size` inbox events — each the oldest pending event of a different
person — and sessions whose reminder or expiry is due (storage/work.py). For each event the
worker runs the conversation turn (turn.py) or, for inbox channels that are not people (Slack's
desk events), that channel's handler; the desk, when the turn needs it, works in the same
transaction. The batch commits as a whole. If any of it fails, nothing of it is written and each
event is run again on its own; an event that still fails backs off, and after MAX_ATTEMPTS
becomes a dead letter — the person is told their message could not be handled, and their later
events go on.

Any number of workers, in any number of processes, may run against one PostgreSQL database; on
SQLite, one worker process (the embedded default starts it beside `tsunagu serve`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from flows.messages import Message
from storage import InboxItem, Outgoing
from storage.codec import encode_messages
from storage.work import Claimed, WorkQueue

from .. import texts
from ..clock import Clock
from ..desk.port import DeskPort
from ..events import Inbound
from ..metrics import Metrics
from .turn import Conversation
from .wake import Bus

log = logging.getLogger(__name__)

# A handler of an inbox channel that is not people: (event, the batch it runs in) -> outcome.
Handler = Callable[[InboxItem, Claimed], Awaitable[str]]
PERSON_CHANNELS = ("line", "web", "slack")


class Worker:
    def __init__(self, *, queue: WorkQueue, conversation: Conversation, desk: DeskPort, metrics: Metrics,
                 clock: Clock, bus: Bus, handlers: Mapping[str, Handler] | None = None, batch_size: int = 32,
                 poll_seconds: float = 1.0) -> None:
        self.queue = queue
        self.conversation = conversation
        self.desk = desk
        self.metrics = metrics
        self.clock = clock
        self.bus = bus
        self.handlers: dict[str, Handler] = dict(handlers or {})
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._stopping = False
        self._running: asyncio.Task[int] | None = None
        self._after: set[asyncio.Future[object]] = set()

    # -- the loop ----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Claim and run batches until `stop`; wait for a wake-up (or a poll) when there is none."""
        while not self._stopping:
            self._running = asyncio.ensure_future(self.run_once())
            try:
                handled = await asyncio.shield(self._running)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be briefly unavailable; try again soon
                log.error("work batch failed: %s", type(exc).__name__)
                handled = 0
            finally:
                self._running = None
            if not handled:
                await self.bus.wait("inbox", self.poll_seconds)

    def stop(self) -> None:
        """Take no new batch; the one in flight finishes (see `finish`)."""
        self._stopping = True
        self.bus.notify("inbox", local=True)

    async def finish(self, grace: float) -> None:
        """Stop, and wait up to `grace` seconds for the batch in flight to commit."""
        self.stop()
        running = self._running
        if running is not None and not running.done():
            await asyncio.wait({running}, timeout=grace)

    @property
    def busy(self) -> bool:
        return self._running is not None and not self._running.done()

    async def drain(self) -> None:
        """Run batches until nothing is due (tests, benchmarks)."""
        while await self.run_once():
            pass

    # -- one batch ---------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim one batch and run it; the number of events and timers it handled."""
        now = self.clock()
        claimed: list[InboxItem] = []
        try:
            async with self.queue.claim(now=now, limit=self.batch_size, ticks=self.batch_size) as work:
                claimed = list(work.items)
                outcomes = await self._run(work)
                handled = len(work.items) + len(work.ticks)
        except Exception as exc:
            if not claimed:
                raise
            log.warning("a batch of %d failed (%s); running its events one by one", len(claimed),
                        type(exc).__name__)
            return await self._one_by_one(claimed)
        self._committed(work, outcomes)
        return handled

    async def _run(self, work: Claimed) -> list[tuple[InboxItem, str]]:
        desk = self.desk.on(work.cases)
        outcomes = []
        for item in work.items:
            outcomes.append((item, await self._event(work, desk, item)))
        for pseudonym in work.ticks:
            await self.conversation.tick(work, pseudonym)
        return outcomes

    async def _event(self, work: Claimed, desk: DeskPort, item: InboxItem) -> str:
        handler = self.handlers.get(item.channel)
        if handler is not None:
            return await handler(item, work)
        inbound = Inbound.from_bytes(item.payload)
        pseudonym = item.pseudonym
        if pseudonym is None or inbound.standby:
            work.done(item.id, now=self.clock())
            return "standby" if inbound.standby else "ignored"
        if inbound.source != "user":
            return await self.conversation.group(work, pseudonym, inbound, item)
        return await self.conversation.person(work, desk, pseudonym, inbound, item)

    def _committed(self, work: Claimed, outcomes: Sequence[tuple[InboxItem, str]]) -> None:
        """After a batch's commit: metrics, what had to wait for the commit, the senders' wake-up."""
        now = self.clock()
        for item, outcome in outcomes:
            self.metrics.events_processed.labels(item.channel, outcome).inc()
            self.metrics.processing_seconds.labels(item.channel).observe(
                max(0.0, (now - item.received_at).total_seconds()))
        for later in work.after_commit:
            task = asyncio.ensure_future(later())
            self._after.add(task)
            task.add_done_callback(self._after.discard)
        if work.items or work.ticks:
            self.bus.notify("outbox")

    async def _one_by_one(self, items: Sequence[InboxItem]) -> int:
        handled = 0
        for item in items:
            try:
                async with self.queue.claim(now=self.clock(), limit=1, only=[item.id]) as work:
                    if not work.items:
                        continue  # another worker took it meanwhile, or it is done
                    outcomes = await self._run(work)
                self._committed(work, outcomes)
                handled += 1
            except Exception as exc:
                await self._failed(item, exc)
        return max(handled, 1)

    async def _failed(self, item: InboxItem, exc: Exception) -> None:
        error = type(exc).__name__
        dead = await self.queue.fail(item, now=self.clock(), error=error, apology=self._apology(item))
        log.error("event %s failed (%s)%s", item.id, error, ": now a dead letter" if dead else "; will retry")
        self.metrics.events_processed.labels(item.channel, "dead" if dead else "failed").inc()
        if dead:
            self.bus.notify("outbox")

    @staticmethod
    def _apology(item: InboxItem) -> Sequence[Outgoing]:
        """What a person is told when their message could not be handled at all: that it was not
        received, so that they send it again (the message itself is kept as a dead letter)."""
        if item.channel not in PERSON_CHANNELS:
            return ()
        return (Outgoing(channel=item.channel, payload=encode_messages([Message(texts.text("not_handled", "both"))])),)
