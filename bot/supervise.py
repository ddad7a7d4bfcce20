"""The worker process that `tsunagu serve` starts beside itself, so that one command runs the
whole service: the web process takes events in and serves pages, the worker process runs the
turns and the deliveries (bot/work), each on its own core.

The two talk through the database; a pipe pair only carries wake-ups (bot/work/wake.py), so
that neither waits for a poll. If the worker dies it is started again, after a pause that grows
while it keeps dying; when the server stops, the worker is asked to stop (SIGTERM: it finishes
what it has in hand within the grace period) and killed only after that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .work.wake import Bus, PipeLink

log = logging.getLogger(__name__)

WAKE_FDS = "TSUNAGU_WAKE_FDS"


@dataclass
class Pipes:
    """Two one-way pipes: server -> worker and worker -> server."""

    to_worker: tuple[int, int] = field(default_factory=os.pipe)
    to_server: tuple[int, int] = field(default_factory=os.pipe)

    def server_link(self, bus: Bus) -> PipeLink:
        return PipeLink(bus, read_fd=self.to_server[0], write_fd=self.to_worker[1])

    def worker_env(self) -> dict[str, str]:
        return {WAKE_FDS: f"{self.to_worker[0]},{self.to_server[1]}"}

    def worker_fds(self) -> tuple[int, int]:
        return self.to_worker[0], self.to_server[1]


def worker_link_from_env() -> tuple[int, int] | None:
    """The (read, write) descriptors a worker started by `serve` was given, if any."""
    value = os.environ.get(WAKE_FDS, "")
    try:
        read_fd, write_fd = (int(v) for v in value.split(","))
    except ValueError:
        return None
    return read_fd, write_fd


class WorkerProcess:
    def __init__(self, *, config: Path | None, pipes: Pipes, grace: float) -> None:
        self.argv: Sequence[str] = [sys.executable, "-m", "bot.cli", "work",
                                    *(["--config", str(config)] if config else [])]
        self.pipes = pipes
        self.grace = grace
        self._proc: asyncio.subprocess.Process | None = None
        self._stopping = False

    async def _start(self) -> None:
        env = {**os.environ, **self.pipes.worker_env()}
        self._proc = await asyncio.create_subprocess_exec(*self.argv, env=env, pass_fds=self.pipes.worker_fds())
        log.info("worker process %s started", self._proc.pid)

    async def _watch(self) -> None:
        pause = 1.0
        while not self._stopping:
            assert self._proc is not None
            code = await self._proc.wait()
            if self._stopping:
                return
            log.error("worker process exited (%s); starting it again in %.0f s", code, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 60.0)
            await self._start()

    async def _stop(self) -> None:
        self._stopping = True
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()
        try:
            async with asyncio.timeout(self.grace + 5):
                await proc.wait()
        except TimeoutError:
            log.error("worker process did not stop within %.0f s; killing it", self.grace + 5)
            proc.kill()
            await proc.wait()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        await self._start()
        watcher = asyncio.create_task(self._watch(), name="worker-process")
        try:
            yield
        finally:
            self._stopping = True
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await self._stop()
