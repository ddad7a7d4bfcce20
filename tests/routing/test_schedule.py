from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing import day_intervals, is_japanese_holiday, is_open, next_opening
from routing.schedule import EPOCH_ORDINAL, utc_intervals
from tests.routing.helpers import JST, LA, LONDON, directory, jst, org_yaml


def org(hours: str, **fields: str):
    return directory(org_yaml("x", hours=hours, **fields)).organizations[0]


NIGHT = '[{days: [mon, tue, wed, thu, fri], from: "18:00", to: "02:00"}]'


def test_overnight_shift_runs_past_midnight_and_belongs_to_its_start_day():
    o = org(NIGHT)
    assert is_open(o, jst(2026, 12, 4, 23, 59))  # Friday night
    assert is_open(o, jst(2026, 12, 5, 1, 59))  # Saturday small hours: Friday's shift
    assert not is_open(o, jst(2026, 12, 5, 2, 0))  # ends at 02:00 sharp
    assert not is_open(o, jst(2026, 12, 5, 23, 0))  # no Saturday shift
    assert not is_open(o, jst(2026, 12, 7, 1, 0))  # Sunday's night: none (Monday small hours)
    assert is_open(o, jst(2026, 12, 8, 1, 0))  # Monday's shift into Tuesday
    assert not is_open(o, jst(2026, 12, 7, 17, 59)) and is_open(o, jst(2026, 12, 7, 18, 0))


def test_whole_day_and_to_midnight():
    o = org('[{days: [sat], from: "00:00", to: "24:00"}, {days: [sun], from: "20:00", to: "00:00"}]')
    assert is_open(o, jst(2026, 12, 5, 0, 0)) and is_open(o, jst(2026, 12, 5, 23, 59))
    assert is_open(o, jst(2026, 12, 6, 23, 59)) and not is_open(o, jst(2026, 12, 7, 0, 0))


def test_holidays_come_from_the_holidays_package():
    assert is_japanese_holiday(date(2026, 11, 3))  # 文化の日
    assert not is_japanese_holiday(date(2026, 11, 4))
    jp = holidays.Japan(years=2027)
    assert all(is_japanese_holiday(d) for d in jp)


def test_holiday_modes():
    weekday = (
        '[{days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00"}, {days: [sun], from: "12:00", to: "14:00"}]'
    )
    culture_day = jst(2026, 11, 3, 10, 0)  # a Tuesday holiday
    assert not is_open(org(weekday, holidays="closed"), culture_day)
    assert is_open(org(weekday, holidays="open"), culture_day)
    assert not is_open(org(weekday, holidays="as_sunday"), culture_day)
    assert is_open(org(weekday, holidays="as_sunday"), jst(2026, 11, 3, 13, 0))


def test_holiday_looks_at_the_start_day_of_an_overnight_shift():
    o = org(NIGHT, holidays="closed")
    assert not is_open(o, jst(2026, 11, 3, 19, 0))  # Tuesday holiday: no shift
    assert not is_open(o, jst(2026, 11, 4, 1, 0))  # ...so nothing after midnight either
    assert is_open(o, jst(2026, 11, 2, 19, 0)) and is_open(
        o, jst(2026, 11, 3, 1, 0)
    )  # Monday's shift runs into the holiday


def test_closed_dates_and_extra_hours():
    o = org(
        NIGHT,
        closed_dates='["2026-12-31"]',
        extra_hours='[{date: "2026-12-30", from: "10:00", to: "16:00"}, {date: "2026-12-31", from: "20:00", to: "01:00"}]',
    )
    assert is_open(o, jst(2026, 12, 31, 1, 0))  # Wednesday's shift, started before the closed date
    assert not is_open(o, jst(2026, 12, 31, 18, 30))  # Thursday's usual shift is cancelled
    assert is_open(o, jst(2026, 12, 31, 20, 0)) and is_open(o, jst(2027, 1, 1, 0, 59))  # dated extra hours still apply
    assert is_open(o, jst(2026, 12, 30, 10, 0)) and not is_open(o, jst(2026, 12, 30, 16, 0))
    assert day_intervals(o, date(2026, 12, 30)) == ((600, 960), (1080, 1560))


def test_overseas_partner_hours_follow_their_own_daylight_saving():
    o = org('[{days: daily, from: "13:00", to: "22:00"}]', timezone="Europe/London")
    assert is_open(o, jst(2027, 1, 15, 22, 0)) and not is_open(o, jst(2027, 1, 15, 21, 59))  # GMT: 22:00 JST
    assert is_open(o, jst(2027, 7, 15, 21, 0)) and not is_open(o, jst(2027, 7, 15, 6, 0))  # BST: 21:00-06:00 JST


def test_next_opening():
    o = org(NIGHT, holidays="closed")
    assert next_opening(o, jst(2026, 12, 4, 12, 0)) == jst(2026, 12, 4, 18, 0)
    assert next_opening(o, jst(2026, 12, 5, 3, 0)) == jst(2026, 12, 7, 18, 0)  # over the weekend
    assert next_opening(o, jst(2026, 11, 3, 12, 0)) == jst(2026, 11, 4, 18, 0)  # skips the holiday
    now = jst(2026, 12, 4, 19, 0)
    assert next_opening(o, now) == now  # open now
    never = org('[{days: [mon], from: "09:00", to: "10:00"}]', closed_dates=str([str(date(2026, 12, 7) + timedelta(days=7 * i)) for i in range(3)]))
    assert next_opening(never, jst(2026, 12, 5, 0, 0)) is None  # beyond the 14-day horizon


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        is_open(org(NIGHT), datetime(2026, 12, 4, 19, 0))


