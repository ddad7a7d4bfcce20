from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from routing import RequestError, RouteRequest, RoutingError, load_hotlines, route
from tests.routing.helpers import directory, jst, org_yaml

NOW = jst(2026, 12, 4, 20, 0)  # a Friday evening
ALWAYS = '[{days: daily, from: "00:00", to: "24:00"}]'


def decide(*orgs: str, load=None, now=NOW, **request):
    request.setdefault("topics", ("loneliness",))
    request.setdefault("prefecture", "13")
    return route(RouteRequest(**request), directory(*orgs), load or {}, now)


def ids(decision):
    return [c.org.id for c in decision.candidates]


def reasons(decision):
    return {e.org: e.reason for e in decision.excluded}


def test_topic_must_match():
    d = decide(org_yaml("a", topics="[dv]"), org_yaml("b", topics="[loneliness, dv]"))
    assert ids(d) == ["b"] and reasons(d) == {"a": "topic"}
    assert d.excluded[0].detail == "takes dv"


def test_any_of_several_topics_matches_but_primary_topic_goes_first():
    d = decide(org_yaml("family-only", topics="[family]"), org_yaml("lonely", topics="[loneliness]"),
               topics=("loneliness", "family"), load={"lonely": 1})
    assert ids(d) == ["lonely", "family-only"]


def test_language_must_match():
    d = decide(org_yaml("ja"), org_yaml("en", languages="[en]"), language="en")
    assert ids(d) == ["en"] and reasons(d) == {"ja": "language"}


def test_region_must_match_and_nationwide_matches_everywhere():
    d = decide(org_yaml("tokyo", regions='["13"]'), org_yaml("osaka", regions='["27"]'), org_yaml("all"))
    assert ids(d) == ["all", "tokyo"] or set(ids(d)) == {"all", "tokyo"}
    assert reasons(d) == {"osaka": "region"}
    assert d.excluded[0].detail == "serves 27"


def test_no_prefecture_matches_only_nationwide_partners():
    d = decide(org_yaml("tokyo", regions='["13"]'), org_yaml("all"), prefecture=None)
    assert ids(d) == ["all"] and reasons(d) == {"tokyo": "region"}


def test_avoiding_own_area_needs_out_of_area_and_a_partner_outside_it():
    d = decide(
        org_yaml("tokyo-local", regions='["13"]', out_of_area="true"),
        org_yaml("osaka", regions='["27"]', out_of_area="true"),
        org_yaml("osaka-no", regions='["27"]'),
        org_yaml("national", out_of_area="true"),
        avoid_own_area=True,
    )
    assert set(ids(d)) == {"osaka", "national"}
    assert reasons(d) == {"tokyo-local": "region", "osaka-no": "out_of_area"}
    assert "own area (13 東京都)" in next(e.detail for e in d.excluded if e.org == "tokyo-local")


def test_paused_partner_is_excluded():
    d = decide(org_yaml("p", paused="true"), org_yaml("q"))
    assert ids(d) == ["q"] and reasons(d) == {"p": "paused"}


def test_closed_partner_says_when_it_opens():
    d = decide(org_yaml("day", hours='[{days: daily, from: "09:00", to: "17:00"}]'), org_yaml("q"))
    (exclusion,) = d.excluded
    assert exclusion.reason == "closed" and exclusion.opens_at == jst(2026, 12, 5, 9, 0)
    assert exclusion.detail == "closed; opens 2026-12-05 09:00 JST"


def test_full_partner_is_excluded_for_capacity():
    d = decide(org_yaml("full", capacity="2"), org_yaml("q"), load={"full": 2})
    assert ids(d) == ["q"] and reasons(d) == {"full": "capacity"}
    assert d.excluded[0].detail == "at capacity (2/2)"


