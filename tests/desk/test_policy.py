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
