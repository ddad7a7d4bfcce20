"""The partner directory as values: organizations, their desks and their weekly hours.

Hours are kept as minute ranges of the organization's own wall clock, per weekday, precomputed once
at load time so that asking "open now?" for a thousand partners costs a few dictionary look-ups each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from routing.places import PREFECTURES

#: The regions value of a nationwide partner: every prefecture code. Compare with `is ALL` or `==`.
ALL: frozenset[str] = frozenset(PREFECTURES)

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOLIDAY_MODES = ("closed", "open", "as_sunday")

Interval = tuple[int, int]  # (start minute, end minute) from the start day's 00:00; end may pass 1440


@dataclass(frozen=True)
class Desk:
    """Where a partner's counselors pick up cases: a Slack channel, the built-in web desk, or both."""

    slack_channel: str | None = None
    web: bool = False
    # Who may take over a colleague's case: Slack user ids, and web desk account names.
    supervisors: frozenset[str] = frozenset()
    web_supervisors: frozenset[str] = frozenset()


@dataclass(frozen=True)
class HoursRule:
    """One line of `hours`: these weekdays (0 = Monday), from `start` to `end` minutes.

    `end` is greater than 1440 for a shift that crosses midnight; the shift belongs to the day it
    starts on (so holidays and closed dates look at the start day)."""

    days: frozenset[int]
    start: int
    end: int


@dataclass(frozen=True)
class ExtraHours:
    """Hours added on one date (a year-end special shift), on top of the usual ones."""

    date: date
    start: int
    end: int


@dataclass(frozen=True)
class Organization:
    """One partner. Every field mirrors the directory file; see docs/routing.md."""

    id: str
    name: str
    topics: tuple[str, ...]
    regions: frozenset[str]
    languages: tuple[str, ...]
    capacity: int
    timezone: ZoneInfo
    desk: Desk
    hours: tuple[HoursRule, ...] = ()
    holidays: str = "open"
    closed_dates: frozenset[date] = frozenset()
    extra_hours: tuple[ExtraHours, ...] = ()
    out_of_area: bool = False
    crisis: bool = False
    paused: bool = False
    response_minutes: int = 10
    name_en: str | None = None
    # Municipality codes (six digits, see routing/municipalities.py) the partner serves as its own
    # area, on top of the prefectures in `regions`; and those whose residents it also takes
    # (neighbours), which are not its own area for people who avoid their own area.
    municipalities: frozenset[str] = frozenset()
    accepts_from: frozenset[str] = frozenset()
    # Conversations one counselor on duty holds at once: with it, the partner's room is
    # min(capacity, counselors on duty x per_counselor); without it, `capacity` alone.
    per_counselor: int | None = None
    line: int | None = None  # where the organization starts in its file, for messages
    _weekly: tuple[tuple[Interval, ...], ...] = field(init=False, repr=False, compare=False)
    _dated: Mapping[int, tuple[bool, tuple[Interval, ...]]] = field(init=False, repr=False, compare=False)
    _topic_set: frozenset[str] = field(init=False, repr=False, compare=False)
    _dated_days: tuple[int, ...] = field(init=False, repr=False, compare=False)  # sorted ordinals of _dated
    # ordinal -> intervals, for dated days and holidays
    _days: dict[int, tuple[Interval, ...]] = field(init=False, repr=False, compare=False)
    _week: bytes = field(init=False, repr=False, compare=False)  # 10080 minutes, Monday 00:00 first; 1 = open
    _week2: bytes = field(init=False, repr=False, compare=False)  # two weeks, for searching past Sunday

    def __post_init__(self) -> None:
        weekly: list[list[Interval]] = [[] for _ in range(7)]
        for rule in self.hours:
            for day in rule.days:
                weekly[day].append((rule.start, rule.end))
        dated: dict[int, tuple[bool, list[Interval]]] = {}
        for closed_day in self.closed_dates:
            dated[closed_day.toordinal()] = (True, [])
        for extra in self.extra_hours:
            closed, extras = dated.get(extra.date.toordinal(), (False, []))
            dated[extra.date.toordinal()] = (closed, [*extras, (extra.start, extra.end)])
        object.__setattr__(self, "_weekly", tuple(merge(w) for w in weekly))
        object.__setattr__(self, "_dated", {k: (c, merge(v)) for k, (c, v) in dated.items()})
        object.__setattr__(self, "_topic_set", frozenset(self.topics))
        object.__setattr__(self, "_dated_days", tuple(sorted(self._dated)))
        object.__setattr__(self, "_days", {})
        week = bytearray(7 * 1440)
        for day, intervals in enumerate(self._weekly):
            for start, end in intervals:
                for lo, hi in ((day * 1440 + start, day * 1440 + end),):
                    if hi <= len(week):
                        week[lo:hi] = b"\x01" * (hi - lo)
                    else:  # Sunday night into Monday morning
                        week[lo:] = b"\x01" * (len(week) - lo)
                        week[: hi - len(week)] = b"\x01" * (hi - len(week))
        object.__setattr__(self, "_week", bytes(week))
        object.__setattr__(self, "_week2", bytes(week) * 2)

    @property
    def nationwide(self) -> bool:
        return self.regions == ALL


@dataclass(frozen=True)
class Directory:
    """All partners of one deployment, in file order, with the file's default zone."""

    organizations: tuple[Organization, ...]
    timezone: ZoneInfo
    source: str = "<directory>"

    def get(self, org_id: str) -> Organization | None:
        for org in self.organizations:
            if org.id == org_id:
                return org
        return None

    def __len__(self) -> int:
        return len(self.organizations)


def merge(intervals: list[Interval] | tuple[Interval, ...]) -> tuple[Interval, ...]:
    """Sort and join overlapping or touching ranges, so that look-ups and reports see one span."""
    out: list[list[int]] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return tuple((s, e) for s, e in out)
