"""The queue's one order: priority (urgency and risk words) plus one point per minute waited, so
that a calm case that has waited long enough still overtakes (no one waits forever); then the
longest wait; then the case number."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from storage.cases import Case

URGENT_POINTS = 100
RISK_POINTS = 10


def priority_of(*, urgent: bool, risk_score: int) -> int:
    return URGENT_POINTS * urgent + RISK_POINTS * risk_score


def effective_priority(case: Case, now: datetime) -> float:
    return case.priority + case.waited(now).total_seconds() / 60


def order_key(case: Case, now: datetime) -> tuple[float, datetime, int]:
    return (-effective_priority(case, now), case.queued_at, case.id)


def in_order(cases: Iterable[Case], now: datetime) -> list[Case]:
    return sorted(cases, key=lambda c: order_key(c, now))


def position(case: Case, queued: Iterable[Case], now: datetime) -> int:
    """1 + the cases waiting at the same partner that come before this one."""
    mine = order_key(case, now)
    return 1 + sum(1 for c in queued if c.org_id == case.org_id and c.id != case.id and order_key(c, now) < mine)
