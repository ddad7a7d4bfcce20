"""End-to-end: many people complete the whole intake at once through the real service.

Each person waits for the reply to one message before sending the next, as a person does. The
expected replies come from running the pure engine on the same answers, so the run checks that
every expected reply arrived, exactly once, with the right text. The same people then talk to an
echo bot built like line-bot-sdk's aiohttp example, for the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bench._servers import POSTGRES, line_body, post, running, temporary_postgres
from flows import load_bundled
from flows.engine import Input, resume
from flows.engine import start as flow_start
from tests.fakes.line_api import Call, FakeLine

# Consent, one topic then done, age band, region, prefecture, not in danger, Japanese, no
# preference about area, then whatever remains is answered with the first choice.
ANSWERS = ["はい", "1", "これで全部", "3", "2", "1", "1", "いいえ", "1", "2"]


def expected_script() -> list[tuple[str, list[str]]]:
    """(what the person sends, the texts the bot answers) until the intake hands off."""
    flow = load_bundled("intake")
    now = datetime.now(UTC)
    turn = flow_start(flow, now=now)
    script = [("こんにちは", [m.text for m in turn.messages])]
    answers = iter(ANSWERS)
    while turn.session.status == "active":
        answer = next(answers, None) or turn.messages[-1].choices[0].label
        turn = resume(flow, turn.session, Input(text=answer), now=now)
        script.append((answer, [m.text for m in turn.messages]))
        if len(script) > 40:
            raise RuntimeError("the scripted answers do not finish the intake")
    return script


async def converse(
    url: str, people: int, script: list[tuple[str, list[str]]], line: FakeLine, *, tag: str, echo: bool
) -> tuple[float, list[str], list[float]]:
    waiting: dict[str, asyncio.Future[Call]] = {}
    seen: Counter[str] = Counter()

    pushes: Counter[str] = Counter()

    def on_call(call: Call) -> None:
        seen[call.target] += 1
        if call.kind == "push":
            pushes[call.target] += 1
        future = waiting.get(call.target)
        if future is not None and not future.done():
            future.set_result(call)

    line.on_call = on_call
    problems: list[str] = []
    latencies: list[float] = []
    loop = asyncio.get_running_loop()

    async def person(session: aiohttp.ClientSession, p: int) -> None:
        for i, (text, replies) in enumerate(script):
            token = f"rt-{tag}-{p}-{i}"
            waiting[token] = loop.create_future()
            sent = time.perf_counter()
            await post(session, url, line_body(f"U{tag}{p:06d}", text, p * 100 + i, tag=tag).replace(
                f'"replyToken": "rt-{tag}-{p * 100 + i}"'.encode(), f'"replyToken": "{token}"'.encode()))
            try:
                call = await asyncio.wait_for(waiting[token], timeout=60)
                latencies.append(time.perf_counter() - sent)
            except TimeoutError:
                problems.append(f"person {p} message {i}: no reply")
                return
            got = [m.get("text") for m in call.messages]
            want = [text] if echo else replies
            if got != want:
                problems.append(f"person {p} message {i}: unexpected reply")
                return

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:
        # Warm-up, not measured: the service is up when its worker process has answered once.
        token = f"rt-{tag}-warm"
        waiting[token] = loop.create_future()
        await post(session, url, line_body(f"U{tag}warm", "こんにちは", 999_999, tag=tag).replace(
            f'"replyToken": "rt-{tag}-999999"'.encode(), f'"replyToken": "{token}"'.encode()))
        await asyncio.wait_for(waiting[token], timeout=120)
        started = time.perf_counter()
        await asyncio.gather(*(person(session, p) for p in range(people)))
        elapsed = time.perf_counter() - started
    await asyncio.sleep(0.5)  # late duplicates would show up here
    duplicates = sum(1 for n in seen.values() if n > 1)
    if duplicates:
        problems.append(f"{duplicates} replies delivered more than once")
    if pushes:  # every message here is answered while its reply token is fresh: a push is a repeat
        problems.append(f"{sum(pushes.values())} messages pushed (sent again or too late for the reply token)")
    return people * len(script) / elapsed, problems, latencies


async def e2e_mode(args: argparse.Namespace) -> None:
    script = expected_script()
    line = await FakeLine().start()
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, database in (("tsunagu", "postgresql"), ("tsunagu", "sqlite"), ("echo", None)):
            label = f"{kind} ({database})" if database else kind
            async with contextlib.AsyncExitStack() as stack:
                url = None
                if database == "postgresql":
                    url = await stack.enter_async_context(temporary_postgres(POSTGRES))
                port = await stack.enter_async_context(running(
                    kind, line_url=line.url, workdir=Path(tmp) / f"{kind}-{database}", database_url=url))
                rate, problems, latencies = await converse(
                    f"http://127.0.0.1:{port}/webhooks/line", args.people, script, line,
                    tag={"postgresql": "P", "sqlite": "T"}.get(database or "", "E"), echo=kind == "echo",
                )
            lat = sorted(latencies)
            print(
                f"{label}: message->reply p50 {lat[len(lat) // 2] * 1000:.0f} ms, "
                f"p99 {lat[int(len(lat) * 0.99)] * 1000:.0f} ms"
            )
            rates[database or kind] = rate
            status = (
                "every reply arrived exactly once"
                if not problems
                else f"{len(problems)} problems, first: {problems[0]}"
            )
            print(f"{label}: {args.people} people x {len(script)} messages, {rate:.0f} msg/s; {status}")
    await line.close()
    print(f"e2e postgresql: {rates['postgresql']:.0f} msg/s, echo {rates['echo']:.0f} msg/s, "
          f"ratio {rates['postgresql'] / rates['echo']:.2f}")
    print(
        f"e2e: {rates['sqlite']:.0f} msg/s, echo {rates['echo']:.0f} msg/s, "
        f"ratio {rates['sqlite'] / rates['echo']:.2f}"
    )
