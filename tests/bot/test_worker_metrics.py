"""A worker's own /metrics and /healthz: what the worker counts (turns, handoffs, unmet demand,
who is on duty) is not in the web process's registry, so a worker serves it itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from aiohttp.test_utils import TestClient, TestServer

from bench._servers import free_port
from bot.app import SERVICES
from bot.cli_work import worker_app
from tests.bot.conftest import event


async def test_the_worker_app_serves_what_the_worker_counted(service):
    await service.send(event(text="こんにちは"))
    await service.settle()
    client = TestClient(TestServer(worker_app(service.client.server.app[SERVICES])))
    await client.start_server()
    try:
        health = await client.get("/healthz")
        assert health.status == 200 and (await health.json())["role"] == "work"
        text = await (await client.get("/metrics")).text()
        assert 'tsunagu_events_processed_total{channel="line",outcome="answered"} 1.0' in text
        assert "tsunagu_outbox_pending 0.0" in text
    finally:
        await client.close()


def test_tsunagu_work_listens_where_it_is_told_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = dict(os.environ, TSUNAGU_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 't.db'}",
               TSUNAGU_KEY_FILE=str(tmp_path / "t.key"), TSUNAGU_WORKER_METRICS_LISTEN=f"127.0.0.1:{port}")
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "work"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
                    body = answer.read().decode()
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()[1][-2000:]
                assert time.monotonic() < deadline, "the worker never listened"
                time.sleep(0.2)
        assert "# TYPE tsunagu_events_processed_total counter" in body
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_bad_listen_address_is_one_readable_line(tmp_path):
    env = dict(os.environ, TSUNAGU_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 't.db'}",
               TSUNAGU_KEY_FILE=str(tmp_path / "t.key"), TSUNAGU_WORKER_METRICS_LISTEN="localhost:metrics")
    done = subprocess.run([sys.executable, "-m", "bot.cli", "work"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert "TSUNAGU_WORKER_METRICS_LISTEN must be HOST:PORT" in done.stderr
    assert "Traceback" not in done.stderr
