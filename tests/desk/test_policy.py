"""Who may do what with a case, decided once in the desk for both front ends: a colleague of the
counselor who has a case may read it and add a note, but not speak for them or end, transfer or
release it; a supervisor may take it over; another partner sees no case at all."""

from __future__ import annotations

from bot.desk.policy import refusal
from tests.desk.conftest import actor, handoff
from tests.desk.test_desk import P1, outbox, person_texts


async def _active_case(desk, cases, clock):
    await desk.handoff(pseudonym=P1, channel="line", handoff=handoff(), now=clock())
    case = await cases.latest_case(P1)
    [card] = await cases.cards(case.id)
    owner = actor(card.org_id, "U-OWNER", "はな")
    assert (await desk.accept(card.id, actor=owner, now=clock())).ok
    return card, owner


async def test_a_colleague_may_note_but_not_speak_close_transfer_or_release(desk, cases, store, clock):
    card, owner = await _active_case(desk, cases, clock)
    colleague = actor(card.org_id, "U-COLLEAGUE", "ゆき")
    said = await desk.say(card.id, actor=colleague, text="代わりに話します", source_key="k1", now=clock())
    assert not said.ok and said.reason == "not_yours" and "はな" in said.notice
    assert "代わりに話します" not in person_texts(await outbox(store), P1)
    for refused in (await desk.close(card.id, actor=colleague, outcome="resolved", now=clock()),
                    await desk.release(card.id, actor=colleague, now=clock()),
                    await desk.transfer(card.id, actor=colleague, to_org="beta" if card.org_id == "alpha" else "alpha",
                                        now=clock())):
        assert not refused.ok and refused.reason == "not_yours"
    assert await desk.transfer_options(card.id, actor=colleague, now=clock()) == []
    assert (await cases.case(card.case_id)).status == "active"
    assert (await desk.note(card.id, actor=colleague, text="見守っています", source_key="k2", now=clock())).ok
    assert (await desk.view(colleague, card.id)) is not None
    assert (await desk.say(card.id, actor=owner, text="聞いています", source_key="k3", now=clock())).ok


async def test_another_partner_sees_no_case(desk, cases, clock):
    card, _ = await _active_case(desk, cases, clock)
    stranger = actor("beta" if card.org_id == "alpha" else "alpha", "U-OTHER", "そら")
    assert (await desk.view(stranger, card.id)) is None
    for refused in (await desk.accept(card.id, actor=stranger, now=clock()),
                    await desk.note(card.id, actor=stranger, text="x", source_key="k4", now=clock()),
                    await desk.take_over(card.id, actor=stranger, now=clock())):
        assert not refused.ok and refused.reason == "unknown" and refused.case is None


async def test_a_supervisor_takes_over_and_the_person_is_told(desk, cases, store, clock):
    card, owner = await _active_case(desk, cases, clock)
    colleague = actor(card.org_id, "U-COLLEAGUE", "ゆき")
    assert (await desk.take_over(card.id, actor=colleague, now=clock())).reason == "not_supervisor"
    supervisor = actor(card.org_id, "U-SV", "さくら", supervisor=True)
    taken = await desk.take_over(card.id, actor=supervisor, now=clock())
    assert taken.ok and taken.case.counselor_id == "U-SV" and taken.case.counselor_name == "さくら"
    assert any("さくら" in t for t in person_texts(await outbox(store), P1))
    assert (await desk.say(card.id, actor=owner, text="まだ話します", source_key="k5", now=clock())).reason == "not_yours"
    assert (await desk.close(card.id, actor=supervisor, outcome="resolved", now=clock())).ok


async def test_the_rules_on_a_closed_or_moved_card(desk, cases, clock):
    card, owner = await _active_case(desk, cases, clock)
    assert (await desk.close(card.id, actor=owner, outcome="resolved", now=clock())).ok
    closed_card, case = await cases.card(card.id), await cases.case(card.case_id)
    assert refusal(owner, "view", case, closed_card) is None, "the partner keeps its closed case's history"
    assert refusal(owner, "say", case, closed_card) == "closed"
    assert refusal(owner, "note", case, closed_card) == "closed"


