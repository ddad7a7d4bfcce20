"""When a partner is open: weekly hours on the partner's own wall clock, Japanese holidays, dated changes.

Semantics (documented for coordinators in docs/routing.md): a partner is open at an instant when its
own wall clock, at that instant, reads a time inside one of the day's shifts. So a shift keeps its
local hours through daylight-saving changes; an hour skipped in spring is simply not worked, and an
hour repeated in autumn is worked each time the clock shows it.

Everything is computed in integer minutes: "local minutes" count minutes of the wall clock since
1970-01-01 00:00 local, "UTC minutes" since the Unix epoch.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import holidays as _holidays

from routing.model import Interval, Organization, merge

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
DAY = 1440
HORIZON_DAYS = 14
# When a partner opens next: a time, None beyond the horizon, or "now" when a repeated autumn hour
# has it open at that very moment.
Opening = datetime | None | Literal["now"]

_holiday: dict[int, bool] = {}
_holiday_days: list[int] = []  # sorted ordinals of the holidays of every year looked at so far


def is_japanese_holiday(day: date | int) -> bool:
    """Whether a date (or its proleptic ordinal) is a Japanese public holiday, per `holidays.Japan`."""
    ordinal = day if isinstance(day, int) else day.toordinal()
    known = _holiday.get(ordinal)
    if known is None:
        year = date.fromordinal(ordinal).year
        first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
        _holiday.update(dict.fromkeys(range(first, last + 1), False))
        days = [d.toordinal() for d in _holidays.country_holidays("JP", years=year)]
        _holiday.update(dict.fromkeys(days, True))
        _holiday_days.extend(days)
        _holiday_days.sort()
        known = _holiday[ordinal]
    return known


def _plain(org: Organization, ordinal: int) -> bool:
    """True when neither this day nor the day before departs from the weekly pattern (no closed date,
    extra hours or holiday rule in play), so the precomputed week answers for the org."""
    if org._dated and (ordinal in org._dated or ordinal - 1 in org._dated):
        return False
    if org.holidays != "open" and (is_japanese_holiday(ordinal) or is_japanese_holiday(ordinal - 1)):
        return False
    return True


def _plain_span(org: Organization, first: int, last: int) -> bool:
    """_plain for every day first..last: no dated change on first-1..last, no holiday rule in play."""
    if org._dated_days:
        i = bisect_left(org._dated_days, first - 1)
        if i < len(org._dated_days) and org._dated_days[i] <= last:
            return False
    if org.holidays != "open":
        is_japanese_holiday(first - 1), is_japanese_holiday(last)  # make sure both years are loaded
        i = bisect_left(_holiday_days, first - 1)
        if i < len(_holiday_days) and _holiday_days[i] <= last:
            return False
    return True


class Moment:
    """One instant as seen from one zone, computed once per decision and shared by every partner there."""

    __slots__ = ("ordinal", "minute", "week_minute", "holiday_near", "now_seconds", "now_minute", "fixed_week")

    def __init__(self, now: datetime, tz: ZoneInfo) -> None:
        self.ordinal, self.minute = local_position(now, tz)
        self.week_minute = ((self.ordinal - 1) % 7) * DAY + self.minute
        self.holiday_near = is_japanese_holiday(self.ordinal) or is_japanese_holiday(self.ordinal - 1)
        self.now_seconds = now.timestamp()
        self.now_minute = int(self.now_seconds // 60)
        # No offset change from a day before to nine days after: week look-ups convert exactly.
        self.fixed_week = _fixed_offset(tz, self.now_minute - DAY, self.now_minute + 9 * DAY) is not None


def open_at(org: Organization, moment: Moment) -> bool:
    """is_open for a precomputed Moment of the org's zone (the hot path of route)."""
    dated = org._dated
    if (not dated or (moment.ordinal not in dated and moment.ordinal - 1 not in dated)) and (
        org.holidays == "open" or not moment.holiday_near
    ):
        return org._week[moment.week_minute] == 1
    return open_at_local(org, moment.ordinal, moment.minute)


