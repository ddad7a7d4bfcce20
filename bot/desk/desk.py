"""The counselor desk, channel-neutral: cases from handoff to Close, the queue, overflow, relay.

The desk decides; CaseStore writes each decision together with what it sends (to the person on
their channel, to counselors as "slack-desk" outbox rows), so the OutboxPump delivers both and
nothing is lost while a platform is down. Two front ends call it and never decide: the Slack
adapter (bot/slack) translates buttons and thread messages into the calls below and renders
cards; the web desk (bot/webdesk) does the same from a signed-in counselor's page. A partner with
`desk: {web: true}` and no Slack channel still gets a card row (what accept is decided on), with
an empty Slack channel and no Slack ops: the web desk reads its cases and messages directly.

Priority: urgent +100, each risk-word weight +10, and one point per minute waited, so that a
calm case that has waited long enough still overtakes (no one waits forever).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flows.engine import Choice, Handoff, Message
from routing import Directory, Hotlines, RequestError, RouteRequest, is_open, route
from storage.cases import NEW_CARD, Case, CaseConflict, CaseStore, Emit, FollowUp, NewCard

from ..dispatch import SinkReply
from . import texts as T
from .risk import RiskHit, RiskLexicon

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
URGENT_POINTS = 100
RISK_POINTS = 10
POSITION_NOTICE_STEP = 3  # tell the person again when their place moved this much
OUTCOMES = ("resolved", "referred", "no_reply", "other")
FOLLOWUP_DAYS = (3, 7)


@dataclass(frozen=True)
class ActionResult:
    """The outcome of a counselor's action; `notice` is shown to that counselor only."""

    ok: bool
    notice: str | None = None
    case: Case | None = None


def effective_priority(case: Case, now: datetime) -> float:
    return case.priority + case.waited(now).total_seconds() / 60


def has_desk(org) -> bool:
    """A partner takes cases on Slack, on the web desk, or both."""
    return bool(org is not None and (org.desk.slack_channel or org.desk.web))


def _msg(text: str, choices: Sequence[dict[str, str]] = ()) -> Message:
    return Message(text, tuple(Choice(c["label"], c["value"]) for c in choices))


