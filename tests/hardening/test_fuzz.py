"""Property-based fuzzing of every edge (issue 12): signed but hostile LINE bodies, Slack events and
button payloads, WebSocket frames, desk API requests. The properties: no 5xx, no error logged,
and every valid LINE event sent beside hostile ones is stored (and, at the end, processed without
a failure).

One running service (SQLite, fake LINE and Slack APIs) serves a whole test's examples, on an event
loop of its own. CI runs the short default profile; a nightly run takes the long one:

    .venv/bin/python -m pytest tests/hardening/test_fuzz.py --hypothesis-profile=long -s

Each test prints how many requests it made and what came back, for docs/security.md.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from bot.app import SERVICES, create_app
from storage import open_database
from storage.desk_users import DeskUsers
from tests.bot.conftest import settings_for, sign
from tests.desk.conftest import DIRECTORY
from tests.fakes.clock import START, Clock
from tests.fakes.line_api import FakeLine
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import SIGNING_SECRET, signed_headers

PASSWORD = "correct horse battery"


class Errors(logging.Handler):
    """Every record at ERROR or above, from any logger: an unhandled exception shows up here."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Harness:
    def __init__(self, folder: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.statuses: Counter[int] = Counter()
        self.requests = 0
        self.good_ids: list[str] = []
        self.run(self._start(folder))

    def run(self, work):
        return self.loop.run_until_complete(work)

    async def _start(self, folder: Path) -> None:
        self.line = await FakeLine().start()
        self.slack = await FakeSlack(users={"U0HANA": {"display_name": "はな"}}).start()
        directory = folder / "directory.yaml"
        directory.write_text(DIRECTORY, encoding="utf-8")
        settings = settings_for(folder, self.line.url, slack_signing_secret=SIGNING_SECRET,
                                slack_bot_token=self.slack.token, slack_api_base_url=self.slack.api_url,
                                directory=directory, chat_new_chats_per_hour=1_000_000,
                                chat_messages_per_minute=1_000_000)
        db = await open_database(settings.database_url)
        await DeskUsers(db, scrypt_n=2**10).add("alpha", "あおい", PASSWORD, now=START)
        await db.close()
        self.client = TestClient(TestServer(create_app(settings, clock=Clock())))
        await self.client.start_server()
        self.origin = f"http://{self.client.host}:{self.client.port}"

    @property
    def services(self):
        return self.client.server.app[SERVICES]

    def count(self, status: int) -> int:
        self.requests += 1
        self.statuses[status] += 1
        return status

    def close(self) -> None:
        async def stop() -> None:
            await self.client.close()
            await self.line.close()
            await self.slack.close()

        self.run(stop())
        self.loop.close()


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Iterator[Harness]:
    errors = Errors()
    logging.getLogger().addHandler(errors)
    h = Harness(tmp_path_factory.mktemp("fuzz"))
    h.errors = errors  # type: ignore[attr-defined]
    yield h
    h.close()
    logging.getLogger().removeHandler(errors)


def _no_errors(h: Harness) -> None:
    found = [f"{r.name}: {r.getMessage()} {r.exc_info[0].__name__ if r.exc_info and r.exc_info[0] else ''}"
             for r in h.errors.records]  # type: ignore[attr-defined]
    h.errors.records.clear()  # type: ignore[attr-defined]  # each test reports its own
    assert not found, found


# -- strategies ------------------------------------------------------------------------------------

NASTY_TEXT = st.sampled_from(["\ud800", "a\udfffb", "\x00", "あ" * 6000, "E" * 129, "", " ", "<!channel>",
                              "&lt;", "\u202e", "🙂" * 10, "%s%n", "{}", "[]", "null"])
LEAF = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
                 st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30), NASTY_TEXT)
JSON = st.recursive(LEAF, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                   max_size=3), max_leaves=8)


def _nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


# Nesting up to 600 levels here (the test's own copies and JSON encoding recurse); the 100,000-level
# body is tests/bot/test_line_hostile.py's.
HOSTILE_VALUE = st.one_of(JSON, st.integers(min_value=20, max_value=600).map(_nested))
LINE_FIELDS = [("timestamp",), ("replyToken",), ("webhookEventId",), ("type",), ("mode",), ("source",),
               ("source", "userId"), ("source", "type"), ("message",), ("message", "text"), ("message", "type"),
               ("deliveryContext",), ("deliveryContext", "isRedelivery"), ("postback",)]


@st.composite
def good_line_event(draw) -> dict:
    n = draw(st.uuids()).hex.upper()
    return {"type": "message", "mode": "active", "timestamp": 1_790_000_000_000 + draw(st.integers(0, 10**6)),
            "source": {"type": "user", "userId": "U" + draw(st.uuids()).hex},
            "webhookEventId": f"01FUZZ{n}", "replyToken": "rt" + n, "deliveryContext": {"isRedelivery": False},
            "message": {"id": n[:12], "type": "text", "quoteToken": "q",
                        "text": draw(st.text(min_size=1, max_size=40))}}


