"""Waiting for a running service to have done everything that is due: every event handled, every
due message delivered. The one helper every service fixture uses."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from bot.services import Services


async def settle(services: Services, clock: Callable[[], datetime], *, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    worker, pump, store = services.worker, services.pump, services.store
    while loop.time() < deadline:
        await worker.drain()  # alongside the worker's own loop: they claim different batches
        if not (worker.busy or pump.busy or await worker.queue.waiting(clock())
                or await store.due_outbox(clock())):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not settled: {await store.counts()}")
