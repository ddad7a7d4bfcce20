"""The restore drill of docs/deploy.md, followed literally: its shell blocks are run as they are
written (only `systemctl` and `chown` stand in for the test's own process and user), against a
real `tsunagu serve` with the fake LINE API.

A person is half-way through the intake; the database, the key file (and the key store, once the
setting exists) are backed up while the service runs; the service is stopped and all of them are
erased; the restore block puts them back; the service starts again and the person's next answer
gets the intake's next question, which only the restored session read with the restored key can
give (a fresh start would greet them again). On SQLite, and on PostgreSQL with pg_dump/pg_restore.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bench._servers import free_port, wait_ready
from flows import load_bundled
from flows.engine import Input, resume, start
from tests.bot.conftest import sign
from tests.deploy import checks
from tests.fakes.line_api import FakeLine

ROOT = checks.ROOT
SECRET = "drill-channel-secret"
ANSWERS = ["こんにちは", "はい", "1", "これで全部", "3", "2", "1"]
BEFORE = 4  # answers given before the backup; the rest after the restore
STUBS = """
systemctl() { echo "systemctl $*" >> "$DRILL_LOG"; }
chown() { echo "chown $*" >> "$DRILL_LOG"; }
"""


def drill_blocks() -> dict[str, str]:
    """The `<!-- drill: NAME -->` shell blocks of docs/deploy.md, by name."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    return {m.group(1): m.group(2) for m in re.finditer(r"<!-- drill: ([\w-]+) -->\n```sh\n(.*?)```", text, re.S)}


