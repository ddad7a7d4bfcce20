"""Webhook benchmark: Tsunagu's LINE webhook against a bare signature-checking handler, and
(--e2e) whole intakes against line-bot-sdk's echo example.

Usage:
  python bench/webhook.py [--events 4000] [--concurrency 64] [--rate 500] [--seconds 5]
  python bench/webhook.py --e2e [--people 1000]

Both servers run in their own processes (the real `tsunagu serve` on a SQLite file with the
bundled intake); the fake LINE API runs in this process. The last line is the result:
  webhook: <n> ev/s, bare <m> ev/s, ratio <r>, p99 <x> ms
  e2e: <n> msg/s, echo <m> msg/s, ratio <r>
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._servers import line_body, post, running  # noqa: E402
from tests.fakes.line_api import FakeLine  # noqa: E402


async def saturate(url: str, bodies: list[bytes], concurrency: int) -> tuple[float, list[float]]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    latencies: list[float] = []

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            latencies.append(await post(session, url, queue.get_nowait()))

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(bodies) / elapsed, latencies


async def paced(url: str, bodies: list[bytes], rate: float) -> list[float]:
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:
        t0 = time.perf_counter()

        async def one(i: int, body: bytes) -> None:
            await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
            latencies.append(await post(session, url, body))

        await asyncio.gather(*(one(i, b) for i, b in enumerate(bodies)))
    return latencies


async def drained(port: int, timeout: float = 300.0) -> None:
    """Wait until the server has processed its inbox (bare servers have none to wait for)."""
    deadline = time.perf_counter() + timeout
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() < deadline:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as r:
                try:
                    health = await r.json()
                except aiohttp.ContentTypeError:
                    return
            if not health.get("inbox_pending") and not health.get("outbox_pending"):
                return
            await asyncio.sleep(0.2)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else values[0] * 1000


async def webhook_mode(args: argparse.Namespace) -> None:
    line = await FakeLine().start()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("tsunagu", "bare"):
            workdir = Path(tmp) / kind
            async with running(kind, line_url=line.url, workdir=workdir) as port:
                url = f"http://127.0.0.1:{port}/webhooks/line"
                sat = [line_body(f"Usat{i:08d}", "こんにちは", i, tag="S") for i in range(args.events)]
                rate, sat_lat = await saturate(url, sat, args.concurrency)
                await drained(port)  # the paced phase measures steady state, not the burst's backlog
                n_paced = int(args.rate * args.seconds)
                pace = [line_body(f"Upace{i:08d}", "こんにちは", i, tag="P") for i in range(n_paced)]
                paced_lat = await paced(url, pace, args.rate)
                acked = len(sat) + len(pace)
                durable = None
                if kind == "tsunagu":
                    with sqlite3.connect(workdir / "bench.db") as db:
                        durable = db.execute("select count(*) from inbox").fetchone()[0]
                results[kind] = (rate, sat_lat, paced_lat, acked, durable)
                print(
                    f"{kind}: saturation {rate:.0f} ev/s "
                    f"(p50 {pct(sat_lat, 50):.1f} ms, p99 {pct(sat_lat, 99):.1f} ms); "
                    f"paced {args.rate:.0f} ev/s: p50 {pct(paced_lat, 50):.1f} ms, p99 {pct(paced_lat, 99):.1f} ms"
                    + (f"; acknowledged {acked}, durable in inbox {durable}" if durable is not None else "")
                )
    await line.close()
    t, b = results["tsunagu"], results["bare"]
    if t[4] != t[3]:
        print(f"FAIL: {t[3]} events acknowledged but {t[4]} in the inbox")
    print(f"webhook: {t[0]:.0f} ev/s, bare {b[0]:.0f} ev/s, ratio {t[0] / b[0]:.2f}, p99 {pct(t[2], 99):.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--e2e", action="store_true")
    parser.add_argument("--people", type=int, default=1000)
    args = parser.parse_args()
    if args.e2e:
        from bench.e2e import e2e_mode

        asyncio.run(e2e_mode(args))
    else:
        asyncio.run(webhook_mode(args))
