"""Slow clients (issue 12): a connection that sends nothing, one that trickles its headers, and one
that trickles its body are each closed or answered within the configured time, by the runner
`tsunagu serve` uses (bot/serving.py) and the app's body deadline (bot/app.py)."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from tests.web.conftest import web_settings
from tests.web.test_chat_limits import GuardedTestServer


@pytest.fixture
async def slow_limits(tmp_path, clock):
    settings = web_settings(tmp_path, header_timeout_seconds=1.0, body_timeout_seconds=1.0)
    client = TestClient(GuardedTestServer(create_app(settings, clock=clock), settings))
    await client.start_server()
    yield client
    await client.close()


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> tuple[bytes, float]:
    started = time.perf_counter()
    data = await asyncio.wait_for(reader.read(), seconds)
    return data, time.perf_counter() - started


async def test_a_silent_connection_is_closed(slow_limits):
    reader, writer = await asyncio.open_connection("127.0.0.1", slow_limits.port)
    data, took = await _closed_within(reader, 5)
    assert data == b"" and took < 3
    writer.close()


async def test_trickled_headers_are_cut_off(slow_limits):
    reader, writer = await asyncio.open_connection("127.0.0.1", slow_limits.port)
    writer.write(b"GET /healthz HTTP/1.1\r\n")
    started = time.perf_counter()

    async def trickle() -> None:
        for n in range(50):
            writer.write(f"X-Slow-{n}: a\r\n".encode())
            await asyncio.sleep(0.2)

    task = asyncio.create_task(trickle())
    data = await asyncio.wait_for(reader.read(), 8)
    task.cancel()
    assert b"200" not in data and time.perf_counter() - started < 3
    writer.close()


async def test_a_trickled_body_gets_408(slow_limits):
    reader, writer = await asyncio.open_connection("127.0.0.1", slow_limits.port)
    writer.write(b"POST /desk/api/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 100\r\n\r\n{")
    started = time.perf_counter()
    head = await asyncio.wait_for(reader.readline(), 5)
    assert head.startswith(b"HTTP/1.1 408") and time.perf_counter() - started < 3
    writer.close()