def test_a_partner_open_with_nobody_on_duty_takes_no_case():
    orgs = (org_yaml("watched"), org_yaml("unwatched"), org_yaml("closed", hours='[{days: [sat], from: "09:00", to: "10:00"}]'))
    d = route(RouteRequest(topics=("loneliness",), prefecture="13"), directory(*orgs), {}, NOW,
              on_duty={"watched": 1, "closed": 3})
    assert ids(d) == ["watched"]
    assert reasons(d) == {"unwatched": "nobody_on_duty", "closed": "closed"}
    assert next(e for e in d.excluded if e.org == "unwatched").detail == "open, but nobody on duty"
    unknown = route(RouteRequest(topics=("loneliness",), prefecture="13"), directory(*orgs), {}, NOW)
    assert ids(unknown) == ["unwatched", "watched"] or ids(unknown) == ["watched", "unwatched"], "presence not known"


def test_per_counselor_makes_room_from_the_counselors_on_duty():
    orgs = (org_yaml("pair", capacity="10", per_counselor="2"), org_yaml("plain", capacity="3"))
    at = {"pair": 1, "plain": 1}
    d = route(RouteRequest(topics=("loneliness",), prefecture="13"), directory(*orgs), {"pair": 2, "plain": 2}, NOW,
              on_duty=at)
    assert ids(d) == ["plain"] and reasons(d) == {"pair": "capacity"}
    assert next(e for e in d.excluded if e.org == "pair").detail == "at capacity (2/2: 1 on duty)"
    d = route(RouteRequest(topics=("loneliness",), prefecture="13"), directory(*orgs), {"pair": 2, "plain": 2}, NOW,
              on_duty={"pair": 3, "plain": 1})
    assert [(c.org.id, c.load, c.capacity) for c in d.candidates] == [("pair", 2, 6), ("plain", 2, 3)]


def test_an_urgent_case_finds_a_crisis_partner_only_with_someone_on_duty():
    orgs = (org_yaml("lonely"), org_yaml("crisis", topics="[suicide]", crisis="true"))
    request = RouteRequest(topics=("loneliness",), prefecture="13", urgent=True)
    d = route(request, directory(*orgs), {"lonely": 2}, NOW, on_duty={"lonely": 1})
    assert ids(d) == [] and reasons(d)["crisis"] == "topic"
    d = route(request, directory(*orgs), {"lonely": 2}, NOW, on_duty={"lonely": 1, "crisis": 1})
    assert ids(d) == ["crisis"] and d.candidates[0].via_crisis


def test_least_loaded_relative_to_capacity_first():
    d = decide(org_yaml("big", capacity="10"), org_yaml("small", capacity="2"), org_yaml("idle", capacity="1"),
               load={"big": 4, "small": 1})
    assert ids(d) == ["idle", "big", "small"]  # 0/1, 4/10, 1/2
    assert [(c.load, c.capacity) for c in d.candidates] == [(0, 1), (4, 10), (1, 2)]


def test_ties_are_broken_deterministically_but_not_always_the_same_way():
    orgs = [org_yaml(f"o{i}") for i in range(4)]
    firsts = set()
    for minute in range(30):
        now = jst(2026, 12, 4, 20, minute)
        one, two = decide(*orgs, now=now), decide(*orgs, now=now.replace(second=30))
        assert ids(one) == ids(two)
        firsts.add(ids(one)[0])
    assert len(firsts) >= 3


def test_urgent_case_goes_to_an_open_crisis_partner_when_no_match_is_open():
    orgs = (
        org_yaml("dv-day", topics="[dv]", hours='[{days: daily, from: "09:00", to: "17:00"}]'),
        org_yaml("crisis", topics="[suicide]", crisis="true"),
        org_yaml("crisis-en", topics="[suicide]", crisis="true", languages="[en]"),
    )
    calm = decide(*orgs, topics=("dv",))
    assert ids(calm) == [] and reasons(calm)["crisis"] == "topic"
    urgent = decide(*orgs, topics=("dv",), urgent=True)
    assert ids(urgent) == ["crisis"] and urgent.candidates[0].via_crisis
    assert reasons(urgent) == {"dv-day": "closed", "crisis-en": "topic"}
    assert urgent.next_open is None


