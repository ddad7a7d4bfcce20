"""One desk, two front ends: a Slack partner and a web-desk partner in one directory, on SQLite and
PostgreSQL. A case moving from Slack to the web desk posts nothing more to Slack than the old
card's update; the web partner's card has no Slack channel."""

from __future__ import annotations

from storage.cases import CaseStore
from tests.desk.conftest import cases, handoff, make_desk  # noqa: F401  (fixtures)
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


async def test_a_slack_case_transferred_to_the_web_desk(cases: CaseStore, store, clock):  # noqa: F811
    desk = make_desk(cases, clock, MIXED)
    await desk.handoff(pseudonym=P, channel="line", handoff=handoff(topics=("loneliness", "family")), now=clock())
    case = await cases.latest_case(P)
    assert case.org_id == "slackers"
    [card] = await cases.cards(case.id)
    assert (await desk.accept(card.id, counselor_id="U1", counselor_name="はる", now=clock())).ok
    assert await desk.transfer_options(card.id, now=clock()) == [("webbers", "ウェブ相談室")]
    before = len(await outbox(store, channel="slack-desk"))
    assert (await desk.transfer(card.id, counselor_id="U1", counselor_name="はる", to_org="webbers", now=clock())).ok
    ops = [op for _, op in (await outbox(store, channel="slack-desk"))[before:]]
    assert {op["card_id"] for op in ops} == {card.id}, "only the old Slack card is touched"
    assert "post_card" not in {op["op"] for op in ops}
    cards = await cases.cards(case.id)
    assert [(c.org_id, c.slack_channel, c.state) for c in cards] == [
        ("slackers", "C0SLACK", "moved"), ("webbers", "", "open")]
    # the web counselor accepts on the new card, through the same race-safe accept
    result = await desk.accept(cards[1].id, counselor_id="web:1", counselor_name="なつ", now=clock())
    assert result.ok and result.case.org_id == "webbers" and result.case.counselor_name == "なつ"
    after = len(await outbox(store, channel="slack-desk"))
    assert (await desk.say(cards[1].id, counselor_id="web:1", text="こんにちは", source_key="w1", now=clock())).ok
    assert (await desk.close(cards[1].id, counselor_id="web:1", counselor_name="なつ", outcome="resolved",
                             now=clock())).ok
    assert len(await outbox(store, channel="slack-desk")) == after, "nothing for Slack from the web desk"
