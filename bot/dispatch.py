"""From a stored inbound event to a new session state and outgoing messages, in order per person.

Each person (pseudonym) has a queue and at most one task draining it, so events of one person are
handled one at a time and in arrival order while different people proceed concurrently. The
state and the outgoing messages of one event are written in one transaction (`Store.commit_turn`);
the optimistic version check makes a second process that raced us retry on fresh state.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from flows import Flow, FlowError, Session, engine
from flows.engine import Handoff, Input, Message, Turn
from flows.versions import FlowVersions, UnknownVersion
from storage import ConcurrentUpdate, InboxItem, Keyring, Outgoing, Store, StoredSession

from . import texts
from .events import Inbound
from .metrics import Metrics

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
GROUP_NOTICE_EVERY = timedelta(hours=24)
MAX_RETRIES = 5
INTAKE = "intake"


@dataclass(frozen=True)
class ChannelSpec:
    """What the dispatcher must know of a channel to shape its outgoing rows."""

    batch_size: int  # messages per platform call (LINE: 5)
    reply_ttl: timedelta | None  # how long a reply token stays usable; None: no reply tokens


class HandoffSink(Protocol):
    """The seam to the desk: receives the end of an intake (issue: counselor handoff)."""

    async def handoff(self, *, pseudonym: str, channel: str, handoff: Handoff, now: datetime) -> None: ...


class LoggingHandoff:
    """Until a desk is configured: count the handoff and keep the person in the waiting state."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def handoff(self, *, pseudonym: str, channel: str, handoff: Handoff, now: datetime) -> None:
        self.metrics.handoffs.labels(channel).inc()
        log.info("handoff person=%s urgent=%s (no desk configured yet)", pseudonym[:8], handoff.urgent)


@dataclass(frozen=True)
class SinkReply:
    """What a desk answers a person's message with while they wait or talk with a counselor.

    `after`: "wait" keeps the session in the handoff state; "end" ends it; "start" begins a new
    intake with this message (the desk no longer holds the person, e.g. after Close).
    """

    messages: tuple[Message, ...] = ()
    after: str = "wait"


class DeskSink(HandoffSink, Protocol):
    """A handoff sink that also hears the person after the handoff (relay, queue position) and
    screens every text for risk words (intake included). Optional: the dispatcher uses these
    methods only if the sink has them."""

    async def from_person(
        self, *, pseudonym: str, channel: str, source_key: str, text: str | None, media: str | None,
        command: str | None, language: str | None, now: datetime,
    ) -> SinkReply | None: ...

    async def screen(
        self, *, pseudonym: str, channel: str, text: str | None, language: str | None, now: datetime
    ) -> tuple[Message, ...]: ...


@dataclass(frozen=True)
class _Tick:
    pseudonym: str


