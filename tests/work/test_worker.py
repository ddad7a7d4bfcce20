"""The worker on its own, against a real database (SQLite and PostgreSQL): a person's events in
the order they came, people side by side in one batch, a failing event that backs off and then
becomes a dead letter (the person is told; their next event goes on) without failing the others
of its batch, a restart with more waiting than one batch holds, a crash between the last answer
and the case that leaves both or neither, groups told once a day, and the desk port called for
every event after the intake."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest

from bot.desk import Desk, DeskReply, NullDesk, RiskLexicon
from bot.events import Inbound
from bot.metrics import Metrics
from bot.work.outgoing import ChannelSpec
from bot.work.turn import Conversation
from bot.work.wake import Bus
from bot.work.worker import Worker
from flows import load_bundled
from flows.engine import Input, resume, start
from flows.messages import Message
from flows.versions import FlowVersions
from routing import load_hotlines, parse_directory
from storage import CaseStore, NewEvent, Store
from storage.codec import decode_messages
from storage.outbox import outbox_item
from storage.tables import OutboxRow
from storage.work import MAX_ATTEMPTS, WorkQueue
from tests.desk.conftest import DIRECTORY
from tests.fakes.clock import START, Clock

ANSWERS = ["こんにちは", "はい", "1", "これで全部", "3", "2", "1", "1", "いいえ", "1", "2", "はい"]  # to the handoff
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


def worker(db, keyring, clock: Clock, *, desk=None, batch_size: int = 32) -> Worker:
    return Worker(queue=WorkQueue(db, keyring), conversation=Conversation(flows=flows(), clock=clock, channels=CHANNELS),
                  desk=desk or NullDesk(Metrics()), metrics=Metrics(), clock=clock, bus=Bus(), batch_size=batch_size)


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


async def test_each_persons_events_are_handled_in_order_and_people_side_by_side(store, db, keyring, clock):
    batches: list[list[str | None]] = []

    class Recording(WorkQueue):
        @asynccontextmanager
        async def claim(self, **kwargs):  # type: ignore[no-untyped-def, override]
            async with super().claim(**kwargs) as batch:
                batches.append([i.pseudonym for i in batch.items])
                yield batch

    work = worker(db, keyring, clock, batch_size=4)
    work.queue = Recording(db, keyring)
    people = [f"U{n:04d}" for n in range(6)]
    await accept(store, keyring, [inbound(p, text, i) for i, text in enumerate(ANSWERS) for p in people])
    await work.drain()
    for person in people:
        assert await said_to(store, keyring, person) == expected(ANSWERS)
    assert (await store.counts())["inbox_pending"] == 0
    # the head of line: never two events of one person in a batch; up to four people at a time
    assert all(len(b) == len(set(b)) and len(b) <= 4 for b in batches)
    assert sum(map(len, batches)) == len(people) * len(ANSWERS) and max(map(len, batches)) == 4


async def test_a_restart_with_more_waiting_than_a_batch_handles_every_event_in_order(store, db, keyring, clock):
    """After a restart everything waiting is claimed, batch after batch (there is no 'first
    thousand'): 1,200 events of 100 people, each of whom sent their whole intake."""
    people = [f"Urestart{n:03d}" for n in range(100)]
    await accept(store, keyring, [inbound(p, text, i) for p in people for i, text in enumerate(ANSWERS)])
    assert (await store.counts())["inbox_pending"] == 100 * len(ANSWERS) > 1000
    await worker(db, keyring, clock, batch_size=64).drain()
    assert (await store.counts())["inbox_pending"] == 0
    for person in people[::17]:
        assert await said_to(store, keyring, person) == expected(ANSWERS)


async def test_a_failing_event_backs_off_then_is_a_dead_letter_and_the_person_goes_on(store, db, keyring, clock):
    work = worker(db, keyring, clock)
    first, broken, after = inbound("Ux", "こんにちは", 0), inbound("Ux", "はい", 1), inbound("Ux", "はい", 2)
    bystander = inbound("Uy", "こんにちは", 0)
    await accept(store, keyring, [first, broken, after, bystander], raw={broken.event_id: b'{"not": "an event"}'})
    await work.drain()
    # The bystander in the same batch as the failure is answered; Ux waits behind the failure.
    assert await said_to(store, keyring, "Uy") == expected(["こんにちは"])
    assert await said_to(store, keyring, "Ux") == expected(["こんにちは"])
    counts = await store.counts()
    assert counts["inbox_pending"] == 2 and counts["inbox_retrying"] == 1
    for _ in range(MAX_ATTEMPTS - 1):
        clock.advance(minutes=10)  # past each backoff
        await work.drain()
    counts = await store.counts()
    assert counts["inbox_failed"] == 1 and counts["inbox_pending"] == 0
    told = await said_to(store, keyring, "Ux")
    assert told[: len(expected(["こんにちは"]))] == expected(["こんにちは"])
    assert any("もう一度送ってください" in t for t in told), "the person is told their message was not taken in"
    assert told[-len(expected(["こんにちは", "はい"])) + len(expected(["こんにちは"])):] == \
        expected(["こんにちは", "はい"])[len(expected(["こんにちは"])):], "their next event went on"
    rendered = work.metrics.render().decode()
    assert 'tsunagu_events_processed_total{channel="line",outcome="dead"} 1.0' in rendered


async def test_a_crash_between_the_last_answer_and_the_case_leaves_neither(store, db, keyring, clock):
    """The handoff is written in the same transaction as the turn that announces it: if the
    worker dies after the desk wrote the case but before the batch commits, there is neither the
    'connecting you' reply nor a case; the event is claimed again and both are written."""
    desk_store = CaseStore(db, keyring)

    class DiesAfterTheCase(Desk):
        dead = True

        def on(self, cases):  # type: ignore[no-untyped-def]
            bound = super().on(cases)
            bound.__class__ = DiesAfterTheCase
            return bound

        async def handoff(self, **kwargs):  # type: ignore[no-untyped-def]
            await super().handoff(**kwargs)
            if DiesAfterTheCase.dead:
                DiesAfterTheCase.dead = False
                raise SystemExit("killed")  # not an Exception: nothing catches it, as with kill -9

    desk = DiesAfterTheCase(cases=desk_store, directory=parse_directory(DIRECTORY), hotlines=load_hotlines(),
                            lexicon=RiskLexicon.load(), clock=clock)
    work = worker(db, keyring, clock, desk=desk)
    await accept(store, keyring, [inbound("Uz", text, i) for i, text in enumerate(ANSWERS)])
    with pytest.raises(SystemExit):
        await work.drain()
    pseudonym = keyring.pseudonym("line", "Uz")
    assert await desk_store.latest_case(pseudonym) is None
    told = await said_to(store, keyring, "Uz")
    assert not any("相談員を探します" in t for t in told), "not told of a case that does not exist"
    assert (await store.counts())["inbox_pending"] == 1  # the last answer, claimable again
    await work.drain()
    case = await desk_store.latest_case(pseudonym)
    assert case is not None and case.status == "queued"
    assert any("相談員を探します" in t for t in await said_to(store, keyring, "Uz"))


async def test_a_group_is_told_once_a_day_and_nothing_about_it_is_answered_otherwise(store, db, keyring, clock):
    work = worker(db, keyring, clock)
    await accept(store, keyring, [inbound("Cgroup", "こんにちは", n, source="group") for n in range(3)])
    await work.drain()
    assert len(await said_to(store, keyring, "Cgroup")) == 1
    clock.advance(hours=25)
    await accept(store, keyring, [inbound("Cgroup", "またね", 9, source="group")])
    await work.drain()
    assert len(await said_to(store, keyring, "Cgroup")) == 2


async def test_after_the_intake_every_message_goes_to_the_desk_port(store, db, keyring, clock):
    class RecordingDesk(NullDesk):
        def __init__(self) -> None:
            super().__init__(Metrics())
            self.handoffs: list[object] = []
            self.heard: list[str | None] = []

        async def handoff(self, *, pseudonym, channel, handoff, now, terms=None):  # type: ignore[no-untyped-def]
            self.handoffs.append(handoff)

        async def from_person(self, *, text, **kwargs):  # type: ignore[no-untyped-def]
            self.heard.append(text)
            return DeskReply(messages=(Message("届きました"),))

    desk = RecordingDesk()
    work = worker(db, keyring, clock, desk=desk)
    await accept(store, keyring, [inbound("Ud", text, i) for i, text in enumerate([*ANSWERS, "聞いてください"])])
    await work.drain()
    assert len(desk.handoffs) == 1 and desk.heard == ["聞いてください"]
    assert (await said_to(store, keyring, "Ud"))[-1] == "届きました"


async def test_payloads_are_rows_of_at_most_five_messages(store, db, keyring, clock):
    await accept(store, keyring, [inbound("Uf", "こんにちは", 0)])
    await worker(db, keyring, clock).drain()
    table = OutboxRow.__table__
    async with store._db.read() as conn:
        rows = (await conn.execute(table.select().order_by(table.c.id))).all()
    payloads = [json.loads(outbox_item(keyring, r).payload) for r in rows]
    assert all(1 <= len(p) <= 5 for p in payloads)
    assert outbox_item(keyring, rows[0]).reply_token == "rt-Uf-0"
