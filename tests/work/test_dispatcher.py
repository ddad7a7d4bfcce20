"""The dispatcher on its own, against a real Store (SQLite and PostgreSQL): a person's events in
the order they came however slowly each is handled, people side by side, a failing event that
does not stop the person's queue, a race with another process retried on fresh state, groups
told once a day, and the desk port called for every event after the intake."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import timedelta

from bot.desk import DeskReply, NullDesk
from bot.events import Inbound
from bot.metrics import Metrics
from bot.work.dispatch import Dispatcher
from bot.work.outgoing import ChannelSpec
from flows import load_bundled
from flows.engine import Input, resume, start
from flows.messages import Message
from flows.versions import FlowVersions
from storage import ConcurrentUpdate, NewEvent, Store
from storage.codec import decode_messages
from storage.outbox import outbox_item
from storage.tables import OutboxRow
from tests.fakes.clock import START, Clock

ANSWERS = ["こんにちは", "はい", "1", "これで全部", "3", "2", "1", "いいえ", "1", "2", "はい"]  # to the handoff
CHANNELS = {"line": ChannelSpec(batch_size=5, reply_ttl=timedelta(seconds=50))}


def expected(answers: list[str]) -> list[str]:
    """What the bot says, in order, to these answers (the pure engine, no dispatcher)."""
    flow = load_bundled("intake")
    turn = start(flow, now=START)
    said = [m.text for m in turn.messages]
    for answer in answers[1:]:
        if turn.session.status != "active":
            break
        turn = resume(flow, turn.session, Input(text=answer), now=START)
        said += [m.text for m in turn.messages]
    return said


def flows() -> FlowVersions:
    versions = FlowVersions()
    versions.publish(load_bundled("intake"))
    return versions


def dispatcher(store: Store, clock: Clock, **kwargs: object) -> Dispatcher:
    kwargs.setdefault("desk", NullDesk(Metrics()))
    return Dispatcher(store=store, flows=flows(), metrics=Metrics(), clock=clock, channels=CHANNELS,
                      **kwargs)  # type: ignore[arg-type]


def inbound(user: str, text: str | None, n: int, *, source: str = "user", kind: str = "message") -> Inbound:
    return Inbound(channel="line", event_id=f"ev-{user}-{n}", kind=kind, source=source,  # type: ignore[arg-type]
                   address=user, occurred_at=START, text=text, reply_token=f"rt-{user}-{n}")


async def accept(store: Store, keyring, events: list[Inbound], *, raw: dict[str, bytes] | None = None) -> list:
    new = [NewEvent(channel="line", event_id=e.event_id, pseudonym=keyring.pseudonym("line", e.address),
                    payload=(raw or {}).get(e.event_id, e.to_bytes()), received_at=START) for e in events]
    return await store.accept_events(new)


async def said_to(store: Store, keyring, user: str) -> list[str]:
    """Every text in the outbox for `user`, in the order the rows were written."""
    pseudonym = keyring.pseudonym("line", user)
    table = OutboxRow.__table__
    async with store._db.read() as conn:
        rows = (await conn.execute(table.select().where(table.c.pseudonym == pseudonym)
                                   .order_by(table.c.id))).all()
    return [m.text for r in rows for m in decode_messages(outbox_item(keyring, r).payload)]


class SlowStore(Store):
    """A store whose session reads take a random while, as under load: a later event whose read
    came back first must still not overtake an earlier one of the same person."""

    async def load_session(self, pseudonym: str):  # type: ignore[no-untyped-def]
        await asyncio.sleep(random.uniform(0, 0.01))
        return await super().load_session(pseudonym)


async def test_each_persons_events_are_handled_in_order_and_people_side_by_side(db, keyring, clock):
    store = SlowStore(db, keyring)
    work = dispatcher(store, clock)
    people = [f"U{n:04d}" for n in range(6)]
    events = [inbound(p, text, i) for i, text in enumerate(ANSWERS) for p in people]  # interleaved
    work.submit(await accept(store, keyring, events))
    await work.join()
    for person in people:
        assert await said_to(store, keyring, person) == expected(ANSWERS)
    assert (await store.counts())["inbox_pending"] == 0


async def test_a_failing_event_is_recorded_and_the_persons_next_event_goes_on(store, keyring, clock):
    work = dispatcher(store, clock)
    first, broken, after = inbound("Ux", "こんにちは", 0), inbound("Ux", "はい", 1), inbound("Ux", "はい", 2)
    items = await accept(store, keyring, [first, broken, after], raw={broken.event_id: b'{"not": "an event"}'})
    work.submit(items)
    await work.join()
    counts = await store.counts()
    assert counts["inbox_failed"] == 1 and counts["inbox_pending"] == 0
    assert await said_to(store, keyring, "Ux") == expected(["こんにちは", "はい"])
    rendered = work.metrics.render().decode()
    assert 'tsunagu_events_processed_total{channel="line",outcome="failed"} 1.0' in rendered


async def test_a_race_with_another_process_is_run_again_on_fresh_state(store, keyring, clock):
    class RacedOnce(Store):
        raced = False

        async def commit_turn(self, **kwargs):  # type: ignore[no-untyped-def]
            if not RacedOnce.raced:
                RacedOnce.raced = True
                raise ConcurrentUpdate("another process wrote first")
            return await super().commit_turn(**kwargs)

    raced = RacedOnce(store._db, keyring)
    work = dispatcher(raced, clock)
    work.submit(await accept(raced, keyring, [inbound("Ur", "こんにちは", 0)]))
    await work.join()
    assert RacedOnce.raced
    assert await said_to(raced, keyring, "Ur") == expected(["こんにちは"])


async def test_a_group_is_told_once_a_day_and_nothing_about_it_is_answered_otherwise(store, keyring, clock):
    work = dispatcher(store, clock)
    group = [inbound("Cgroup", "こんにちは", n, source="group") for n in range(3)]
    work.submit(await accept(store, keyring, group))
    await work.join()
    assert len(await said_to(store, keyring, "Cgroup")) == 1
    clock.advance(hours=25)
    work.submit(await accept(store, keyring, [inbound("Cgroup", "またね", 9, source="group")]))
    await work.join()
    assert len(await said_to(store, keyring, "Cgroup")) == 2


async def test_after_the_intake_every_message_goes_to_the_desk_port(store, keyring, clock):
    class RecordingDesk(NullDesk):
        def __init__(self) -> None:
            super().__init__(Metrics())
            self.handoffs: list[object] = []
            self.heard: list[str | None] = []

        async def handoff(self, *, pseudonym, channel, handoff, now):  # type: ignore[no-untyped-def]
            self.handoffs.append(handoff)

        async def from_person(self, *, text, **kwargs):  # type: ignore[no-untyped-def]
            self.heard.append(text)
            return DeskReply(messages=(Message("届きました"),))

    desk = RecordingDesk()
    work = dispatcher(store, clock, desk=desk)
    events = [inbound("Ud", text, i) for i, text in enumerate([*ANSWERS, "聞いてください"])]
    work.submit(await accept(store, keyring, events))
    await work.join()
    assert len(desk.handoffs) == 1 and desk.heard == ["聞いてください"]
    assert (await said_to(store, keyring, "Ud"))[-1] == "届きました"


async def test_payloads_are_rows_of_at_most_five_messages(store, keyring, clock):
    work = dispatcher(store, clock)
    work.submit(await accept(store, keyring, [inbound("Uf", "こんにちは", 0)]))
    await work.join()
    table = OutboxRow.__table__
    async with store._db.read() as conn:
        rows = (await conn.execute(table.select().order_by(table.c.id))).all()
    payloads = [json.loads(outbox_item(keyring, r).payload) for r in rows]
    assert all(1 <= len(p) <= 5 for p in payloads)
    assert outbox_item(keyring, rows[0]).reply_token == "rt-Uf-0"
