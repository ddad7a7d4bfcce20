"""The outbox pump: delivers what the work side committed, per person in order, retrying with backoff.

Rows are claimed from the database with a lease (Store.claim_outbox), so any number of pumps in
any number of processes share the outbox: each row is taken by one, a person's rows go one after
another, and the rows of a pump that died are taken by another once its lease has run out.
Nothing is dropped while a platform is down: a row stays pending, its next attempt pushed back
(exponential, capped, with jitter, or the platform's Retry-After), until the platform takes it or
refuses it for good (a 4xx other than 429).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from storage import OutboxItem, Store

from ..metrics import Metrics
from .sending import ChannelSender, Refused, Retry, Sent, backoff
from .wake import Bus

log = logging.getLogger(__name__)

# Longer than any one delivery may take (the LINE and Slack clients give up after 10 s), and
# short enough that a row whose sender died is retried while its reply token is still fresh
# (LINE's tokens last about a minute), so that the rule in bot/line/sender.py can apply.
LEASE = timedelta(seconds=30)


class OutboxPump:
    def __init__(
        self,
        *,
        store: Store,
        senders: Mapping[str, ChannelSender],
        metrics: Metrics,
        clock: Callable[[], datetime],
        bus: Bus,
        poll_seconds: float = 1.0,
        concurrency: int = 64,
        lease: timedelta = LEASE,
    ) -> None:
        self.store = store
        self.senders = senders
        self.metrics = metrics
        self.clock = clock
        self.bus = bus
        self.poll_seconds = poll_seconds
        self.concurrency = concurrency
        self.lease = lease
        self._inflight: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._claiming = False
        self._claimed = asyncio.Event()
        self._claimed.set()

    def wake(self) -> None:
        self.bus.notify("outbox")

    async def run(self) -> None:
        """Claim due rows while there are free delivery slots; start each delivery at once."""
        while not self._stopping:
            free = self.concurrency - len(self._inflight)
            started = 0
            if free > 0:
                self._claiming = True
                self._claimed.clear()
                try:
                    items = await self.store.claim_outbox(self.clock(), limit=free, lease=self.lease)
                    if self._stopping:  # close() came while claiming: nothing new starts
                        await self._hand_back(items)
                    else:
                        started = self.start(items)
                except Exception as exc:  # the database may be briefly unavailable; try again soon
                    log.error("outbox claim failed: %s", type(exc).__name__)
                finally:
                    self._claiming = False
                    self._claimed.set()
            if started and len(self._inflight) < self.concurrency:
                continue  # more may be waiting behind what was just taken
            await self.bus.wait("outbox", self.poll_seconds)

    def start(self, items: list[OutboxItem]) -> int:
        for item in items:
            task = asyncio.create_task(self._deliver_then_release(item))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        return len(items)

    async def _deliver_then_release(self, item: OutboxItem) -> None:
        try:
            await self._deliver(item)
        except Exception as exc:  # bookkeeping failed; the lease runs out and the row is tried again
            log.error("outbox %s delivery bookkeeping failed: %s", item.id, type(exc).__name__)
        finally:
            self.bus.notify("outbox", local=True)  # the person's next message may be due now

    @property
    def busy(self) -> bool:
        """True while rows are being claimed or delivered (tests wait for it to end)."""
        return self._claiming or bool(self._inflight)

    async def close(self, grace: float = 0.0) -> None:
        """Stop claiming; let deliveries in flight end within `grace` seconds, then cancel the
        rest (their leases run out and another pump, or the next start, delivers them)."""
        self._stopping = True
        self.bus.notify("outbox", local=True)
        with contextlib.suppress(TimeoutError):  # a claim in progress ends by handing its rows back
            await asyncio.wait_for(self._claimed.wait(), timeout=max(grace, 1.0))
        if self._inflight and grace > 0:
            await asyncio.wait(set(self._inflight), timeout=grace)
        for task in list(self._inflight):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._inflight, return_exceptions=True)

    async def _hand_back(self, items: list[OutboxItem]) -> None:
        for item in items:
            await self.store.hand_back(item)

    async def _deliver(self, item: OutboxItem) -> None:
        sender = self.senders.get(item.channel)
        if sender is None:
            await self.store.mark_retry(item, next_attempt_at=self.clock() + backoff(item.attempts),
                                        error="channel-not-mounted")
            return
        address = await self.store.address_of(item.pseudonym)
        try:
            result = await sender.send(item, address[1] if address else None)
        except Exception as exc:  # a bug or an unexpected client error: keep the row, try later
            result = Retry(type(exc).__name__)
        now = self.clock()
        if isinstance(result, Sent):
            await self.store.mark_sent(item, now=now)
            self.metrics.replies_sent.labels(item.channel, result.method).inc()
            return
        self.metrics.send_failures.labels(item.channel, result.reason).inc()
        if isinstance(result, Refused):
            log.warning("outbox %s refused by %s: %s", item.id, item.channel, result.reason)
            await self.store.mark_undeliverable(item, now=now, error=result.reason)
            return
        delay = result.after if result.after is not None else backoff(item.attempts)
        await self.store.mark_retry(item, next_attempt_at=now + delay, error=result.reason,
                                    reply_token_spent=result.reply_token_spent)
