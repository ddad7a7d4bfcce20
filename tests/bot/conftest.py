"""A running Tsunagu app (SQLite in tmp_path) wired to a fake LINE API, and webhook builders."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import SERVICES, create_app
from bot.settings import Settings
from tests.fakes.clock import START, Clock
from tests.fakes.line_api import FakeLine
from tests.settle import on_duty, settle

SECRET = "test-channel-secret"
METRICS_TOKEN = "test-metrics-token"
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}


_ids = itertools.count(1)


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def event(
    kind: str = "message",
    *,
    user: str = "U4af4980629",
    text: str | None = "こんにちは",
    message: dict | None = None,
    source: dict | None = None,
    at: datetime | None = None,
    event_id: str | None = None,
    mode: str = "active",
    reply_token: str | None = None,
    redelivery: bool = False,
) -> dict:
    """One LINE webhook event as LINE sends it (fields per the Messaging API reference)."""
    n = next(_ids)
    data: dict = {
        "type": kind,
        "mode": mode,
        "timestamp": int((at or START).timestamp() * 1000),
        "source": source or {"type": "user", "userId": user},
        "webhookEventId": event_id or f"01TESTEVENT{n:015d}",
        "deliveryContext": {"isRedelivery": redelivery},
    }
    if kind != "unfollow":
        data["replyToken"] = reply_token or f"reply-token-{n}"
    if kind == "message":
        data["message"] = message or {"id": str(n), "type": "text", "quoteToken": f"q{n}", "text": text}
    if kind == "follow":
        data["follow"] = {"isUnblocked": False}
    return data


def body(*events: dict) -> bytes:
    return json.dumps({"destination": "Ubot0000", "events": list(events)}, ensure_ascii=False).encode()


@dataclass
class Service:
    client: TestClient
    line: FakeLine
    clock: Clock
    db_path: Path
    app: object = field(repr=False, default=None)

    async def post(self, raw: bytes, *, signature: str | None = "auto", **headers: str):
        if signature == "auto":
            signature = sign(raw)
        if signature is not None:
            headers["X-Line-Signature"] = signature
        return await self.client.post("/webhooks/line", data=raw, headers=headers)

    async def send(self, *events: dict) -> None:
        response = await self.post(body(*events))
        assert response.status == 200, await response.text()

    async def on_duty(self, *org_ids: str, counselor: str = "U0ONDUTY", front: str = "slack") -> None:
        await on_duty(self.client.server.app[SERVICES], self.clock(), *org_ids, counselor=counselor, front=front)

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until every event is processed and every due outbox row is delivered."""
        await settle(self.client.server.app[SERVICES], self.clock, timeout=timeout)


def settings_for(tmp_path: Path, line_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'tsunagu.db'}",
        key_file=tmp_path / "tsunagu.key",
        line_channel_secret=SECRET,
        line_channel_access_token="test-access-token",
        line_api_base_url=line_url,
        metrics_token=METRICS_TOKEN,
        sender_poll_seconds=0.05,
        timer_poll_seconds=0.05,
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def service(tmp_path, fake_line, clock):
    app = create_app(settings_for(tmp_path, fake_line.url), clock=clock)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield Service(client=client, line=fake_line, clock=clock, db_path=tmp_path / "tsunagu.db")
    await client.close()
