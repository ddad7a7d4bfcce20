"""One event of one person, from their stored session to the new one and what to send.

`Conversation` runs the pure engine during the intake and passes the person to the desk (its
port) after it. The session, the outgoing messages and the inbox event's done mark of one event
are written in one transaction (`Store.commit_turn`); its optimistic version check raises
`ConcurrentUpdate` when another process changed the session first, and the dispatcher runs the
event again on the fresh state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from flows import Flow, FlowError, Session, engine
from flows.engine import Handoff, Input, Turn
from flows.messages import Message
from flows.versions import FlowVersions, UnknownVersion
from storage import InboxItem, Store, StoredSession

from .. import texts
from ..clock import Clock
from ..desk.port import DeskPort
from ..events import Inbound
from .outgoing import ChannelSpec, outgoing_rows

log = logging.getLogger(__name__)

GROUP_NOTICE_EVERY = timedelta(hours=24)
INTAKE = "intake"


class Conversation:
    def __init__(self, *, store: Store, flows: FlowVersions, desk: DeskPort, clock: Clock,
                 channels: Mapping[str, ChannelSpec], wake_sender: Callable[[], None]) -> None:
        self.store = store
        self.flows = flows
        self.desk = desk
        self.clock = clock
        self.channels = channels
        self.wake_sender = wake_sender

    # -- a person's event ------------------------------------------------------------------------

    async def person(self, pseudonym: str, inbound: Inbound, item: InboxItem) -> str:
        now = self.clock()
        stored = await self.store.load_session(pseudonym)
        session = self._session_of(stored)
        version = stored.version if stored else None

        if inbound.kind == "unfollow":
            if stored is None:
                await self.store.mark_event_done(item.id, now=now)
                return "unfollow"
            if session is not None and session.status == "handoff":
                # The person blocked the account: the desk ends the case and tells the counselor,
                # who would otherwise go on writing to someone who can no longer read it.
                await self.desk.from_person(
                    pseudonym=pseudonym, channel=inbound.channel, source_key=f"inbox:{item.id}", text=None,
                    media=None, command="stop", language=session.language, now=now)
            await self._commit(pseudonym, version, None, None, (), inbound, item, now)
            return "unfollow"
        if inbound.kind not in ("message", "follow"):
            await self.store.mark_event_done(item.id, now=now)
            return "ignored"

        flow = self._flow_of(session) if session is not None and session.status in ("active", "handoff") else None
        if inbound.kind == "follow" or flow is None or session is None:
            turn = await self._start(pseudonym, inbound, None, now)
        elif session.status == "handoff":
            with_desk = await self._with_desk(pseudonym, flow, session, inbound, item, now)
            # None: the desk let go of this person, and this message starts a new intake
            turn = with_desk or await self._start(pseudonym, inbound, session.language, now)
        else:
            turn = engine.resume(flow, session, Input(text=inbound.text, media=inbound.media), now=now)
            turn = await self._screened(pseudonym, inbound, turn, now)

        await self._commit(pseudonym, version, *_kept(turn), turn.messages, inbound, item, now)
        for effect in turn.effects:
            if isinstance(effect, Handoff):
                await self.desk.handoff(pseudonym=pseudonym, channel=inbound.channel, handoff=effect, now=now)
        return "answered"

    async def _start(self, pseudonym: str, inbound: Inbound, language: str | None, now: datetime) -> Turn:
        await self.store.remember_address(channel=inbound.channel, pseudonym=pseudonym,
                                          platform_user_id=inbound.address, now=now)
        return engine.start(self.flows.current(INTAKE), now=now, language=language)

    def _flow_of(self, session: Session) -> Flow | None:
        """The flow version a session is pinned to; None if this process no longer holds it."""
        try:
            return self.flows.for_session(session)
        except UnknownVersion:
            log.warning("flow %s version %s not held; starting over", session.flow_id, session.version)
            return None

    @staticmethod
    def _session_of(stored: StoredSession | None) -> Session | None:
        """A person's stored session; None if there is none or it cannot be read (they start over)."""
        if stored is None:
            return None
        try:
            return Session.from_json(stored.state)
        except FlowError as exc:
            log.warning("stored session not readable (%s); starting over", exc)
            return None

    async def _with_desk(self, pseudonym: str, flow: Flow, session: Session, inbound: Inbound, item: InboxItem,
                         now: datetime) -> Turn | None:
        """After the intake: the desk answers (relay, queue position); the global commands stay."""
        command = engine.command_for(flow, inbound.text)
        reply = await self.desk.from_person(
            pseudonym=pseudonym, channel=inbound.channel, source_key=f"inbox:{item.id}", text=inbound.text,
            media=inbound.media, command=command, language=session.language, now=now)
        if command in ("stop", "restart") or reply is None:
            return self._while_waiting(flow, session, inbound, now)
        if reply.after == "start":
            return None
        after = session.ended("completed") if reply.after == "end" else session
        return Turn(session=after, messages=reply.messages, effects=())

    async def _screened(self, pseudonym: str, inbound: Inbound, turn: Turn, now: datetime) -> Turn:
        """Risk words during the intake: the desk may add the emergency lines to this turn."""
        if not inbound.text:
            return turn
        extra = await self.desk.screen(pseudonym=pseudonym, channel=inbound.channel, text=inbound.text,
                                       language=turn.session.language, now=now)
        if not extra:
            return turn
        return Turn(session=turn.session, messages=(*turn.messages, *extra), effects=turn.effects)

    @staticmethod
    def _while_waiting(flow: Flow, session: Session, inbound: Inbound, now: datetime) -> Turn:
        """Between the end of the intake and a counselor: a holding line, and the global commands."""
        command = engine.command_for(flow, inbound.text)
        if command == "restart":
            return engine.start(flow, now=now, language=session.language)
        if command == "stop":
            ended = session.ended("stopped")
            return Turn(session=ended, messages=(Message(texts.text("ended", session.language)),), effects=())
        return Turn(session=session, messages=(Message(texts.text("waiting", session.language)),), effects=())

    # -- groups and time ---------------------------------------------------------------------------

    async def group(self, pseudonym: str, inbound: Inbound, item: InboxItem) -> str:
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

    async def tick(self, pseudonym: str) -> str:
        """Time passed for an active session: a reminder or the end, as the flow says."""
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

    # -- writing -------------------------------------------------------------------------------------

    async def _commit(self, pseudonym: str, version: int | None, state: dict[str, Any] | None,
                      wake_at: datetime | None, messages: Sequence[Message], inbound: Inbound | None,
                      item: InboxItem | None, now: datetime) -> None:
        channel = inbound.channel if inbound else await self._channel_of(pseudonym)
        await self.store.commit_turn(
            pseudonym=pseudonym, expected_version=version, state=state, wake_at=wake_at,
            outgoing=outgoing_rows(channel, messages, inbound, channels=self.channels),
            inbox_id=item.id if item else None, now=now)
        if messages:
            self.wake_sender()

    async def _channel_of(self, pseudonym: str) -> str:
        address = await self.store.address_of(pseudonym)
        return address[0] if address else "line"


def _kept(turn: Turn) -> tuple[dict[str, Any] | None, datetime | None]:
    """What is stored of a turn's session (as JSON), and when it wakes: nothing once it ended."""
    if turn.session.status == "ended":
        return None, None  # an ended conversation is not kept
    return turn.session.to_json(), turn.wake_at