# --- property tests against a brute-force minute-by-minute reading -------------------------------------

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ZONES = {"Asia/Tokyo": JST, "Europe/London": LONDON, "America/Los_Angeles": LA}
# Instants near the hard cases: DST changes in London and Los Angeles, a year and week boundary.
ANCHORS = [
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC), datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
    datetime(2026, 3, 8, 10, 0, tzinfo=UTC), datetime(2026, 11, 1, 9, 0, tzinfo=UTC),
    datetime(2026, 12, 31, 15, 0, tzinfo=UTC), datetime(2027, 1, 3, 15, 0, tzinfo=UTC),
]

minutes = st.integers(0, 1439)
rules = st.lists(
    st.tuples(st.sets(st.sampled_from(DAYS), min_size=1), minutes, st.integers(1, 1440)).filter(lambda r: r[1] != r[2]),
    min_size=1, max_size=3,
)


_JP: dict[int, holidays.HolidayBase] = {}


def jp_holiday(day: date) -> bool:
    if day.year not in _JP:
        _JP[day.year] = holidays.Japan(years=day.year)
    return day in _JP[day.year]


def brute_open(spec, tz, t: datetime) -> bool:
    """Read the rules directly: convert t to the partner's wall clock, look at today's and yesterday's shifts."""
    rule_list, mode, closed = spec
    local = t.astimezone(tz).replace(tzinfo=None)
    for back in (0, 1):
        day = local.date() - timedelta(days=back)
        if day in closed:
            continue
        weekday = day.weekday()
        if mode != "open" and jp_holiday(day):
            if mode == "closed":
                continue
            weekday = 6
        since = (local - datetime.combine(day, datetime.min.time())) / timedelta(minutes=1)
        for days, start, end in rule_list:
            stop = end if end > start else end + 1440
            if DAYS[weekday] in days and start <= since < stop:
                return True
    return False


def to_yaml(rule_list) -> str:
    fmt = lambda m: f'"{m // 60:02d}:{m % 60:02d}"'  # noqa: E731
    return "[" + ", ".join(f"{{days: [{', '.join(sorted(d))}], from: {fmt(s)}, to: {fmt(e)}}}" for d, s, e in rule_list) + "]"


@settings(max_examples=40, deadline=None)
@given(
    rule_list=rules,
    zone=st.sampled_from(sorted(ZONES)),
    mode=st.sampled_from(["open", "closed", "as_sunday"]),
    anchor=st.sampled_from(ANCHORS),
    shift_hours=st.integers(-30, 30),
    closed_offset=st.one_of(st.none(), st.integers(-2, 2)),
)
def test_schedule_matches_brute_force_minute_by_minute(rule_list, zone, mode, anchor, shift_hours, closed_offset):
    tz = ZONES[zone]
    start = anchor + timedelta(hours=shift_hours)
    closed = set()
    if closed_offset is not None:
        closed.add(start.astimezone(tz).date() + timedelta(days=closed_offset))
    fields = {"timezone": zone, "holidays": mode}
    if closed:
        fields["closed_dates"] = "[" + ", ".join(f'"{d}"' for d in closed) + "]"
    o = org(to_yaml(rule_list), **fields)
    spec = (rule_list, mode, closed)

    window = 36 * 60
    t0 = start.replace(second=0, microsecond=0)
    expected = [brute_open(spec, tz, t0 + timedelta(minutes=i)) for i in range(window)]
    assert [is_open(o, t0 + timedelta(minutes=i)) for i in range(window)] == expected

    # The intervals behind coverage reports say the same, minute for minute.
    base = int(t0.timestamp()) // 60
    local_first = t0.astimezone(tz).toordinal() - 1
    local_last = (t0 + timedelta(minutes=window)).astimezone(tz).toordinal()
    mask = [False] * window
    for lo, hi in utc_intervals(o, local_first, local_last):
        for m in range(max(lo, base), min(hi, base + window)):
            mask[m - base] = True
    assert mask == expected

    # next_opening agrees with scanning forward, wherever the scan finds an opening in the window.
    for i in range(0, window, 97):
        first = next((j for j in range(i, window) if expected[j]), None)
        if first is not None:
            got = next_opening(o, t0 + timedelta(minutes=i))
            assert got is not None and got.astimezone(UTC) == (t0 + timedelta(minutes=first)).astimezone(UTC)


def test_epoch_ordinal_constant():
    assert EPOCH_ORDINAL == date(1970, 1, 1).toordinal()


def test_skipped_spring_hour_is_not_worked_and_repeated_autumn_hour_is_worked_twice():
    o = org('[{days: [sun], from: "01:00", to: "01:59"}]', timezone="Europe/London")
    spring = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 01:00 GMT becomes 02:00 BST
    assert not any(is_open(o, spring + timedelta(minutes=i)) for i in range(-60, 120))
    autumn = datetime(2026, 10, 25, 0, 0, tzinfo=UTC)  # 01:00-02:00 BST, then 01:00-02:00 GMT
    opened = [i for i in range(0, 180) if is_open(o, autumn + timedelta(minutes=i))]
    assert opened == [*range(0, 59), *range(60, 119)]
    assert next_opening(o, autumn + timedelta(minutes=59)) == autumn + timedelta(minutes=60)
