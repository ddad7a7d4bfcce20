"""GET /chat/ws: one WebSocket per open chat page.

A person's message is appended to their mailbox and stored in the inbox (both keyed by the
client-made id, so a resend after a reconnect is stored once) and only then acknowledged; the
dispatcher takes it from there exactly as it takes a LINE event. What is said to the person
arrives through the "web" sender, which appends to the mailbox and calls `push`.

Each connection remembers the last seq it has sent and sends lines strictly in order under its
own lock: a push that races the catch-up after a reconnect can neither skip nor repeat a line.
A slow poll also catches up, for lines appended by another server process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiohttp import WSCloseCode, WSMsgType, web

from storage import Keyring, NewEvent, WebMailbox
from storage.erasure import Retention

from ..metrics import Metrics
from ..receive import Receiver
from . import translate as T
from .limits import ChatLimits, Gate, Pace, address_key

log = logging.getLogger(__name__)

CLOSE_PROTOCOL = 4400  # a frame the page would never send
CLOSE_NO_HELLO = 4408  # no hello in time
CLOSE_LIMITED = 4429  # a limit of limits.py: the page says so and tries again later
SILENT_AFTER = timedelta(hours=1)  # a chat nobody wrote in is forgotten this long after its last line


@dataclass(eq=False)
class _Conn:
    ws: web.WebSocketResponse
    pseudonym: str
    sent_seq: int
    pace: Pace
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class WebChat:
    def __init__(
        self,
        *,
        receiver: Receiver,
        keyring: Keyring,
        mailbox: WebMailbox,
        metrics: Metrics,
        clock: Callable[[], datetime],
        language_of: Callable[[str], Awaitable[str | None]] | None = None,
        poll_seconds: float = 5.0,
        hello_timeout: float = 15.0,
        heartbeat: float = 25.0,
        limits: ChatLimits | None = None,
        retention: Retention | None = None,
    ) -> None:
        self.retention = retention or Retention()  # what /chat/privacy tells people
        self.receiver = receiver
        self.keyring = keyring
        self.mailbox = mailbox
        self.metrics = metrics
        self.clock = clock
        self.language_of = language_of  # a person's conversation language, for the page's labels
        self.poll_seconds = poll_seconds
        self.hello_timeout = hello_timeout
        self.heartbeat = heartbeat
        self.limits = limits or ChatLimits()
        self.gate = Gate(self.limits)
        self._conns: dict[str, set[_Conn]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- connections --------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if not self.gate.origin_ok(request.headers.get("Origin"), f"{request.scheme}://{request.host}"):
            self._reject("bad-origin")  # another site's page using its visitors' browsers
            return web.Response(status=403, text="origin not allowed")
        key = address_key(request.remote)
        refused = self.gate.enter(key)
        if refused is not None:  # refused before the upgrade: the cheapest answer to a flood
            self._reject(refused)
            return web.Response(status=503 if refused == "busy" else 429, text=refused,
                                headers={"Retry-After": "30"})
        try:
            # aiohttp refuses a frame over max_msg_size and closes with 1009 (message too big).
            ws = web.WebSocketResponse(max_msg_size=T.MAX_FRAME_BYTES, heartbeat=self.heartbeat)
            await ws.prepare(request)
            await self._session(ws, key)
        finally:
            self.gate.leave(key)
        return ws

    async def _limited(self, ws: web.WebSocketResponse, code: str) -> None:
        with contextlib.suppress(ConnectionError):
            await ws.send_str(T.error_frame(code))
        await ws.close(code=CLOSE_LIMITED, message=code.encode())

    async def _session(self, ws: web.WebSocketResponse, key: str) -> None:
        try:
            hello = await self._hello(ws)
        except T.ProtocolError as exc:
            self._reject(exc.code)
            await ws.close(code=WSCloseCode.MESSAGE_TOO_BIG if exc.code == "too-large" else CLOSE_PROTOCOL,
                           message=exc.code.encode())
            return
        except TimeoutError:
            await ws.close(code=CLOSE_NO_HELLO, message=b"no-hello")
            return
        pseudonym = self.keyring.pseudonym(T.CHANNEL, hello.token)
        try:
            last = await self.mailbox.last_seq(pseudonym)
        except Exception as exc:
            log.error("web mailbox read failed: %s", type(exc).__name__)
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"unavailable")
            return
        new_chat = last == 0 and hello.last_seq == 0
        if new_chat and not self.gate.new_chat(key, self.clock()):
            self._reject("too-many-chats")
            await self._limited(ws, "too-many-chats")
            return
        language = await self._language(pseudonym) if last else None
        conn = _Conn(ws=ws, pseudonym=pseudonym, sent_seq=min(hello.last_seq, last),
                     pace=Pace(self.limits.messages_per_minute))
        self._conns.setdefault(pseudonym, set()).add(conn)
        poller = asyncio.create_task(self._poll(conn), name="web-poll")
        try:
            await ws.send_str(T.welcome_frame(last, language))
            await self._catch_up(conn)
            # A new chat: the greeting comes unasked, in the page's language.
            if new_chat and not await self._accept(pseudonym, None, language=hello.lang):
                # Not stored: the page reconnects (with backoff) and the greeting is tried again.
                await ws.send_str(T.error_frame("unavailable"))
                await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"unavailable")
                return
            await self._serve(conn)
        except ConnectionError:  # the page went away mid-send; it catches up when it comes back
            pass
        finally:
            poller.cancel()
            peers = self._conns.get(pseudonym)
            if peers is not None:
                peers.discard(conn)
                if not peers:
                    del self._conns[pseudonym]

    async def _language(self, pseudonym: str) -> str | None:
        """The conversation's language, so a reloaded page labels itself in it; None if unknown."""
        if self.language_of is None:
            return None
        try:
            return await self.language_of(pseudonym)
        except Exception as exc:  # only the page's labels depend on it
            log.warning("conversation language not read: %s", type(exc).__name__)
            return None

    async def _hello(self, ws: web.WebSocketResponse) -> T.Hello:
        msg = await ws.receive(timeout=self.hello_timeout)
        if msg.type == WSMsgType.ERROR:
            raise T.ProtocolError("too-large")
        if msg.type != WSMsgType.TEXT:
            raise T.ProtocolError("no-hello")
        frame = T.parse(msg.data)
        if not isinstance(frame, T.Hello):
            raise T.ProtocolError("no-hello")
        return frame

    async def _serve(self, conn: _Conn) -> None:
        async for msg in conn.ws:
            if msg.type == WSMsgType.ERROR:  # e.g. over max_msg_size: aiohttp has closed with 1009
                self._reject("too-large")
                return
            if msg.type != WSMsgType.TEXT:
                self._reject("binary")
                await conn.ws.close(code=CLOSE_PROTOCOL, message=b"binary")
                return
            try:
                frame = T.parse(msg.data)
            except T.ProtocolError as exc:
                self._reject(exc.code)
                if exc.code in ("bad-text", "too-long"):  # that message only; the page says so
                    await conn.ws.send_str(T.error_frame(exc.code, T.client_id_of(msg.data)))
                    continue
                await conn.ws.close(code=WSCloseCode.MESSAGE_TOO_BIG if exc.code == "too-large" else CLOSE_PROTOCOL,
                                    message=exc.code.encode())
                return
            if isinstance(frame, T.Ping):
                await conn.ws.send_str(T.PONG)
            elif isinstance(frame, T.Say):
                wait = conn.pace.allow(self.clock())
                if wait is not None:  # kept by the page and sent again after `wait` seconds
                    self._reject("slow-down")
                    await conn.ws.send_str(T.error_frame("slow-down", frame.id, retry_after=wait))
                elif await self._accept(conn.pseudonym, frame):
                    await conn.ws.send_str(T.ack_frame(frame.id))
                else:
                    await conn.ws.send_str(T.error_frame("unavailable", frame.id))
            else:
                self._reject("hello-again")
                await conn.ws.close(code=CLOSE_PROTOCOL, message=b"hello-again")
                return

    async def _accept(self, pseudonym: str, say: T.Say | None, *, language: str | None = None) -> bool:
        """Mailbox line, then the inbox (the one receive path): True once the message is durable."""
        now = self.clock()
        inbound = T.to_inbound(pseudonym, say, now=now, language=language)
        event = NewEvent(channel=T.CHANNEL, event_id=inbound.event_id, pseudonym=pseudonym,
                         payload=inbound.to_bytes(), received_at=now)
        try:
            if say is not None:  # first, so the person's line comes before the bot's answer
                await self.mailbox.append(pseudonym, T.person_line(say, now=now), key=event.event_id, now=now)
            await self.receiver.receive([event])
        except Exception as exc:  # not stored, so not acknowledged: the page sends it again
            log.error("web inbox write failed: %s", type(exc).__name__)
            self.metrics.events_rejected.labels(T.CHANNEL, "storage-unavailable").inc()
            return False
        if say is not None:
            self.push(pseudonym)  # the person's line to their other open pages
        return True

    # -- lines to the person ------------------------------------------------------------------

    def push(self, pseudonym: str) -> None:
        """Send what is new in the mailbox to each of the person's open sockets (in the background,
        so a slow phone never holds up the outbox)."""
        for conn in list(self._conns.get(pseudonym, ())):
            task = asyncio.create_task(self._catch_up(conn))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _catch_up(self, conn: _Conn) -> None:
        async with conn.lock:
            while not conn.ws.closed:
                try:
                    items = await self.mailbox.since(conn.pseudonym, conn.sent_seq)
                except Exception as exc:
                    log.error("web mailbox read failed: %s", type(exc).__name__)
                    return
                for item in items:
                    try:
                        await conn.ws.send_str(T.line_frame(item.seq, item.payload))
                    except ConnectionError:
                        return
                    conn.sent_seq = item.seq
                if len(items) < 200:
                    return

    async def _poll(self, conn: _Conn) -> None:
        while not conn.ws.closed:
            await asyncio.sleep(self.poll_seconds)
            await self._catch_up(conn)

    async def sweep(self) -> int:
        """Forget chats that were opened and never written in (the greeting's mailbox lines, the
        session, the address row): a flood of new tokens leaves nothing behind. Returns how many."""
        silent = await self.mailbox.silent(before=self.clock() - SILENT_AFTER)
        forgotten = 0
        for pseudonym in silent:
            if pseudonym in self._conns:  # a page is still open here
                continue
            await self.receiver.store.forget_person(pseudonym)
            await self.mailbox.forget(pseudonym)
            self.keyring.forget(pseudonym)  # the greeting's data key goes with it
            forgotten += 1
        if forgotten:
            self.keyring.destroy_doomed()
        return forgotten

    @property
    def open_sockets(self) -> int:
        return sum(len(c) for c in self._conns.values())

    async def drop(self, pseudonym: str | None = None) -> None:
        """Close the sockets of one person, or all (shutdown; tests of a reconnect)."""
        conns = [c for p, cs in self._conns.items() if pseudonym in (None, p) for c in cs]
        for conn in conns:
            with contextlib.suppress(Exception):
                await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"going-away")

    async def close(self) -> None:
        await self.drop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _reject(self, reason: str) -> None:
        self.metrics.events_rejected.labels(T.CHANNEL, reason).inc()

