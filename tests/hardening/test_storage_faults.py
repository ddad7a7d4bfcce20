"""Storage faults are seen (issue 12): a database file removed under a running server stops it
writing and turns /healthz red; a storage error on any endpoint is 503 with a message; a greeting
that could not be stored is tried again; `tsunagu serve` will not silently start on an empty
database beside an existing key file; a failed write shows in health until one succeeds."""

from __future__ import annotations

import json
import secrets

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bot.app import SERVICES
from bot.cli import main
from storage import Keyring, open_database
from tests.web.conftest import web_service as web_service  # noqa: F401  (the fixture)
from tests.webdesk.conftest import PASSWORD
from tests.webdesk.conftest import desk_service as desk_service  # noqa: F401  (the fixture)

AUTH = {"Authorization": "Bearer t"}


async def test_a_database_removed_under_the_server_is_seen_and_nothing_is_written_into_it(desk_service, tmp_path):
    client = desk_service.client
    assert (await client.get("/healthz")).status == 200
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"tsunagu.db{suffix}").unlink(missing_ok=True)

    health = await client.get("/healthz")
    assert health.status == 503 and await health.json() == {"status": "unavailable"}

    # a counselor signing in: 503 with a message to read, not a 500
    origin = f"http://{client.host}:{client.port}"
    response = await client.post("/desk/api/signin", json={"org": "hikari", "name": "あおい", "password": PASSWORD},
                                 headers={"Origin": origin})
    assert response.status == 503
    body = await response.json()
    assert body["error"] == "storage-unavailable" and "しばらく" in body["message"]

    # a new person on the chat: not greeted from a file nobody will see again; told to come back
    ws = await client.ws_connect("/chat/ws")
    await ws.send_str(json.dumps({"type": "hello", "token": secrets.token_hex(32), "last_seq": 0}))
    frames = []
    while (msg := await ws.receive(timeout=5)).type == aiohttp.WSMsgType.TEXT:
        frames.append(json.loads(msg.data))
    assert ws.close_code == aiohttp.WSCloseCode.TRY_AGAIN_LATER
    assert not any(f["type"] == "line" for f in frames)
    assert not (tmp_path / "tsunagu.db").exists()


async def test_a_greeting_that_could_not_be_stored_is_given_on_the_next_connection(web_service, monkeypatch):
    receiver = web_service.app[SERVICES].web_chat.receiver
    real = receiver.receive
    failures = [1]

    async def flaky(events):
        if failures:
            failures.pop()
            raise OSError("disk full")
        return await real(events)

    monkeypatch.setattr(receiver, "receive", flaky)
    token = secrets.token_hex(32)
    ws = await web_service.client.ws_connect("/chat/ws")
    await ws.send_str(json.dumps({"type": "hello", "token": token, "last_seq": 0}))
    while (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.TEXT:
        pass
    assert ws.close_code == aiohttp.WSCloseCode.TRY_AGAIN_LATER
    chat = await web_service.open(token)  # what the page does, after its backoff
    greeting = await chat.until(lambda f: f["type"] == "line")
    assert greeting["from"] == "bot" and greeting["seq"] == 1


async def test_a_failed_write_shows_until_a_write_succeeds(tmp_path):
    db = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        with pytest.raises(OperationalError):
            async with db.write() as conn:
                await conn.execute(text("INSERT INTO no_such_table VALUES (1)"))
        assert db.write_failure == "OperationalError"
        async with db.write() as conn:
            await conn.execute(text("DELETE FROM inbox WHERE id = -1"))
        assert db.write_failure is None
    finally:
        await db.close()


def test_serve_refuses_a_fresh_database_beside_an_existing_key_file(tmp_path, monkeypatch, capsys):
    Keyring.load_or_create(tmp_path / "tsunagu.key")
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'gone.db'}")
    monkeypatch.setenv("TSUNAGU_KEY_FILE", str(tmp_path / "tsunagu.key"))
    assert main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--init" in err[0] and "restore" in err[0]
    assert not (tmp_path / "gone.db").exists()
