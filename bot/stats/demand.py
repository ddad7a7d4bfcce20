"""`stats demand`: where and when people went unanswered, beside the hours in which the directory had
no partner open for them in the same period, so that a coordinator sees where to recruit next.

The unmet rows (storage/demand.py) are counted by prefecture and reason, by hour of the day and by
topic, each table suppressed like the case statistics; the coverage gaps come from the directory
(routing.coverage) and hold nobody's data. With a prefecture, the same per municipality.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import routing
from storage.demand import REASONS, Unmet

from .suppress import equations_for, suppress, values_for

NONE = "none"


@dataclass(frozen=True)
class Place:
    code: str  # prefecture "13", municipality "131016", or "none"
    name: str
    unmet: int | None  # None: suppressed
    by_reason: tuple[tuple[str, int | None], ...]
    gap_hours: float  # topic-hours with no partner open over the period, in the topics people went unanswered about
    worst_topics: tuple[str, ...]  # the topics with the most gap hours there


@dataclass(frozen=True)
class DemandReport:
    start: date
    end: date
    k: int
    timezone: str
    prefecture: str | None  # per municipality of this prefecture, else per prefecture
    places: tuple[Place, ...]
    by_hour: tuple[tuple[int, int | None], ...]  # local hour of the day
    by_topic: tuple[tuple[str, int | None], ...]
    by_reason: tuple[tuple[str, int | None], ...]
    total: int | None
    gap_topics: tuple[str, ...] = ()  # the topics whose gaps are counted


def _suppressed_1d(counts: dict[str, int], k: int) -> dict[str, int | None]:
    cells = {(key,): n for key, n in counts.items()}
    _, sums = equations_for(cells, 1)
    values = values_for(cells, 1)
    hidden = suppress(values, sums, k)
    out: dict[str, int | None] = {key: (None if (key,) in hidden else n) for key, n in counts.items()}
    out["__total__"] = None if ("total",) in hidden else values[("total",)]
    return out


def demand_report(rows: Sequence[Unmet], *, directory: routing.Directory | None, start: date, end: date, k: int,
                  tz: ZoneInfo, prefecture: str | None = None) -> DemandReport:
    def where(u: Unmet) -> str:
        if prefecture is not None:
            return u.municipality or NONE
        return u.prefecture or NONE

    if prefecture is not None:
        rows = [u for u in rows if u.prefecture == prefecture]
    # where x reason, with its margins and total: one table, suppressed together
    cells: dict[tuple[str, str], int] = {}
    for u in rows:
        cells[(where(u), u.reason)] = cells.get((where(u), u.reason), 0) + 1
    _, sums = equations_for(cells, 2)
    values = values_for(cells, 2)
    hidden = suppress(values, sums, k)

    gaps: dict[str, dict[str, float]] = {}
    # The gaps that matter here are those in the topics people went unanswered about.
    asked = sorted({u.topic for u in rows if u.topic in routing.TOPICS})
    if directory is not None and end > start and asked:
        cov = routing.coverage(directory, start=start, days=(end - start).days, topics=asked,
                               municipalities_of=prefecture)
        for gap in cov.gaps:
            per = gaps.setdefault(gap.region, {})
            per[gap.topic] = per.get(gap.topic, 0.0) + (gap.end - gap.start).total_seconds() / 3600

    codes = sorted({c for c, _ in cells} | set(gaps))
    if prefecture is None:
        codes = sorted(set(codes) | set(routing.PREFECTURES))
    places = []
    for code in codes:
        if prefecture is None:
            name = routing.PREFECTURES.get(code, "回答なし / not given")
        else:
            found = routing.municipality(code)
            name = found.full_name if found else "回答なし / not given"
        margin = ("margin", 0, code)
        count = values.get(margin, 0)
        per_topic = gaps.get(code, {})
        places.append(Place(
            code=code, name=name, unmet=None if margin in hidden else count,
            by_reason=tuple((r, None if (code, r) in hidden else cells.get((code, r), 0)) for r in REASONS),
            gap_hours=round(sum(per_topic.values()), 1),
            worst_topics=tuple(t for t, _ in sorted(per_topic.items(), key=lambda kv: -kv[1])[:3])))

    hours = _suppressed_1d(_count(rows, lambda u: str(u.hour.astimezone(tz).hour)), k)
    topics = _suppressed_1d(_count(rows, lambda u: u.topic), k)
    reasons = {r: (None if ("margin", 1, r) in hidden else values.get(("margin", 1, r), 0)) for r in REASONS}
    return DemandReport(
        start=start, end=end, k=k, timezone=tz.key, prefecture=prefecture, places=tuple(places),
        by_hour=tuple((h, hours.get(str(h), 0)) for h in range(24)),
        by_topic=tuple((t, topics[t]) for t in sorted(topics, key=lambda t: -(topics[t] or 0)) if t != "__total__"),
        by_reason=tuple(reasons.items()),
        total=None if ("total",) in hidden else values.get(("total",), 0),
        gap_topics=tuple(asked),
    )


def _count(rows: Sequence[Unmet], key: object) -> dict[str, int]:
    out: dict[str, int] = {}
    for u in rows:
        name = key(u)  # type: ignore[operator]
        out[name] = out.get(name, 0) + 1
    return out


def period(start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) as aware datetimes at local midnight."""
    return datetime.combine(start, time(), tz), datetime.combine(end, time(), tz)


def days_between(start: date, end: date) -> int:
    return (end - start) // timedelta(days=1)
