"""Processes the benchmarks start: the real service, a bare signature-checking handler, and an
echo bot built the way line-bot-sdk's own aiohttp example is. Each runs in its own process so the
load generator does not share its event loop.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-channel-secret"
TOKEN = "test-access-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def line_body(user: str, text: str, n: int, *, tag: str) -> bytes:
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user},
        "webhookEventId": f"01BENCH{tag}{n:012d}",
        "deliveryContext": {"isRedelivery": False},
        "replyToken": f"rt-{tag}-{n}",
        "message": {"id": str(n), "type": "text", "quoteToken": "q", "text": text},
    }
    return json.dumps({"destination": "Ubench", "events": [event]}, ensure_ascii=False).encode()


async def post(session: aiohttp.ClientSession, url: str, body: bytes) -> float:
    started = time.perf_counter()
    async with session.post(url, data=body, headers={"X-Line-Signature": sign(body)}) as r:
        await r.read()
        if r.status != 200:
            raise RuntimeError(f"HTTP {r.status}")
    return time.perf_counter() - started


def start(kind: str, port: int, *, line_url: str, workdir: Path, database_url: str | None = None) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        LINE_CHANNEL_SECRET=SECRET,
        LINE_CHANNEL_ACCESS_TOKEN=TOKEN,
        LINE_API_BASE_URL=line_url,
        TSUNAGU_DATABASE_URL=database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
        TSUNAGU_KEY_FILE=str(workdir / "bench.key"),
        TSUNAGU_LOG_LEVEL="WARNING",
        # All the load comes from 127.0.0.1, as a platform's comes from a few addresses: the
        # per-address connection guard (bot/serving.py), meant for floods on the web chat, would
        # reset the load generator's connections past 100.
        TSUNAGU_CONNECTIONS_PER_ADDRESS="100000",
        PYTHONPATH=str(ROOT),
    )
    if kind == "tsunagu":
        cmd = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)]
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), kind, str(port)]
    return subprocess.Popen(cmd, env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not become ready")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@contextlib.asynccontextmanager
async def running(kind: str, *, line_url: str, workdir: Path, database_url: str | None = None) -> AsyncIterator[int]:
    """A server of `kind` in its own process with its own folder, ready; yields its port."""
    workdir.mkdir()
    port = free_port()
    proc = start(kind, port, line_url=line_url, workdir=workdir, database_url=database_url)
    try:
        await wait_ready(port, proc)
        yield port
    finally:
        stop(proc)


@contextlib.asynccontextmanager
async def temporary_postgres(base_url: str, *, prefix: str = "tsunagu_bench_") -> AsyncIterator[str]:
    """A PostgreSQL database of its own beside `base_url`'s, at the schema's head; dropped after."""
    import asyncpg
    from sqlalchemy.engine import make_url

    from storage import migrate

    base = make_url(base_url)
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(host=base.host, port=base.port or 5432, user=base.username,
                                  password=base.password, database=base.database)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        await migrate.upgrade(url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


POSTGRES = os.environ.get("TSUNAGU_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


# -- the two comparison servers ------------------------------------------------------------------


def _bare(port: int) -> None:
    """Checks the signature over the raw body and answers 200: the floor any webhook pays."""
    from aiohttp import web

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        if not hmac.compare_digest(sign(body), request.headers.get("X-Line-Signature", "")):
            return web.Response(status=401)
        return web.Response(text="OK")

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/webhooks/line", hook)
    app.router.add_get("/healthz", health)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def _echo(port: int) -> None:
    """line-bot-sdk's aiohttp echo example: parse, then reply_message inline, one shared client."""
    from aiohttp import web
    from linebot.v3 import WebhookParser
    from linebot.v3.exceptions import InvalidSignatureError
    from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApi, Configuration, ReplyMessageRequest, TextMessage
    from linebot.v3.webhooks import MessageEvent, TextMessageContent

    async def main() -> None:
        configuration = Configuration(host=os.environ["LINE_API_BASE_URL"], access_token=TOKEN)
        client = AsyncApiClient(configuration)
        api = AsyncMessagingApi(client)
        parser = WebhookParser(SECRET)

        async def hook(request: web.Request) -> web.Response:
            signature = request.headers["X-Line-Signature"]
            body = await request.text()
            try:
                events = parser.parse(body, signature)
            except InvalidSignatureError:
                return web.Response(status=400, text="Invalid signature")
            for event in events:
                if isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent):
                    await api.reply_message(
                        ReplyMessageRequest(
                            reply_token=event.reply_token, messages=[TextMessage(text=event.message.text)]
                        )
                    )
            return web.Response(text="OK")

        async def health(request: web.Request) -> web.Response:
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/webhooks/line", hook)
        app.router.add_get("/healthz", health)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()

    asyncio.run(main())


if __name__ == "__main__":
    {"bare": _bare, "echo": _echo}[sys.argv[1]](int(sys.argv[2]))
