"""The web chat's limits (issue 12): Origin, sockets per address and in total, new chats per
address per hour, messages per socket per minute; hostile frames; and a flood from one address
that leaves a new person from another address greeted within 2 s."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import serving
from bot.app import SERVICES, create_app
from bot.web.limits import Gate, Pace, address_key, origin_of
from tests.web.conftest import WebService, client_id, web_settings


@pytest.fixture
async def limited(tmp_path, clock):
    """A chat service with small limits, so each is reached in a few frames."""
    services: list[TestClient] = []

    async def start(**limits: object) -> WebService:
        app = create_app(web_settings(tmp_path, **limits), clock=clock)
        client = TestClient(TestServer(app))
        await client.start_server()
        services.append(client)
        return WebService(client=client, clock=clock, db_path=tmp_path / "tsunagu.db")

    yield start
    for client in services:
        await client.close()


async def _closed(ws: aiohttp.ClientWebSocketResponse) -> tuple[list[dict], int | None]:
    frames = []
    while True:
        msg = await ws.receive(timeout=5)
        if msg.type == aiohttp.WSMsgType.TEXT:
            frames.append(json.loads(msg.data))
            continue
        return frames, ws.close_code


def _rejected(service: WebService, reason: str) -> float:
    text = service.app[SERVICES].metrics.render().decode()
    key = f'tsunagu_events_rejected_total{{channel="web",reason="{reason}"}} '
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(key))


# -- the rules, at their boundaries ------------------------------------------------------------------


def test_origins_and_address_keys():
    assert origin_of("HTTPS://Tsunagu.Example.org:443/chat") == "https://tsunagu.example.org"
    assert origin_of("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert address_key("2001:db8:1:2:3:4:5:6") == address_key("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert address_key("::ffff:192.0.2.7") == "192.0.2.7"


def test_the_gate_counts_sockets_per_address_and_in_total():
    from bot.web.limits import ChatLimits

    gate = Gate(ChatLimits(per_address=2, max_sockets=3))
    assert [gate.enter("a"), gate.enter("a"), gate.enter("a")] == [None, None, "too-many-sockets"]
    assert gate.enter("b") is None and gate.enter("c") == "busy"
    gate.leave("a")
    assert gate.enter("c") is None and gate.total == 3


def test_the_pace_allows_n_a_minute_and_says_when_the_next_may_go(clock):
    pace = Pace(3)
    assert [pace.allow(clock()) for _ in range(3)] == [None] * 3
    assert pace.allow(clock()) == 60
    clock.advance(seconds=60)
    assert pace.allow(clock()) is None


# -- over the socket --------------------------------------------------------------------------------


async def test_a_foreign_origin_is_refused_and_own_and_listed_ones_are_not(limited):
    service = await limited(chat_origins="https://partner.example.jp", public_url="https://tsunagu.example.org")
    for origin, status in (("https://evil.example", 403), ("https://partner.example.jp", 101),
                           ("https://tsunagu.example.org", 101)):
        try:
            ws = await service.client.ws_connect("/chat/ws", headers={"Origin": origin})
            await ws.close()
            got = 101
        except aiohttp.WSServerHandshakeError as exc:
            got = exc.status
        assert got == status, origin
    assert _rejected(service, "bad-origin") == 1


async def test_sockets_past_the_per_address_limit_are_told_and_closed(limited):
    service = await limited(chat_sockets_per_address=3)
    held = [await service.client.ws_connect("/chat/ws") for _ in range(3)]
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:  # before the upgrade: cheapest
        await service.client.ws_connect("/chat/ws")
    assert refused.value.status == 429
    await held[0].close()
    await asyncio.sleep(0.05)
    chat = await service.open()  # room again
    await chat.until(lambda f: f["type"] == "line")
    for ws in held[1:]:
        await ws.close()


async def test_new_chats_per_address_per_hour(limited, clock):
    service = await limited(chat_new_chats_per_hour=2)
    first = await service.open()
    await service.open()
    ws = await service.client.ws_connect("/chat/ws")
    await ws.send_str(json.dumps({"type": "hello", "token": secrets.token_hex(32), "last_seq": 0}))
    frames, code = await _closed(ws)
    assert frames == [{"type": "error", "code": "too-many-chats"}] and code == 4429
    again = await service.open(first.token, last_seq=1)  # a known chat comes back: not a new one
    await again.close()
    clock.advance(minutes=61)
    await service.open()


async def test_too_many_messages_a_minute_are_answered_slow_down_and_kept_by_the_page(limited, clock):
    service = await limited(chat_messages_per_minute=3)
    chat = await service.open()
    await chat.until(lambda f: f["type"] == "line")
    for text in ("はい", "x", "y"):
        await chat.acked(await chat.say(text))
    late = await chat.say("z")
    refused = await chat.until(lambda f: f["type"] == "error")
    assert refused == {"type": "error", "code": "slow-down", "id": late, "retry_after": 60}
    clock.advance(seconds=61)
    await chat.say("z", id=late)  # what the page does after retry_after
    await chat.acked(late)
    await service.settle()
    assert (await service.app[SERVICES].store.counts())["inbox_total"] == 5  # opening + 4 messages


async def test_hostile_frames_close_or_refuse_but_never_break_the_server(web_service):
    chat = await web_service.open()
    await chat.until(lambda f: f["type"] == "line")
    nested = json.dumps({"type": "say", "id": client_id(), "text": "x"})[:-1] + ', "a": ' + "[" * 1900 + "]" * 1900 + "}"
    await chat.ws.send_str(nested)
    frames, code = await _closed(chat.ws)
    assert code == 4400
    # a lone surrogate (escaped, as JSON may carry it) is stored as U+FFFD and acknowledged
    other = await web_service.open()
    await other.until(lambda f: f["type"] == "line")
    sid = client_id()
    await other.ws.send_str(json.dumps({"type": "say", "id": sid, "text": "\ud800 help"}))  # escaped: ASCII
    await other.acked(sid)
    line = await other.until(lambda f: f["type"] == "line" and f["from"] == "person")
    assert line["messages"][0]["text"] == "\ufffd help"


# -- the flood ----------------------------------------------------------------------------------------

FLOOD = int(os.environ.get("TSUNAGU_FLOOD_SOCKETS", "5000"))


class GuardedTestServer(TestServer):
    """The test server on the runner `tsunagu serve` uses (bot/serving.py: the connection guard)."""

    def __init__(self, app, settings):
        super().__init__(app)
        self.settings = settings

    async def _make_runner(self, **kwargs):
        return serving.runner(self.app, self.settings, **kwargs)


@pytest.fixture
async def served(tmp_path, clock):
    settings = web_settings(tmp_path)
    client = TestClient(GuardedTestServer(create_app(settings, clock=clock), settings))
    await client.start_server()
    yield WebService(client=client, clock=clock, db_path=tmp_path / "tsunagu.db")
    await client.close()


def _refused(service: WebService) -> float:
    """Sockets refused by the chat (429) and connections refused by the guard as accepted."""
    guard = service.client.server.runner.guard
    return _rejected(service, "too-many-sockets") + guard.refused


async def test_a_flood_from_one_address_leaves_a_new_person_greeted_within_two_seconds(served):
    """The attacker is another program (tests/web/flood.py) on this machine's 127.0.0.1; the new
    person connects from 127.0.0.2 while the flood's sockets are still arriving."""
    web_service = served
    port = web_service.client.server.port
    started = time.perf_counter()
    attacker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.web.flood", str(port), str(FLOOD),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).parents[2])
    try:
        assert attacker.stdout is not None and attacker.stdin is not None
        assert (await asyncio.wait_for(attacker.stdout.readline(), 30)).startswith(b"opened")
        while _refused(web_service) < FLOOD // 4 and time.perf_counter() - started < 30:
            await asyncio.sleep(0.01)

        asked = time.perf_counter()
        connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
        async with aiohttp.ClientSession(connector=connector) as session:
            ws = await session.ws_connect(f"http://127.0.0.1:{port}/chat/ws")
            await ws.send_str(json.dumps({"type": "hello", "token": secrets.token_hex(32), "last_seq": 0}))
            greeted = None
            while greeted is None:
                msg = await ws.receive(timeout=10)
                assert msg.type == aiohttp.WSMsgType.TEXT, (msg.type, msg.extra)
                frame = json.loads(msg.data)
                if frame["type"] == "line" and frame["from"] == "bot":
                    greeted = time.perf_counter() - asked
            during = _refused(web_service)
            await ws.close()
        assert await asyncio.wait_for(attacker.stdout.readline(), 60) == b"done\n"
        flood_seconds = time.perf_counter() - started
        held = web_service.app[SERVICES].web_chat.gate.total
        counted = -1.0
        while counted != (counted := _refused(web_service)):  # the server's side
            await asyncio.sleep(0.2)                                               # of the last ones
    finally:
        if attacker.returncode is None:
            attacker.stdin.write(b"stop\n")  # type: ignore[union-attr]
            await attacker.wait()
    chats = _rejected(web_service, "too-many-chats")
    print(f"\nflood: {FLOOD} sockets from 127.0.0.1 answered in {flood_seconds:.1f} s; a new person from "
          f"127.0.0.2 greeted in {greeted:.2f} s (asked after {during:.0f} refusals); "
          f"{held} held open, {counted:.0f} sockets and {chats:.0f} new chats refused")
    assert greeted < 2.0
    assert held <= 50  # the per-address limit
    assert counted + chats >= FLOOD - 50 - 30  # all but those held and the 30 new chats an hour allows


async def test_a_chat_nobody_wrote_in_leaves_no_rows_behind(web_service, clock):
    from sqlalchemy import text

    async def rows(table: str) -> int:
        async with web_service.app[SERVICES].database.engine.connect() as conn:
            return (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()

    silent = await web_service.open()
    await silent.until(lambda f: f["type"] == "line")
    talker = await web_service.open()
    await talker.until(lambda f: f["type"] == "line")
    await talker.acked(await talker.say("はい"))
    await web_service.settle()
    await silent.close()
    await talker.close()
    chat = web_service.app[SERVICES].web_chat
    assert await chat.sweep() == 0  # not yet an hour
    assert await rows("addresses") == 2
    clock.advance(minutes=61)
    for _ in range(200):  # the server's side of the two closes
        if chat.open_sockets == 0:
            break
        await asyncio.sleep(0.01)
    assert await chat.sweep() == 1
    assert await rows("addresses") == 1 and await rows("sessions") == 1
    async with web_service.app[SERVICES].database.engine.connect() as conn:
        left = (await conn.execute(text("SELECT count(DISTINCT pseudonym) FROM web_mailbox"))).scalar_one()
    assert left == 1  # the person who wrote keeps their conversation
