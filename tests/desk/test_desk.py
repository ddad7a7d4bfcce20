"""The desk's decisions against a real database: queue, race-safe accept, relay, notes, close and
follow-up, transfer, overflow by the injected clock, no partner open, risk words."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta

from sqlalchemy import select

from bot.desk.queue import position
from storage.cases import CaseStore, handle_for
from storage.outbox import outbox_item
from storage.tables import OutboxRow
from tests.desk.conftest import MORNING_ONLY, START, actor, handoff, make_desk

P1 = "a" * 64
P2 = "b" * 64


async def outbox(store, *, channel: str | None = None) -> list[tuple[str, object]]:
    """Every outbox row as (pseudonym, decoded payload), in order."""
    table = OutboxRow.__table__
    async with store._db.read() as conn:
        rows = (await conn.execute(select(table).order_by(table.c.id))).all()
    items = [outbox_item(store._keys, r) for r in rows]
    return [(i.pseudonym, json.loads(i.payload)) for i in items if channel is None or i.channel == channel]


def person_texts(rows, pseudonym: str) -> list[str]:
    return [m["text"] for p, batch in rows if p == pseudonym for m in batch]


async def test_handoff_queues_a_case_with_a_card_and_tells_the_person(desk, cases, store, clock):
    await desk.handoff(pseudonym=P1, channel="line", handoff=handoff(), now=clock())
    case = await cases.latest_case(P1)
    assert case.status == "queued" and case.org_id in ("alpha", "beta")
    assert re.fullmatch(r"[A-Z2-9]{2}-[A-Z2-9]{2}", case.handle)
    assert case.answers["topics"] == ["loneliness"]
    [card] = await cases.cards(case.id)
    assert card.org_id == case.org_id and card.state == "open"
    rows = await outbox(store)
    assert any("1番目" in t for t in person_texts(rows, P1))
    assert (f"desk:{case.id}", {"op": "opened", "card_id": card.id}) in rows


async def test_handle_is_stable_within_a_case_and_differs_across(keyring):
    assert handle_for(keyring, P1, 1) == handle_for(keyring, P1, 1)
    assert len({handle_for(keyring, P1, n) for n in range(1, 40)}) > 30


async def test_concurrent_accepts_have_one_winner(backend, keyring, desk, clock):
    """Several counselors, and several 'processes' (Database objects), press Accept at once."""
    await desk.handoff(pseudonym=P1, channel="line", handoff=handoff(), now=clock())
    case = await desk.cases.latest_case(P1)
    [card] = await desk.cases.cards(case.id)
    others = [CaseStore(await backend.open(), keyring) for _ in range(2)]
    stores = [desk.cases, *others]
    org_capacity = {"alpha": 2, "beta": 3}[card.org_id]
    results = await asyncio.gather(*(
        stores[i % 3].accept(card.id, counselor_id=f"U{i}", counselor_name=f"c{i}", capacity=org_capacity,
                             now=clock()) for i in range(8)))
    winners = [r for r in results if r.won]
    assert len(winners) == 1
    assert {r.reason for r in results if not r.won} == {"taken"}
    final = await desk.cases.case(case.id)
    assert final.status == "active" and final.counselor_id == winners[0].case.counselor_id


async def test_capacity_is_never_exceeded_under_concurrent_accepts(backend, keyring, cases, clock):
    desk = make_desk(cases, clock)
    for n in range(5):  # five cases, all at alpha (capacity 2)
        await desk.person.open_case(pseudonym=f"{n:064d}", channel="line", answers=handoff().answers, urgent=False,
                         language="ja", risk=(0, ()), prefer="alpha", via="route", now=clock())
    cards = []
    for n in range(5):
        case = await cases.latest_case(f"{n:064d}")
        assert case.org_id == "alpha"
        cards.extend(await cases.cards(case.id))
    other = CaseStore(await backend.open(), keyring)
    results = await asyncio.gather(*(
        (cases if i % 2 else other).accept(card.id, counselor_id=f"U{i}", counselor_name="c", capacity=2,
                                           now=clock()) for i, card in enumerate(cards)))
    assert sum(r.won for r in results) == 2
    assert {r.reason for r in results if not r.won} == {"capacity"}
    assert (await cases.loads())["alpha"] == 2


async def test_relay_both_ways_notes_and_stickers(desk, cases, store, clock):
    await desk.handoff(pseudonym=P1, channel="line", handoff=handoff(), now=clock())
    case = await cases.latest_case(P1)
    [card] = await cases.cards(case.id)
    await cases.set_card_ts(card.id, "1700000000.000100")
    assert (await desk.accept(card.id, actor=actor(card.org_id, "UCOUNS", "はな"), now=clock())).ok
    reply = await desk.from_person(pseudonym=P1, channel="line", source_key="inbox:1", text="聞いてほしい",
                                   media=None, command=None, language="ja", now=clock())
    assert reply.messages == () and reply.after == "wait"
    # the same inbox event again (a retry after a crash) is relayed once
    await desk.from_person(pseudonym=P1, channel="line", source_key="inbox:1", text="聞いてほしい",
                           media=None, command=None, language="ja", now=clock())
    await desk.from_person(pseudonym=P1, channel="line", source_key="inbox:2", text=None, media="sticker",
                           command=None, language="ja", now=clock())
    counselor = actor(card.org_id, "UCOUNS", "はな")
    await desk.note(card.id, actor=counselor, text="// 要注意", source_key="slack:e1", now=clock())
    await desk.say(card.id, actor=counselor, text="どうしましたか", source_key="slack:e2", now=clock())
    await desk.say(card.id, actor=counselor, text="どうしましたか", source_key="slack:e2", now=clock())
    rows = await outbox(store)
    threads = [op["text"] for p, op in rows if p == f"desk:{case.id}" and op["op"] == "said"]
    assert threads.count(f"相談者 {case.handle}: 聞いてほしい") == 1
    assert f"相談者 {case.handle}: 「スタンプ」" in threads
    texts = person_texts(rows, P1)
    assert any("はな" in t for t in texts)
    assert texts.count("どうしましたか") == 1
    assert not any("要注意" in t for t in texts)
    kept = [(m.direction, m.text) for m in await cases.messages(case.id)]
    assert ("note", "// 要注意") in kept


async def test_close_with_follow_up_then_yes_goes_back_to_the_same_partner(desk, cases, store, clock):
    await desk.handoff(pseudonym=P1, channel="line", handoff=handoff(), now=clock())
    case = await cases.latest_case(P1)
    [card] = await cases.cards(case.id)
    await desk.accept(card.id, actor=actor(card.org_id, "U1", "はな"), now=clock())
    closed = await desk.close(card.id, actor=actor(card.org_id, "U1", "はな"), outcome="resolved",
                              followup_days=3, now=clock())
    assert closed.ok and closed.case.status == "closed"
    reply = await desk.from_person(pseudonym=P1, channel="line", source_key="inbox:9", text="はい", media=None,
                                   command=None, language="ja", now=clock())
    assert "3日後" in reply.messages[0].text and reply.after == "wait"
    clock.advance(days=3, minutes=1)
    await desk.run_once(clock())
    assert any("また相談員と話したい" in t for t in person_texts(await outbox(store), P1))
    reply = await desk.from_person(pseudonym=P1, channel="line", source_key="inbox:10", text="はい", media=None,
                                   command=None, language="ja", now=clock())
    again = await cases.latest_case(P1)
    assert again.id != case.id and again.status == "queued" and again.org_id == case.org_id
    assert (await cases.cards(again.id))[0].via == "followup"


async def test_closed_case_lets_the_next_message_start_a_new_intake(desk, cases, clock):
    await desk.handoff(pseudonym=P1, channel="line", handoff=handoff(), now=clock())
    [card] = await cases.cards((await cases.latest_case(P1)).id)
    await desk.accept(card.id, actor=actor(card.org_id, "U1", "はな"), now=clock())
    await desk.close(card.id, actor=actor(card.org_id, "U1", "はな"), outcome="other", now=clock())
    reply = await desk.from_person(pseudonym=P1, channel="line", source_key="inbox:3", text="また", media=None,
                                   command=None, language="ja", now=clock())
    assert reply.after == "start"


async def test_transfer_moves_the_case_and_hides_the_summary_without_consent(desk, cases, clock):
    await desk.handoff(pseudonym=P1, channel="line", handoff=handoff(share_consent=False), now=clock())
    case = await cases.latest_case(P1)
    [card] = await cases.cards(case.id)
    await desk.accept(card.id, actor=actor(card.org_id, "U1", "はな"), now=clock())
    options = await desk.transfer_options(card.id, actor=actor(card.org_id, "U1", "はな"), now=clock())
    assert [o for o, _ in options] == [{"alpha": "beta", "beta": "alpha"}[card.org_id]]
    moved = await desk.transfer(card.id, actor=actor(card.org_id, "U1", "はな"), to_org=options[0][0], now=clock())
    assert moved.ok and moved.case.status == "queued" and moved.case.org_id == options[0][0]
    first, second = await cases.cards(case.id)
    assert first.state == "moved" and second.via == "transfer" and not moved.case.share_consent
    late = await desk.accept(first.id, actor=actor(first.org_id, "U2", "x"), now=clock())
    assert not late.ok and "別の団体" in late.notice
    assert (await desk.accept(second.id, actor=actor(second.org_id, "U3", "ゆき"), now=clock())).ok


async def test_overflow_after_the_response_time(desk, cases, store, clock):
    await desk.person.open_case(pseudonym=P1, channel="line", answers=handoff().answers, urgent=False, language="ja",
                     risk=(0, ()), prefer="alpha", via="route", now=clock())
    case = await cases.latest_case(P1)
    assert case.org_id == "alpha"
    clock.advance(minutes=4)
    await desk.run_once(clock())
    assert (await cases.case(case.id)).org_id == "alpha"
    clock.advance(minutes=1)
    await desk.run_once(clock())
    moved = await cases.case(case.id)
    assert moved.org_id == "beta" and moved.tried == ("alpha",)
    first, second = await cases.cards(case.id)
    assert first.state == "moved" and second.org_id == "beta" and second.via == "overflow"
    threads = [op.get("text", "") for p, op in await outbox(store) if p == f"desk:{case.id}"]
    assert any("5分以内" in t for t in threads)


async def test_no_partner_open_gives_hotlines_next_opening_and_keeps_a_message(cases, store, clock):
    desk = make_desk(cases, clock, MORNING_ONLY)  # 09:00-12:00 Tokyo; it is 21:00
    await desk.handoff(pseudonym=P1, channel="line", handoff=handoff(), now=clock())
    case = await cases.latest_case(P1)
    assert case.status == "queued" and case.org_id is None
    texts = "\n".join(person_texts(await outbox(store), P1))
    assert "相談を受けられる団体がありません" in texts
    assert "0120-279-338" in texts  # よりそいホットライン, open 24 hours
    assert "11/28 09:00" in texts
    reply = await desk.from_person(pseudonym=P1, channel="line", source_key="inbox:5", text="朝また来ます",
                                   media=None, command=None, language="ja", now=clock())
    assert "メッセージを残して" in reply.messages[0].text
    clock.now = START.replace(day=28, hour=0, minute=5)  # 09:05 in Tokyo
    await desk.run_once(clock())
    case = await cases.case(case.id)
    assert case.org_id == "asa"
    ops = [op for p, op in await outbox(store) if p == f"desk:{case.id}"]
    assert ops[0]["op"] == "opened" and "朝また来ます" in ops[1]["text"]


async def test_risk_words_raise_priority_mark_the_card_and_send_lines_while_waiting(desk, cases, clock):
    lines = await desk.screen(pseudonym=P1, channel="line", text="もう消えたい", language="ja", now=clock())
    assert lines and "110" in lines[0].text
    assert await desk.screen(pseudonym=P1, channel="line", text="消えたい", language="ja", now=clock()) == ()
    await desk.handoff(pseudonym=P1, channel="line", handoff=handoff(), now=clock())
    case = await cases.latest_case(P1)
    assert case.risk_words == ("消えたい",) and case.priority == 10
    reply = await desk.from_person(pseudonym=P1, channel="line", source_key="inbox:7", text="薬をたくさん飲んだ",
                                   media=None, command=None, language="ja", now=clock())
    assert any("110" in m.text for m in reply.messages)
    case = await cases.case(case.id)
    assert case.priority == 40 and "薬をたくさん" in case.risk_words


async def test_urgent_and_risky_cases_come_first_but_waiting_catches_up(desk, cases, clock):
    await desk.person.open_case(pseudonym=P1, channel="line", answers=handoff().answers, urgent=False, language="ja",
                     risk=(0, ()), prefer="alpha", via="route", now=clock())
    await desk.person.open_case(pseudonym=P2, channel="line", answers=handoff().answers, urgent=True, language="ja",
                     risk=(0, ()), prefer="alpha", via="route", now=clock())
    calm, urgent = await cases.latest_case(P1), await cases.latest_case(P2)
    queued = await cases.queued()
    assert position(urgent, queued, clock()) == 1 and position(calm, queued, clock()) == 2
    later = clock() + timedelta(minutes=101)
    assert position(calm, queued, later) == 2  # both waited: urgent stays ahead
