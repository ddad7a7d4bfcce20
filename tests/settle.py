"""Waiting for a running service to have done everything that is due: every event handled, every
due message delivered. The one helper every service fixture uses."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from bot.desk import Actor
from bot.desk.policy import Front
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


async def on_duty(services: Services, now: datetime, *org_ids: str, counselor: str = "U0ONDUTY",
                  front: Front = "slack") -> None:
    """A counselor on duty, with no end, for each of these partners: routing sends no case to a
    partner with nobody on duty (bot/desk/partners.py)."""
    for org_id in org_ids:
        await services.desk.go_on_duty(Actor(org_id=org_id, id=counselor, name="当番", front=front),
                                       now=now, until=None)
