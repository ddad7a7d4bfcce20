"""A running Tsunagu with LINE and Slack, each against its fake API, and signed Slack requests
built from payload dicts."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import SERVICES, create_app
from tests.bot.conftest import Service, settings_for
from tests.desk.conftest import DIRECTORY
from tests.fakes.slack_api import FakeSlack

SIGNING_SECRET = "test-slack-signing-secret"
_n = itertools.count(1)


def signed_headers(raw: bytes, *, secret: str = SIGNING_SECRET, at: int | None = None,
                   content_type: str = "application/json") -> dict[str, str]:
    stamp = str(at if at is not None else int(time.time()))  # Slack's window is real time
    base = b"v0:" + stamp.encode() + b":" + raw
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature, "Content-Type": content_type}


def event_body(event: dict, *, event_id: str | None = None, team: str = "T0TEST") -> bytes:
    n = next(_n)
    body = {"token": "legacy", "team_id": team, "api_app_id": "A0TSUNAGU", "type": "event_callback",
            "event_id": event_id or f"Ev0TEST{n:06d}", "event_time": int(time.time()), "event": event,
            "authorizations": [{"team_id": team, "user_id": "U0BOT", "is_bot": True}]}
    return json.dumps(body, ensure_ascii=False).encode()


def thread_message(channel: str, thread_ts: str, user: str, text: str) -> dict:
    n = next(_n)
    return {"type": "message", "channel": channel, "channel_type": "channel", "user": user, "text": text,
            "ts": f"1800000000.{n:06d}", "thread_ts": thread_ts, "team": "T0TEST"}


def dm(user: str, text: str | None, *, channel: str = "D0PERSON", files: list | None = None) -> dict:
    n = next(_n)
    event = {"type": "message", "channel": channel, "channel_type": "im", "user": user,
             "ts": f"1800000000.{n:06d}", "team": "T0TEST", "text": text or ""}
    if files:
        event["files"], event["subtype"] = files, "file_share"
    return event


def action_body(action_id: str, value: str, *, user: str, channel: str, message_ts: str) -> bytes:
    n = next(_n)
    payload = {
        "type": "block_actions", "api_app_id": "A0TSUNAGU", "token": "legacy", "trigger_id": f"{n}.1.abc",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0TEST"},
        "team": {"id": "T0TEST", "domain": "tsunagu-test"},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel, "name": "desk"},
        "message": {"type": "message", "ts": message_ts, "text": "card"},
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b1", "value": value,
                     "text": {"type": "plain_text", "text": "x"}, "action_ts": f"1800000000.{n:06d}"}],
    }
    return urlencode({"payload": json.dumps(payload, ensure_ascii=False)}).encode()


@dataclass
class SlackService(Service):
    slack: FakeSlack | None = None

    async def slack_post(self, raw: bytes, *, content_type: str = "application/json", headers: dict | None = None,
                         **sign: object):
        all_headers = signed_headers(raw, content_type=content_type, **sign)  # type: ignore[arg-type]
        all_headers.update(headers or {})
        return await self.client.post("/slack/events", data=raw, headers=all_headers)

    async def slack_event(self, event: dict, **kwargs: object):
        response = await self.slack_post(event_body(event, **kwargs))  # type: ignore[arg-type]
        assert response.status == 200, await response.text()
        return response

    async def press(self, action_id: str, value: str, *, user: str, channel: str, message_ts: str):
        raw = action_body(action_id, value, user=user, channel=channel, message_ts=message_ts)
        response = await self.slack_post(raw, content_type="application/x-www-form-urlencoded")
        assert response.status == 200, await response.text()
        return response

    @property
    def desk(self):
        return self.client.server.app[SERVICES].desk


@pytest.fixture
async def fake_slack():
    slack = await FakeSlack(users={"U0HANA": {"display_name": "はな", "real_name": "Hana Sato"},
                                   "U0YUKI": {"display_name": "ゆき", "real_name": "Yuki Ito"},
                                   "U0KEN": {"display_name": "", "real_name": "Ken"}}).start()
    yield slack
    await slack.close()


@pytest.fixture
async def service(tmp_path, fake_line, fake_slack, clock):
    directory = tmp_path / "directory.yaml"
    directory.write_text(DIRECTORY, encoding="utf-8")
    settings = settings_for(tmp_path, fake_line.url, slack_signing_secret=SIGNING_SECRET,
                            slack_bot_token=fake_slack.token, slack_api_base_url=fake_slack.api_url,
                            directory=directory, desk_poll_seconds=0.05)
    app = create_app(settings, clock=clock)
    client = TestClient(TestServer(app))
    await client.start_server()
    service = SlackService(client=client, line=fake_line, clock=clock, db_path=tmp_path / "tsunagu.db", slack=fake_slack)
    await service.on_duty("alpha", "beta")  # somebody watches each desk channel
    yield service
    await client.close()