class Dispatcher:
    def __init__(
        self,
        *,
        store: Store,
        keyring: Keyring,
        flows: FlowVersions,
        metrics: Metrics,
        clock: Clock,
        channels: dict[str, ChannelSpec],
        handoff: HandoffSink,
        wake_sender: Callable[[], None] = lambda: None,
        handlers: Mapping[str, Callable[[InboxItem], Awaitable[str]]] | None = None,
        concurrency: int = 16,
    ) -> None:
        self.store = store
        self.keyring = keyring
        self.flows = flows
        self.metrics = metrics
        self.clock = clock
        self.channels = channels
        self.handoff_sink = handoff
        self.wake_sender = wake_sender
        # Inbox channels that are not people (e.g. "slack-desk": counselors' thread messages and
        # buttons): their events go to a handler, in order per inbox pseudonym key.
        self.handlers = dict(handlers or {})
        self._queues: dict[str, asyncio.Queue[InboxItem | _Tick]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        # How many people are processed at once. Bounded so that under a burst the webhook,
        # whose answer LINE waits for, keeps most of the event loop; the backlog is durable.
        self._slots = asyncio.Semaphore(concurrency)

    # -- scheduling -------------------------------------------------------------------------

    def submit(self, items: Sequence[InboxItem]) -> None:
        for item in items:
            self._enqueue(item.pseudonym or f"event:{item.id}", item)

    def submit_tick(self, pseudonym: str) -> None:
        self._enqueue(pseudonym, _Tick(pseudonym))

    def _enqueue(self, key: str, job: InboxItem | _Tick) -> None:
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = asyncio.Queue()
        queue.put_nowait(job)
        if key not in self._tasks:
            self._idle.clear()
            self._tasks[key] = asyncio.create_task(self._drain(key, queue), name=f"person-{key[:8]}")

    async def _drain(self, key: str, queue: asyncio.Queue[InboxItem | _Tick]) -> None:
        try:
            while not queue.empty():
                job = queue.get_nowait()
                try:
                    async with self._slots:
                        await self._job(job)
                except Exception as exc:  # one bad event must not stop the person's queue
                    log.error("processing failed person=%s error=%s", key[:8], type(exc).__name__)
                    if isinstance(job, InboxItem):
                        self.metrics.events_processed.labels(job.channel, "failed").inc()
                        await self.store.mark_event_failed(job.id, now=self.clock(), error=type(exc).__name__)
        finally:
            del self._tasks[key]
            self._queues.pop(key, None)
            if not self._tasks:
                self._idle.set()

    async def _job(self, job: InboxItem | _Tick) -> None:
        if isinstance(job, _Tick):
            await self._run(job.pseudonym, self._tick)
        else:
            await self._process(job)

    async def join(self) -> None:
        """Wait until every queued job has been processed (tests, shutdown, benchmarks)."""
        while self._tasks:
            await self._idle.wait()

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    # -- one inbound event ---------------------------------------------------------------------

    async def _process(self, item: InboxItem) -> None:
        started = time.perf_counter()
        outcome = "ignored"
        if item.channel in self.handlers:
            outcome = await self.handlers[item.channel](item)
            self.metrics.events_processed.labels(item.channel, outcome).inc()
            return
        inbound = Inbound.from_bytes(item.payload)
        if item.pseudonym is None or inbound.standby:
            await self.store.mark_event_done(item.id, now=self.clock())
            outcome = "standby" if inbound.standby else "ignored"
        elif inbound.source != "user":
            outcome = await self._run(item.pseudonym, self._group, inbound=inbound, item=item)
        else:
            outcome = await self._run(item.pseudonym, self._person, inbound=inbound, item=item)
        self.metrics.events_processed.labels(item.channel, outcome).inc()
        self.metrics.processing_seconds.labels(item.channel).observe(time.perf_counter() - started)

    async def _run(self, pseudonym: str, step: Callable[..., Awaitable[str]], **kwargs: object) -> str:
        """Run one step under the optimistic lock; retry on fresh state if another process raced us."""
        for _ in range(MAX_RETRIES):
            try:
                return await step(pseudonym, **kwargs)
            except ConcurrentUpdate:
                await asyncio.sleep(0.01)
        raise ConcurrentUpdate(f"gave up after {MAX_RETRIES} conflicting updates")

    async def _person(self, pseudonym: str, *, inbound: Inbound, item: InboxItem) -> str:
        now = self.clock()
        stored = await self.store.load_session(pseudonym)
        session = self._session_of(stored)
        version = stored.version if stored else None

        if inbound.kind == "unfollow":
            if stored is None:
                await self.store.mark_event_done(item.id, now=now)
                return "unfollow"
            from_person = getattr(self.handoff_sink, "from_person", None)
            if session is not None and session.status == "handoff" and from_person is not None:
                # The person blocked the account: the desk ends the case and tells the counselor,
                # who would otherwise go on writing to someone who can no longer read it.
                await from_person(
                    pseudonym=pseudonym, channel=inbound.channel, source_key=f"inbox:{item.id}", text=None,
                    media=None, command="stop", language=session.language, now=now,
                )
            await self._commit(pseudonym, version, None, None, (), inbound, item, now)
            return "unfollow"
        if inbound.kind not in ("message", "follow"):
            await self.store.mark_event_done(item.id, now=now)
            return "ignored"

        flow = self._flow_of(session) if session is not None and session.status in ("active", "handoff") else None
        if inbound.kind == "follow" or flow is None or session is None:
            await self.store.remember_address(
                channel=inbound.channel, pseudonym=pseudonym, platform_user_id=inbound.address, now=now
            )
            turn = engine.start(self.flows.current(INTAKE), now=now)
        elif session.status == "handoff":
            turn = await self._from_person(pseudonym, flow, session, inbound, item, now)
            if turn is None:  # the desk let go of this person: this message starts a new intake
                await self.store.remember_address(
                    channel=inbound.channel, pseudonym=pseudonym, platform_user_id=inbound.address, now=now
                )
                turn = engine.start(self.flows.current(INTAKE), now=now, language=session.language)
        else:
            turn = engine.resume(flow, session, Input(text=inbound.text, media=inbound.media), now=now)
            turn = await self._screened(pseudonym, inbound, turn, now)

        await self._commit(pseudonym, version, *_kept(turn), turn.messages, inbound, item, now)
        for effect in turn.effects:
            if isinstance(effect, Handoff):
                await self.handoff_sink.handoff(pseudonym=pseudonym, channel=inbound.channel, handoff=effect, now=now)
        return "answered"

    def _flow_of(self, session: Session) -> Flow | None:
        """The flow version a session is pinned to; None if this process no longer holds it."""
        try:
            return self.flows.for_session(session)
        except UnknownVersion:
            log.warning("flow %s version %s not held; starting over", session.flow_id, session.version)
            return None

    def _session_of(self, stored: StoredSession | None) -> Session | None:
        """A person's stored session; None if there is none or it cannot be read (they start over)."""
        if stored is None:
            return None
        try:
            return Session.from_json(stored.state)
        except FlowError as exc:
            log.warning("stored session not readable (%s); starting over", exc)
            return None

    async def _from_person(
        self, pseudonym: str, flow: Flow, session: Session, inbound: Inbound, item: InboxItem, now: datetime
    ) -> Turn | None:
        """While handed off: the global commands first, then the desk (relay, position), if any."""
        from_person = getattr(self.handoff_sink, "from_person", None)
        if from_person is None:
            return self._while_waiting(flow, session, inbound, now)
        command = engine.command_for(flow, inbound.text)
        reply = await from_person(
            pseudonym=pseudonym, channel=inbound.channel, source_key=f"inbox:{item.id}", text=inbound.text,
            media=inbound.media, command=command, language=session.language, now=now,
        )
        if command in ("stop", "restart") or reply is None:
            return self._while_waiting(flow, session, inbound, now)
        if reply.after == "start":
            return None
        after = session.ended("completed") if reply.after == "end" else session
        return Turn(session=after, messages=reply.messages, effects=())

    async def _screened(self, pseudonym: str, inbound: Inbound, turn: Turn, now: datetime) -> Turn:
        """Risk words during the intake: the desk may add the emergency lines to this turn."""
        screen = getattr(self.handoff_sink, "screen", None)
        if screen is None or not inbound.text:
            return turn
        extra = await screen(
            pseudonym=pseudonym, channel=inbound.channel, text=inbound.text,
            language=turn.session.language, now=now,
        )
        if not extra:
            return turn
        return Turn(session=turn.session, messages=(*turn.messages, *extra), effects=turn.effects)

    def _while_waiting(self, flow: Flow, session: Session, inbound: Inbound, now: datetime) -> Turn:
        """Between the end of the intake and a counselor: a holding line, and the global commands."""
        command = engine.command_for(flow, inbound.text)
        if command == "restart":
            return engine.start(flow, now=now, language=session.language)
        if command == "stop":
            ended = session.ended("stopped")
            return Turn(session=ended, messages=(Message(texts.text("ended", session.language)),), effects=())
        return Turn(session=session, messages=(Message(texts.text("waiting", session.language)),), effects=())

    async def _group(self, pseudonym: str, *, inbound: Inbound, item: InboxItem) -> str:
        """Groups and rooms: one short line now and then, nothing else; nothing about them is kept."""
        now = self.clock()
        stored = await self.store.load_session(pseudonym)
        last = stored.state.get("group_notice_at") if stored else None
        if inbound.kind not in ("message", "join") or (
            last and now - datetime.fromisoformat(last) < GROUP_NOTICE_EVERY
        ):
            await self.store.mark_event_done(item.id, now=now)
            return "ignored"
        messages = (Message(texts.text("group_only_one_to_one", None)),)
        state = {"group_notice_at": now.isoformat()}
        await self._commit(pseudonym, stored.version if stored else None, state, None, messages, inbound, item, now)
        return "group"

    async def _tick(self, pseudonym: str) -> str:
        now = self.clock()
        stored = await self.store.load_session(pseudonym)
        session = self._session_of(stored)
        if stored is None or session is None or session.status != "active":
            return "tick"
        flow = self._flow_of(session)
        if flow is None:
            return "tick"
        turn = engine.tick(flow, session, now=now)
        if not turn.messages and turn.session == session:
            return "tick"
        await self._commit(pseudonym, stored.version, *_kept(turn), turn.messages, None, None, now)
        return "tick"

    # -- writing ----------------------------------------------------------------------------

    async def _commit(
        self,
        pseudonym: str,
        version: int | None,
        state: dict[str, Any] | None,
        wake_at: datetime | None,
        messages: Sequence[Message],
        inbound: Inbound | None,
        item: InboxItem | None,
        now: datetime,
    ) -> None:
        channel = inbound.channel if inbound else await self._channel_of(pseudonym)
        await self.store.commit_turn(
            pseudonym=pseudonym,
            expected_version=version,
            state=state,
            wake_at=wake_at,
            outgoing=self._outgoing(channel, messages, inbound),
            inbox_id=item.id if item else None,
            now=now,
        )
        if messages:
            self.wake_sender()

    async def _channel_of(self, pseudonym: str) -> str:
        address = await self.store.address_of(pseudonym)
        return address[0] if address else "line"

    def _outgoing(self, channel: str, messages: Sequence[Message], inbound: Inbound | None) -> list[Outgoing]:
        spec = self.channels.get(channel) or ChannelSpec(batch_size=5, reply_ttl=None)
        rows: list[Outgoing] = []
        for start in range(0, len(messages), spec.batch_size):
            batch = [
                {"text": m.text, "choices": [{"label": c.label, "value": c.value} for c in m.choices]}
                for m in messages[start : start + spec.batch_size]
            ]
            token = expires = None
            if start == 0 and inbound and inbound.reply_token and spec.reply_ttl:
                token, expires = inbound.reply_token, inbound.occurred_at + spec.reply_ttl
            payload = json.dumps(batch, ensure_ascii=False).encode()
            rows.append(Outgoing(channel=channel, payload=payload, reply_token=token, reply_token_expires_at=expires))
        return rows


def _kept(turn: Turn) -> tuple[dict[str, Any] | None, datetime | None]:
    """What is stored of a turn's session (as JSON), and when it wakes: nothing once it ended."""
    if turn.session.status == "ended":
        return None, None  # an ended conversation is not kept
    return turn.session.to_json(), turn.wake_at
