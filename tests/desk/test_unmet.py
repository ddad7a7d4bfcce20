"""Unmet demand: the desk writes one anonymous row each time a person goes unanswered (issue 14, item 2)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.desk import Desk, RiskLexicon
from bot.metrics import Metrics
from routing import load_hotlines, parse_directory
from storage.demand import DemandRow, DemandStore, hour_of
from tests.desk.conftest import DIRECTORY, MORNING_ONLY, START, actor, handoff

P1, P2, P3 = "a" * 64, "b" * 64, "c" * 64
TINY = DIRECTORY.replace("capacity: 2", "capacity: 1").replace("capacity: 3", "capacity: 1")


@pytest.fixture
def demand(db) -> DemandStore:
    return DemandStore(db)


def make(cases, clock, demand, directory=DIRECTORY) -> tuple[Desk, Metrics]:
    metrics = Metrics()
    desk = Desk(cases=cases, directory=parse_directory(directory), hotlines=load_hotlines(), lexicon=RiskLexicon.load(),
                clock=clock, metrics=metrics, demand=demand)
    return desk, metrics


async def rows(demand):
    return [(u.topic, u.prefecture, u.municipality, u.reason) for u in
            await demand.between(START - timedelta(days=1), START + timedelta(days=2))]


async def test_no_partner_open_is_recorded_without_a_link_to_the_person(cases, clock, demand, db):
    # START is 21:00 in Tokyo: the morning partner is closed
    desk, metrics = make(cases, clock, demand, MORNING_ONLY)
    await desk.handoff(pseudonym=P1, channel="line", handoff=handoff(municipality="131016"), now=clock())
    assert await rows(demand) == [("loneliness", "13", "131016", "no_partner_open")]
    [unmet] = await demand.between(START - timedelta(days=1), START + timedelta(days=2))
    assert unmet.hour == hour_of(clock()) and unmet.hour.minute == 0
    assert metrics.registry.get_sample_value("tsunagu_unmet_demand_total", {"reason": "no_partner_open"}) == 1
    async with db.read() as conn:
        raw = [tuple(r) for r in (await conn.execute(select(DemandRow.__table__))).all()]
    assert not any(P1 in str(v) for v in raw[0]), "no pseudonym"
    assert set(DemandRow.__table__.columns.keys()) == {"id", "hour", "topic", "prefecture", "municipality", "reason"}


async def test_all_full_waited_too_long_and_left_before_reached(cases, clock, demand):
    desk, metrics = make(cases, clock, demand, TINY)
    for p in (P1, P2):  # one partner each (load counts accepted conversations)
        await desk.handoff(pseudonym=p, channel="line", handoff=handoff(), now=clock())
        case = await cases.latest_case(p)
        [card] = [c for c in await cases.cards(case.id) if c.state == "open"]
        clock.advance(minutes=1)
        assert (await desk.accept(card.id, actor=actor(card.org_id), now=clock())).ok
    assert await rows(demand) == [], "answered within the response time"
    await desk.handoff(pseudonym=P3, channel="line", handoff=handoff(topics=("family",)), now=clock())
    assert await rows(demand) == [("family", "13", None, "all_full")]

    # A case that waits past the response time, then is accepted: waited_too_long, and the histogram.
    case = await cases.latest_case(P1)
    [card] = [c for c in await cases.cards(case.id) if c.state == "open"]
    await desk.close(card.id, actor=actor(card.org_id), outcome="resolved", now=clock())
    await desk.run_once(clock())  # the family case finds alpha free now
    late = await cases.latest_case(P3)
    clock.advance(minutes=30)
    [card] = [c for c in await cases.cards(late.id) if c.state == "open"]
    assert (await desk.accept(card.id, actor=actor(card.org_id), now=clock())).ok
    assert (await rows(demand))[-1] == ("family", "13", None, "waited_too_long")
    count = metrics.registry.get_sample_value("tsunagu_waiting_seconds_count", {"org": card.org_id})
    assert count and count >= 1

    # A person who stops while still waiting at a partner: left_before_reached. One routed nowhere
    # who then stops is not counted twice.
    await desk.handoff(pseudonym="e" * 64, channel="line", handoff=handoff(topics=("suicide",)), now=clock())
    assert (await rows(demand))[-1][3] == "all_full"
    await desk.from_person(pseudonym="e" * 64, channel="line", source_key="k0", text="やめる", media=None,
                           command="stop", language="ja", now=clock())
    case = await cases.latest_case(P2)
    [card] = [c for c in await cases.cards(case.id) if c.state == "open"]
    await desk.close(card.id, actor=actor(card.org_id), outcome="resolved", now=clock())
    await desk.handoff(pseudonym="d" * 64, channel="line", handoff=handoff(topics=("suicide",)), now=clock())
    assert (await cases.latest_case("d" * 64)).org_id is not None
    await desk.from_person(pseudonym="d" * 64, channel="line", source_key="k1", text="やめる", media=None,
                           command="stop", language="ja", now=clock())
    reasons = [r[3] for r in await rows(demand)]
    assert reasons[-2:] == ["all_full", "left_before_reached"] and reasons.count("left_before_reached") == 1


async def test_a_person_is_counted_once(cases, clock, demand):
    """Routed nowhere at 21:00, offered when the morning partner opens, then gone: one row, not two."""
    desk, _ = make(cases, clock, demand, MORNING_ONLY)
    await desk.handoff(pseudonym=P1, channel="line", handoff=handoff(), now=clock())
    clock.advance(hours=12, minutes=30)  # 09:30 in Tokyo
    await desk.run_once(clock())
    case = await cases.latest_case(P1)
    assert case.org_id == "asa" and case.status == "queued"
    await desk.from_person(pseudonym=P1, channel="line", source_key="k1", text="やめる", media=None,
                           command="stop", language="ja", now=clock())
    assert [r[3] for r in await rows(demand)] == ["no_partner_open"]
