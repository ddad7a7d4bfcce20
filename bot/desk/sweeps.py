"""The desk's periodic pass: cases that waited for no open partner, overflow to the next partner
after its response time (or at once when nobody is on duty there any more), queue position
notices, follow-ups that are due.

It reads only what is due: each waiting case carries the time the pass should look at it again
(`due_at`: its overflow, or the next routing try), and places are ranked in the database
(CaseStore.position_changes), so a pass over a quiet queue reads no case at all, however long
the queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from storage.cases import Case, CaseConflict, CaseMessage, Emit

from . import notices
from . import texts as T
from .duty import DutySide
from .partners import request_for
from .parts import DeskParts, message, yes_no

log = logging.getLogger(__name__)

POSITION_NOTICE_STEP = 3  # tell the person again when their place moved this much


class Sweeps:
    def __init__(self, parts: DeskParts, duty: DutySide | None = None) -> None:
        self.p = parts
        self.duty = duty or DutySide(parts)

    async def run_once(self, now: datetime | None = None) -> None:
        now = now or self.p.clock()
        changed = False
        await self.duty.changes(now)  # duties that ended by themselves: their cases are due now
        for case in await self.p.cases.due(now):
            try:
                if case.org_id is None:
                    changed |= await self._assign(case, now)
                else:
                    changed |= await self._overflow(case, now)
            except CaseConflict:
                continue
        changed |= await self._positions(now)
        for followup in await self.p.cases.due_followups(now):
            changed |= await self.p.cases.move_followup(
                followup.id, expect="scheduled", status="asked",
                build=lambda c: Emit(person=(message(T.person("followup_ask", c.language), yes_no(c.language)),)),
                now=now)
        if changed:  # wake the sender only when there is something to send
            self.p.wake()

    async def run(self, every: float) -> None:
        while True:
            try:
                await self.run_once()
            except Exception as exc:
                log.error("desk pass failed: %s", type(exc).__name__)
            await asyncio.sleep(every)

    async def _assign(self, case: Case, now: datetime) -> bool:
        """A partner opened for a case that found none: offer it there, with what the person left."""
        request = request_for(case.answers, urgent=case.urgent, language=case.language)
        ids, decision = await self.p.partners.candidates(request, now)
        if not ids:
            await self._later(case, self.p.route_again_at(decision.next_open, now), now)
            return False
        left: list[CaseMessage] = [m for m in await self.p.cases.messages(case.id) if m.direction == "person"]

        def build(c: Case) -> Emit:
            found = [notices.opened()]
            found += [notices.said(notices.NEW_CARD, f"{c.label}: {m.text}\n{T.counselor('left_message')}")
                      for m in left]
            return Emit(person=(message(T.person("partner_open", c.language)),), desk=tuple(found))

        await self.p.cases.transition(
            case.id, expect_status=("queued",), expect_org=None,
            values={"org_id": ids[0], "candidates": ids, "offered_at": now,
                    "due_at": self.p.overflow_at(ids[0], now)},
            new_card=self.p.partners.card(ids[0], "route"), build=build, now=now)
        return True

    async def _later(self, case: Case, due_at: datetime, now: datetime) -> None:
        """Nothing to do for this case now: look at it again at `due_at`."""
        await self.p.cases.transition(case.id, expect_status=("queued",), expect_org=case.org_id,
                                      values={"due_at": due_at}, now=now)

    async def _overflow(self, case: Case, now: datetime) -> bool:
        request = request_for(case.answers, urgent=case.urgent, language=case.language)
        ids, _ = await self.p.partners.candidates(request, now, skip=(*case.tried, case.org_id or ""))
        ordered = [c for c in case.candidates if c in ids] + [c for c in ids if c not in case.candidates]
        if not ordered:  # nowhere else to go: it stays, and is looked at again after another wait
            await self._later(case, self.p.overflow_at(case.org_id, now), now)
            return False
        target = ordered[0]
        card = await self.p.open_card(case)
        minutes = self.p.partners.response_minutes(case.org_id)
        line = T.counselor("overflowed", minutes=minutes, org=self.p.partners.name(target))
        await self.p.cases.transition(
            case.id, expect_status=("queued",), expect_org=case.org_id,
            values={"org_id": target, "offered_at": now, "tried": [*case.tried, case.org_id],
                    "due_at": self.p.overflow_at(target, now)},
            card_states={card.id: "moved"} if card else None, new_card=self.p.partners.card(target, "overflow"),
            build=lambda c: Emit(desk=(*self.p.card_notices(card, line), notices.opened())), now=now)
        log.info("case %s overflowed from %s to %s", case.id, case.org_id, target)
        return True

    async def _positions(self, now: datetime) -> bool:
        """Tell people whose place moved by POSITION_NOTICE_STEP or more (ranked in the database)."""
        changed = False
        for case_id, place in await self.p.cases.position_changes(step=POSITION_NOTICE_STEP):
            case = await self.p.cases.case(case_id)
            if case is None or case.org_id is None:
                continue
            minutes = max(1, place * self.p.partners.response_minutes(case.org_id))
            try:
                await self.p.cases.transition(
                    case.id, expect_status=("queued",), expect_org=case.org_id,
                    values={"told_position": place}, build=_told(place, minutes), now=now)
                changed = True
            except CaseConflict:
                continue
        return changed


def _told(place: int, minutes: int) -> Callable[[Case], Emit]:
    """What a change of place tells the person (bound now, said in the case's language)."""
    return lambda c: Emit(person=(message(T.person("position", c.language, position=place, minutes=minutes)),))