@st.composite
def hostile_line_event(draw) -> object:
    # Drawn values are copied before they are changed or nested: Hypothesis may hand out the same
    # object again when it replays an example.
    if draw(st.integers(0, 9)) == 0:
        return copy.deepcopy(draw(HOSTILE_VALUE))  # not even an object
    event = copy.deepcopy(draw(good_line_event()))
    for path in draw(st.lists(st.sampled_from(LINE_FIELDS), min_size=1, max_size=3)):
        holder = event
        for key in path[:-1]:
            if not isinstance(holder.get(key), dict):
                holder[key] = {}
            holder = holder[key]
        holder[path[-1]] = copy.deepcopy(draw(HOSTILE_VALUE))
    return event


# -- LINE ----------------------------------------------------------------------------------------------


@given(goods=st.lists(good_line_event(), max_size=3), bads=st.lists(hostile_line_event(), min_size=1, max_size=3),
       data=st.data())
def test_fuzz_line_bodies(harness, goods, bads, data):
    events = copy.deepcopy(data.draw(st.permutations([*goods, *bads])))
    raw = json.dumps({"destination": "Ubot", "events": events}).encode()  # ASCII: surrogates escaped

    async def post() -> int:
        response = await harness.client.post("/webhooks/line", data=raw, headers={"X-Line-Signature": sign(raw)})
        return harness.count(response.status)

    status = harness.run(post())
    assert status < 500
    if goods:
        assert status == 200
        ids = [g["webhookEventId"] for g in goods]
        harness.good_ids += ids

        async def stored() -> set[str]:
            async with harness.services.database.engine.connect() as conn:
                rows = await conn.execute(text("SELECT event_id FROM inbox WHERE channel = 'line'"))
                return {r[0] for r in rows}

        assert set(ids) <= harness.run(stored())
    _no_errors(harness)


def test_fuzz_line_the_good_events_were_all_processed(harness):
    """After the bodies above: every stored event was handled, none failed in the work side."""

    async def settle() -> dict[str, int]:
        for _ in range(500):
            await harness.services.worker.drain()
            counts = await harness.services.store.counts()
            if counts["inbox_pending"] == 0:
                break
            await asyncio.sleep(0.02)
        async with harness.services.database.engine.connect() as conn:
            rows = await conn.execute(text("SELECT status, count(*) FROM inbox GROUP BY status"))
            return {r[0]: r[1] for r in rows}

    by_status = harness.run(settle())
    print(f"\nLINE fuzz: {harness.requests} signed bodies, answers {dict(harness.statuses)}, "
          f"{len(set(harness.good_ids))} good events stored; inbox by status {by_status}")
    assert by_status.get("failed", 0) == 0 and by_status.get("pending", 0) == 0
    _no_errors(harness)


# -- Slack -----------------------------------------------------------------------------------------------

SLACK_EVENT = st.fixed_dictionaries({
    "type": st.one_of(st.just("message"), JSON), "channel": st.one_of(st.just("D0X"), st.just("C0ALPHA"), JSON),
    "channel_type": st.one_of(st.sampled_from(["im", "channel"]), JSON), "user": st.one_of(st.just("U0HANA"), JSON),
    "text": st.one_of(st.text(max_size=40), NASTY_TEXT, JSON), "ts": st.one_of(st.just("1800000000.000001"), JSON),
    "thread_ts": st.one_of(st.just("1800000000.000000"), JSON), "subtype": st.one_of(st.none(), JSON),
    "files": st.one_of(st.just([]), JSON), "team": st.one_of(st.just("T0TEST"), JSON),
})


@given(event=st.one_of(SLACK_EVENT, HOSTILE_VALUE), event_id=st.one_of(st.uuids().map(str), JSON))
def test_fuzz_slack_events(harness, event, event_id):
    body = {"token": "legacy", "team_id": "T0TEST", "api_app_id": "A0TSUNAGU", "type": "event_callback",
            "event_id": event_id, "event_time": int(time.time()), "event": event}
    raw = json.dumps(body).encode()

    async def post() -> int:
        response = await harness.client.post("/slack/events", data=raw, headers=signed_headers(raw))
        return harness.count(response.status)

    assert harness.run(post()) < 500
    _no_errors(harness)


@given(action=st.fixed_dictionaries({
    "action_id": st.one_of(st.sampled_from(["tsunagu_accept", "tsunagu_close", "tsunagu_transfer"]), JSON),
    "value": st.one_of(st.sampled_from(["1", "1|resolved|3", "x|y", "99999999999999999999"]), JSON),
    "action_ts": st.one_of(st.just("1800000000.000001"), JSON)}), user=st.one_of(st.just({"id": "U0HANA"}), JSON),
    channel=st.one_of(st.just({"id": "C0ALPHA"}), JSON))
