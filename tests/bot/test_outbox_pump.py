"""The outbox pump never sends a row twice because a read overlapped the row's delivery."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.metrics import Metrics
from bot.work.pump import OutboxPump
from bot.work.sending import Sent
from storage import OutboxItem

ROW = OutboxItem(
    id=1, pseudonym="p", channel="line", payload=b"[]", reply_token=None,
    reply_token_expires_at=None, retry_key="k", attempts=0,
)


class SlowReadStore:
    """Answers the first read at once; holds the second until told, then answers with what it
    read before the row was marked sent (as a read that began before that commit would)."""

    def __init__(self) -> None:
        self.reads = 0
        self.release_read = asyncio.Event()
        self.second_read_started = asyncio.Event()
        self.third_read_started = asyncio.Event()
        self.sent: list[int] = []

    async def due_outbox(self, now, *, limit=200):
        self.reads += 1
        if self.reads == 1:
            return [ROW]
        if self.reads == 2:
            self.second_read_started.set()
            await self.release_read.wait()
            return [ROW]  # stale: read before mark_sent committed
        self.third_read_started.set()  # the pump has done with what the second read gave it
        await asyncio.sleep(3600)
        return []

    async def address_of(self, pseudonym):
        return ("line", "U1")

    async def mark_sent(self, outbox_id, *, now):
        self.sent.append(outbox_id)


class HeldSender:
    def __init__(self) -> None:
        self.calls = 0
        self.go = asyncio.Event()

    async def send(self, item, address):
        self.calls += 1
        await self.go.wait()
        return Sent("push")


async def test_a_read_that_overlaps_a_delivery_does_not_send_the_row_again():
    store, sender = SlowReadStore(), HeldSender()
    pump = OutboxPump(store=store, senders={"line": sender}, metrics=Metrics(),
                      clock=lambda: datetime(2026, 1, 1, tzinfo=UTC), poll_seconds=0.01)
    task = asyncio.create_task(pump.run())
    try:
        await asyncio.wait_for(store.second_read_started.wait(), 2)
        sender.go.set()  # the delivery ends while the second read is under way
        for _ in range(100):
            if store.sent:
                break
            await asyncio.sleep(0.01)
        store.release_read.set()
        await asyncio.wait_for(store.third_read_started.wait(), 2)
        assert store.sent == [1]
        assert sender.calls == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
