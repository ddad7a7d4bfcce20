"""Counselors on duty, the same for both front ends (the web desk's switch, Slack's `/tsunagu`).

Routing gives new cases only to partners with somebody on duty (partners.py). Here a counselor
goes on and off duty, and the desk reacts at once: when a partner's last counselor goes off, the
cases waiting there move on now (rather than after the partner's response time); when somebody
comes on, the cases that found no partner are looked at again now. A web duty that ends by
itself (the page closed) is noticed by the periodic pass (sweeps.py, `changes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.presence import Duty

from .parts import DeskParts
from .policy import Actor

# The web desk's page tells the server it is open at every poll (a few seconds); a duty ends when
# it has not for this long (a closed tab, a laptop gone to sleep).
WEB_DUTY_IDLE = timedelta(minutes=3)
# A Slack counselor's duty lasts a shift unless they say otherwise (`/tsunagu on 4`).
SLACK_SHIFT = timedelta(hours=8)


@dataclass(frozen=True)
class DutyState:
    on: bool
    since: datetime | None = None
    until: datetime | None = None  # None while on: no end set

    @classmethod
    def of(cls, duty: Duty | None) -> DutyState:
        return cls(False) if duty is None else cls(True, duty.since, duty.until)


class DutySide:
    def __init__(self, parts: DeskParts) -> None:
        self.p = parts
        self._staffed: frozenset[str] | None = None  # partners staffed at the last pass

    async def state(self, actor: Actor, now: datetime) -> DutyState:
        if self.p.presence is None:
            return DutyState(False)
        return DutyState.of(await self.p.presence.duty(actor.id, actor.org_id, now))

    async def go_on(self, actor: Actor, *, now: datetime, until: datetime | None) -> DutyState:
        if self.p.presence is None:
            return DutyState(False)
        duty = await self.p.presence.start(actor.id, actor.org_id, front=actor.front, now=now, until=until)
        if await self.p.cases.make_due(now, unassigned=True):
            self.p.wake()
        return DutyState.of(duty)

    async def go_off(self, actor: Actor, *, now: datetime) -> DutyState:
        if self.p.presence is None:
            return DutyState(False)
        await self.p.presence.end(actor.id, actor.org_id)
        if actor.org_id not in await self.p.presence.counts(now):
            await self.p.cases.make_due(now, at_orgs=(actor.org_id,))
            self.p.wake()
        return DutyState(False)

    async def keep(self, actor: Actor, *, now: datetime) -> DutyState:
        """The web desk's page is open: a running web duty goes on for WEB_DUTY_IDLE more."""
        if self.p.presence is None:
            return DutyState(False)
        await self.p.presence.keep(actor.id, actor.org_id, until=now + WEB_DUTY_IDLE, now=now)
        return await self.state(actor, now)

    async def changes(self, now: datetime) -> None:
        """For the periodic pass: partners whose last duty ended by itself hand their waiting cases
        on now; partners newly staffed look again at the cases that found no partner."""
        if self.p.presence is None:
            return
        counts = await self.p.presence.counts(now)
        staffed = frozenset(counts)
        if self.p.metrics is not None:
            for org in self.p.partners.directory.organizations:
                self.p.metrics.on_duty.labels(org.id).set(counts.get(org.id, 0))
        before, self._staffed = self._staffed, staffed
        if before is None:
            return
        if before - staffed:
            await self.p.cases.make_due(now, at_orgs=sorted(before - staffed))
        if staffed - before:
            await self.p.cases.make_due(now, unassigned=True)
        await self.p.presence.forget_ended(now - timedelta(days=1))
