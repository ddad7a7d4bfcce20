"""Real worker processes (`tsunagu work`) on one PostgreSQL database, with the fake LINE API:

- two workers share one person's interleaved events: each processed once, the answers in order;
- a worker killed (SIGKILL) again and again mid-run leaves nothing half-done and loses nothing:
  every answer arrives exactly once, in order;
- SIGTERM stops a worker taking new work; what it holds is finished, and it exits in its grace;
- the periodic pass runs once across instances.

The events are stored in the inbox by this process, as the web process would store them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.events import Inbound
from bot.work.passes import Passes
from flows import load_bundled
from flows.engine import Input, resume, start
from storage import Keyring, NewEvent, open_storage
from storage.work import WorkQueue
from tests.fakes.line_api import FakeLine

ROOT = Path(__file__).resolve().parents[2]
SECRET = "process-test-secret"
ANSWERS = ["こんにちは", "はい", "1", "これで全部", "3", "2", "1", "1", "いいえ", "1", "2", "はい"]


def expected() -> list[str]:
    flow = load_bundled("intake")
    now = datetime.now(UTC)
    turn = start(flow, now=now)
    said = [[m.text for m in turn.messages]]
    for answer in ANSWERS[1:]:
        turn = resume(flow, turn.session, Input(text=answer), now=now)
        said.append([m.text for m in turn.messages])
    return [t for texts in said for t in texts]


def worker(url: str, key_file: Path, line: FakeLine, **env: str) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ, "TSUNAGU_DATABASE_URL": url, "TSUNAGU_KEY_FILE": str(key_file),
        "LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": line.token, "LINE_API_BASE_URL": line.url,
        "TSUNAGU_SEND_LEASE_SECONDS": "2", "TSUNAGU_SHUTDOWN_GRACE_SECONDS": "5", "TSUNAGU_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT), **env,
    }
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "work"], env=environment, cwd=key_file.parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def store_events(url: str, key_file: Path, people: list[str]) -> None:
    """Each person's whole intake, interleaved person by person, as the web process stores it."""
    storage = await open_storage(url, key_file, schema="check")
    try:
        now = datetime.now(UTC)
        events = []
        for i, text in enumerate(ANSWERS):
            for person in people:
                inbound = Inbound(channel="line", event_id=f"ev-{person}-{i}", kind="message", source="user",
                                  address=person, occurred_at=now, text=text, reply_token=f"rt-{person}-{i}")
                events.append(NewEvent("line", inbound.event_id, storage.keyring.pseudonym("line", person),
                                       inbound.to_bytes(), now))
        await storage.store.accept_events(events)
    finally:
        await storage.close()


async def until(check, *, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not reached in {timeout:.0f} s: {what}")


def answers_of(line: FakeLine, person: str) -> list[str]:
    """What `person` was told, in the order LINE took it, replies and pushes alike."""
    return [t for c in line.calls if c.target == person or c.target.startswith(f"rt-{person}-") for t in c.texts]


async def pending(url: str, key_file: Path) -> dict[str, int]:
    storage = await open_storage(url, key_file, schema="check")
    try:
        return await storage.store.counts()
    finally:
        await storage.close()


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    Keyring.load_or_create(tmp_path / "tsunagu.key")
    return tmp_path / "tsunagu.key"


async def test_two_workers_share_one_persons_interleaved_events_once_each_in_order(pg_database, key_file, fake_line):
    people = ["Ualone", *[f"Uother{n}" for n in range(5)]]
    await store_events(pg_database, key_file, people)
    workers = [worker(pg_database, key_file, fake_line) for _ in range(2)]
    try:
        async def done() -> bool:
            counts = await pending(pg_database, key_file)
            return counts["inbox_pending"] == 0 and counts["outbox_pending"] == 0
        await until(done, timeout=60, what="every event handled and every answer delivered")
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=20)
    tokens = [c.target for c in fake_line.calls if c.kind == "reply"]
    assert len(tokens) == len(set(tokens)), "no reply token used twice"
    for person in people:
        assert answers_of(fake_line, person) == expected(), person
    assert not [c for c in fake_line.calls if c.kind == "push"], "every answer went as a reply, none repeated"


async def test_a_worker_killed_again_and_again_loses_and_repeats_nothing(pg_database, key_file, fake_line):
    people = [f"Ukill{n:02d}" for n in range(30)]
    await store_events(pg_database, key_file, people)
    steady = worker(pg_database, key_file, fake_line)
    victim = worker(pg_database, key_file, fake_line)
    kills = 0
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            counts = await pending(pg_database, key_file)
            if counts["inbox_pending"] == 0 and counts["outbox_pending"] == 0:
                break
            await asyncio.sleep(0.4)
            if kills < 8:
                victim.send_signal(signal.SIGKILL)  # mid-batch or mid-send, wherever it is
                victim.wait()
                kills += 1
                victim = worker(pg_database, key_file, fake_line)
        else:
            raise AssertionError(f"not finished: {await pending(pg_database, key_file)}")
    finally:
        for w in (steady, victim):
            w.terminate()
            w.wait(timeout=20)
    assert kills >= 3
    for person in people:
        assert answers_of(fake_line, person) == expected(), person
    counts = await pending(pg_database, key_file)
    assert counts["inbox_failed"] == 0 and counts["outbox_undeliverable"] == 0


async def test_sigterm_stops_taking_work_finishes_what_it_holds_and_exits(pg_database, key_file, fake_line):
    people = [f"Uterm{n:03d}" for n in range(120)]
    await store_events(pg_database, key_file, people)
    w = worker(pg_database, key_file, fake_line, TSUNAGU_WORK_BATCH_SIZE="8")

    async def started() -> bool:
        return len(fake_line.calls) >= 5
    await until(started, timeout=30, what="the worker answering")
    w.send_signal(signal.SIGTERM)
    began = time.monotonic()
    code = await asyncio.to_thread(w.wait, 15)
    assert code == 0 and time.monotonic() - began < 5 + 3, "exits within its grace period"
    counts = await pending(pg_database, key_file)
    assert counts["inbox_pending"] > 0, "it stopped taking new work"
    storage = await open_storage(pg_database, key_file, schema="check")
    try:
        async with storage.database.read() as conn:
            held = (await conn.exec_driver_sql(
                "SELECT count(*) FROM outbox WHERE status = 'pending' AND claimed_until IS NOT NULL")).scalar_one()
    finally:
        await storage.close()
    assert held == 0, "what it had claimed to send was sent (or handed back), not left held"
    tokens = [c.target for c in fake_line.calls if c.kind == "reply"]
    assert len(tokens) == len(set(tokens))


async def test_the_periodic_pass_runs_once_across_instances(backend, keyring, clock):
    ran = []

    class Counting:
        async def run_once(self, now: datetime) -> None:
            ran.append(now)

    instances = []
    for _ in range(3):
        db = await backend.open()
        passes = Passes(queue=WorkQueue(db, keyring), store=None, mailbox=None, desk=Counting(),  # type: ignore[arg-type]
                        clock=clock, retention=timedelta(days=30), desk_every=5.0)
        instances.append(passes)
    for _ in range(4):  # four periods; in each, every instance tries at once
        results = await asyncio.gather(*(p.sweep() for p in instances))
        assert sum(results) == 1
        clock.advance(seconds=5)
    assert len(ran) == 4
