"""The counselor's side of the desk: accept, say, note, release, close, transfer, take over, and
reading a case. Every call names its `Actor`, and the rules of policy.py decide, here, for both
front ends; a front end only translates and shows."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from storage.cases import Card, Case, CaseConflict, CaseMessage, Emit

from . import notices, unmet
from . import texts as T
from .partners import request_for
from .parts import DeskParts, message, yes_no
from .policy import Action, Actor, readable, refusal
from .queue import in_order

OUTCOMES = ("resolved", "referred", "no_reply", "other")
_HANDLE_CHARS = re.compile(r"[^A-Z0-9]")
HISTORY_LIMIT = 100  # closed cases one search shows
FOLLOWUP_DAYS = (3, 7)  # the check-ins a counselor may offer at Close (besides none)


@dataclass(frozen=True)
class ActionResult:
    """The outcome of a counselor's action; `notice` is shown to that counselor only."""

    ok: bool
    notice: str | None = None
    case: Case | None = None
    reason: str | None = None  # why not, as a code (policy.py, CaseStore.accept)


@dataclass(frozen=True)
class CaseView:
    """A case as one counselor may read it."""

    card: Card
    case: Case
    messages: tuple[CaseMessage, ...]


class CounselorSide:
    def __init__(self, parts: DeskParts) -> None:
        self.p = parts

    # -- finding cards and checking the rules ----------------------------------------------------

    async def _load(self, card_id: int) -> tuple[Card | None, Case | None]:
        card = await self.p.cases.card(card_id)
        case = await self.p.cases.case(card.case_id) if card else None
        return card, case

    def _refused(self, reason: str, case: Case | None) -> ActionResult:
        if reason == "taken" and case is not None and case.status == "active":
            text = T.counselor("taken", name=case.counselor_name or "?")
        elif reason == "not_yours" and case is not None:
            text = T.counselor("taken", name=case.counselor_name or "?") + "\n" + T.counselor("not_yours")
        elif reason == "capacity" and case is not None:
            text = T.counselor("capacity", capacity=self.p.partners.capacity(case.org_id or ""))
        else:
            text = T.counselor(reason if reason in T.COUNSELOR else "unknown")
        return ActionResult(False, text, case, reason)

    async def _checked(self, actor: Actor, action: Action, card_id: int
                       ) -> tuple[Card, Case, None] | tuple[None, Case | None, ActionResult]:
        card, case = await self._load(card_id)
        reason = refusal(actor, action, case, card)
        if reason is not None or card is None or case is None:
            return None, case, self._refused(reason or "unknown", case if reason != "unknown" else None)
        return card, case, None

    async def _change(self, attempt: Callable[[], Awaitable[Case]]) -> ActionResult:
        try:
            case = await attempt()
        except CaseConflict:
            return ActionResult(False, T.counselor("moved"), None, "moved")
        self.p.wake()
        return ActionResult(True, None, case)

    # -- reading -----------------------------------------------------------------------------------

    async def open_cases(self, actor: Actor, now: datetime) -> tuple[list[tuple[Card, Case]], list[tuple[Card, Case]]]:
        """(waiting, in conversation) at the actor's partner: waiting in queue order."""
        found = []
        for card_id, case_id in await self.p.cases.open_cards(actor.org_id):
            card, case = await self.p.cases.card(card_id), await self.p.cases.case(case_id)
            if card and case and case.org_id == actor.org_id and case.status in ("queued", "active"):
                found.append((card, case))
        by_case = {case.id: (card, case) for card, case in found}
        waiting = [by_case[c.id] for c in in_order((c for _, c in found if c.status == "queued"), now)]
        active = sorted((x for x in found if x[1].status == "active"), key=lambda x: x[1].id)
        return waiting, active

    async def view(self, actor: Actor, card_id: int) -> CaseView | None:
        card, case, refused = await self._checked(actor, "view", card_id)
        if refused is not None or card is None or case is None:
            return None
        messages = await self.p.cases.messages(case.id)
        return CaseView(card=card, case=case,
                        messages=readable(case, card, messages, await self.p.cases.cards(case.id)))

    async def history(self, actor: Actor, *, now: datetime, handle: str | None = None, topic: str | None = None,
                      day_from: date | None = None, day_to: date | None = None) -> list[tuple[Card, Case]]:
        """The actor's partner's closed cases, most recently closed first, found by handle, topic
        and the days they closed (Japan time, both ends included): only while the retention period
        keeps them, and only those the partner may still read (policy.py: it closed them)."""
        since = now - self.p.retention
        if day_from is not None:
            since = max(since, datetime.combine(day_from, time(0), T.JST))
        before = datetime.combine(day_to + timedelta(days=1), time(0), T.JST) if day_to is not None else None
        wanted = _handle(handle)
        if handle and wanted is None:
            return []  # not a handle at all: nothing has it
        found = []
        for card, case in await self.p.cases.closed_cards(actor.org_id, closed_since=since, closed_before=before,
                                                          handle=wanted):
            if refusal(actor, "view", case, card) is not None:
                continue
            if topic and topic not in (case.answers.get("topics") or ()):
                continue
            found.append((card, case))
            if len(found) == HISTORY_LIMIT:
                break
        return found

    async def closed_card(self, actor: Actor, case_id: int, *, now: datetime) -> Card | None:
        """The actor's partner's card of a closed case in its history (as `history` finds them)."""
        card = await self.card_of_case(actor, case_id)
        case = await self.p.cases.case(case_id) if card is not None else None
        if card is None or case is None or case.status != "closed" or case.closed_at is None:
            return None
        return card if case.closed_at >= now - self.p.retention else None

    async def card_of_case(self, actor: Actor, case_id: int) -> Card | None:
        """The actor's partner's card of a case, if that partner may read it."""
        for card in reversed(await self.p.cases.cards(case_id)):
            if card.org_id == actor.org_id:
                card_, case, refused = await self._checked(actor, "view", card.id)
                return card_ if refused is None else None
        return None

    # -- acting ------------------------------------------------------------------------------------

    async def accept(self, card_id: int, *, actor: Actor, now: datetime) -> ActionResult:
        card, case, refused = await self._checked(actor, "accept", card_id)
        if refused is not None or card is None:
            return refused or self._refused("unknown", None)

        def build(c: Case) -> Emit:
            return Emit(person=(message(T.person("joined", c.language, name=actor.name)),),
                        desk=self.p.card_notices(card, T.counselor("joined", name=actor.name)))

        result = await self.p.cases.accept(card_id, counselor_id=actor.id, counselor_name=actor.name,
                                           capacity=self.p.partners.capacity(card.org_id), build=build, now=now)
        if not result.won:
            return self._refused(result.reason or "unknown", result.case)
        self.p.wake()
        if result.case is not None:
            await unmet.reached(self.p, result.case, now)
        return ActionResult(True, None, result.case)

    async def take_over(self, card_id: int, *, actor: Actor, now: datetime) -> ActionResult:
        """A supervisor takes a colleague's case; the person is told who is with them now."""
        card, case, refused = await self._checked(actor, "take_over", card_id)
        if refused is not None or card is None or case is None:
            return refused or self._refused("unknown", None)
        before = case.counselor_id
        return await self._change(lambda: self.p.cases.transition(
            case.id, expect_status=("active",), expect_org=card.org_id, expect_counselor=before,
            values={"counselor_id": actor.id, "counselor_name": actor.name},
            build=lambda c: Emit(person=(message(T.person("joined", c.language, name=actor.name)),),
                                 desk=self.p.card_notices(card, T.counselor("taken_over", name=actor.name))),
            now=now))

    async def release(self, card_id: int, *, actor: Actor, now: datetime) -> ActionResult:
        card, case, refused = await self._checked(actor, "release", card_id)
        if refused is not None or card is None or case is None:
            return refused or self._refused("unknown", None)
        return await self._change(lambda: self.p.cases.transition(
            case.id, expect_status=("active",), expect_org=card.org_id, expect_counselor=actor.id,
            values={"status": "queued", "counselor_id": None, "counselor_name": None,
                    "accepted_at": None, "offered_at": now, "due_at": self.p.overflow_at(card.org_id, now)},
            build=lambda c: Emit(person=(message(T.person("released", c.language)),),
                                 desk=self.p.card_notices(card, T.counselor("released", name=actor.name))),
            now=now))

    async def close(self, card_id: int, *, actor: Actor, outcome: str, followup_days: int = 0,
                    now: datetime) -> ActionResult:
        card, case, refused = await self._checked(actor, "close", card_id)
        if refused is not None or card is None or case is None:
            return refused or self._refused("unknown", None)
        outcome = outcome if outcome in OUTCOMES else "other"
        days = followup_days if followup_days in FOLLOWUP_DAYS else None

        def build(c: Case) -> Emit:
            said = [message(T.person("closed", c.language))]
            line = T.counselor("closed_by", name=actor.name, outcome=T.OUTCOMES[outcome])
            if days:
                said.append(message(T.person("followup_offer", c.language, days=days), yes_no(c.language)))
                line += "\n" + T.counselor("followup", days=days)
            return Emit(person=tuple(said), desk=self.p.card_notices(card, line))

        return await self._change(lambda: self.p.cases.transition(
            case.id, expect_status=("active",), expect_org=card.org_id, expect_counselor=actor.id,
            values={"status": "closed", "outcome": outcome, "closed_at": now},
            card_states={card.id: "closed"}, followup_days=days, build=build, now=now))

    async def transfer_options(self, card_id: int, *, actor: Actor, now: datetime) -> list[tuple[str, str]]:
        """(partner id, name) of the partners this case could go to now; none if the actor may
        not transfer it."""
        card, case, refused = await self._checked(actor, "transfer", card_id)
        if refused is not None or card is None or case is None:
            return []
        return [(i, self.p.partners.name(i)) for i in await self._transfer_targets(card, case, now)]

    async def _transfer_targets(self, card: Card, case: Case, now: datetime) -> list[str]:
        """Partners that can take this case now: routing's candidates (open now, with room, for
        the case's topics, region and language) whose desk someone can use."""
        request = request_for(case.answers, urgent=case.urgent, language=case.language)
        ids, _ = await self.p.partners.candidates(request, now, skip=(card.org_id,))
        return await self.p.partners.usable(ids, now)

    async def transfer(self, card_id: int, *, actor: Actor, to_org: str, now: datetime) -> ActionResult:
        card, case, refused = await self._checked(actor, "transfer", card_id)
        if refused is not None or card is None or case is None:
            return refused or self._refused("unknown", None)
        if to_org not in await self._transfer_targets(card, case, now):
            return ActionResult(False, T.counselor("no_transfer"), case, "no_transfer")
        name = self.p.partners.name(to_org)

        def build(c: Case) -> Emit:
            return Emit(person=(message(T.person("transferred", c.language)),),
                        desk=(*self.p.card_notices(card, T.counselor("transferred", org=name)), notices.opened()))

        return await self._change(lambda: self.p.cases.transition(
            case.id, expect_status=("active",), expect_org=card.org_id, expect_counselor=actor.id,
            values={"status": "queued", "org_id": to_org, "counselor_id": None, "counselor_name": None,
                    "accepted_at": None, "offered_at": now, "tried": [*case.tried, card.org_id],
                    "due_at": self.p.overflow_at(to_org, now)},
            card_states={card.id: "moved"}, new_card=self.p.partners.card(to_org, "transfer"), build=build,
            now=now))

    async def note(self, card_id: int, *, actor: Actor, text: str, source_key: str, now: datetime) -> ActionResult:
        """An internal note on the case: kept with its messages, never relayed to the person."""
        card, case, refused = await self._checked(actor, "note", card_id)
        if refused is not None or case is None:
            return refused or self._refused("unknown", None)
        await self.p.cases.record(case.id, direction="note", text=text, source_key=source_key, card=card, now=now)
        return ActionResult(True, None, case)

    async def say(self, card_id: int, *, actor: Actor, text: str, source_key: str, now: datetime) -> ActionResult:
        """Relay the counselor's message to the person: only the counselor who has the case."""
        card, case, refused = await self._checked(actor, "say", card_id)
        if refused is not None or case is None:
            return refused or self._refused("unknown", None)
        await self.p.cases.record(case.id, direction="counselor", text=text, source_key=source_key, card=card,
                                  build=lambda c: Emit(person=(message(text),)), now=now)
        self.p.wake()
        return ActionResult(True, None, case)


def _handle(text: str | None) -> str | None:
    """A handle as a counselor may type it ("k73f", "相談者 K7-3F") as stored ("K7-3F")."""
    chars = _HANDLE_CHARS.sub("", unicodedata.normalize("NFKC", text or "").upper().replace("相談者", ""))
    return f"{chars[:2]}-{chars[2:]}" if len(chars) == 4 else None