def test_crisis_partner_is_not_used_while_a_matching_partner_is_open():
    d = decide(
        org_yaml("dv", topics="[dv]"),
        org_yaml("crisis", topics="[suicide]", crisis="true"),
        topics=("dv",),
        urgent=True,
    )
    assert ids(d) == ["dv"] and not d.candidates[0].via_crisis and reasons(d) == {"crisis": "topic"}


def test_nothing_open_gives_next_opening_and_phone_lines():
    d = decide(
        org_yaml("early", topics="[suicide]", hours='[{days: daily, from: "09:00", to: "17:00"}]'),
        org_yaml("late", topics="[suicide]", hours='[{days: daily, from: "22:00", to: "23:00"}]'),
        topics=("suicide",), now=jst(2026, 12, 4, 21, 30),
    )
    assert not d.candidates and d.next_open == jst(2026, 12, 4, 22, 0)
    numbers = [h.number for h in d.hotlines]
    assert "0120-279-338" in numbers and "0120-783-556" not in numbers  # いのちの電話 closes at 21:00
    assert "110" not in numbers


def test_urgent_puts_110_and_119_first():
    d = decide(org_yaml("a", topics="[dv]"), topics=("suicide",), urgent=True, now=jst(2026, 12, 4, 17, 0))
    assert [h.number for h in d.hotlines][:2] == ["110", "119"]
    assert "0120-783-556" in [h.number for h in d.hotlines]  # いのちの電話 is open at 17:00


def test_overseas_partner_covers_japanese_night():
    london = org_yaml("london", timezone="Europe/London", hours='[{days: daily, from: "13:00", to: "22:00"}]')
    assert ids(decide(london, now=jst(2027, 1, 15, 3, 0))) == ["london"]
    assert reasons(decide(london, now=jst(2027, 1, 15, 12, 0))) == {"london": "closed"}


def test_to_json_shape():
    d = decide(org_yaml("a"), org_yaml("b", topics="[dv]"))
    data = d.to_json()
    assert data["candidates"][0]["org"] == "a" and data["candidates"][0]["desk"] == {"slack_channel": None, "web": True}
    assert data["excluded"] == [{"org": "b", "reason": "topic", "detail": "takes dv", "opens_at": None}]
    assert data["next_open"] is None and data["at"] == "2026-12-04T20:00:00+09:00"
    assert {"id", "name", "name_en", "number", "hours"} <= set(data["hotlines"][0])


def test_bad_requests_and_naive_time():
    with pytest.raises(RequestError):
        RouteRequest(topics=("nope",), prefecture="13")
    with pytest.raises(RoutingError):
        RouteRequest(topics=(), prefecture="13")
    with pytest.raises(RequestError):
        RouteRequest(topics=("dv",), prefecture="99")
    with pytest.raises(ValueError):
        route(RouteRequest(("dv",), "13"), directory(org_yaml()), {}, datetime(2026, 12, 4, 20, 0))


def test_hotlines_file_and_lookup():
    lines = load_hotlines()
    assert lines.get("police").number == "110" and lines.get("police").emergency
    night = jst(2026, 12, 4, 23, 0)
    assert not lines.get("inochi-no-denwa").is_open(night) and lines.get("inochi-no-denwa").is_open(
        jst(2026, 12, 4, 16, 0)
    )
    assert not lines.get("kokoro-dial").is_open(night)  # hours vary by prefecture: never offered as open
    assert [h.id for h in lines.for_topics(("abuse",), night, urgent=False)] == ["jido-189"]
    assert [h.id for h in lines.for_topics(("work",), night, urgent=False)] == ["yorisoi"]  # fallback line
    assert [h.id for h in lines.for_topics(("work",), night, urgent=True)] == ["police", "ambulance", "yorisoi"]


# --- every partner is accounted for, and every candidate really may take the case ----------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from routing import is_open  # noqa: E402

REASONS = {"topic", "region", "out_of_area", "paused", "language", "closed", "nobody_on_duty", "capacity"}


