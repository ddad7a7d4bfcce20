"""Jobs in order per key, keys side by side: one FIFO and at most one draining task per key.

A person's events must be handled one at a time and in arrival order, while different people
proceed concurrently. How many keys run at once is bounded, so that under a burst the part of
the process that answers webhooks keeps most of the event loop (the backlog is durable).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

J = TypeVar("J")


class KeyedQueue(Generic[J]):
    def __init__(self, run: Callable[[J], Awaitable[None]], *,
                 failed: Callable[[J, Exception], Awaitable[None]], concurrency: int = 16) -> None:
        self._run = run
        self._failed = failed
        self._queues: dict[str, deque[J]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._slots = asyncio.Semaphore(concurrency)

    def put(self, key: str, job: J) -> None:
        self._queues.setdefault(key, deque()).append(job)
        if key not in self._tasks:
            self._idle.clear()
            self._tasks[key] = asyncio.create_task(self._drain(key), name=f"key-{key[:8]}")

    async def _drain(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while queue:
                job = queue.popleft()
                try:
                    async with self._slots:
                        await self._run(job)
                except Exception as exc:  # one bad job must not stop the key's queue
                    await self._failed(job, exc)
        finally:
            del self._tasks[key]
            self._queues.pop(key, None)
            if not self._tasks:
                self._idle.set()

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    async def join(self) -> None:
        """Return once every job put so far (and any they put) has run."""
        while self._tasks:
            await self._idle.wait()

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