def test_what_a_partner_reads_of_a_case_its_cards_later_ones_and_notes_never(clock):
    """`readable` over rows with and without their card recorded (rows from before the
    migration are placed by time among the cards)."""
    from dataclasses import replace
    from datetime import timedelta

    from bot.desk.policy import readable
    from bot.desk.summary import summarize
    from storage.cases import Card, Case, CaseMessage

    t0 = clock()
    case = Case(id=1, pseudonym="p", channel="line", handle="K7-3F", status="active", org_id="beta",
                candidates=("alpha", "beta"), tried=("alpha",), priority=0, urgent=False, language="ja",
                share_consent=False, answers={"topics": ["loneliness"], "age_band": "19_29", "prefecture": "13"},
                risk_words=(), counselor_id=None, counselor_name=None, outcome=None, told_position=None,
                lines_sent=False, created_at=t0, queued_at=t0, offered_at=t0, accepted_at=None, closed_at=None)
    first = Card(id=1, case_id=1, org_id="alpha", slack_channel="C0ALPHA", ts=None, state="moved", created_at=t0)
    second = Card(id=2, case_id=1, org_id="beta", slack_channel="C0BETA", ts=None, state="open", via="transfer",
                  created_at=t0 + timedelta(minutes=10))
    at = lambda minutes: t0 + timedelta(minutes=minutes)  # noqa: E731
    messages = [
        CaseMessage(1, 1, "person", "left before any card", t0 - timedelta(minutes=1)),  # legacy: the first card's
        CaseMessage(2, 1, "person", "legacy, at alpha", at(2)),
        CaseMessage(3, 1, "note", "alpha's note", at(3), card_id=1, org_id="alpha"),
        CaseMessage(4, 1, "counselor", "alpha said", at(10), card_id=1, org_id="alpha"),  # same minute as card 2
        CaseMessage(5, 1, "person", "to beta", at(11), card_id=2, org_id="beta"),
        CaseMessage(6, 1, "note", "beta's note", at(12), card_id=2, org_id="beta"),
        CaseMessage(7, 1, "person", "legacy, at beta", at(13)),
    ]
    cards = [first, second]
    texts = lambda c, k: [m.text for m in readable(c, k, messages, cards)]  # noqa: E731
    assert texts(case, second) == ["to beta", "beta's note", "legacy, at beta"]
    assert texts(replace(case, share_consent=True), second) == [
        "left before any card", "legacy, at alpha", "alpha said", "to beta", "beta's note", "legacy, at beta"]
    assert texts(case, first) == ["left before any card", "legacy, at alpha", "alpha's note", "alpha said"]
    # The summary within consent: the first partner's card shows the answers, the others topics only.
    for via, full in (("route", True), ("overflow", False), ("transfer", False), ("followup", False)):
        s = summarize(case, replace(second, via=via), t0)
        assert s.full is full and ("19" in s.age_band) is full and ("東京" in s.prefecture) is full, via
        assert s.topics and summarize(replace(case, share_consent=True), replace(second, via=via), t0).full


def test_the_municipality_reads_in_words_and_is_hidden_with_the_prefecture(clock):
    """The summary showed the raw code (municipality: 131016) and kept it when the person asked
    for a partner outside their own area."""
    from dataclasses import replace

    from bot.desk.summary import summarize
    from storage.cases import Card, Case

    t0 = clock()
    case = Case(id=1, pseudonym="p", channel="web", handle="K7-3F", status="queued", org_id="alpha",
                candidates=("alpha",), tried=(), priority=0, urgent=False, language="ja", share_consent=False,
                answers={"topics": ["loneliness"], "prefecture": "13", "municipality": "131016",
                         "avoid_own_area": False},
                risk_words=(), counselor_id=None, counselor_name=None, outcome=None, told_position=None,
                lines_sent=False, created_at=t0, queued_at=t0, offered_at=t0, accepted_at=None, closed_at=None)
    card = Card(id=1, case_id=1, org_id="alpha", slack_channel="", ts=None, state="open", created_at=t0)
    shown = dict(summarize(case, card, t0).answers)
    assert shown["市区町村 / Municipality"] == "千代田区 / Chiyoda City"
    away = dict(summarize(replace(case, answers={**case.answers, "avoid_own_area": True}), card, t0).answers)
    assert "市区町村 / Municipality" not in away and "都道府県 / Prefecture" not in away
