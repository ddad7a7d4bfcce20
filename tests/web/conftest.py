"""A running Tsunagu app with no LINE or Slack credentials (SQLite in tmp_path), and a small web
chat client that speaks the page's WebSocket protocol."""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import SERVICES, create_app
from bot.settings import Settings
from tests.fakes.clock import Clock
from tests.settle import on_duty, settle

# The intake, answered as a person would (button labels, and free text where the flow asks).
INTAKE = [
    "はい",
    "孤独・孤立",
    "これで全部",
    "19〜29歳",
    "関東",
    "東京都",
    "千代田区",
    "いいえ",
    "日本語",
    "はい、地域の外がいい",
    "はい",
]

_ids = itertools.count(1)


def client_id() -> str:
    return f"c{next(_ids):04d}{secrets.token_hex(6)}"


@dataclass
class Chat:
    """One open chat page: a socket, the lines received, and the last seq seen."""

    ws: aiohttp.ClientWebSocketResponse
    token: str
    frames: list[dict] = field(default_factory=list)
    last_seq: int = 0

    @property
    def lines(self) -> list[dict]:
        return [f for f in self.frames if f["type"] == "line"]

    @property
    def bot_texts(self) -> list[str]:
        return [m["text"] for f in self.lines if f["from"] == "bot" for m in f["messages"]]

    async def say(self, text: str, *, id: str | None = None) -> str:
        id = id or client_id()
        await self.ws.send_str(json.dumps({"type": "say", "id": id, "text": text}, ensure_ascii=False))
        return id

    async def until(self, check, timeout: float = 10.0) -> dict:
        """Read frames until one satisfies `check`; return it."""
        for frame in self.frames:
            if check(frame):
                return frame
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            msg = await self.ws.receive(timeout=max(0.01, deadline - loop.time()))
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"socket ended: {msg.type} {msg.data!r} {msg.extra!r}")
            frame = json.loads(msg.data)
            self.frames.append(frame)
            if frame["type"] == "line":
                assert frame["seq"] == self.last_seq + 1, f"seq gap or repeat: {frame['seq']} after {self.last_seq}"
                self.last_seq = frame["seq"]
            if check(frame):
                return frame

    async def acked(self, id: str) -> dict:
        return await self.until(lambda f: f["type"] == "ack" and f["id"] == id)

    async def bot_line_after(self, seq: int) -> dict:
        return await self.until(lambda f: f["type"] == "line" and f["from"] == "bot" and f["seq"] > seq)

    async def close(self) -> None:
        await self.ws.close()


@dataclass
class WebService:
    client: TestClient
    clock: Clock
    db_path: Path

    @property
    def app(self):
        return self.client.server.app

    def app_services(self):
        return self.app[SERVICES]

    async def open(self, token: str | None = None, *, last_seq: int = 0) -> Chat:
        token = token or secrets.token_hex(32)
        ws = await self.client.ws_connect("/chat/ws")
        await ws.send_str(json.dumps({"type": "hello", "token": token, "last_seq": last_seq}))
        chat = Chat(ws=ws, token=token, last_seq=last_seq)
        await chat.until(lambda f: f["type"] == "welcome")
        return chat

    async def settle(self, timeout: float = 10.0) -> None:
        await settle(self.app[SERVICES], self.clock, timeout=timeout)

    async def on_duty(self, *org_ids: str, counselor: str = "web:0", front: str = "web") -> None:
        await on_duty(self.app[SERVICES], self.clock(), *org_ids, counselor=counselor, front=front)


def web_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'tsunagu.db'}",
        key_file=tmp_path / "tsunagu.key",
        sender_poll_seconds=0.05,
        timer_poll_seconds=0.05,
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def web_service(tmp_path, clock):
    app = create_app(web_settings(tmp_path), clock=clock)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield WebService(client=client, clock=clock, db_path=tmp_path / "tsunagu.db")
    await client.close()
