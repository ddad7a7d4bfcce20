"""`stats cases`: counts and times of the cases of a period, by the dimensions asked for, with small
cells suppressed (suppress.py), so that the network's figures can be shared without pointing at anyone.

Per cell: the number of cases; the waiting time (end of the intake to a counselor accepting: median
and 90th percentile); the time to the first counselor message; the length of the conversation
(accepted to closed); the messages relayed; the follow-ups kept (the person said yes to a check-in).
A time is shown only when at least k cases have it, so that a median is never one person's figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from storage.case_facts import CaseFacts

from .suppress import equations_for, suppress, values_for

DIMENSIONS = ("topic", "prefecture", "municipality", "age_band", "outcome", "partner", "language", "urgent")
NONE = "none"  # the value of a dimension the person did not give (答えたくない) or a case does not have


def value_of(facts: CaseFacts, dim: str) -> str:
    """The case's value on a dimension, as text (codes, not names: topic ids, JIS codes)."""
    answers = facts.answers
    if dim == "topic":
        return facts.topics[0]
    if dim in ("prefecture", "municipality", "age_band"):
        found = answers.get(dim)
        return str(found) if found not in (None, "") else NONE
    if dim == "outcome":
        return facts.outcome or ("open" if facts.status != "closed" else NONE)
    if dim == "partner":
        return facts.org_id or NONE
    if dim == "language":
        return facts.language
    if dim == "urgent":
        return "yes" if facts.urgent else "no"
    raise ValueError(f"unknown dimension {dim!r} (one of {', '.join(DIMENSIONS)})")


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of sorted values."""
    permille = int(round(share * 1000))
    rank = max(1, (permille * len(values) + 999) // 1000)  # ceil(share * n), in integers
    return values[min(rank, len(values)) - 1]


@dataclass(frozen=True)
class Times:
    """Minutes: median and 90th percentile, or None when fewer than k cases have the figure."""

    n: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, spans: Sequence[timedelta | None], k: int) -> Times:
        minutes = sorted(s.total_seconds() / 60 for s in spans if s is not None)
        if len(minutes) < max(k, 1):
            return cls(len(minutes), None, None)
        return cls(len(minutes), round(percentile(minutes, 0.5), 1), round(percentile(minutes, 0.9), 1))


@dataclass(frozen=True)
class Cell:
    key: tuple[str, ...]  # the dimensions' values; () for the total
    count: int | None  # None: suppressed
    waiting: Times | None = None
    first_reply: Times | None = None
    length: Times | None = None
    messages: float | None = None  # median
    followups_kept: int | None = None  # None: suppressed (or the count was)

    @property
    def shown(self) -> bool:
        return self.count is not None


@dataclass(frozen=True)
class CaseReport:
    start: date
    end: date  # exclusive
    by: tuple[str, ...]
    k: int
    org: str | None
    cells: tuple[Cell, ...]
    margins: tuple[tuple[str, tuple[Cell, ...]], ...]  # per dimension: its values' totals
    total: Cell
    hidden: int  # cells, margins and the total hidden by suppression


def _cell(key: tuple[str, ...], cases: list[CaseFacts], k: int, count_hidden: bool, kept_hidden: bool) -> Cell:
    if count_hidden:
        return Cell(key, None)
    msgs = sorted(c.messages for c in cases)
    return Cell(
        key=key, count=len(cases),
        waiting=Times.of([c.waited for c in cases], k),
        first_reply=Times.of([c.first_reply for c in cases], k),
        length=Times.of([c.length for c in cases], k),
        messages=percentile(msgs, 0.5) if len(msgs) >= k and msgs else None,
        followups_kept=None if kept_hidden else sum(c.followup_kept for c in cases),
    )


def case_report(facts: Sequence[CaseFacts], *, by: Sequence[str], k: int, start: date, end: date,
                org: str | None = None) -> CaseReport:
    """The report of `facts` (already the period's and, with `org`, one partner's)."""
    dims = tuple(by)
    for dim in dims:
        if dim not in DIMENSIONS:
            raise ValueError(f"unknown dimension {dim!r} (one of {', '.join(DIMENSIONS)})")
    if len(set(dims)) != len(dims) or not dims:
        raise ValueError("--by needs one or more different dimensions")
    groups: dict[tuple[str, ...], list[CaseFacts]] = {}
    for f in facts:
        groups.setdefault(tuple(value_of(f, d) for d in dims), []).append(f)
    keys, sums = equations_for(groups, len(dims))
    counts = values_for({key: len(v) for key, v in groups.items()}, len(dims))
    hidden = suppress(counts, sums, k)
    kept = values_for({key: sum(c.followup_kept for c in v) for key, v in groups.items()}, len(dims))
    kept_hidden = suppress(kept, sums, k, hidden=hidden)

    def members(key: object) -> list[CaseFacts]:
        if key == ("total",):
            return list(facts)
        assert isinstance(key, tuple)
        _, d, value = key
        return [f for f in facts if value_of(f, dims[d]) == value]

    cells = tuple(_cell(key, groups[key], k, key in hidden, key in kept_hidden) for key in sorted(groups))
    margins = tuple(
        (dim, tuple(_cell((str(m[2]),), members(m), k, m in hidden, m in kept_hidden)
                    for m in sorted(key for key in keys if isinstance(key, tuple) and key[:2] == ("margin", d))))
        for d, dim in enumerate(dims))
    total = _cell((), list(facts), k, ("total",) in hidden, ("total",) in kept_hidden)
    return CaseReport(start=start, end=end, by=dims, k=k, org=org, cells=cells, margins=margins, total=total,
                      hidden=len(hidden))


# --- charts' data -----------------------------------------------------------------------------------


def waiting_by_hour(facts: Sequence[CaseFacts], tz: tzinfo, k: int) -> list[tuple[int, Times]]:
    """Per hour of the day the case was opened (local time): the waiting time."""
    hours: dict[int, list[timedelta | None]] = {h: [] for h in range(24)}
    for f in facts:
        hours[f.queued_at.astimezone(tz).hour].append(f.waited)
    return [(h, Times.of(spans, k)) for h, spans in hours.items()]


def weekly_by(facts: Sequence[CaseFacts], tz: tzinfo, k: int, dim: str = "topic"
              ) -> tuple[list[date], dict[tuple[str, str], int | None]]:
    """Cases per (week, value of `dim`), weeks starting on Monday, suppressed like a report's cells."""
    def week_of(moment: datetime) -> date:
        day = moment.astimezone(tz).date()
        return day - timedelta(days=day.weekday())

    groups: dict[tuple[str, str], int] = {}
    for f in facts:
        key = (week_of(f.created_at).isoformat(), value_of(f, dim))
        groups[key] = groups.get(key, 0) + 1
    _, sums = equations_for(groups, 2)
    hidden = suppress(values_for(groups, 2), sums, k)
    weeks = sorted({date.fromisoformat(w) for w, _ in groups})
    return weeks, {key: (None if key in hidden else n) for key, n in groups.items()}


def suppressed_counts(counts: dict[str, int], k: int) -> dict[str, int | None]:
    """One-dimensional counts (with their total published) suppressed: None where hidden."""
    cells = {(key,): n for key, n in counts.items()}
    _, sums = equations_for(cells, 1)
    hidden = suppress(values_for(cells, 1), sums, k)
    return {key: (None if (key,) in hidden else n) for key, n in counts.items()}
