"""What a person reads from the desk: one coherent message when no partner is open (in their
language only), and answers to the check-in after a case closed understood in their own words."""

from __future__ import annotations

import pytest

from tests.desk.conftest import MORNING_ONLY, START, actor, handoff, make_desk
from tests.desk.test_desk import P1, outbox, person_texts


async def test_no_partner_open_is_one_message_without_connecting_you_first(cases, store, clock):
    desk = make_desk(cases, clock, MORNING_ONLY)  # 09:00-12:00 Tokyo; it is 21:00
    await desk.handoff(pseudonym=P1, channel="line", handoff=handoff(), now=clock())
    [text] = person_texts(await outbox(store), P1)
    assert text == ("ごめんなさい。いまは相談を受けられる団体がありません。\n\n"
                    "いま電話で相談できるところ：\nよりそいホットライン 0120-279-338（24時間）\n\n"
                    "次に相談を受けられるのは 11/28 09:00 ごろです。\n"
                    "ここにメッセージを残してもらえれば、相談を受けられるようになったときに相談員に届けます。")
    assert text.count("09:00") == 1 and "つなぎます" not in text and "hours" not in text


async def test_no_partner_open_in_english_is_english_only(cases, store, clock):
    desk = make_desk(cases, clock, MORNING_ONLY)
    await desk.handoff(pseudonym=P1, channel="web", handoff=handoff(language="en"), now=clock())
    [text] = person_texts(await outbox(store), P1)
    assert "Yorisoi Hotline 0120-279-338 (24 hours)" in text
    assert not any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in text), text


async def test_an_urgent_case_with_nobody_open_starts_with_110_and_119(cases, store, clock):
    desk = make_desk(cases, clock, MORNING_ONLY)
    await desk.handoff(pseudonym=P1, channel="line", handoff=handoff(topics=("suicide",), urgent=True), now=clock())
    [text] = person_texts(await outbox(store), P1)
    assert "警察 110（24時間）\n救急・消防 119（24時間）" in text


async def test_the_emergency_lines_are_in_the_persons_language_only(desk, clock):
    [ja] = await desk.screen(pseudonym=P1, channel="line", text="死にたい", language="ja", now=clock())
    assert "24 hours" not in ja.text and "（24時間）" in ja.text
    [en] = await desk.screen(pseudonym="c" * 64, channel="web", text="I want to die", language="en", now=clock())
    assert "24時間" not in en.text and "Police 110 (24 hours)" in en.text


async def _closed_with_check_in(desk, cases, clock):
    await desk.handoff(pseudonym=P1, channel="line", handoff=handoff(), now=clock())
    case = await cases.latest_case(P1)
    [card] = await cases.cards(case.id)
    await desk.accept(card.id, actor=actor(card.org_id, "U1", "はな"), now=clock())
    await desk.close(card.id, actor=actor(card.org_id, "U1", "はな"), outcome="resolved", followup_days=3,
                     now=clock())
    return case


async def reply(desk, clock, text: str, key: str = "inbox:9"):
    return await desk.from_person(pseudonym=P1, channel="line", source_key=key, text=text, media=None,
                                  command=None, language="ja", now=clock())


@pytest.mark.parametrize("text", ["うん", "ウン", "お願いします", "ＯＫ", "はい。"])
async def test_yes_to_the_check_in_in_ones_own_words(desk, cases, clock, text):
    await _closed_with_check_in(desk, cases, clock)
    answered = await reply(desk, clock, text)
    assert "3日後" in answered.messages[0].text and answered.after == "wait"
    assert (await cases.pending_followup(P1)).status == "scheduled"


@pytest.mark.parametrize("text", ["大丈夫です", "ううん", "結構です", "いいえ"])
async def test_no_to_the_check_in_in_ones_own_words(desk, cases, clock, text):
    await _closed_with_check_in(desk, cases, clock)
    answered = await reply(desk, clock, text)
    assert answered.after == "end" and "いつでもメッセージ" in answered.messages[0].text
    assert await cases.pending_followup(P1) is None


async def test_a_message_instead_of_an_answer_goes_to_the_same_partner_not_a_new_intake(desk, cases, store, clock):
    # It used to start the whole intake again, greeting and terms included.
    case = await _closed_with_check_in(desk, cases, clock)
    answered = await reply(desk, clock, "やっぱりもう少し話したいです")
    assert answered.after == "wait"
    again = await cases.latest_case(P1)
    assert again.id != case.id and again.status == "queued" and again.org_id == case.org_id
    assert [(m.direction, m.text) for m in await cases.messages(again.id)] == [
        ("person", "やっぱりもう少し話したいです")]
    [card] = await cases.cards(again.id)
    assert card.via == "followup"
    said = [op.get("text", "") for p, op in await outbox(store) if p == f"desk:{again.id}"]
    assert any("やっぱりもう少し話したいです" in t for t in said)
    assert any("相談員につなぎます" in t for t in person_texts(await outbox(store), P1))


async def test_a_message_after_the_check_in_question_is_asked_reaches_the_partner(desk, cases, store, clock):
    case = await _closed_with_check_in(desk, cases, clock)
    assert "3日後" in (await reply(desk, clock, "はい")).messages[0].text
    clock.now = START.replace(day=30, hour=12)
    await desk.run_once(clock())
    assert (await cases.pending_followup(P1)).status == "asked"
    await reply(desk, clock, "まだ少しつらいです", key="inbox:10")
    again = await cases.latest_case(P1)
    assert again.id != case.id and again.org_id == case.org_id
    assert [m.text for m in await cases.messages(again.id)] == ["まだ少しつらいです"]


async def test_restart_is_still_the_way_to_a_new_intake(desk, cases, clock):
    await _closed_with_check_in(desk, cases, clock)
    left = await desk.from_person(pseudonym=P1, channel="line", source_key="inbox:9", text="はじめから", media=None,
                                  command="restart", language="ja", now=clock())
    assert left is None and await cases.pending_followup(P1) is None
