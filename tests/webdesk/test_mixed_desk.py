"""One desk, two front ends: a Slack partner and a web-desk partner in one directory, on SQLite and
PostgreSQL. A case moving from Slack to the web desk posts nothing more to Slack than the old
card's update; the web partner's card has no Slack channel."""

from __future__ import annotations

from bot.desk import Actor, notices
from storage.cases import CaseStore
from tests.desk.conftest import actor, handoff, make_desk
from tests.desk.test_desk import outbox

MIXED = """\
timezone: Asia/Tokyo
organizations:
  - id: slackers
    name: スラック相談室
    topics: [loneliness, other]
    regions: [all]
    languages: [ja]
    out_of_area: true
    capacity: 2
    desk: {slack_channel: C0SLACK}
    hours: [{days: daily, from: "00:00", to: "24:00"}]
  - id: webbers
    name: ウェブ相談室
    topics: [family]
    regions: [all]
    languages: [ja]
    out_of_area: true
    capacity: 2
    desk: {web: true}
    hours: [{days: daily, from: "00:00", to: "24:00"}]
"""
P = "c" * 64


async def slack_notices(store, cases) -> list[dict]:
    """The desk's notices about cards that are shown in Slack."""
    found = []
    for _, notice in await outbox(store, channel=notices.CHANNEL):
        card = await cases.card(notice["card_id"])
        if card.slack_channel:
            found.append(notice)
    return found


async def test_a_slack_case_transferred_to_the_web_desk(cases: CaseStore, store, clock):
    desk = make_desk(cases, clock, MIXED)
    await desk.handoff(pseudonym=P, channel="line", handoff=handoff(topics=("loneliness", "family")), now=clock())
    case = await cases.latest_case(P)
    assert case.org_id == "slackers"
    [card] = await cases.cards(case.id)
    slacker = actor("slackers", "U1", "はる")
    assert (await desk.accept(card.id, actor=slacker, now=clock())).ok
    assert await desk.transfer_options(card.id, actor=slacker, now=clock()) == [("webbers", "ウェブ相談室")]
    before = len(await slack_notices(store, cases))
    assert (await desk.transfer(card.id, actor=slacker, to_org="webbers", now=clock())).ok
    found = (await slack_notices(store, cases))[before:]
    assert {n["card_id"] for n in found} == {card.id}, "only the old Slack card is touched"
    assert "opened" not in {n["op"] for n in found}
    cards = await cases.cards(case.id)
    assert [(c.org_id, c.slack_channel, c.state) for c in cards] == [
        ("slackers", "C0SLACK", "moved"), ("webbers", "", "open")]
    # the web counselor accepts on the new card, through the same race-safe accept
    webber = Actor(id="web:1", name="なつ", org_id="webbers", front="web")
    result = await desk.accept(cards[1].id, actor=webber, now=clock())
    assert result.ok and result.case.org_id == "webbers" and result.case.counselor_name == "なつ"
    after = len(await slack_notices(store, cases))
    assert (await desk.say(cards[1].id, actor=webber, text="こんにちは", source_key="w1", now=clock())).ok
    assert (await desk.close(cards[1].id, actor=webber, outcome="resolved", now=clock())).ok
    assert len(await slack_notices(store, cases)) == after, "nothing for Slack from the web desk"