@st.composite
def partner(draw, i):
    hours_from = draw(st.integers(0, 23))
    hours_to = draw(st.integers(0, 24).filter(lambda h: h != hours_from))
    return org_yaml(
        f"o{i}",
        topics="[" + ", ".join(draw(st.sets(st.sampled_from(["dv", "suicide", "family"]), min_size=1))) + "]",
        regions=draw(st.sampled_from(["[all]", '["13"]', '["27", "13"]', '["47"]'])),
        languages=draw(st.sampled_from(["[ja]", "[ja, en]", "[en]"])),
        out_of_area=draw(st.sampled_from(["true", "false"])),
        crisis=draw(st.sampled_from(["true", "false"])),
        paused=draw(st.sampled_from(["true", "false", "false"])),
        timezone=draw(st.sampled_from(["Asia/Tokyo", "Europe/London"])),
        hours=f'[{{days: [mon, wed, sat], from: "{hours_from:02d}:00", to: "{hours_to:02d}:00"}}]',
        per_counselor=draw(st.sampled_from([None, "1", "2"])),
    )


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    count=st.integers(1, 6),
    topics=st.lists(st.sampled_from(["dv", "suicide", "family"]), min_size=1, max_size=2, unique=True),
    prefecture=st.sampled_from([None, "13", "27", "01"]),
    language=st.sampled_from(["ja", "en"]),
    urgent=st.booleans(),
    avoid=st.booleans(),
    hour=st.integers(0, 24 * 7 - 1),
)
def test_every_partner_is_a_candidate_or_excluded_once(data, count, topics, prefecture, language, urgent, avoid, hour):
    d = directory(*(data.draw(partner(i)) for i in range(count)))
    load = {f"o{i}": data.draw(st.integers(0, 3)) for i in range(count)}
    on_duty = data.draw(st.none() | st.fixed_dictionaries({f"o{i}": st.integers(0, 2) for i in range(count)}))
    now = jst(2026, 12, 28, 0, 0) + timedelta(hours=hour)
    request = RouteRequest(tuple(topics), prefecture, language=language, urgent=urgent, avoid_own_area=avoid)
    decision = route(request, d, load, now, on_duty=on_duty)
    named = [c.org.id for c in decision.candidates] + [e.org for e in decision.excluded]
    assert sorted(named) == sorted(o.id for o in d.organizations)
    assert {e.reason for e in decision.excluded} <= REASONS
    for c in decision.candidates:
        org = c.org
        assert is_open(org, now) and not org.paused and language in org.languages and c.load < c.capacity
        assert c.capacity <= org.capacity
        if on_duty is not None:
            staff = on_duty[org.id]
            assert staff > 0 and c.capacity <= staff * (org.per_counselor or org.capacity)
        assert c.via_crisis == (not set(topics) & set(org.topics))
        if c.via_crisis:
            assert urgent and org.crisis
        if avoid:
            assert org.out_of_area and (org.nationwide or prefecture not in org.regions)
        else:
            assert org.nationwide or prefecture in org.regions
    for e in decision.excluded:
        if e.reason == "closed":
            assert not is_open(d.get(e.org), now) and (e.opens_at is None or e.opens_at > now)
        if e.reason == "nobody_on_duty":
            assert on_duty is not None and on_duty[e.org] == 0 and is_open(d.get(e.org), now)
    order = [(topics[0] not in c.org.topics, c.load / c.capacity) for c in decision.candidates]
    assert order == sorted(order)  # primary topic first, then least loaded
    if decision.candidates:
        assert decision.next_open is None


def test_hotlines_file_problems_name_line_and_field():
    from routing import DirectoryError, parse_hotlines

    text = 'lines:\n  - id: x\n    name: テスト\n    name_en: Test\n    number: "0120"\n    hours_text: t\n    hours: [{days: daily, from: "16:00", to: "16:00"}]\n    topics: [dvv]\n'
    with pytest.raises(DirectoryError) as info:
        parse_hotlines(text, source="h.yaml")
    assert [str(p).split(":")[1] for p in info.value.problems] == ["7", "8"]
    assert "lines[0].hours[0].to" in str(info.value) and "unknown topic id" in str(info.value)
