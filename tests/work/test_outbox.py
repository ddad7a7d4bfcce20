"""The outbox shared by many senders, against a real database and the real LINE client pointed at
the fake LINE API: a row is claimed by one sender at a time, per person in order; a sender that
died is replaced once its lease runs out, and its late marks change nothing; a reply that went
out but was never recorded is not sent again as a push."""

from __future__ import annotations

from datetime import timedelta

from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApi, Configuration

from bot.line.sender import LineSender
from bot.metrics import Metrics
from bot.work.pump import LEASE, OutboxPump
from bot.work.wake import Bus
from flows.messages import Message
from storage import Outgoing, Store, encode_messages
from tests.fakes.clock import START, Clock

P1, P2 = "p" * 64, "q" * 64


async def queue(store: Store, pseudonym: str, *texts: str, token: str | None = None, now=START) -> None:
    rows = [Outgoing("line", encode_messages([Message(t)]), token if i == 0 else None,
                     now + timedelta(seconds=50) if token and i == 0 else None) for i, t in enumerate(texts)]
    await store.commit_turn(pseudonym=pseudonym, expected_version=None, state=None, wake_at=None, outgoing=rows,
                            inbox_id=None, now=now)


async def test_one_sender_at_a_time_per_person_in_order(store, clock: Clock):
    await queue(store, P1, "one", "two")
    await queue(store, P2, "other")
    first = await store.claim_outbox(clock(), limit=10, lease=LEASE)
    assert sorted(i.pseudonym for i in first) == [P1, P2], "each person's oldest row only"
    assert await store.claim_outbox(clock(), limit=10, lease=LEASE) == [], "claimed rows are not offered again"
    mine = next(i for i in first if i.pseudonym == P1)
    await store.mark_sent(mine, now=clock())
    await store.flush()
    [second] = await store.claim_outbox(clock(), limit=10, lease=LEASE)
    assert second.pseudonym == P1 and second.payload == encode_messages([Message("two")])


async def test_a_dead_senders_rows_go_to_another_after_the_lease_and_its_late_marks_do_nothing(store, clock):
    await queue(store, P1, "hello")
    [held] = await store.claim_outbox(clock(), limit=10, lease=LEASE)
    clock.advance(seconds=LEASE.total_seconds() - 1)
    assert await store.claim_outbox(clock(), limit=10, lease=LEASE) == []
    clock.advance(seconds=2)
    [taken] = await store.claim_outbox(clock(), limit=10, lease=LEASE)
    assert taken.id == held.id and taken.claim != held.claim and taken.attempts == 2
    await store.mark_retry(held, next_attempt_at=clock(), error="late")  # the first sender woke up
    await store.mark_sent(taken, now=clock())
    await store.flush()
    assert (await store.counts())["outbox_pending"] == 0


async def test_a_reply_sent_but_not_recorded_is_not_pushed_again(store, keyring, fake_line, clock):
    """The sender died between LINE's 200 and the record. The next sender finds the token already
    handed over (recorded with the claim) and still fresh: LINE refuses it as used, which means it
    was delivered; nothing is pushed. A token never tried, refused, still falls back to a push."""
    await store.remember_address(channel="line", pseudonym=P1, platform_user_id="Uperson", now=clock())
    await queue(store, P1, "answer", token="rt-1")
    client = AsyncApiClient(Configuration(host=fake_line.url, access_token=fake_line.token))
    try:
        sender = LineSender(AsyncMessagingApi(client), clock=clock)
        [first] = await store.claim_outbox(clock(), limit=1, lease=LEASE)
        assert not first.reply_tried
        assert (await sender.send(first, "Uperson")).method == "reply"  # delivered; then the crash
        clock.advance(seconds=LEASE.total_seconds() + 1)  # the token (50 s) is still fresh
        pump = OutboxPump(store=store, senders={"line": sender}, metrics=Metrics(), clock=clock, bus=Bus())
        [again] = await store.claim_outbox(clock(), limit=1, lease=LEASE)
        assert again.reply_tried and again.reply_token == "rt-1"
        pump.start([again])
        await pump.close(grace=5)
        await store.flush()
        assert [c.kind for c in fake_line.calls] == ["reply"], "no push after the delivered reply"
        assert (await store.counts())["outbox_pending"] == 0

        await queue(store, P2, "second", token="rt-1", now=clock())  # a token LINE has seen, never tried here
        await store.remember_address(channel="line", pseudonym=P2, platform_user_id="Uother", now=clock())
        pump = OutboxPump(store=store, senders={"line": sender}, metrics=Metrics(), clock=clock, bus=Bus())
        for _ in range(2):  # the refused reply, then the push
            pump.start(await store.claim_outbox(clock(), limit=1, lease=LEASE))
            await pump.close(grace=5)
            await store.flush()
            pump = OutboxPump(store=store, senders={"line": sender}, metrics=Metrics(), clock=clock, bus=Bus())
        assert [(c.kind, c.target) for c in fake_line.calls][1:] == [("push", "Uother")]
    finally:
        await client.close()


async def test_a_pump_closed_while_claiming_hands_the_rows_back_unsent(store, clock):
    """SIGTERM came while the pump's claim was on its way to the database: the rows it got back
    are neither sent nor left held for a lease; the next sender takes them at once, with the
    attempt and the reply-token mark undone (the token was never handed to LINE)."""
    import asyncio

    await queue(store, P1, "hello", token="rt-9")
    arrived, go_on = asyncio.Event(), asyncio.Event()
    claim = store.claim_outbox

    async def slow_claim(now, *, limit, lease):
        items = await claim(now, limit=limit, lease=lease)
        arrived.set()
        await go_on.wait()
        return items

    sent = []

    class Sender:
        async def send(self, item, address):
            sent.append(item.id)

    store.claim_outbox = slow_claim  # type: ignore[method-assign]
    pump = OutboxPump(store=store, senders={"line": Sender()}, metrics=Metrics(), clock=clock, bus=Bus())
    running = asyncio.create_task(pump.run())
    await asyncio.wait_for(arrived.wait(), 5)
    closing = asyncio.create_task(pump.close(grace=5))
    await asyncio.sleep(0)
    go_on.set()
    await asyncio.wait_for(closing, 5)
    await asyncio.wait_for(running, 5)
    await store.flush()
    del store.claim_outbox
    assert sent == []
    [again] = await store.claim_outbox(clock(), limit=1, lease=LEASE)
    assert again.attempts == 1 and not again.reply_tried, "as if never claimed"
