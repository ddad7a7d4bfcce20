"""The person's side of the desk: from the end of the intake to a counselor, and every message
the person writes after it (relayed to the case, risk words, follow-up answers)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from flows.engine import Handoff
from flows.matching import normalize
from flows.messages import Message
from storage.cases import Card, Case, CaseConflict, Emit, FollowUp

from . import notices, unmet
from . import texts as T
from .partners import request_for
from .parts import DeskParts, message
from .port import DeskReply, Terms
from .queue import priority_of
from .risk import RiskHit

log = logging.getLogger(__name__)


class PersonSide:
    def __init__(self, parts: DeskParts) -> None:
        self.p = parts

    async def handoff(self, *, pseudonym: str, channel: str, handoff: Handoff, now: datetime,
                      terms: Terms | None = None) -> None:
        """The intake ended: queue a case at the best open partner, or tell the person who is open."""
        if self.p.metrics is not None:
            self.p.metrics.handoffs.labels(channel).inc()
        score, words = await self.p.cases.take_risk(pseudonym)
        await self.open_case(pseudonym=pseudonym, channel=channel, answers=dict(handoff.answers),
                             urgent=handoff.urgent, language=handoff.language, risk=(score, words), prefer=None,
                             via="route", terms=terms, now=now)

    async def open_case(self, *, pseudonym: str, channel: str, answers: Mapping[str, Any], urgent: bool,
                        language: str, risk: tuple[int, Sequence[str]], prefer: str | None, via: str,
                        now: datetime, terms: Terms | None = None) -> Case:
        request = request_for(answers, urgent=urgent, language=language)
        candidates, decision = await self.p.partners.candidates(request, now)
        if prefer is not None and self.p.partners.open_now(prefer, now):
            candidates = [prefer, *(c for c in candidates if c != prefer)]
        org_id = candidates[0] if candidates else None
        priority = priority_of(urgent=urgent, risk_score=risk[0])
        waiting = await self.p.cases.place_for_new(org_id, priority=priority, now=now) if org_id else 1

        def build(case: Case) -> Emit:
            if org_id is None:
                return Emit(person=(message(self._nobody_open(request.topics, urgent, language, decision.next_open,
                                                              now)),))
            minutes = waiting * self.p.partners.response_minutes(org_id)
            return Emit(person=(message(T.person("queued", language, position=waiting, minutes=minutes)),),
                        desk=(notices.opened(),))

        case = await self.p.cases.open_case(
            pseudonym=pseudonym, channel=channel, answers=answers, urgent=urgent, language=language,
            share_consent=bool(answers.get("share_consent")), priority=priority, risk_words=list(risk[1]),
            org_id=org_id, candidates=candidates, card=self.p.partners.card(org_id, via) if org_id else None,
            told_position=waiting if org_id else None,
            due_at=self.p.overflow_at(org_id, now) if org_id else self.p.route_again_at(decision.next_open, now),
            build=build, terms=terms, now=now)
        self.p.wake()
        if org_id is None:
            await unmet.routed_nowhere(self.p, request, decision, now)
        log.info("case %s queued at %s priority=%s", case.id, org_id or "-", priority)
        return case

    def _nobody_open(self, topics: Sequence[str], urgent: bool, language: str, next_open: datetime | None,
                     now: datetime) -> str:
        """One message when no partner can take the case: that none can now, the phone lines open
        now, the next opening (once), and that a message left here reaches a counselor then."""
        parts = [T.person("no_partner", language)]
        lines = self.p.hotlines.for_topics(tuple(topics), now, urgent=urgent)
        if lines:
            parts.append(f"{T.person('phones_open', language)}\n{T.hotline_lines(lines, language)}")
        tail = T.person("leave_message", language)
        if next_open is not None:
            tail = f"{T.person('next_opening', language, when=T.when(next_open))}\n{tail}"
        parts.append(tail)
        return "\n\n".join(parts)

    async def screen(self, *, pseudonym: str, channel: str, text: str | None, language: str | None,
                     now: datetime) -> tuple[Message, ...]:
        """During the intake: remember risk words for the case to come; the emergency lines once."""
        hit = self.p.lexicon.scan(text)
        if not hit:
            return ()
        weights = {w: self.p.lexicon.weight(w) for w in hit.words}
        if await self.p.cases.mark_risk(pseudonym, weights=weights, now=now):
            return (self.p.emergency(("suicide",), language, now),)
        return ()

    async def from_person(
        self, *, pseudonym: str, channel: str, source_key: str, text: str | None, media: str | None,
        command: str | None, language: str | None, now: datetime,
    ) -> DeskReply | None:
        case = await self.p.cases.latest_case(pseudonym)
        followup = await self.p.cases.pending_followup(pseudonym)
        if command in ("stop", "restart"):
            await self._left(case, followup, now)
            return None
        if case is not None and case.status != "closed":
            return await self._relay(case, source_key, text, media, now)
        if followup is not None:
            return await self._followup_answer(followup, case, text, media, source_key, now)
        return DeskReply(after="start")

    async def erased(self, *, case_ids: Sequence[int], now: datetime) -> None:
        """The person erased their data: their open cases were closed (storage/erasure.py, in
        this same transaction); each counselor is told on the card, which closes."""
        for case_id in case_ids:
            case = await self.p.cases.case(case_id)
            if case is None:
                continue
            card = await self.p.open_card(case)
            await self.p.cases.transition(
                case_id, expect_status=("closed",), card_states={card.id: "closed"} if card else None,
                build=self._erased_notice(card), now=now)
        if case_ids:
            await self.p.cases.make_due(now, unassigned=True)  # capacity freed
            self.p.wake()

    def _erased_notice(self, card: Card | None) -> Callable[[Case], Emit]:
        told = Emit(desk=self.p.card_notices(card, T.counselor("person_erased")))
        return lambda _case: told

    async def _left(self, case: Case | None, followup: FollowUp | None, now: datetime) -> None:
        if followup is not None:
            await self.p.cases.move_followup(followup.id, expect=followup.status, status="cancelled", now=now)
        if case is None or case.status == "closed":
            return
        card = await self.p.open_card(case)
        try:
            await self.p.cases.transition(
                case.id, expect_status=("queued", "active"),
                values={"status": "closed", "outcome": "person_left", "closed_at": now},
                card_states={card.id: "closed"} if card else None,
                build=lambda c: Emit(desk=self.p.card_notices(card, T.counselor("person_left"))), now=now)
        except CaseConflict:
            return
        self.p.wake()
        if case.status == "queued":
            await unmet.left_waiting(self.p, case, now)

    async def _relay(self, case: Case, source_key: str, text: str | None, media: str | None,
                     now: datetime) -> DeskReply:
        language = case.language
        hit = self.p.lexicon.scan(text)
        card = await self.p.open_card(case)
        send_lines = False
        if hit:
            case, send_lines = await self._raise_risk(case, hit, now)
        shown = T.shown(text, media)

        def build(c: Case) -> Emit:
            return Emit(desk=(notices.said(card.id, f"{c.label}: {shown}"),) if card else ())

        await self.p.cases.record(case.id, direction="person", text=shown, source_key=source_key,
                                  build=build, now=now)
        self.p.wake()
        replies: list[Message] = []
        if send_lines:
            replies.append(self.p.emergency(case.answers.get("topics") or (), language, now))
        if case.status == "queued":
            if case.org_id is None:
                replies.append(message(T.person("leave_message", language)))
            else:
                place = await self.p.cases.place(case)
                replies.append(message(T.person("holding", language, position=place)))
        return DeskReply(messages=tuple(replies))

    async def _raise_risk(self, case: Case, hit: RiskHit, now: datetime) -> tuple[Case, bool]:
        new = [w for w in hit.words if w not in case.risk_words]
        added = sum(self.p.lexicon.weight(w) for w in new)
        send_lines = case.status == "queued" and not case.lines_sent
        card = await self.p.open_card(case)
        line = T.counselor("risk", words="、".join(hit.words))
        try:
            case = await self.p.cases.transition(
                case.id, expect_status=(case.status,),
                values={"priority": priority_of(urgent=False, risk_score=added) + case.priority,
                        "risk_words": [*case.risk_words, *new], "lines_sent": case.lines_sent or send_lines},
                build=lambda c: Emit(desk=self.p.card_notices(card, line)), now=now)
        except CaseConflict:
            return case, False
        return case, send_lines

    async def _followup_answer(self, followup: FollowUp, case: Case | None, text: str | None, media: str | None,
                               source_key: str, now: datetime) -> DeskReply:
        """An answer while a check-in is pending: yes or no in the person's own words, or anything
        else as a message for the partner they talked with (never a new intake: only the restart
        command starts one)."""
        language = case.language if case else "ja"
        answer = _yes_or_no(text) if media is None else None
        cases = self.p.cases
        if followup.status == "offered" and answer == "yes":
            await cases.move_followup(followup.id, expect="offered", status="scheduled",
                                      due_at=now + timedelta(days=followup.days), now=now)
            return DeskReply(messages=(message(T.person("followup_yes", language, days=followup.days)),))
        if answer == "no" and followup.status in ("offered", "asked"):
            await cases.move_followup(followup.id, expect=followup.status,
                                      status="cancelled" if followup.status == "offered" else "done", now=now)
            return DeskReply(messages=(message(T.person("followup_no", language)),), after="end")
        # A yes to the check-in, or a message (at any time): back to the same partner first.
        if not await cases.move_followup(followup.id, expect=followup.status, status="done", now=now):
            return DeskReply(after="start")
        if case is None:
            return DeskReply(after="start")
        again = await self.open_case(pseudonym=case.pseudonym, channel=case.channel, answers=dict(case.answers),
                                     urgent=case.urgent, language=case.language, risk=(0, case.risk_words),
                                     prefer=followup.org_id, via="followup", terms=_terms_of(case), now=now)
        if answer == "yes":
            return DeskReply()
        card = await self.p.open_card(again)
        shown = T.shown(text, media)
        await cases.record(again.id, direction="person", text=shown, source_key=source_key,
                           build=lambda c: Emit(desk=(notices.said(card.id, f"{c.label}: {shown}"),) if card else ()),
                           now=now)
        self.p.wake()
        return DeskReply()  # the new case told them their place in the queue


def _terms_of(case: Case) -> Terms | None:
    """A follow-up's case carries the consent of the case it follows (the person did not see the
    terms again)."""
    if case.terms_version and case.terms_accepted_at:
        return case.terms_version, case.terms_accepted_at
    return None


def _yes_or_no(text: str | None) -> str | None:
    """"yes", "no", or None for a message that is neither, in the person's own words."""
    answer = normalize(text or "")
    if answer in {normalize(word) for word in T.YES}:
        return "yes"
    if answer in {normalize(word) for word in T.NO}:
        return "no"
    return None
