"""A fake Slack Web API on 127.0.0.1:0 that the real slack_sdk AsyncWebClient talks to.

Answers as Slack does: HTTP 200 with {"ok": false, "error": ...} for refusals, a `ts` for each
posted message, 429 with Retry-After when told to (`fail`). Records every call.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from aiohttp import web

from tests.fakes import serve_on_loopback


@dataclass
class SlackCall:
    method: str
    args: dict

    def __getitem__(self, key: str):
        return self.args.get(key)


@dataclass
class FakeSlack:
    token: str = "xoxb-test-token"
    team_id: str = "T0TEST"
    bot_user: str = "U0BOT"
    users: dict[str, dict] = field(default_factory=dict)  # user id -> profile
    calls: list[SlackCall] = field(default_factory=list)
    _messages: dict[tuple[str, str], dict] = field(default_factory=dict)
    _failures: list[tuple[str | None, int, dict[str, str], str | None]] = field(default_factory=list)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    url: str = ""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        self._runner, self.url = await serve_on_loopback(app)
        return self

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def fail(self, status: int = 429, *, method: str | None = None, times: int = 1,
             headers: dict[str, str] | None = None, error: str | None = None) -> None:
        """The next `times` calls (of `method`, or any) fail: with HTTP `status`, or with
        {"ok": false, "error": error} when `error` is given."""
        self._failures.extend([(method, status, headers or {}, error)] * times)

    def of(self, method: str, **match: object) -> list[SlackCall]:
        return [c for c in self.calls if c.method == method and all(c.args.get(k) == v for k, v in match.items())]

    async def _args(self, request: web.Request) -> dict:
        args = dict(request.query)
        raw = await request.read()
        if raw:
            if request.content_type == "application/json":
                args.update(json.loads(raw))
            else:
                args.update(dict(parse_qsl(raw.decode())))
        for key in ("blocks",):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        for i, (only, status, headers, error) in enumerate(self._failures):
            if only in (None, method):
                del self._failures[i]
                if error:
                    return web.json_response({"ok": False, "error": error})
                return web.json_response({"ok": False, "error": "ratelimited"}, status=status, headers=headers)
        args = await self._args(request)
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        answer = handler(args)
        if answer.get("ok"):
            self.calls.append(SlackCall(method, args))
            self.arrived.set()
        return web.json_response(answer)

    def _next_ts(self) -> str:
        n = next(self._ts)
        return f"{1700000000 + n}.{n:06d}"

    def _auth_test(self, args: dict) -> dict:
        return {"ok": True, "url": "https://tsunagu-test.slack.com/", "team": "Tsunagu Test", "user": "tsunagu",
                "team_id": self.team_id, "user_id": self.bot_user, "bot_id": "B0BOT", "is_enterprise_install": False}

    def _chat_postMessage(self, args: dict) -> dict:
        channel = args.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        if args.get("thread_ts") and (channel, args["thread_ts"]) not in self._messages:
            return {"ok": False, "error": "thread_not_found"}
        ts = self._next_ts()
        message = {"type": "message", "text": args.get("text", ""), "user": self.bot_user, "ts": ts,
                   "blocks": args.get("blocks", [])}
        self._messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict) -> dict:
        key = (args.get("channel"), args.get("ts"))
        if key not in self._messages:
            return {"ok": False, "error": "message_not_found"}
        self._messages[key].update(text=args.get("text", ""), blocks=args.get("blocks", []))
        return {"ok": True, "channel": key[0], "ts": key[1], "text": args.get("text", "")}

    def _chat_postEphemeral(self, args: dict) -> dict:
        if not args.get("channel") or not args.get("user"):
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _users_info(self, args: dict) -> dict:
        user = args.get("user")
        if user not in self.users:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": {"id": user, "team_id": self.team_id, "profile": self.users[user]}}

    def message(self, channel: str, ts: str) -> dict | None:
        """The message as it stands now (after updates)."""
        return self._messages.get((channel, ts))
