"""When a person goes unanswered, the desk says so here: one anonymous row (storage/demand.py) and the
Prometheus counters, so coordinators see where to recruit and operators see the network's health.

Three moments, each called from one place in the desk: a case routed nowhere (person.py, opening
a case), a person who left while still waiting (person.py, leaving), and a counselor who accepted
after the partner's response time (counselor.py, accepting; the waiting-time histogram is observed
there too). What is written is the first topic, the prefecture, the municipality, the hour and the
reason; never the pseudonym or the case. A person is counted once: a case counted when it found no
partner is not counted again when the person later leaves or is reached late.
"""

from __future__ import annotations

import logging
from datetime import datetime

from routing import Decision, RouteRequest
from storage.cases import Case

from .partners import request_for
from .parts import DeskParts

log = logging.getLogger(__name__)


def reason_for(decision: Decision) -> str:
    """Why nobody could take the request: some partner open but full, some open with nobody on
    duty, or none open at all."""
    reasons = {e.reason for e in decision.excluded}
    if "capacity" in reasons:
        return "all_full"
    if "nobody_on_duty" in reasons:
        return "nobody_on_duty"
    return "no_partner_open"


async def _write(parts: DeskParts, request: RouteRequest, reason: str, now: datetime) -> None:
    if parts.metrics is not None:
        parts.metrics.unmet.labels(reason).inc()
    if parts.demand is None:
        return
    try:
        await parts.demand.record(topic=request.topics[0], prefecture=request.prefecture,
                                  municipality=request.municipality, reason=reason, at=now)
    except Exception as exc:  # a report row must never cost the person their case
        log.error("could not record unmet demand (%s): %s", reason, type(exc).__name__)


async def routed_nowhere(parts: DeskParts, request: RouteRequest, decision: Decision, now: datetime) -> None:
    await _write(parts, request, reason_for(decision), now)


def counted_at_open(case: Case) -> bool:
    """Whether the case found no partner when it was opened, and so was counted then: a person is
    counted once, at the first way they went unanswered. Such a case had no offer at its creation
    (offered_at is set later, when a partner opens, without a partner tried before)."""
    return not case.tried and (case.offered_at is None or case.offered_at > case.created_at)


async def left_waiting(parts: DeskParts, case: Case, now: datetime) -> None:
    """The person stopped while their case was still queued (nobody had said hello)."""
    if counted_at_open(case):
        return
    await _write(parts, request_for(case.answers, urgent=case.urgent, language=case.language),
                 "left_before_reached", now)


async def reached(parts: DeskParts, case: Case, now: datetime) -> None:
    """A counselor accepted: observe the wait, and count it as unmet if it was longer than the
    partner's response time."""
    waited = case.waited(now)
    org_id = case.org_id or "-"
    if parts.metrics is not None:
        parts.metrics.waiting_seconds.labels(org_id).observe(waited.total_seconds())
    if waited.total_seconds() > 60 * parts.partners.response_minutes(case.org_id) and not counted_at_open(case):
        await _write(parts, request_for(case.answers, urgent=case.urgent, language=case.language),
                     "waited_too_long", now)
