"""The outbox pump: delivers what the dispatcher committed, per person in order, retrying with backoff.

Nothing is dropped while a platform is down: a row stays pending, its next attempt pushed back
(exponential, capped, with jitter, or the platform's Retry-After), until the platform takes it
or refuses it for good (a 4xx other than 429).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from storage import OutboxItem, Store

from ..metrics import Metrics
from .sending import ChannelSender, Refused, Retry, Sent, backoff

log = logging.getLogger(__name__)


class OutboxPump:
    def __init__(
        self,
        *,
        store: Store,
        senders: Mapping[str, ChannelSender],
        metrics: Metrics,
        clock: Callable[[], datetime],
        poll_seconds: float = 1.0,
    ) -> None:
        self.store = store
        self.senders = senders
        self.metrics = metrics
        self.clock = clock
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._pass = 0  # numbers the due_outbox reads
        self._ended: dict[int, int] = {}  # row id -> the read pass under way when its delivery ended

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Start a delivery for each due row as soon as it is due, without waiting for others.

        A row stays pending until its delivery ends, and `due_outbox` only offers a person's
        oldest pending row, so a person's messages still go out one after another.
        """
        while True:
            self._wake.clear()
            try:
                self._pass += 1
                started = self.start_due(await self.store.due_outbox(self.clock()), seen_in=self._pass)
            except Exception as exc:  # the database may be briefly unavailable; try again soon
                log.error("outbox pass failed: %s", type(exc).__name__)
                started = 0
            if started:
                continue  # more may be waiting behind what was just taken
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # arrives as the wake fires, and then shutdown never ends.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()

    def start_due(self, items: list[OutboxItem], *, seen_in: int) -> int:
        """Start deliveries for rows read by pass `seen_in`, except rows in flight and rows whose
        delivery ended while that read was under way (it may have read them before their new
        status was committed: sending them again would give the person the message twice)."""
        self._ended = {i: p for i, p in self._ended.items() if p >= seen_in}
        fresh = [item for item in items if item.id not in self._inflight and item.id not in self._ended]
        for item in fresh:
            self._inflight[item.id] = asyncio.create_task(self._deliver_then_release(item))
        return len(fresh)

    async def _deliver_then_release(self, item: OutboxItem) -> None:
        try:
            await self._deliver(item)
        except Exception as exc:  # bookkeeping failed; the row stays pending and is tried again
            log.error("outbox %s delivery bookkeeping failed: %s", item.id, type(exc).__name__)
        finally:
            del self._inflight[item.id]
            self._ended[item.id] = self._pass  # reads from this pass on may be older than the mark
            self.wake()  # the person's next message may be due now

    @property
    def busy(self) -> bool:
        """True while a delivery is in flight (tests wait for it to end)."""
        return bool(self._inflight)

    async def close(self) -> None:
        for task in list(self._inflight.values()):
            task.cancel()
        await asyncio.gather(*self._inflight.values(), return_exceptions=True)

    async def _deliver(self, item: OutboxItem) -> None:
        sender = self.senders.get(item.channel)
        if sender is None:
            await self.store.mark_retry(
                item.id, next_attempt_at=self.clock() + backoff(item.attempts), error="channel-not-mounted"
            )
            return
        address = await self.store.address_of(item.pseudonym)
        try:
            result = await sender.send(item, address[1] if address else None)
        except Exception as exc:  # a bug or an unexpected client error: keep the row, try later
            result = Retry(type(exc).__name__)
        now = self.clock()
        if isinstance(result, Sent):
            await self.store.mark_sent(item.id, now=now)
            self.metrics.replies_sent.labels(item.channel, result.method).inc()
            return
        self.metrics.send_failures.labels(item.channel, result.reason).inc()
        if isinstance(result, Refused):
            log.warning("outbox %s refused by %s: %s", item.id, item.channel, result.reason)
            await self.store.mark_undeliverable(item.id, now=now, error=result.reason)
            return
        delay = result.after if result.after is not None else backoff(item.attempts)
        await self.store.mark_retry(
            item.id, next_attempt_at=now + delay, error=result.reason, reply_token_spent=result.reply_token_spent
        )
