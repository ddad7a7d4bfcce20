"""The counselor desk, channel-neutral: one object the work side and both front ends talk to.

It implements the desk port for the dispatcher (handoff, from_person, screen: person.py), the
counselors' actions under one set of rules (counselor.py, policy.py), and the periodic pass
(sweeps.py). CaseStore writes each decision together with what it sends: to the person on
their channel, and notices about cards to the front ends (notices.py), so the outbox delivers
both and nothing is lost while a platform is down.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta

from flows.engine import Handoff
from flows.messages import Message
from routing import Directory, Hotlines
from storage.audit import AuditLog
from storage.cases import Card, Case, CaseStore
from storage.demand import DemandStore
from storage.presence import Presence

from ..metrics import Metrics
from .counselor import ActionResult, CaseView, CounselorSide
from .duty import DutySide, DutyState
from .partners import Partners
from .parts import DeskParts
from .person import PersonSide
from .policy import Actor
from .port import DeskReply, Terms
from .risk import RiskLexicon
from .sweeps import Sweeps

Clock = Callable[[], datetime]
_NOT_CODE = re.compile(r"[^A-Za-z0-9_.-]")


def code(value: str) -> str:
    """A value from a request as an audit detail may hold it: code characters only, short."""
    return _NOT_CODE.sub("_", str(value))[:40]


class Desk:
    def __init__(
        self, *, cases: CaseStore, directory: Directory, hotlines: Hotlines, lexicon: RiskLexicon,
        clock: Clock, wake_sender: Callable[[], None] = lambda: None, metrics: Metrics | None = None,
        web_accounts: Callable[[], Awaitable[frozenset[str]]] | None = None, retention: timedelta = timedelta(days=30),
        demand: DemandStore | None = None, presence: Presence | None = None, audit: AuditLog | None = None,
    ) -> None:
        partners = Partners(directory=directory, hotlines=hotlines, cases=cases, web_accounts=web_accounts,
                            presence=presence)
        self.parts = DeskParts(cases=cases, partners=partners, hotlines=hotlines, lexicon=lexicon, clock=clock,
                               metrics=metrics, wake_sender=wake_sender, retention=retention, demand=demand,
                               presence=presence, audit=audit)
        self.person = PersonSide(self.parts)
        self.counselor = CounselorSide(self.parts)
        self.duty = DutySide(self.parts)
        self.sweeps = Sweeps(self.parts, self.duty)

    def on(self, cases: CaseStore) -> Desk:
        """This desk over another CaseStore: one made on a claimed batch's transaction, so that
        what the desk decides for the batch's people is written with the batch (bot/work)."""
        p = self.parts
        return Desk(cases=cases, directory=p.partners.directory, hotlines=p.hotlines, lexicon=p.lexicon,
                    clock=p.clock, wake_sender=p.wake_sender, metrics=p.metrics,
                    web_accounts=p.partners.web_accounts, retention=p.retention,
                    demand=p.demand.on(cases.db) if p.demand is not None else None, presence=p.presence,
                    audit=p.audit.on(cases.db) if p.audit is not None else None)

    @property
    def cases(self) -> CaseStore:
        return self.parts.cases

    @property
    def directory(self) -> Directory:
        return self.parts.partners.directory

    def set_wake(self, wake: Callable[[], None]) -> None:
        """Who to tell that the outbox has something (the sender, once it exists)."""
        self.parts.wake_sender = wake

    # -- the port the dispatcher calls ----------------------------------------------------------------

    async def handoff(self, *, pseudonym: str, channel: str, handoff: Handoff, now: datetime,
                      terms: Terms | None = None) -> None:
        await self.person.handoff(pseudonym=pseudonym, channel=channel, handoff=handoff, now=now, terms=terms)

    async def from_person(
        self, *, pseudonym: str, channel: str, source_key: str, text: str | None, media: str | None,
        command: str | None, language: str | None, now: datetime,
    ) -> DeskReply | None:
        return await self.person.from_person(pseudonym=pseudonym, channel=channel, source_key=source_key, text=text,
                                             media=media, command=command, language=language, now=now)

    async def erased(self, *, case_ids: Sequence[int], channel: str, now: datetime) -> None:
        await self.person.erased(case_ids=case_ids, now=now)
        if self.parts.audit is None:
            return
        # The audit trail says a person erased their data, for each partner that held a case of
        # theirs (or for none), never who they were.
        held: list[int | None] = [*case_ids] or [None]
        for case_id in held:
            case = await self.parts.cases.case(case_id) if case_id is not None else None
            await self.parts.audit.erased(channel=channel, org_id=case.org_id if case else None, case_id=case_id,
                                          now=now)

    async def screen(self, *, pseudonym: str, channel: str, text: str | None, language: str | None,
                     now: datetime) -> tuple[Message, ...]:
        return await self.person.screen(pseudonym=pseudonym, channel=channel, text=text, language=language, now=now)

    # -- counselors (both front ends) -----------------------------------------------------------------

    async def open_cases(self, actor: Actor, now: datetime) -> tuple[list[tuple[Card, Case]], list[tuple[Card, Case]]]:
        return await self.counselor.open_cases(actor, now)

    async def view(self, actor: Actor, card_id: int) -> CaseView | None:
        view = await self.counselor.view(actor, card_id)
        await self._audit(actor, "view", card_id, ActionResult(view is not None, case=view.case if view else None,
                                                               reason=None if view else "unknown"), self.parts.clock())
        return view

    async def history(self, actor: Actor, *, now: datetime, handle: str | None = None, topic: str | None = None,
                      day_from: date | None = None, day_to: date | None = None) -> list[tuple[Card, Case]]:
        return await self.counselor.history(actor, now=now, handle=handle, topic=topic, day_from=day_from,
                                            day_to=day_to)

    async def closed_card(self, actor: Actor, case_id: int, *, now: datetime) -> Card | None:
        return await self.counselor.closed_card(actor, case_id, now=now)

    async def last_person_message_ids(self, case_ids: list[int]) -> dict[int, int]:
        return await self.parts.cases.last_person_message_ids(case_ids)

    async def accept(self, card_id: int, *, actor: Actor, now: datetime) -> ActionResult:
        return await self._audit(actor, "accept", card_id, await self.counselor.accept(card_id, actor=actor, now=now),
                                 now)

    async def take_over(self, card_id: int, *, actor: Actor, now: datetime) -> ActionResult:
        result = await self.counselor.take_over(card_id, actor=actor, now=now)
        return await self._audit(actor, "take_over", card_id, result, now)

    async def release(self, card_id: int, *, actor: Actor, now: datetime) -> ActionResult:
        return await self._audit(actor, "release", card_id, await self.counselor.release(card_id, actor=actor, now=now),
                                 now)

    async def close(self, card_id: int, *, actor: Actor, outcome: str, followup_days: int = 0,
                    now: datetime) -> ActionResult:
        result = await self.counselor.close(card_id, actor=actor, outcome=outcome, followup_days=followup_days, now=now)
        return await self._audit(actor, "close", card_id, result, now,
                                 f"outcome={code(outcome)},followup={int(followup_days)}")

    async def transfer_options(self, card_id: int, *, actor: Actor, now: datetime) -> list[tuple[str, str]]:
        return await self.counselor.transfer_options(card_id, actor=actor, now=now)

    async def transfer(self, card_id: int, *, actor: Actor, to_org: str, now: datetime) -> ActionResult:
        result = await self.counselor.transfer(card_id, actor=actor, to_org=to_org, now=now)
        return await self._audit(actor, "transfer", card_id, result, now, f"to={code(to_org)}")

    async def say(self, card_id: int, *, actor: Actor, text: str, source_key: str, now: datetime) -> ActionResult:
        result = await self.counselor.say(card_id, actor=actor, text=text, source_key=source_key, now=now)
        return await self._audit(actor, "say", card_id, result, now)  # that it was said, never what

    async def note(self, card_id: int, *, actor: Actor, text: str, source_key: str, now: datetime) -> ActionResult:
        result = await self.counselor.note(card_id, actor=actor, text=text, source_key=source_key, now=now)
        return await self._audit(actor, "note", card_id, result, now)

    async def _audit(self, actor: Actor, action: str, card_id: int, result: ActionResult, now: datetime,
                     detail: str = "") -> ActionResult:
        """Keep the action in the audit trail (storage/audit.py): who, for which partner, on which
        front end, which case and card, allowed or why not, and codes only (never a text)."""
        audit = self.parts.audit
        if audit is not None:
            outcome = "ok" if result.ok else f"refused:{code(result.reason or 'unknown')}"
            await audit.record(action=action, actor=actor.id, org_id=actor.org_id, front=actor.front,
                               case_id=result.case.id if result.case is not None else None,
                               detail=",".join(x for x in (outcome, f"card={card_id}", detail) if x), now=now)
        return result

    # -- on duty (both front ends) ---------------------------------------------------------------------

    async def duty_state(self, actor: Actor, now: datetime) -> DutyState:
        return await self.duty.state(actor, now)

    async def go_on_duty(self, actor: Actor, *, now: datetime, until: datetime | None) -> DutyState:
        return await self.duty.go_on(actor, now=now, until=until)

    async def go_off_duty(self, actor: Actor, *, now: datetime) -> DutyState:
        return await self.duty.go_off(actor, now=now)

    async def keep_on_duty(self, actor: Actor, *, now: datetime) -> DutyState:
        return await self.duty.keep(actor, now=now)

    # -- the periodic pass ----------------------------------------------------------------------------

    async def run_once(self, now: datetime | None = None) -> None:
        await self.sweeps.run_once(now)

    async def run(self, every: float) -> None:
        await self.sweeps.run(every)
