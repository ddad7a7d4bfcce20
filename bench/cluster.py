"""Cluster benchmark: three `tsunagu serve` and two `tsunagu work` processes on one PostgreSQL
database, behind a round-robin balancer on loopback; people do whole intakes spread over the
instances while one web and one worker process are killed with SIGKILL mid-run and restarted.

Usage:
  python bench/cluster.py [--people 300] [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test]

A person sends one message, waits for its answer (as a person does), and sends the next; a
webhook that fails (the instance behind it was just killed) is delivered again with the same
webhookEventId, as LINE redelivers. The expected answers come from the pure engine. The last
line is the result:
  cluster: <n> msg/s, acked <a>, answered <b>, lost <l>, duplicated <d>, out of order <o>
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._servers import (  # noqa: E402
    POSTGRES,
    SECRET,
    free_port,
    line_body,
    sign,
    temporary_postgres,
    wait_ready,
)
from bench.e2e import expected_script  # noqa: E402
from tests.fakes.line_api import Call, FakeLine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ANSWER_TIMEOUT = 60.0


class Cluster:
    def __init__(self, url: str, workdir: Path, line: FakeLine) -> None:
        self.url, self.workdir, self.line = url, workdir, line
        self.web: list[tuple[int, subprocess.Popen[bytes]]] = []
        self.workers: list[subprocess.Popen[bytes]] = []

    def _env(self) -> dict[str, str]:
        return {**os.environ, "TSUNAGU_DATABASE_URL": self.url, "TSUNAGU_KEY_FILE": str(self.workdir / "bench.key"),
                "LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": self.line.token,
                "LINE_API_BASE_URL": self.line.url, "TSUNAGU_LOG_LEVEL": "WARNING",
                "TSUNAGU_SEND_LEASE_SECONDS": "5", "PYTHONPATH": str(ROOT),
                "TSUNAGU_CONNECTIONS_PER_ADDRESS": "100000"}  # one load generator's address (see _servers.py)

    def start_web(self, port: int | None = None) -> int:
        port = port or free_port()
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--no-worker", "--port", str(port)],
                                env=self._env(), cwd=self.workdir, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.web.append((port, proc))
        return port

    def start_worker(self) -> None:
        self.workers.append(subprocess.Popen([sys.executable, "-m", "bot.cli", "work"], env=self._env(),
                                             cwd=self.workdir, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL))

    async def ready(self) -> None:
        for port, proc in self.web:
            await wait_ready(port, proc)

    def kill_web(self, index: int) -> int:
        port, proc = self.web.pop(index)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return port

    def kill_worker(self, index: int) -> None:
        proc = self.workers.pop(index)
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def stop(self) -> None:
        for proc in [p for _, p in self.web] + self.workers:
            proc.terminate()
        for proc in [p for _, p in self.web] + self.workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


async def balancer(ports: list[int]) -> tuple[web.AppRunner, int]:
    """Round-robin over the web instances; 502 when the chosen one does not answer."""
    turn = itertools.count()
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        port = ports[next(turn) % len(ports)]
        try:
            async with session.post(f"http://127.0.0.1:{port}{request.path}", data=body,
                                    headers={"X-Line-Signature": request.headers.get("X-Line-Signature", "")}) as r:
                return web.Response(status=r.status, body=await r.read())
        except (aiohttp.ClientError, TimeoutError):
            return web.Response(status=502)

    async def close(_app: web.Application) -> None:
        await session.close()

    app = web.Application()
    app.router.add_post("/webhooks/line", forward)
    app.on_cleanup.append(close)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


async def run(args: argparse.Namespace) -> None:
    async with temporary_postgres(args.postgres) as url:
        await measure(args, url)


async def measure(args: argparse.Namespace, url: str) -> None:
    script = expected_script()
    line = await FakeLine().start()
    received: dict[str, list[str]] = defaultdict(list)  # person -> texts, in the order LINE took them
    arrived: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
    person_of_token: dict[str, str] = {}

    def on_call(call: Call) -> None:
        person = call.target if call.kind == "push" else person_of_token.get(call.target, "?")
        received[person].extend(call.texts)
        arrived[person].set()

    line.on_call = on_call
    acked = 0
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cluster = Cluster(url, Path(tmp), line)
            ports = [cluster.start_web() for _ in range(3)]
            for _ in range(2):
                cluster.start_worker()
            await cluster.ready()
            runner, lb = await balancer(ports)
            target = f"http://127.0.0.1:{lb}/webhooks/line"
            flat = [t for _, texts in script for t in texts]

            async def person(session: aiohttp.ClientSession, p: int) -> None:
                nonlocal acked
                user = f"Ucluster{p:05d}"
                want = 0
                for i, (text, replies) in enumerate(script):
                    token = f"rt-{user}-{i}"
                    person_of_token[token] = user
                    body = line_body(user, text, p * 100 + i, tag="C").replace(
                        f'"replyToken": "rt-C-{p * 100 + i}"'.encode(), f'"replyToken": "{token}"'.encode())
                    while True:  # LINE redelivers until the webhook answers 200
                        try:
                            async with session.post(target, data=body, headers={"X-Line-Signature": sign(body)}) as r:
                                if r.status == 200:
                                    acked += 1
                                    break
                        except aiohttp.ClientError:
                            pass
                        await asyncio.sleep(0.5)
                    want += len(replies)
                    deadline = time.monotonic() + ANSWER_TIMEOUT
                    while len(received[user]) < want and time.monotonic() < deadline:
                        arrived[user].clear()
                        try:
                            async with asyncio.timeout(max(0.01, deadline - time.monotonic())):
                                await arrived[user].wait()
                        except TimeoutError:
                            break
                    if len(received[user]) < want:
                        return  # lost: the rest of this person's intake would answer the wrong question

            async def chaos() -> None:
                await asyncio.sleep(args.kill_after)
                port = cluster.kill_web(1)
                print(f"killed the web instance on {port} and a worker", file=sys.stderr)
                cluster.kill_worker(0)
                await asyncio.sleep(1.0)
                cluster.start_web(port)
                cluster.start_worker()

            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512)) as session:
                began = time.perf_counter()
                chaos_task = asyncio.create_task(chaos())
                await asyncio.gather(*(person(session, p) for p in range(args.people)))
                elapsed = time.perf_counter() - began
                await chaos_task
            await asyncio.sleep(2.0)  # late duplicates would show up here
            await runner.cleanup()
            cluster.stop()
        answered = lost = duplicated = out_of_order = 0
        for p in range(args.people):
            got = received.get(f"Ucluster{p:05d}", [])
            expected_texts = list(flat)
            duplicated += max(0, len(got) - len(expected_texts))
            answered += min(len(got), len(expected_texts))
            lost += max(0, len(expected_texts) - len(got))
            if got[: len(expected_texts)] != expected_texts[: len(got)]:
                out_of_order += 1
        messages = args.people * len(script)
        print(f"cluster: {messages / elapsed:.0f} msg/s, acked {acked}, answered {answered}, lost {lost}, "
              f"duplicated {duplicated}, out of order {out_of_order}")
    finally:
        await line.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--kill-after", type=float, default=4.0, help="seconds into the run")
    parser.add_argument("--postgres", default=POSTGRES)
    asyncio.run(run(parser.parse_args()))
