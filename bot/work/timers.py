"""Background passes that repeat (timers, retention): one loop, so each is a plain async function.

A failing pass is logged by its error class only (never its message, which may quote data) and
tried again at the next interval; cancellation ends the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

log = logging.getLogger(__name__)


async def repeat(what: str, every: float, job: Callable[[], Awaitable[object]]) -> None:
    while True:
        try:
            await job()
        except Exception as exc:
            log.error("%s pass failed: %s", what, type(exc).__name__)
        await asyncio.sleep(every)


@contextlib.asynccontextmanager
async def running(*loops: tuple[str, float, Callable[[], Awaitable[object]]]) -> AsyncIterator[None]:
    """Run the given (name, seconds, job) loops for the duration of the block."""
    tasks = [asyncio.create_task(repeat(name, every, job), name=name) for name, every, job in loops]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
