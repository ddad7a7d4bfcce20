"""One event of one person, from their stored session to the new one and what to send.

`Conversation` runs the pure engine during the intake and passes the person to the desk (its
port) after it. It works inside a claimed batch (storage/work.py): the session was loaded (and
locked) with the claim, and the new state, the outgoing messages, the inbox event's done mark and
whatever the desk decides (a case opened at the end of the intake, a relayed message) are all
written in the batch's one transaction — so a worker killed mid-batch leaves nothing half-done.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from flows import Flow, FlowError, Session, engine
from flows.engine import Handoff, Input, Turn
from flows.messages import Message
from flows.versions import FlowVersions, UnknownVersion
from storage import InboxItem, StoredSession
from storage.work import Claimed

from .. import texts
from ..clock import Clock
from ..desk.port import DeskPort
from ..events import Inbound
from . import consent, erase
from .outgoing import ChannelSpec, outgoing_rows

log = logging.getLogger(__name__)

GROUP_NOTICE_EVERY = timedelta(hours=24)
INTAKE = "intake"


class Conversation:
    def __init__(self, *, flows: FlowVersions, clock: Clock, channels: Mapping[str, ChannelSpec]) -> None:
        self.flows = flows
        self.clock = clock
        self.channels = channels

    # -- a person's event ------------------------------------------------------------------------

    async def person(self, work: Claimed, desk: DeskPort, pseudonym: str, inbound: Inbound,
                     item: InboxItem) -> str:
        now = self.clock()
        stored = work.session(pseudonym)
        question = erase.asked(stored)
        if question is not None and inbound.kind == "message":
            return await self._erase_answer(work, desk, pseudonym, inbound, item, question, now)
        if erase.wants(inbound):
            language = erase.language_of(stored, inbound)
            self._commit(work, pseudonym, erase.ask_state(stored, now, language), now + erase.ASK_FOR,
                         (erase.question(language),), inbound, item, now)
            return "erase_asked"
        session = self._session_of(stored)

        if inbound.kind == "unfollow":
            if stored is None:
                work.done(item.id, now=now)
                return "unfollow"
            if session is not None and session.status == "handoff":
                # The person blocked the account: the desk ends the case and tells the counselor,
                # who would otherwise go on writing to someone who can no longer read it.
                await desk.from_person(
                    pseudonym=pseudonym, channel=inbound.channel, source_key=f"inbox:{item.id}", text=None,
                    media=None, command="stop", language=session.language, now=now)
            self._commit(work, pseudonym, None, None, (), inbound, item, now)
            return "unfollow"
        if inbound.kind not in ("message", "follow"):
            work.done(item.id, now=now)
            return "ignored"

        flow = self._flow_of(session) if session is not None and session.status in ("active", "handoff") else None
        if inbound.kind == "follow" or flow is None or session is None:
            turn = await self._start(work, pseudonym, inbound, inbound.language, now)
        elif session.status == "handoff":
            with_desk = await self._with_desk(desk, pseudonym, flow, session, inbound, item, now)
            # None: the desk let go of this person, and this message starts a new intake
            turn = with_desk or await self._start(work, pseudonym, inbound, session.language, now)
        else:
            turn = engine.resume(flow, session, Input(text=inbound.text, media=inbound.media), now=now)
            turn = await self._screened(desk, pseudonym, inbound, turn, now)

        # The terms the person accepted, and when, travel in the session to the case (consent.py).
        state, wake_at = _kept(turn)
        before, shown = (stored.state if stored else None), self._flow_of(turn.session)
        self._commit(work, pseudonym, consent.stamp(state, before, shown, now), wake_at, turn.messages, inbound,
                     item, now)
        handoffs = [e for e in turn.effects if isinstance(e, Handoff)]
        if handoffs:
            # The desk writes its own lines for the person (their place in the queue) as it opens
            # the case; the turn's lines (the thanks that announces the handoff) go first.
            await work.flush()
        for effect in handoffs:  # in the same transaction as the turn that announces it
            terms = consent.accepted(consent.stamp(turn.session.to_json(), before, shown, now))
            await desk.handoff(pseudonym=pseudonym, channel=inbound.channel, handoff=effect, now=now, terms=terms)
        return "answered"

    async def _start(self, work: Claimed, pseudonym: str, inbound: Inbound, language: str | None,
                     now: datetime) -> Turn:
        await work.remember_address(channel=inbound.channel, pseudonym=pseudonym,
                                    platform_user_id=inbound.address, now=now)
        return engine.start(self.flows.current(INTAKE), now=now, language=language)

    async def _erase_answer(self, work: Claimed, desk: DeskPort, pseudonym: str, inbound: Inbound,
                            item: InboxItem, question: dict[str, Any], now: datetime) -> str:
        """Yes: erase now (bot/work/erase.py). Anything else: nothing is erased, and the
        conversation is where it was."""
        if not erase.said_yes(inbound):
            state, wake_at = erase.resumed(question)
            kept = Message(erase.said("erase_kept", question.get("language")))
            self._commit(work, pseudonym, state, wake_at, (kept,), inbound, item, now)
            return "erase_kept"
        await erase.erase(work, desk, pseudonym, channel=inbound.channel, now=now)
        if inbound.address:  # for the goodbye only, under a new key; erased with it (the timer)
            await work.remember_address(channel=inbound.channel, pseudonym=pseudonym,
                                        platform_user_id=inbound.address, now=now)
        self._commit(work, pseudonym, {erase.ERASED_AT: now.isoformat()}, now + erase.LINGER,
                     (Message(erase.said("erase_done", question.get("language"))),), inbound, item, now)
        return "erased"

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
        if stored is None or erase.lingering(stored) or erase.asked(stored) is not None:
            return None
        try:
            return Session.from_json(stored.state)
        except FlowError as exc:
            log.warning("stored session not readable (%s); starting over", exc)
            return None

    async def _with_desk(self, desk: DeskPort, pseudonym: str, flow: Flow, session: Session, inbound: Inbound,
                         item: InboxItem, now: datetime) -> Turn | None:
        """After the intake: the desk answers (relay, queue position); the global commands stay."""
        command = engine.command_for(flow, inbound.text)
        reply = await desk.from_person(
            pseudonym=pseudonym, channel=inbound.channel, source_key=f"inbox:{item.id}", text=inbound.text,
            media=inbound.media, command=command, language=session.language, now=now)
        if command in ("stop", "restart") or reply is None:
            return self._while_waiting(flow, session, inbound, now)
        if reply.after == "start":
            return None
        after = session.ended("completed") if reply.after == "end" else session
        return Turn(session=after, messages=reply.messages, effects=())

    async def _screened(self, desk: DeskPort, pseudonym: str, inbound: Inbound, turn: Turn, now: datetime) -> Turn:
        """Risk words during the intake: the desk may add the emergency lines to this turn."""
        if not inbound.text:
            return turn
        extra = await desk.screen(pseudonym=pseudonym, channel=inbound.channel, text=inbound.text,
                                       language=turn.session.language, now=now)
        return engine.with_notice(turn, extra)  # the question and its buttons stay last

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

    async def group(self, work: Claimed, pseudonym: str, inbound: Inbound, item: InboxItem) -> str:
        """Groups and rooms: one short line now and then, nothing else; nothing about them is kept."""
        now = self.clock()
        stored = work.session(pseudonym)
        last = stored.state.get("group_notice_at") if stored else None
        if inbound.kind not in ("message", "join") or (
            last and now - datetime.fromisoformat(last) < GROUP_NOTICE_EVERY
        ):
            work.done(item.id, now=now)
            return "ignored"
        messages = (Message(texts.text("group_only_one_to_one", None)),)
        state = {"group_notice_at": now.isoformat()}
        self._commit(work, pseudonym, state, None, messages, inbound, item, now)
        return "group"

    async def tick(self, work: Claimed, pseudonym: str) -> str:
        """Time passed for an active session: a reminder or the end, as the flow says."""
        now = self.clock()
        stored = work.session(pseudonym)
        question = erase.asked(stored)
        if question is not None:  # not answered in time: the conversation goes on as it was
            state, wake_at = erase.resumed(question)
            channel = await work.channel_of(pseudonym) or "line"
            self._commit(work, pseudonym, state, wake_at, (), None, None, now, channel=channel)
            return "tick"
        if erase.lingering(stored):  # the goodbye went out: its address and lines go too
            await work.erase(pseudonym, now=now, keep_seq=False)
            self._commit(work, pseudonym, None, None, (), None, None, now)
            return "tick"
        session = self._session_of(stored)
        if stored is None or session is None or session.status != "active":
            return "tick"
        flow = self._flow_of(session)
        if flow is None:
            return "tick"
        turn = engine.tick(flow, session, now=now)
        if not turn.messages and turn.session == session:
            return "tick"
        channel = await work.channel_of(pseudonym) or "line"
        self._commit(work, pseudonym, *_kept(turn), turn.messages, None, None, now, channel=channel)
        return "tick"

    # -- writing -------------------------------------------------------------------------------------

    def _commit(self, work: Claimed, pseudonym: str, state: dict[str, Any] | None, wake_at: datetime | None,
                messages: Sequence[Message], inbound: Inbound | None, item: InboxItem | None, now: datetime,
                *, channel: str | None = None) -> None:
        channel = channel or (inbound.channel if inbound else "line")
        work.commit_turn(pseudonym=pseudonym, state=state, wake_at=wake_at,
                         outgoing=outgoing_rows(channel, messages, inbound, channels=self.channels),
                         inbox_id=item.id if item else None, now=now)


def _kept(turn: Turn) -> tuple[dict[str, Any] | None, datetime | None]:
    """What is stored of a turn's session (as JSON), and when it wakes: nothing once it ended."""
    if turn.session.status == "ended":
        return None, None  # an ended conversation is not kept
    return turn.session.to_json(), turn.wake_at
