"""Counselors on duty (issue 13, item 2): new cases go only to partners somebody is watching, and
a partner whose counselors all leave hands its waiting cases on at once."""

from __future__ import annotations

from datetime import timedelta

from bot.desk import Desk, RiskLexicon
from bot.desk.duty import WEB_DUTY_IDLE
from bot.metrics import Metrics
from routing import load_hotlines, parse_directory
from storage.demand import DemandStore
from storage.presence import Presence
from tests.desk.conftest import DIRECTORY, START, actor, handoff

P1, P2, P3 = "a" * 64, "b" * 64, "c" * 64


def make(cases, clock, db, directory=DIRECTORY) -> tuple[Desk, Metrics]:
    metrics = Metrics()
    desk = Desk(cases=cases, directory=parse_directory(directory), hotlines=load_hotlines(), lexicon=RiskLexicon.load(),
                clock=clock, metrics=metrics, demand=DemandStore(db), presence=Presence(db))
    return desk, metrics


async def org_of(cases, pseudonym):
    return (await cases.latest_case(pseudonym)).org_id


async def test_a_case_goes_to_the_partner_somebody_is_watching(cases, clock, db):
    desk, _ = make(cases, clock, db)
    # alpha is first in the directory and least loaded, but nobody is on duty there
    await desk.go_on_duty(actor("beta", "U2"), now=clock(), until=clock() + timedelta(hours=8))
    await desk.handoff(pseudonym=P1, channel="line", handoff=handoff(), now=clock())
    assert await org_of(cases, P1) == "beta"
    assert (await desk.duty_state(actor("beta", "U2"), clock())).on
    assert not (await desk.duty_state(actor("alpha"), clock())).on


async def test_nobody_on_duty_anywhere_is_said_and_counted_as_such(cases, clock, db):
    desk, metrics = make(cases, clock, db)
    await desk.handoff(pseudonym=P1, channel="line", handoff=handoff(), now=clock())
    assert await org_of(cases, P1) is None
    rows = await DemandStore(db).between(START - timedelta(days=1), START + timedelta(days=1))
    assert [r.reason for r in rows] == ["nobody_on_duty"]
    assert metrics.registry.get_sample_value("tsunagu_unmet_demand_total", {"reason": "nobody_on_duty"}) == 1

    # somebody comes on duty: the waiting case is offered at the next pass, not a routing interval later
    await desk.go_on_duty(actor("alpha"), now=clock(), until=None)
    await desk.run_once(clock())
    assert await org_of(cases, P1) == "alpha"


async def test_the_last_counselor_going_off_hands_the_waiting_cases_on_at_once(cases, clock, db):
    desk, _ = make(cases, clock, db)
    await desk.go_on_duty(actor("alpha"), now=clock(), until=None)
    await desk.handoff(pseudonym=P1, channel="line", handoff=handoff(), now=clock())
    assert await org_of(cases, P1) == "alpha"
    await desk.go_on_duty(actor("beta", "U2"), now=clock(), until=None)
    clock.advance(minutes=1)  # well inside alpha's response time (5 minutes)
    await desk.go_off_duty(actor("alpha"), now=clock())
    await desk.run_once(clock())
    assert await org_of(cases, P1) == "beta", "moved on without waiting for alpha's response time"
    case = await cases.latest_case(P1)
    assert case.tried == ("alpha",)


async def test_a_web_duty_ends_when_the_page_stops_asking_and_its_cases_move_on(cases, clock, db):
    desk, metrics = make(cases, clock, db)
    web = actor("alpha", "web:1")
    await desk.go_on_duty(web, now=clock(), until=clock() + WEB_DUTY_IDLE)
    await desk.go_on_duty(actor("beta", "U2"), now=clock(), until=None)
    await desk.run_once(clock())
    assert metrics.registry.get_sample_value("tsunagu_counselors_on_duty", {"org": "alpha"}) == 1
    await desk.handoff(pseudonym=P1, channel="line", handoff=handoff(), now=clock())
    assert await org_of(cases, P1) == "alpha"
    clock.advance(minutes=2)
    assert (await desk.keep_on_duty(web, now=clock())).on, "the page is open"
    clock.advance(minutes=2)
    await desk.run_once(clock())
    assert await org_of(cases, P1) == "alpha", "still on duty: polled two minutes ago"
    clock.advance(seconds=WEB_DUTY_IDLE.total_seconds())  # the tab was closed
    await desk.run_once(clock())
    assert await org_of(cases, P1) == "beta"
    assert metrics.registry.get_sample_value("tsunagu_counselors_on_duty", {"org": "alpha"}) == 0
    assert not (await desk.keep_on_duty(web, now=clock())).on, "a late poll does not bring duty back"


async def test_room_counts_the_counselors_on_duty(cases, clock, db):
    pairs = DIRECTORY.replace("    capacity: 3\n", "    capacity: 3\n    per_counselor: 1\n")
    desk, _ = make(cases, clock, db, pairs)
    await desk.go_on_duty(actor("beta", "U2"), now=clock(), until=None)
    for p in (P1, P2):
        await desk.handoff(pseudonym=p, channel="line", handoff=handoff(), now=clock())
        for card in [c for c in await cases.cards((await cases.latest_case(p)).id) if c.state == "open"]:
            assert (await desk.accept(card.id, actor=actor("beta", "U2"), now=clock())).ok
    assert [await org_of(cases, p) for p in (P1, P2)] == ["beta", None], "one counselor, one conversation"
    await desk.go_on_duty(actor("beta", "U3"), now=clock(), until=None)
    await desk.run_once(clock())
    assert await org_of(cases, P2) == "beta", "a second counselor makes room for a second conversation"


async def test_transfer_lists_only_partners_with_somebody_on_duty(cases, clock, db):
    desk, _ = make(cases, clock, db)
    await desk.go_on_duty(actor("alpha"), now=clock(), until=None)
    await desk.handoff(pseudonym=P1, channel="line", handoff=handoff(), now=clock())
    [card] = [c for c in await cases.cards((await cases.latest_case(P1)).id) if c.state == "open"]
    assert (await desk.accept(card.id, actor=actor("alpha"), now=clock())).ok
    assert await desk.transfer_options(card.id, actor=actor("alpha"), now=clock()) == []
    await desk.go_on_duty(actor("beta", "U2"), now=clock(), until=None)
    assert [i for i, _ in await desk.transfer_options(card.id, actor=actor("alpha"), now=clock())] == ["beta"]
