"""A fake LINE Messaging API on 127.0.0.1:0 that the real line-bot-sdk client talks to.

It keeps LINE's rules that matter to us (a reply token works once, at most 5 messages a call, at
most 13 quick-reply items with labels of at most 20 characters, a retry key accepted once) and
records every request. `fail(...)` makes the next calls answer with an error, as LINE does when
it is down or rate limiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from tests.fakes import serve_on_loopback


@dataclass
class Call:
    kind: str  # "reply" | "push"
    target: str  # reply token or "to"
    messages: list[dict]
    retry_key: str | None = None

    @property
    def texts(self) -> list[str]:
        return [m.get("text", "") for m in self.messages]


@dataclass
class FakeLine:
    token: str = "test-access-token"
    calls: list[Call] = field(default_factory=list)
    refused: list[tuple[str, int]] = field(default_factory=list)
    _used_tokens: set[str] = field(default_factory=set)
    _retry_keys: set[str] = field(default_factory=set)
    _failures: list[tuple[str | None, int, dict[str, str]]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    url: str = ""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    on_call: Callable[[Call], None] | None = None  # benchmarks: be told of each accepted call

    async def start(self) -> FakeLine:
        app = web.Application()
        app.router.add_post("/v2/bot/message/reply", self._reply)
        app.router.add_post("/v2/bot/message/push", self._push)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        self._runner, self.url = await serve_on_loopback(app)
        return self

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def fail(
        self, status: int, *, times: int = 1, kind: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        """The next `times` calls (of `kind`, or any) answer `status`."""
        self._failures.extend([(kind, status, headers or {})] * times)

    def to(self, target: str) -> list[Call]:
        return [c for c in self.calls if c.target == target]

    async def _check(self, request: web.Request, kind: str) -> tuple[dict, web.Response | None]:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return {}, web.json_response({"message": "Authentication failed"}, status=401)
        for i, (only, status, headers) in enumerate(self._failures):
            if only in (None, kind):
                del self._failures[i]
                self.refused.append((kind, status))
                return {}, web.json_response({"message": "fake failure"}, status=status, headers=headers)
        body = await request.json()
        messages = body.get("messages") or []
        if not 1 <= len(messages) <= 5:
            return body, web.json_response({"message": "Size must be between 1 and 5"}, status=400)
        for message in messages:
            items = (message.get("quickReply") or {}).get("items") or []
            if len(items) > 13 or any(len(i["action"]["label"]) > 20 for i in items):
                return body, web.json_response({"message": "Invalid quick reply"}, status=400)
            if message.get("type") == "text" and not 1 <= len(message.get("text", "")) <= 5000:
                return body, web.json_response({"message": "Invalid text"}, status=400)
        return body, None

    async def _reply(self, request: web.Request) -> web.Response:
        body, error = await self._check(request, "reply")
        if error:
            return error
        token = body.get("replyToken", "")
        if not token or token in self._used_tokens:
            return web.json_response({"message": "Invalid reply token"}, status=400)
        self._used_tokens.add(token)
        self._record(Call("reply", token, body["messages"]))
        return web.json_response({"sentMessages": [{"id": str(i)} for i in range(len(body["messages"]))]})

    async def _push(self, request: web.Request) -> web.Response:
        body, error = await self._check(request, "push")
        if error:
            return error
        key = request.headers.get("X-Line-Retry-Key")
        if key and key in self._retry_keys:
            return web.json_response({"message": "The retry key is already accepted"}, status=409)
        if key:
            self._retry_keys.add(key)
        self._record(Call("push", body.get("to", ""), body["messages"], key))
        return web.json_response({"sentMessages": [{"id": str(i)} for i in range(len(body["messages"]))]})

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self.arrived.set()
        if self.on_call is not None:
            self.on_call(call)

    async def _unknown(self, request: web.Request) -> web.Response:
        self.refused.append((request.path, 404))
        return web.json_response({"message": "Not found"}, status=404)