def opening_from(org: Organization, moment: Moment) -> Opening:
    """opening_after for a partner closed at a precomputed Moment; the week search when it is exact."""
    here = moment.week_minute
    found = org._week2.find(1, here + 1)
    if found != -1 and moment.fixed_week:
        ahead = found - here
        if _plain_span(org, moment.ordinal, moment.ordinal + (moment.minute + ahead) // DAY):
            return minute_to_datetime(moment.now_minute + ahead)
    return opening_after(org, moment.ordinal, moment.minute, moment.now_seconds)


def day_intervals(org: Organization, day: date | int) -> tuple[Interval, ...]:
    """The shifts that start on `day` (org's local date), as minute ranges from that day's 00:00."""
    ordinal = day if isinstance(day, int) else day.toordinal()
    dated = org._dated.get(ordinal)
    holiday = org.holidays != "open" and is_japanese_holiday(ordinal)
    if dated is None and not holiday:
        return org._weekly[(ordinal - 1) % 7]
    found = org._days.get(ordinal)  # dated days and holidays: worked out once, then kept
    if found is None:
        found = _special_day(org, ordinal, dated, holiday)
        org._days[ordinal] = found
    return found


def _special_day(
    org: Organization, ordinal: int, dated: tuple[bool, tuple[Interval, ...]] | None, holiday: bool
) -> tuple[Interval, ...]:
    if dated is not None and dated[0]:
        return dated[1]
    base = org._weekly[(ordinal - 1) % 7]
    if holiday:
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
    if _plain(org, ordinal):
        return org._week[((ordinal - 1) % 7) * DAY + minute] == 1
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
    offset = datetime.fromtimestamp(utc_minute * 60, tz).utcoffset()
    assert offset is not None  # a time in a ZoneInfo zone always has one
    return int(offset.total_seconds()) // 60


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


def _fixed_offset(tz: ZoneInfo, utc_lo: int, utc_hi: int) -> int | None:
    """The zone's offset if it does not change between the two UTC minutes, else None."""
    offset: int | None = None
    for chunk in range(utc_lo // _CHUNK, utc_hi // _CHUNK + 1):
        segments = _chunk_segments(tz, chunk)
        if len(segments) != 1 or (offset is not None and segments[0][2] != offset):
            return None
        offset = segments[0][2]
    return offset


def next_opening(
    org: Organization,
    now: datetime,
    *,
    horizon_days: int = HORIZON_DAYS,
    position: tuple[int, int] | None = None,
) -> datetime | None:
    """The first moment at or after `now` when the schedule has the partner open (`now` itself when it
    is open), or None when that is more than `horizon_days` away. Ignores `paused`.

    `position` is `local_position(now, org.timezone)` when the caller already has it."""
    require_aware(now)
    ordinal, minute = position if position is not None else local_position(now, org.timezone)
    if open_at_local(org, ordinal, minute):
        return now
    opens = opening_after(org, ordinal, minute, now.timestamp(), horizon_days=horizon_days)
    return now if isinstance(opens, str) else opens


def opening_after(
    org: Organization, ordinal: int, minute: int, now_seconds: float, *, horizon_days: int = HORIZON_DAYS
) -> Opening:
    """next_opening for a partner known to be closed at local (ordinal, minute) = now_seconds; returns
    "now" in the rare autumn case where a repeated hour re-opens it at that very moment."""
    limit = now_seconds + horizon_days * 86400
    now_minute = int(now_seconds // 60)
    # Fastest path: search the precomputed week, valid while every day up to the opening is plain.
    here = ((ordinal - 1) % 7) * DAY + minute
    found = org._week2.find(1, here + 1)
    if found != -1:
        ahead = found - here
        last_day = ordinal + (minute + ahead) // DAY
        if _plain_span(org, ordinal, last_day):
            utc = now_minute + ahead
            if _fixed_offset(org.timezone, now_minute - DAY, utc + DAY) is not None:
                return None if utc * 60 > limit else minute_to_datetime(utc)
    # Fast path: read the next shift start off the wall clock; exact when no offset change is near.
    for day in range(ordinal, ordinal + horizon_days + 1):
        starts = [s for s, _e in day_intervals(org, day) if day > ordinal or s > minute]
        if starts:
            local = (day - EPOCH_ORDINAL) * DAY + starts[0]
            offset = _fixed_offset(org.timezone, now_minute - DAY, local + DAY)
            if offset is None:
                break
            utc = local - offset
            return None if utc * 60 > limit else minute_to_datetime(utc)
    else:
        if _fixed_offset(org.timezone, now_minute - DAY, now_minute + (horizon_days + 2) * DAY) is not None:
            return None
    # A daylight-saving change is near: map each day's shifts through the zone's offsets.
    best: int | None = None
    found_on: int | None = None
    for day in range(ordinal - 1, ordinal + horizon_days + 2):
        if found_on is not None and day > found_on + 1:
            break
        for start, end in utc_intervals(org, day, day):
            if start * 60 > now_seconds and (best is None or start < best):
                best, found_on = start, day
            elif start * 60 <= now_seconds < end * 60:  # open after all (a repeated autumn hour)
                return "now"
    if best is None or best * 60 > limit:
        return None
    return minute_to_datetime(best)
