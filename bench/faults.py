"""Fault table: whole intakes sent in bursts while processes are killed, stopped, restarted or the
LINE API fails, and what came out the other end.

Usage:
  python bench/faults.py [--people 300] [--only NAME ...] [--postgres URL]

Each person sends the whole intake as fast as the webhook acknowledges it (not waiting for the
answers, so a person's events pile up behind each other: ordering is tested), the way a burst
does; a webhook that fails is delivered again with the same webhookEventId, as LINE redelivers.
The answers expected come from the pure engine. Scenarios:

  kill9-worker    SQLite, `serve --no-worker` + `work`; the worker is killed with SIGKILL mid-burst, restarted
  sigterm-worker  the same, stopped with SIGTERM (it finishes what it holds), restarted
  kill9-web       the web process killed with SIGKILL mid-burst (LINE redelivers), restarted
  line-outage     LINE answers 500 to 300 calls, then 429 with Retry-After to 300 more
  backlog         3,300 events acknowledged with no worker running, then one is started
  redelivered     every webhook delivered twice (the same webhookEventId)
  two-instances   PostgreSQL, two web and two workers; one of each killed mid-burst, restarted

Prints one markdown row per scenario:
  | scenario | acked | processed | expected | received | duplicated | lost | out of order |
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._servers import POSTGRES, line_body, sign, temporary_postgres  # noqa: E402
from bench.cluster import Cluster, balancer  # noqa: E402
from bench.e2e import expected_script  # noqa: E402
from tests.fakes.line_api import Call, FakeLine  # noqa: E402

SETTLE = 180.0  # seconds a scenario may take to finish what was acknowledged


@dataclass(frozen=True)
class Scenario:
    name: str
    postgres: bool = False
    webs: int = 1
    workers: int = 1
    start_workers: bool = True
    twice: bool = False
    chaos: Callable[[Cluster, FakeLine], Awaitable[None]] | None = None


async def _kill9_worker(cluster: Cluster, line: FakeLine) -> None:
    await asyncio.sleep(2.0)
    cluster.kill_worker(0)
    await asyncio.sleep(1.0)
    cluster.start_worker()


async def _sigterm_worker(cluster: Cluster, line: FakeLine) -> None:
    await asyncio.sleep(2.0)
    proc = cluster.workers.pop(0)
    proc.terminate()
    await asyncio.to_thread(proc.wait, 60)
    cluster.start_worker()


async def _kill9_web(cluster: Cluster, line: FakeLine) -> None:
    await asyncio.sleep(2.0)
    port = cluster.kill_web(0)
    await asyncio.sleep(1.0)
    cluster.start_web(port)


async def _line_outage(cluster: Cluster, line: FakeLine) -> None:
    await asyncio.sleep(1.0)
    line.fail(500, times=300)
    await asyncio.sleep(3.0)
    line.fail(429, times=300, headers={"Retry-After": "1"})


async def _both(cluster: Cluster, line: FakeLine) -> None:
    await asyncio.sleep(3.0)
    port = cluster.kill_web(1)
    cluster.kill_worker(0)
    await asyncio.sleep(1.0)
    cluster.start_web(port)
    cluster.start_worker()


SCENARIOS = [
    Scenario("kill9-worker", chaos=_kill9_worker),
    Scenario("sigterm-worker", chaos=_sigterm_worker),
    Scenario("kill9-web", chaos=_kill9_web),
    Scenario("line-outage", chaos=_line_outage),
    Scenario("backlog", start_workers=False),
    Scenario("redelivered", twice=True),
    Scenario("two-instances", postgres=True, webs=2, workers=2, chaos=_both),
]


async def pending_counts(url: str, key_file: Path) -> dict[str, int]:
    from storage import open_storage

    storage = await open_storage(url, key_file, schema="check")
    try:
        return await storage.store.counts()
    finally:
        await storage.close()


async def run_scenario(scenario: Scenario, people: int, url: str, workdir: Path) -> str:
    script = expected_script()
    flat = [t for _, texts in script for t in texts]
    line = await FakeLine().start()
    received: dict[str, list[str]] = defaultdict(list)
    person_of_token: dict[str, str] = {}
    last_answer = time.monotonic()

    def on_call(call: Call) -> None:
        nonlocal last_answer
        person = call.target if call.kind == "push" else person_of_token.get(call.target, "?")
        received[person].extend(call.texts)
        last_answer = time.monotonic()

    line.on_call = on_call
    cluster = Cluster(url, workdir, line)
    acked = 0
    try:
        ports = [cluster.start_web() for _ in range(scenario.webs)]
        if scenario.start_workers:
            for _ in range(scenario.workers):
                cluster.start_worker()
        await cluster.ready()
        runner, lb = await balancer(ports)
        target = f"http://127.0.0.1:{lb}/webhooks/line"

        async def deliver(session: aiohttp.ClientSession, body: bytes) -> None:
            while True:  # LINE redelivers until the webhook answers 200
                try:
                    async with session.post(target, data=body, headers={"X-Line-Signature": sign(body)}) as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.5)

        async def person(session: aiohttp.ClientSession, p: int) -> None:
            nonlocal acked
            user = f"Ufault{p:05d}"
            for i, (text, _replies) in enumerate(script):
                token = f"rt-{user}-{i}"
                person_of_token[token] = user
                body = line_body(user, text, p * 100 + i, tag="F").replace(
                    f'"replyToken": "rt-F-{p * 100 + i}"'.encode(), f'"replyToken": "{token}"'.encode())
                await deliver(session, body)
                acked += 1
                if scenario.twice:
                    await deliver(session, body)

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:
            chaos = asyncio.create_task(scenario.chaos(cluster, line)) if scenario.chaos else None
            await asyncio.gather(*(person(session, p) for p in range(people)))
            if chaos is not None:
                await chaos
        if not scenario.start_workers:
            for _ in range(scenario.workers):
                cluster.start_worker()
        want = people * len(flat)
        deadline = time.monotonic() + SETTLE
        while time.monotonic() < deadline:
            if sum(len(v) for v in received.values()) >= want:
                break
            counts = await pending_counts(url, workdir / "bench.key")
            if counts["inbox_pending"] == counts["outbox_pending"] == 0 and time.monotonic() - last_answer > 3:
                break  # nothing left to do: what is missing now is lost
            await asyncio.sleep(1.0)
        await asyncio.sleep(2.0)  # late duplicates would show up here
        await runner.cleanup()
        cluster.stop()
    finally:
        cluster.stop()
        await line.close()
    counts = await pending_counts(url, workdir / "bench.key")
    processed = counts["inbox_total"] - counts["inbox_pending"] - counts["inbox_failed"]
    if counts["inbox_pending"] or counts["outbox_pending"] or counts["inbox_failed"]:
        print(f"  {scenario.name}: left {counts}", file=sys.stderr)
    got_total = duplicated = lost = out_of_order = 0
    for p in range(people):
        got = received.get(f"Ufault{p:05d}", [])
        got_total += len(got)
        duplicated += max(0, len(got) - len(flat))
        lost += max(0, len(flat) - len(got))
        if got[: len(flat)] != flat[: len(got)]:
            out_of_order += 1
    return (f"| {scenario.name} | {acked} | {processed} | {people * len(flat)} | {got_total} | {duplicated} | "
            f"{lost} | {out_of_order} |")


async def main(args: argparse.Namespace) -> None:
    print("| scenario | acked | processed | expected | received | duplicated | lost | out of order |")
    print("|---|---|---|---|---|---|---|---|")
    for scenario in SCENARIOS:
        if args.only and scenario.name not in args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            if scenario.postgres:
                async with temporary_postgres(args.postgres) as url:
                    row = await run_scenario(scenario, args.people, url, Path(tmp))
            else:
                from storage import migrate

                url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
                await migrate.upgrade(url)
                row = await run_scenario(scenario, args.people, url, Path(tmp))
        print(row, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--postgres", default=POSTGRES)
    asyncio.run(main(parser.parse_args()))