def test_fuzz_slack_actions(harness, action, user, channel):
    payload = {"type": "block_actions", "api_app_id": "A0TSUNAGU", "token": "legacy",
               "trigger_id": secrets.token_hex(4), "user": user, "team": {"id": "T0TEST"}, "channel": channel,
               "container": {"type": "message", "channel_id": "C0ALPHA"}, "actions": [action]}
    raw = urlencode({"payload": json.dumps(payload)}).encode()

    async def post() -> int:
        headers = signed_headers(raw, content_type="application/x-www-form-urlencoded")
        response = await harness.client.post("/slack/events", data=raw, headers=headers)
        return harness.count(response.status)

    assert harness.run(post()) < 500
    _no_errors(harness)


# -- the web chat ------------------------------------------------------------------------------------------

FRAME = st.one_of(
    st.builds(lambda t, i, x: json.dumps({"type": t, "id": i, "text": x}),
              st.sampled_from(["say", "hello", "ping", "x"]), st.one_of(st.just("abcdefgh1234"), JSON),
              st.one_of(st.text(max_size=50), NASTY_TEXT, JSON)),
    st.builds(json.dumps, HOSTILE_VALUE), st.text(max_size=60),
    st.integers(10, 2100).map(lambda d: '{"type": "say", "a": ' + "[" * d + "]" * d + "}"),
)
CLOSE_CODES = {None, 1000, 1009, 1013, 4400, 4408, 4429}


@given(hello=st.one_of(st.just("fresh"), FRAME), frames=st.lists(FRAME, max_size=4))
def test_fuzz_web_chat_frames(harness, hello, frames):
    async def talk() -> int | None:
        ws = await harness.client.ws_connect("/chat/ws")
        first = json.dumps({"type": "hello", "token": secrets.token_hex(32), "last_seq": 0}) if hello == "fresh" else hello
        try:
            for frame in [first, *frames]:
                if ws.closed:
                    break
                await ws.send_str(frame)
            while True:  # read what comes back until the server is quiet or closes
                msg = await ws.receive(timeout=0.3)
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
        except TimeoutError:  # quiet and still open (aiohttp's client marks its own timeout 1006)
            await ws.close()
            harness.count(101)
            return None
        except ConnectionError:
            pass
        code = ws.close_code
        await ws.close()
        harness.count(101)
        return code

    assert harness.run(talk()) in CLOSE_CODES
    _no_errors(harness)


# -- the desk API ------------------------------------------------------------------------------------------


@given(body=st.one_of(st.fixed_dictionaries({"org": st.one_of(st.just("alpha"), JSON),
                                             "name": st.one_of(st.just("あおい"), JSON),
                                             "password": st.one_of(st.just(PASSWORD), JSON)}), HOSTILE_VALUE),
       origin=st.one_of(st.just("own"), st.none(), st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E),
                                                            max_size=40)))
def test_fuzz_desk_sign_in(harness, body, origin):
    async def post() -> int:
        headers = {"Origin": harness.origin if origin == "own" else origin} if origin is not None else {}
        response = await harness.client.post("/desk/api/signin", data=json.dumps(body),
                                             headers={"Content-Type": "application/json", **headers})
        return harness.count(response.status)

    assert harness.run(post()) < 500
    _no_errors(harness)


@given(case=st.one_of(st.integers(-(2**70), 2**70).map(str), st.text(max_size=20)),
       action=st.one_of(st.sampled_from(["say", "note", "accept", "close", "transfer", "release", "take_over"]),
                        st.text(max_size=10)),
       body=HOSTILE_VALUE, csrf=st.booleans())
def test_fuzz_desk_actions(harness, case, action, body, csrf):
    async def post() -> int:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            signed = await session.post(harness.origin + "/desk/api/signin", headers={"Origin": harness.origin},
                                        json={"org": "alpha", "name": "あおい", "password": PASSWORD})
            token = (await signed.json()).get("csrf", "") if signed.status == 200 else ""
            response = await session.post(f"{harness.origin}/desk/api/cases/{case}/{action}",
                                          data=json.dumps(body), headers={"Content-Type": "application/json",
                                                                          "X-CSRF-Token": token if csrf else "x"})
            return harness.count(response.status)

    assert harness.run(post()) < 500
    _no_errors(harness)


def test_fuzz_summary(harness):
    print(f"\nfuzz: {harness.requests} requests and sockets in all, answers {dict(sorted(harness.statuses.items()))}")
    assert harness.statuses and max(harness.statuses) < 500
