"""When a partner is open: weekly hours on the partner's own wall clock, Japanese holidays, dated changes.

Semantics (documented for coordinators in docs/routing.md): a partner is open at an instant when its
own wall clock, at that instant, reads a time inside one of the day's shifts. So a shift keeps its
local hours through daylight-saving changes; an hour skipped in spring is simply not worked, and an
hour repeated in autumn is worked each time the clock shows it.

Everything is computed in integer minutes: "local minutes" count minutes of the wall clock since
1970-01-01 00:00 local, "UTC minutes" since the Unix epoch.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as _holidays

from routing.model import Interval, Organization, merge

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
DAY = 1440
HORIZON_DAYS = 14

_holiday_years: set[int] = set()
_holiday_ordinals: set[int] = set()


def is_japanese_holiday(day: date | int) -> bool:
    """Whether a date (or its proleptic ordinal) is a Japanese public holiday, per `holidays.Japan`."""
    ordinal = day if isinstance(day, int) else day.toordinal()
    year = date.fromordinal(ordinal).year
    if year not in _holiday_years:
        _holiday_years.add(year)
        _holiday_ordinals.update(d.toordinal() for d in _holidays.Japan(years=year))
    return ordinal in _holiday_ordinals


def day_intervals(org: Organization, day: date | int) -> tuple[Interval, ...]:
    """The shifts that start on `day` (org's local date), as minute ranges from that day's 00:00."""
    ordinal = day if isinstance(day, int) else day.toordinal()
    dated = org._dated.get(ordinal)
    if dated is not None and dated[0]:
        return dated[1]
    weekday = (ordinal - 1) % 7
    base = org._weekly[weekday]
    if org.holidays != "open" and is_japanese_holiday(ordinal):
        base = () if org.holidays == "closed" else org._weekly[6]
    if dated is not None:
        return merge(base + dated[1])
    return base


def require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (a naive datetime has no place on the clock)")


def local_position(now: datetime, tz: ZoneInfo) -> tuple[int, int]:
    """(local date ordinal, minute of the local day) of an aware instant in `tz`."""
    local = now.astimezone(tz)
    return local.toordinal(), local.hour * 60 + local.minute


def open_at_local(org: Organization, ordinal: int, minute: int) -> bool:
    """Open when the local clock reads `minute` on day `ordinal`: a shift of that day, or last night's."""
    for start, end in day_intervals(org, ordinal):
        if start <= minute < end:
            return True
    shifted = minute + DAY
    for start, end in day_intervals(org, ordinal - 1):
        if end > DAY and start <= shifted < end:
            return True
    return False


def is_open(org: Organization, now: datetime) -> bool:
    """Whether the partner's schedule has it on duty at `now` (ignores `paused`, which route checks)."""
    require_aware(now)
    return open_at_local(org, *local_position(now, org.timezone))


# --- wall clock to UTC ------------------------------------------------------------------------

_CHUNK = 7 * DAY


def _offset(tz: ZoneInfo, utc_minute: int) -> int:
    return int(datetime.fromtimestamp(utc_minute * 60, tz).utcoffset().total_seconds()) // 60


@lru_cache(maxsize=4096)
def _chunk_segments(tz: ZoneInfo, chunk: int) -> tuple[tuple[int, int, int], ...]:
    """(utc start, utc end, offset) pieces of one 7-day UTC chunk; transitions found by hourly probing
    then bisection to the minute (no zone changes offset twice within an hour)."""
    lo, hi = chunk * _CHUNK, (chunk + 1) * _CHUNK
    segments: list[tuple[int, int, int]] = []
    start, offset = lo, _offset(tz, lo)
    probe = lo
    while probe < hi:
        nxt = min(probe + 60, hi)
        off = _offset(tz, nxt) if nxt < hi else offset
        if off != offset:
            a, b = probe, nxt  # offset(a) == offset, offset(b) != offset
            while b - a > 1:
                mid = (a + b) // 2
                if _offset(tz, mid) == offset:
                    a = mid
                else:
                    b = mid
            segments.append((start, b, offset))
            start, offset = b, _offset(tz, b)
        probe = nxt
    segments.append((start, hi, offset))
    return tuple(segments)


def local_to_utc(tz: ZoneInfo, local_start: int, local_end: int) -> list[Interval]:
    """The UTC minute ranges during which the wall clock of `tz` reads a time in [start, end).

    Usually one range; none for a span skipped in spring; two when an autumn repeat re-enters it."""
    pieces: list[Interval] = []
    margin = 2 * DAY
    for chunk in range((local_start - margin) // _CHUNK, (local_end + margin) // _CHUNK + 1):
        for seg_start, seg_end, off in _chunk_segments(tz, chunk):
            lo = max(local_start - off, seg_start)
            hi = min(local_end - off, seg_end)
            if lo < hi:
                if pieces and pieces[-1][1] == lo:
                    pieces[-1] = (pieces[-1][0], hi)
                else:
                    pieces.append((lo, hi))
    return pieces


def utc_intervals(org: Organization, first_day: int, last_day: int) -> list[Interval]:
    """UTC minute ranges of every shift starting on local days first_day..last_day (ordinals)."""
    out: list[Interval] = []
    for ordinal in range(first_day, last_day + 1):
        base = (ordinal - EPOCH_ORDINAL) * DAY
        for start, end in day_intervals(org, ordinal):
            out.extend(local_to_utc(org.timezone, base + start, base + end))
    return out


def minute_to_datetime(utc_minute: int) -> datetime:
    return datetime.fromtimestamp(utc_minute * 60, UTC)


def next_opening(org: Organization, now: datetime, *, horizon_days: int = HORIZON_DAYS) -> datetime | None:
    """The first moment at or after `now` when the schedule has the partner open (`now` itself when it
    is open), or None when that is more than `horizon_days` away. Ignores `paused`."""
    require_aware(now)
    ordinal, minute = local_position(now, org.timezone)
    if open_at_local(org, ordinal, minute):
        return now
    now_seconds = now.timestamp()
    limit = now_seconds + horizon_days * 86400
    best: int | None = None
    found_on: int | None = None
    for day in range(ordinal - 1, ordinal + horizon_days + 2):
        if found_on is not None and day > found_on + 1:
            break
        for start, end in utc_intervals(org, day, day):
            if start * 60 > now_seconds and (best is None or start < best):
                best, found_on = start, day
            elif start * 60 <= now_seconds < end * 60:  # open after all (a repeated autumn hour)
                return now
    if best is None or best * 60 > limit:
        return None
    return minute_to_datetime(best)