class Desk:
    def __init__(
        self, *, cases: CaseStore, directory: Directory, hotlines: Hotlines, lexicon: RiskLexicon,
        clock: Clock, wake_sender: Callable[[], None] = lambda: None, metrics=None,
    ) -> None:
        self.cases = cases
        self.directory = directory
        self.hotlines = hotlines
        self.lexicon = lexicon
        self.clock = clock
        self.wake_sender = wake_sender
        self.metrics = metrics  # bot.metrics.Metrics: handoffs are counted per channel

    # -- routing helpers -------------------------------------------------------------------------

    def _request(self, answers: dict, *, urgent: bool, language: str | None) -> RouteRequest:
        topics = tuple(answers.get("topics") or ()) or ("other",)
        lang = language if language in ("ja", "en") else "ja"
        prefecture = answers.get("prefecture")
        try:
            return RouteRequest(topics=topics, prefecture=prefecture, language=lang, urgent=urgent,
                                avoid_own_area=bool(answers.get("avoid_own_area")))
        except RequestError:
            return RouteRequest(topics=("other",), prefecture=None, language=lang, urgent=urgent)

    async def _candidates(self, request: RouteRequest, now: datetime, *, skip: Sequence[str] = ()):
        decision = route(request, self.directory, await self.cases.loads(), now, hotlines=self.hotlines)
        ids = [c.org.id for c in decision.candidates if has_desk(c.org) and c.org.id not in skip]
        return ids, decision

    def _card(self, org_id: str, via: str) -> NewCard:
        org = self.directory.get(org_id)
        assert has_desk(org)
        return NewCard(org_id=org_id, slack_channel=org.desk.slack_channel or "", via=via)

    def _new_card_ops(self, org_id: str | None, *ops: dict) -> tuple[dict, ...]:
        """Ops on the card a transition creates: none when that partner has no Slack channel."""
        org = self.directory.get(org_id) if org_id else None
        return tuple(ops) if org is not None and org.desk.slack_channel else ()

    def _minutes(self, org_id: str | None) -> int:
        org = self.directory.get(org_id) if org_id else None
        return org.response_minutes if org else 10

    async def position(self, case: Case, now: datetime) -> int:
        """1 + the queued cases at the same partner that come before this one."""
        queued = [c for c in await self.cases.queued() if c.org_id == case.org_id]
        queued.sort(key=lambda c: (-effective_priority(c, now), c.id))
        for index, other in enumerate(queued, 1):
            if other.id == case.id:
                return index
        return len(queued) + 1

    def _estimate(self, case: Case, position: int) -> int:
        return max(1, position * self._minutes(case.org_id))

    def _emergency(self, topics: Sequence[str], language: str | None, now: datetime) -> Message:
        lines = self.hotlines.for_topics(tuple(topics) or ("suicide",), now, urgent=True)
        return _msg(f"{T.person('emergency', language)}\n{T.hotline_lines(lines, language)}")

    def _wake(self) -> None:
        self.wake_sender()

    # -- the seam from the dispatcher ------------------------------------------------------------

    async def handoff(self, *, pseudonym: str, channel: str, handoff: Handoff, now: datetime) -> None:
        """The intake ended: queue a case at the best open partner, or tell the person who is open."""
        if self.metrics is not None:
            self.metrics.handoffs.labels(channel).inc()
        answers = dict(handoff.answers)
        score, words = await self.cases.take_risk(pseudonym)
        await self._open(pseudonym=pseudonym, channel=channel, answers=answers, urgent=handoff.urgent,
                         language=handoff.language, risk=(score, words), prefer=None, via="route", now=now)

    async def _open(self, *, pseudonym: str, channel: str, answers: dict, urgent: bool, language: str,
                    risk: tuple[int, Sequence[str]], prefer: str | None, via: str, now: datetime) -> Case:
        request = self._request(answers, urgent=urgent, language=language)
        candidates, decision = await self._candidates(request, now)
        if prefer is not None:
            org = self.directory.get(prefer)
            if has_desk(org) and is_open(org, now) and not org.paused:
                candidates = [prefer, *(c for c in candidates if c != prefer)]
        org_id = candidates[0] if candidates else None
        priority = URGENT_POINTS * urgent + RISK_POINTS * risk[0]
        position = 1 + sum(1 for c in await self.cases.queued()
                           if org_id and c.org_id == org_id and effective_priority(c, now) >= priority)
        consent = bool(answers.get("share_consent"))

        def build(case: Case) -> Emit:
            if org_id is None:
                person = [_msg(T.person("no_partner", language))]
                lines = self.hotlines.for_topics(request.topics, now, urgent=urgent)
                if lines:
                    person.append(_msg(f"{T.person('phones_open', language)}\n{T.hotline_lines(lines, language)}"))
                tail = T.person("leave_message", language)
                if decision.next_open is not None:
                    tail = f"{T.person('next_opening', language, when=T.when(decision.next_open))}\n{tail}"
                person.append(_msg(tail))
                return Emit(person=tuple(person))
            minutes = position * self._minutes(org_id)
            return Emit(person=(_msg(T.person("queued", language, position=position, minutes=minutes)),),
                        desk=self._new_card_ops(org_id, {"op": "post_card", "card_id": NEW_CARD}))

        case = await self.cases.open_case(
            pseudonym=pseudonym, channel=channel, answers=answers, urgent=urgent, language=language,
            share_consent=consent, priority=priority, risk_words=list(risk[1]), org_id=org_id,
            candidates=candidates, card=self._card(org_id, via) if org_id else None,
            told_position=position if org_id else None, build=build, now=now)
        self._wake()
        log.info("case %s queued at %s priority=%s", case.id, org_id or "-", priority)
        return case

    async def screen(self, *, pseudonym: str, channel: str, text: str | None, language: str | None,
                     now: datetime) -> tuple[Message, ...]:
        """During the intake: remember risk words for the case to come; the emergency lines once."""
        hit = self.lexicon.scan(text)
        if not hit:
            return ()
        weights = {w: self.lexicon.weight(w) for w in hit.words}
        first = await self.cases.mark_risk(pseudonym, weights=weights, now=now)
        if first:
            return (self._emergency(("suicide",), language, now),)
        return ()

    async def from_person(
        self, *, pseudonym: str, channel: str, source_key: str, text: str | None, media: str | None,
        command: str | None, language: str | None, now: datetime,
    ) -> SinkReply | None:
        case = await self.cases.latest_case(pseudonym)
        followup = await self.cases.pending_followup(pseudonym)
        if command in ("stop", "restart"):
            await self._person_left(case, followup, now)
            return None
        if case is not None and case.status != "closed":
            return await self._relay_from_person(case, source_key, text, media, now)
        if followup is not None:
            return await self._followup_answer(followup, case, text, media, now)
        return SinkReply(after="start")

    async def _person_left(self, case: Case | None, followup: FollowUp | None, now: datetime) -> None:
        if followup is not None:
            await self.cases.move_followup(followup.id, expect=followup.status, status="cancelled", now=now)
        if case is None or case.status == "closed":
            return
        card = await self._open_card(case)
        try:
            await self.cases.transition(
                case.id, expect_status=("queued", "active"),
                values={"status": "closed", "outcome": "person_left", "closed_at": now},
                card_states={card.id: "closed"} if card else None,
                build=lambda c: Emit(desk=self._card_ops(card, T.counselor("person_left"))), now=now)
        except CaseConflict:
            return
        self._wake()

    async def _open_card(self, case: Case):
        cards = [c for c in await self.cases.cards(case.id) if c.state == "open" and c.org_id == case.org_id]
        return cards[-1] if cards else None

    @staticmethod
    def _card_ops(card, thread_text: str | None = None) -> tuple[dict, ...]:
        if card is None or not card.slack_channel:  # a web-desk card: nothing to post to Slack
            return ()
        ops: list[dict] = [{"op": "update_card", "card_id": card.id}]
        if thread_text:
            ops.append({"op": "thread", "card_id": card.id, "text": thread_text})
        return tuple(ops)

    async def _relay_from_person(self, case: Case, source_key: str, text: str | None, media: str | None,
                                 now: datetime) -> SinkReply:
        language = case.language
        hit = self.lexicon.scan(text)
        card = await self._open_card(case)
        send_lines = False
        if hit:
            case, send_lines = await self._raise_risk(case, hit, card, now)
        shown = T.shown(text, media)

        def build(c: Case) -> Emit:
            if card is None or not card.slack_channel:
                return Emit()
            return Emit(desk=({"op": "thread", "card_id": card.id, "text": f"{c.label}: {shown}"},))

        await self.cases.record(case.id, direction="person", text=shown, source_key=source_key,
                                build=build, now=now)
        self._wake()
        replies: list[Message] = []
        if send_lines:
            replies.append(self._emergency(case.answers.get("topics") or (), language, now))
        if case.status == "queued":
            if case.org_id is None:
                replies.append(Message(T.person("leave_message", language)))
            else:
                position = await self.position(case, now)
                replies.append(Message(T.person("holding", language, position=position)))
        return SinkReply(messages=tuple(replies))

    async def _raise_risk(self, case: Case, hit: RiskHit, card, now: datetime) -> tuple[Case, bool]:
        new = [w for w in hit.words if w not in case.risk_words]
        words = [*case.risk_words, *new]
        added = sum(self.lexicon.weight(w) for w in new)
        send_lines = case.status == "queued" and not case.lines_sent
        try:
            case = await self.cases.transition(
                case.id, expect_status=(case.status,),
                values={"priority": case.priority + RISK_POINTS * added, "risk_words": words,
                        "lines_sent": case.lines_sent or send_lines},
                build=lambda c: Emit(desk=self._card_ops(card, T.counselor("risk", words="、".join(hit.words)))),
                now=now)
        except CaseConflict:
            return case, False
        return case, send_lines

    async def _followup_answer(self, followup: FollowUp, case: Case | None, text: str | None,
                               media: str | None, now: datetime) -> SinkReply:
        language = case.language if case else "ja"
        answer = (text or "").strip().casefold()
        if followup.status == "offered":
            if answer in T.YES:
                await self.cases.move_followup(followup.id, expect="offered", status="scheduled",
                                               due_at=now + timedelta(days=followup.days), now=now)
                return SinkReply(messages=(Message(T.person("followup_yes", language, days=followup.days)),))
            if answer in T.NO:
                await self.cases.move_followup(followup.id, expect="offered", status="cancelled", now=now)
                return SinkReply(messages=(Message(T.person("followup_no", language)),), after="end")
            await self.cases.move_followup(followup.id, expect="offered", status="cancelled", now=now)
            return SinkReply(after="start")
        if followup.status == "asked" and answer in T.NO:
            await self.cases.move_followup(followup.id, expect="asked", status="done", now=now)
            return SinkReply(messages=(Message(T.person("followup_no", language)),), after="end")
        # A yes to the check-in, or a message while it was scheduled: back to the same partner first.
        if not await self.cases.move_followup(followup.id, expect=followup.status, status="done", now=now):
            return SinkReply(after="start")
        if case is None:
            return SinkReply(after="start")
        await self._open(pseudonym=case.pseudonym, channel=case.channel, answers=dict(case.answers),
                         urgent=case.urgent, language=case.language, risk=(0, case.risk_words),
                         prefer=followup.org_id, via="followup", now=now)
        return SinkReply()

    # -- counselors ------------------------------------------------------------------------------

    def _refusal(self, reason: str | None, case: Case | None) -> str:
        if reason == "taken" and case is not None:
            return T.counselor("taken", name=case.counselor_name or "?")
        if reason == "capacity" and case is not None:
            org = self.directory.get(case.org_id or "")
            return T.counselor("capacity", capacity=org.capacity if org else "?")
        return T.counselor(reason or "unknown")

    async def accept(self, card_id: int, *, counselor_id: str, counselor_name: str, now: datetime) -> ActionResult:
        card = await self.cases.card(card_id)
        if card is None:
            return ActionResult(False, T.counselor("unknown"))
        org = self.directory.get(card.org_id)
        capacity = org.capacity if org else 0

        def build(case: Case) -> Emit:
            return Emit(person=(_msg(T.person("joined", case.language, name=counselor_name)),),
                        desk=self._card_ops(card, T.counselor("joined", name=counselor_name)))

        result = await self.cases.accept(card_id, counselor_id=counselor_id, counselor_name=counselor_name,
                                         capacity=capacity, build=build, now=now)
        if not result.won:
            return ActionResult(False, self._refusal(result.reason, result.case), result.case)
        self._wake()
        return ActionResult(True, None, result.case)

    async def _active(self, card_id: int):
        card = await self.cases.card(card_id)
        case = await self.cases.case(card.case_id) if card else None
        if card is None or case is None:
            return None, None, ActionResult(False, T.counselor("unknown"))
        if case.status != "active" or case.org_id != card.org_id:
            reason = "closed" if case.status == "closed" else "moved" if case.org_id != card.org_id else "not_active"
            return card, case, ActionResult(False, T.counselor(reason), case)
        return card, case, None

    async def release(self, card_id: int, *, counselor_id: str, counselor_name: str, now: datetime) -> ActionResult:
        card, case, refused = await self._active(card_id)
        if refused:
            return refused
        try:
            case = await self.cases.transition(
                case.id, expect_status=("active",), expect_org=card.org_id,
                values={"status": "queued", "counselor_id": None, "counselor_name": None,
                        "accepted_at": None, "offered_at": now},
                build=lambda c: Emit(person=(_msg(T.person("released", c.language)),),
                                     desk=self._card_ops(card, T.counselor("released", name=counselor_name))),
                now=now)
        except CaseConflict:
            return ActionResult(False, T.counselor("moved"))
        self._wake()
        return ActionResult(True, None, case)

    async def close(self, card_id: int, *, counselor_id: str, counselor_name: str, outcome: str,
                    followup_days: int = 0, now: datetime) -> ActionResult:
        card, case, refused = await self._active(card_id)
        if refused:
            return refused
        outcome = outcome if outcome in OUTCOMES else "other"
        days = followup_days if followup_days > 0 else None

        def build(c: Case) -> Emit:
            person = [_msg(T.person("closed", c.language))]
            note = T.counselor("closed_by", name=counselor_name, outcome=T.OUTCOMES[outcome])
            if days:
                person.append(_msg(T.person("followup_offer", c.language, days=days), T.yes_no(c.language)))
                note += "\n" + T.counselor("followup", days=days)
            return Emit(person=tuple(person), desk=self._card_ops(card, note))

        try:
            case = await self.cases.transition(
                case.id, expect_status=("active",), expect_org=card.org_id,
                values={"status": "closed", "outcome": outcome, "closed_at": now},
                card_states={card.id: "closed"}, followup_days=days, build=build, now=now)
        except CaseConflict:
            return ActionResult(False, T.counselor("moved"))
        self._wake()
        return ActionResult(True, None, case)

    async def transfer_options(self, card_id: int, *, now: datetime) -> list[tuple[str, str]]:
        """(partner id, name) of the partners a case on this card could go to now."""
        card, case, refused = await self._active(card_id)
        if refused:
            return []
        request = self._request(dict(case.answers), urgent=case.urgent, language=case.language)
        ids, _ = await self._candidates(request, now, skip=(card.org_id,))
        return [(i, self.directory.get(i).name) for i in ids]  # type: ignore[union-attr]

    async def transfer(self, card_id: int, *, counselor_id: str, counselor_name: str, to_org: str,
                       now: datetime) -> ActionResult:
        card, case, refused = await self._active(card_id)
        if refused:
            return refused
        target = self.directory.get(to_org)
        if not has_desk(target) or to_org == card.org_id:
            return ActionResult(False, T.counselor("no_transfer"))
        name = target.name

        def build(c: Case) -> Emit:
            return Emit(person=(_msg(T.person("transferred", c.language)),),
                        desk=(*self._card_ops(card, T.counselor("transferred", org=name)),
                              *self._new_card_ops(to_org, {"op": "post_card", "card_id": NEW_CARD})))

        try:
            case = await self.cases.transition(
                case.id, expect_status=("active",), expect_org=card.org_id,
                values={"status": "queued", "org_id": to_org, "counselor_id": None, "counselor_name": None,
                        "accepted_at": None, "offered_at": now, "tried": [*case.tried, card.org_id]},
                card_states={card.id: "moved"}, new_card=self._card(to_org, "transfer"), build=build, now=now)
        except CaseConflict:
            return ActionResult(False, T.counselor("moved"))
        self._wake()
        return ActionResult(True, None, case)

    async def from_counselor(self, slack_channel: str, thread_ts: str, *, counselor_id: str, text: str,
                             source_key: str, now: datetime) -> ActionResult:
        """A counselor wrote in a card's thread: `//` is a note (kept, never relayed); else relay."""
        card = await self.cases.card_at(slack_channel, thread_ts)
        if card is None:
            return ActionResult(True)  # a thread that is not a card: not ours
        if text.lstrip().startswith("//"):
            return await self.note(card.id, counselor_id=counselor_id, text=text, source_key=source_key, now=now)
        return await self.say(card.id, counselor_id=counselor_id, text=text, source_key=source_key, now=now)

    async def note(self, card_id: int, *, counselor_id: str, text: str, source_key: str,
                   now: datetime) -> ActionResult:
        """An internal note on the case: kept with its messages, never relayed to the person."""
        card = await self.cases.card(card_id)
        case = await self.cases.case(card.case_id) if card else None
        if case is None:
            return ActionResult(False, T.counselor("unknown"))
        await self.cases.record(case.id, direction="note", text=text, source_key=source_key, now=now)
        return ActionResult(True, None, case)

    async def say(self, card_id: int, *, counselor_id: str, text: str, source_key: str,
                  now: datetime) -> ActionResult:
        """Relay a counselor's message to the person, if the case is active at the card's partner."""
        card = await self.cases.card(card_id)
        case = await self.cases.case(card.case_id) if card else None
        if card is None or case is None:
            return ActionResult(False, T.counselor("unknown"))
        if case.status != "active" or case.org_id != card.org_id or card.state != "open":
            return ActionResult(False, T.counselor("not_active"), case)
        await self.cases.record(case.id, direction="counselor", text=text, source_key=source_key,
                                build=lambda c: Emit(person=(_msg(text),)), now=now)
        self._wake()
        return ActionResult(True, None, case)

    # -- the periodic pass -----------------------------------------------------------------------

    async def run_once(self, now: datetime | None = None) -> None:
        """Overflow, partners that opened, queue positions, follow-ups that are due."""
        now = now or self.clock()
        changed = False
        for case in await self.cases.queued():
            try:
                if case.org_id is None:
                    changed |= await self._assign(case, now)
                elif case.offered_at and now - case.offered_at >= timedelta(minutes=self._minutes(case.org_id)):
                    changed |= await self._overflow(case, now)
            except CaseConflict:
                continue
        changed |= await self._positions(now)
        for followup in await self.cases.due_followups(now):
            changed |= await self.cases.move_followup(
                followup.id, expect="scheduled", status="asked",
                build=lambda c: Emit(person=(_msg(T.person("followup_ask", c.language), T.yes_no(c.language)),)),
                now=now)
        if changed:  # wake the sender only when there is something to send
            self._wake()

    async def run(self, every: float) -> None:
        while True:
            try:
                await self.run_once()
            except Exception as exc:
                log.error("desk pass failed: %s", type(exc).__name__)
            await asyncio.sleep(every)

    async def _assign(self, case: Case, now: datetime) -> bool:
        request = self._request(dict(case.answers), urgent=case.urgent, language=case.language)
        ids, _ = await self._candidates(request, now)
        if not ids:
            return False
        left = [m for m in await self.cases.messages(case.id) if m.direction == "person"]

        def build(c: Case) -> Emit:
            ops: list[dict] = [{"op": "post_card", "card_id": NEW_CARD}]
            for m in left:
                ops.append({"op": "thread", "card_id": NEW_CARD,
                            "text": f"{c.label}: {m.text}\n{T.counselor('left_message')}"})
            return Emit(person=(_msg(T.person("partner_open", c.language)),),
                        desk=self._new_card_ops(ids[0], *ops))

        await self.cases.transition(
            case.id, expect_status=("queued",), expect_org=None,
            values={"org_id": ids[0], "candidates": ids, "offered_at": now},
            new_card=self._card(ids[0], "route"), build=build, now=now)
        return True

    async def _overflow(self, case: Case, now: datetime) -> bool:
        request = self._request(dict(case.answers), urgent=case.urgent, language=case.language)
        skip = (*case.tried, case.org_id or "")
        ids, _ = await self._candidates(request, now, skip=skip)
        ordered = [c for c in case.candidates if c in ids] + [c for c in ids if c not in case.candidates]
        if not ordered:
            return False
        target = ordered[0]
        card = await self._open_card(case)
        minutes = self._minutes(case.org_id)
        name = self.directory.get(target).name  # type: ignore[union-attr]
        await self.cases.transition(
            case.id, expect_status=("queued",), expect_org=case.org_id,
            values={"org_id": target, "offered_at": now, "tried": [*case.tried, case.org_id]},
            card_states={card.id: "moved"} if card else None, new_card=self._card(target, "overflow"),
            build=lambda c: Emit(desk=(*self._card_ops(card, T.counselor("overflowed", minutes=minutes, org=name)),
                                       *self._new_card_ops(target, {"op": "post_card", "card_id": NEW_CARD}))),
            now=now)
        log.info("case %s overflowed from %s to %s", case.id, case.org_id, target)
        return True

    async def _positions(self, now: datetime) -> bool:
        changed = False
        queued = await self.cases.queued()
        by_org: dict[str, list[Case]] = {}
        for c in queued:
            if c.org_id:
                by_org.setdefault(c.org_id, []).append(c)
        for cases in by_org.values():
            cases.sort(key=lambda c: (-effective_priority(c, now), c.id))
            for position, case in enumerate(cases, 1):
                told = case.told_position or 1
                if abs(position - told) < POSITION_NOTICE_STEP:
                    continue
                minutes = self._estimate(case, position)
                try:
                    await self.cases.transition(
                        case.id, expect_status=("queued",), expect_org=case.org_id,
                        values={"told_position": position},
                        build=lambda c, p=position, m=minutes: Emit(
                            person=(_msg(T.person("position", c.language, position=p, minutes=m)),)),
                        now=now)
                    changed = True
                except CaseConflict:
                    continue
        return changed
