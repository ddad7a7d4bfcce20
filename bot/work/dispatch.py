"""From stored inbound events to turns, in order per person: the dispatcher.

Each person (pseudonym) has a queue and at most one task draining it (keyed.py), so a person's
events are handled one at a time and in arrival order while different people proceed
concurrently. Events of inbox channels that are not people (Slack's desk events) go to their
handler, in order per their own key. One failing event is recorded as failed and does not stop
the person's queue.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from flows.versions import FlowVersions
from storage import ConcurrentUpdate, InboxItem, Store

from ..clock import Clock
from ..desk.port import DeskPort
from ..events import Inbound
from ..metrics import Metrics
from .keyed import KeyedQueue
from .outgoing import ChannelSpec
from .turn import Conversation

log = logging.getLogger(__name__)

MAX_RETRIES = 5
Handler = Callable[[InboxItem], Awaitable[str]]

__all__ = ["ChannelSpec", "Dispatcher", "MAX_RETRIES"]


@dataclass(frozen=True)
class _Tick:
    pseudonym: str


Job = InboxItem | _Tick


class Dispatcher:
    def __init__(self, *, store: Store, flows: FlowVersions, metrics: Metrics, clock: Clock, desk: DeskPort,
                 channels: Mapping[str, ChannelSpec], wake_sender: Callable[[], None] = lambda: None,
                 handlers: Mapping[str, Handler] | None = None, concurrency: int = 16) -> None:
        self.store = store
        self.metrics = metrics
        self.clock = clock
        self.conversation = Conversation(store=store, flows=flows, desk=desk, clock=clock, channels=channels,
                                         wake_sender=wake_sender)
        # Inbox channels that are not people (e.g. "slack-desk": counselors' thread messages and
        # buttons): their events go to a handler, in order per inbox pseudonym key.
        self.handlers: dict[str, Handler] = dict(handlers or {})
        self._queue: KeyedQueue[Job] = KeyedQueue(self._job, failed=self._failed, concurrency=concurrency)

    # -- scheduling ----------------------------------------------------------------------------------

    def submit(self, items: Sequence[InboxItem]) -> None:
        for item in items:
            self._queue.put(item.pseudonym or f"event:{item.id}", item)

    def submit_tick(self, pseudonym: str) -> None:
        self._queue.put(pseudonym, _Tick(pseudonym))

    async def join(self) -> None:
        """Wait until every queued job has been processed (tests, shutdown, benchmarks)."""
        await self._queue.join()

    async def close(self) -> None:
        await self._queue.close()

    async def _failed(self, job: Job, exc: Exception) -> None:
        log.error("processing failed: %s", type(exc).__name__)
        if isinstance(job, InboxItem):
            self.metrics.events_processed.labels(job.channel, "failed").inc()
            await self.store.mark_event_failed(job.id, now=self.clock(), error=type(exc).__name__)

    # -- one job -------------------------------------------------------------------------------------

    async def _job(self, job: Job) -> None:
        if isinstance(job, _Tick):
            await self._retrying(lambda: self.conversation.tick(job.pseudonym))
            return
        started = time.perf_counter()
        if job.channel in self.handlers:
            outcome = await self.handlers[job.channel](job)
            self.metrics.events_processed.labels(job.channel, outcome).inc()
            return
        inbound = Inbound.from_bytes(job.payload)
        pseudonym = job.pseudonym
        if pseudonym is None or inbound.standby:
            await self.store.mark_event_done(job.id, now=self.clock())
            outcome = "standby" if inbound.standby else "ignored"
        elif inbound.source != "user":
            outcome = await self._retrying(lambda: self.conversation.group(pseudonym, inbound, job))
        else:
            outcome = await self._retrying(lambda: self.conversation.person(pseudonym, inbound, job))
        self.metrics.events_processed.labels(job.channel, outcome).inc()
        self.metrics.processing_seconds.labels(job.channel).observe(time.perf_counter() - started)

    async def _retrying(self, step: Callable[[], Awaitable[str]]) -> str:
        """Run one step under the optimistic lock; again on fresh state if another process raced us."""
        for _ in range(MAX_RETRIES):
            try:
                return await step()
            except ConcurrentUpdate:
                await asyncio.sleep(0.01)
        raise ConcurrentUpdate(f"gave up after {MAX_RETRIES} conflicting updates")