def run_drill(names: list[str], env: dict[str, str], log: Path) -> None:
    blocks = drill_blocks()
    script = STUBS + "".join(blocks[n] for n in ["paths", *names])
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env={**os.environ, **env, "DRILL_LOG": str(log)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{names}: {done.stderr}"


def expected_replies() -> list[list[str]]:
    flow = load_bundled("intake")
    now = datetime.now(UTC)
    turn = start(flow, now=now)
    said = [[m.text for m in turn.messages]]
    for answer in ANSWERS[1:]:
        turn = resume(flow, turn.session, Input(text=answer), now=now)
        said.append([m.text for m in turn.messages])
    return said


class Service:
    """`tsunagu serve` (with its worker) in a process of its own, on the given settings."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd, self.port = env, cwd, free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(self.port)],
                                     env={**os.environ, **self.env, "PYTHONPATH": str(ROOT)}, cwd=self.cwd,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        await wait_ready(self.port, self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)

    async def say(self, line: FakeLine, n: int) -> list[str]:
        """The person sends answer n; what they are told back."""
        token = f"rt-drill-{n}"
        event = {"type": "message", "mode": "active", "timestamp": int(time.time() * 1000),
                 "source": {"type": "user", "userId": "Udrillperson"}, "webhookEventId": f"01DRILL{n:019d}",
                 "deliveryContext": {"isRedelivery": False}, "replyToken": token,
                 "message": {"id": f"m{n}", "type": "text", "quoteToken": "q", "text": ANSWERS[n]}}
        body = json.dumps({"destination": "Udrill", "events": [event]}, ensure_ascii=False).encode()
        signature = sign(body, SECRET)
        async with aiohttp.ClientSession() as session:
            async with session.post(f"http://127.0.0.1:{self.port}/webhooks/line", data=body,
                                    headers={"X-Line-Signature": signature}) as r:
                assert r.status == 200
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            calls = [c for c in line.calls if c.target == token]
            if calls:
                return [t for c in calls for t in c.texts]
            await asyncio.sleep(0.1)
        raise AssertionError(f"no answer to message {n}")


@pytest.fixture
def places(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The drill's paths (docs/deploy.md's variables) in a folder of the test's own."""
    (tmp_path / "var").mkdir()
    (tmp_path / "etc").mkdir()
    (tmp_path / "var" / "keystore").mkdir()
    yield {"DB": str(tmp_path / "var" / "tsunagu.db"), "KEY_FILE": str(tmp_path / "etc" / "tsunagu.key"),
           "KEY_STORE": str(tmp_path / "var" / "keystore" / "tsunagu.keystore"),
           "BACKUP": str(tmp_path / "backup"), "KEY_BACKUP": str(tmp_path / "keys-elsewhere")}


def service_env(places: dict[str, str], database_url: str, line: FakeLine) -> dict[str, str]:
    env = {"TSUNAGU_DATABASE_URL": database_url, "TSUNAGU_KEY_FILE": places["KEY_FILE"],
           "LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": line.token, "LINE_API_BASE_URL": line.url,
           "TSUNAGU_LOG_LEVEL": "WARNING", "TSUNAGU_SHUTDOWN_GRACE_SECONDS": "5"}
    if "TSUNAGU_KEY_STORE" in checks.setting_names():  # the key store, once the privacy work has landed
        env["TSUNAGU_KEY_STORE"] = places["KEY_STORE"]
    return env


async def drill(tmp_path: Path, places: dict[str, str], env: dict[str, str], line: FakeLine,
                backup: str, restore: str, erase_database) -> None:  # type: ignore[no-untyped-def]
    expected = expected_replies()
    log = tmp_path / "drill.log"
    service = Service(env, tmp_path)
    await service.start()
    try:
        for n in range(BEFORE):
            assert await service.say(line, n) == expected[n]
        run_drill([backup], places, log)
    finally:
        service.stop()

    # Everything is lost: the database, the key file, the key store.
    await erase_database()
    for name in ("KEY_FILE", "KEY_STORE"):
        Path(places[name]).unlink(missing_ok=True)
    assert not Path(places["KEY_FILE"]).exists()

    run_drill([restore], places, log)
    said = log.read_text()
    assert said.index("systemctl stop") < said.index("systemctl start"), said
    assert Path(places["KEY_FILE"]).stat().st_mode & 0o777 == 0o600

    await service.start()
    try:
        for n in range(BEFORE, len(ANSWERS)):
            assert await service.say(line, n) == expected[n], "the conversation goes on where it was"
    finally:
        service.stop()
    status = subprocess.run([sys.executable, "-m", "bot.cli", "db", "status"], capture_output=True, text=True,
                            env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, cwd=tmp_path, timeout=60)
    assert status.returncode == 0, status.stderr


async def test_restore_drill_on_sqlite(tmp_path, places, fake_line):
    if shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 command (Debian package sqlite3) that the backup step uses is not installed")
    env = service_env(places, f"sqlite+aiosqlite:///{places['DB']}", fake_line)
    # The first start makes the key file and the database, as docs/deploy.md's first start does.
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "create-key"], check=True, capture_output=True,
                   env={**os.environ, **env, "PYTHONPATH": str(ROOT)})
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], check=True, capture_output=True,
                   env={**os.environ, **env, "PYTHONPATH": str(ROOT)})

    async def erase() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(places["DB"] + suffix).unlink(missing_ok=True)

    await drill(tmp_path, places, env, fake_line, "sqlite-backup", "sqlite-restore", erase)


async def test_restore_drill_on_postgresql(tmp_path, places, fake_line, pg_database):
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump and pg_restore (Debian package postgresql-client) are not installed")
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(pg_database)
    places["PGURL"] = url.set(drivername="postgresql").render_as_string(hide_password=False)
    env = service_env(places, pg_database, fake_line)
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "create-key"], check=True, capture_output=True,
                   env={**os.environ, **env, "PYTHONPATH": str(ROOT)})

    async def erase() -> None:
        admin = await asyncpg.connect(host=url.host, port=url.port or 5432, user=url.username,
                                      password=url.password, database="postgres")
        try:
            await admin.execute(f'DROP DATABASE "{url.database}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{url.database}"')
        finally:
            await admin.close()

    await drill(tmp_path, places, env, fake_line, "postgres-backup", "postgres-restore", erase)
