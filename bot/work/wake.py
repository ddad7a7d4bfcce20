"""Wake-ups between the parts of the service, within a process and across processes.

Work lives in the database; a wake-up only says "look now" so that nobody waits for a poll:
"inbox" (new events: the workers), "outbox" (new messages: the senders), and "mailbox" with a
person's pseudonym (a new web chat line: the web process that holds that person's socket).
Losing one costs a poll interval, never a message.

A `Bus` fires local waiters and hands each notice to its links to other processes:
- PostgreSQL: NOTIFY on one channel per database schema, and a LISTEN connection that
  reconnects by itself (asyncpg's add_listener);
- the embedded default (`tsunagu serve` on SQLite with its worker process): a pair of pipes
  between the two processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

log = logging.getLogger(__name__)

TOPICS = ("inbox", "outbox", "mailbox")


class Link(Protocol):
    """A way to tell other processes; `send` never blocks and never raises."""

    def send(self, notice: str) -> None: ...

    async def close(self) -> None: ...


class Bus:
    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self._listeners: dict[str, list[Callable[[str], None]]] = defaultdict(list)
        self._links: list[Link] = []

    def link(self, link: Link) -> None:
        self._links.append(link)

    def on(self, topic: str, callback: Callable[[str], None]) -> None:
        """Call `callback(key)` for each notice of `topic` (from this process or another)."""
        self._listeners[topic].append(callback)

    def notify(self, topic: str, key: str = "", *, local: bool = False) -> None:
        """Wake whoever waits for `topic` here and, unless `local`, in the other processes."""
        self.fire(topic, key)
        if not local:
            notice = f"{topic}:{key}" if key else topic
            for link in self._links:
                link.send(notice)

    def fire(self, topic: str, key: str = "") -> None:
        """A notice arrived (from here or from a link)."""
        self._events[topic].set()
        for callback in self._listeners.get(topic, ()):
            try:
                callback(key)
            except Exception as exc:  # a listener's bug must not stop the others
                log.error("wake-up listener failed: %s", type(exc).__name__)

    def receive(self, notice: str) -> None:
        topic, _, key = notice.partition(":")
        if topic in TOPICS:
            self.fire(topic, key)

    async def wait(self, topic: str, timeout: float) -> None:
        """Until a notice of `topic` or `timeout` seconds, whichever comes first."""
        event = self._events[topic]
        with contextlib.suppress(TimeoutError):
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # arrives as the event fires, and then shutdown never ends.
            async with asyncio.timeout(timeout):
                await event.wait()
        event.clear()

    async def close(self) -> None:
        for link in self._links:
            await link.close()
        self._links.clear()


class PipeLink:
    """Notices over a pipe pair between `tsunagu serve` and the worker process it started:
    one line per notice out, and whatever comes in fired on the bus."""

    def __init__(self, bus: Bus, *, read_fd: int, write_fd: int) -> None:
        self.bus = bus
        self._read_fd, self._write_fd = read_fd, write_fd
        os.set_blocking(write_fd, False)
        os.set_blocking(read_fd, False)
        self._buffer = b""
        asyncio.get_running_loop().add_reader(read_fd, self._readable)

    def send(self, notice: str) -> None:
        try:
            os.write(self._write_fd, notice.encode() + b"\n")
        except (BlockingIOError, BrokenPipeError, OSError):
            pass  # the other side is busy or gone: it polls anyway

    def _readable(self) -> None:
        try:
            data = os.read(self._read_fd, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the other process went away
            asyncio.get_running_loop().remove_reader(self._read_fd)
            return
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self.bus.receive(line.decode(errors="replace"))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(self._read_fd)
        for fd in (self._read_fd, self._write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


def _settle(future: asyncio.Future[None], *_args: object) -> None:
    if not future.done():
        future.set_result(None)


class PostgresLink:
    """NOTIFY out and LISTEN in on one PostgreSQL channel, with a connection that comes back
    after the database restarts. Notices are sent in the background, a few together."""

    def __init__(self, bus: Bus, *, dsn: dict[str, object], channel: str) -> None:
        self.bus = bus
        self.dsn = dsn
        self.channel = channel
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._tasks = [asyncio.create_task(self._listen(), name="pg-listen"),
                       asyncio.create_task(self._send(), name="pg-notify")]

    def send(self, notice: str) -> None:
        if self._queue.qsize() < 10_000:
            self._queue.put_nowait(notice)

    async def _connect(self) -> Any:  # asyncpg ships no type information
        import asyncpg  # type: ignore[import-untyped]  # idem

        return await asyncpg.connect(**self.dsn, timeout=10)

    async def _listen(self) -> None:
        delay = 0.5
        while True:
            conn = None
            try:
                conn = await self._connect()
                lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                conn.add_termination_listener(partial(_settle, lost))
                await conn.add_listener(self.channel, lambda _c, _pid, _ch, payload: self.bus.receive(payload))
                delay = 0.5
                for topic in TOPICS:  # what was said while we were away: look now
                    self.bus.fire(topic)
                await lost
            except asyncio.CancelledError:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
                raise
            except Exception as exc:
                log.warning("LISTEN connection lost (%s); reconnecting", type(exc).__name__)
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)

    async def _send(self) -> None:
        conn = None
        while True:
            notices = {await self._queue.get()}
            while not self._queue.empty() and len(notices) < 100:
                notices.add(self._queue.get_nowait())
            try:
                if conn is None or conn.is_closed():
                    conn = await self._connect()
                await conn.execute("SELECT pg_notify($1, n) FROM unnest($2::text[]) AS n",
                                   self.channel, sorted(notices))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the others poll: a lost notice costs a poll interval
                log.warning("NOTIFY failed (%s)", type(exc).__name__)
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
                conn = None
                await asyncio.sleep(0.5)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
