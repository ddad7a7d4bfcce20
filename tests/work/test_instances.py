"""Several instances on one PostgreSQL database: a web instance that only takes events in and a
worker instance that only works, linked by NOTIFY. A person on the web chat of the one is answered
by the other within moments (not at the next poll), and a counselor signed in on one web instance
is signed in on another (sessions and sign-in limits live in the database)."""

from __future__ import annotations

import secrets
import time

from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.clock import utcnow
from bot.services import open_services
from bot.settings import Settings
from storage import open_database
from storage.desk_users import DeskUsers
from tests.web.conftest import INTAKE, WebService
from tests.webdesk.conftest import PASSWORD, Counselor


def settings(url: str, tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(database_url=url, key_file=tmp_path / "tsunagu.key", work_poll_seconds=30.0,
                    sender_poll_seconds=30.0)  # polls too slow to matter: wake-ups must do it


async def test_a_web_instance_and_a_worker_instance_answer_a_person_at_once(pg_database, tmp_path, clock):
    web_app = create_app(settings(pg_database, tmp_path), work=False)
    client = TestClient(TestServer(web_app))
    await client.start_server()
    try:
        async with open_services(settings(pg_database, tmp_path), utcnow, web=False, work=True):
            service = WebService(client=client, clock=clock, db_path=tmp_path)
            chat = await service.open(secrets.token_hex(32))
            began = time.monotonic()
            await chat.until(lambda f: f["type"] == "line" and f["from"] == "bot", timeout=10)
            assert time.monotonic() - began < 3, "the greeting came by wake-up, not by a 30 s poll"
            for answer in INTAKE[:3]:
                sent = await chat.say(answer)
                await chat.acked(sent)
                began = time.monotonic()
                await chat.bot_line_after(chat.last_seq)
                assert time.monotonic() - began < 3
    finally:
        await client.close()


async def test_a_counselor_signed_in_on_one_web_instance_is_signed_in_on_another(pg_database, tmp_path):
    db = await open_database(pg_database)
    await DeskUsers(db, scrypt_n=2**10).add("ibasho-24", "あおい", PASSWORD, now=utcnow())
    await db.close()
    servers = [TestClient(TestServer(create_app(settings(pg_database, tmp_path), work=False))) for _ in range(2)]
    for server in servers:
        await server.start_server()
    try:
        first = Counselor(session=servers[0].session, base=str(servers[0].make_url("/")).rstrip("/"))
        assert (await first.sign_in("ibasho-24", "あおい")).status == 200
        cookie = servers[0].session.cookie_jar.filter_cookies(servers[0].make_url("/desk"))["tsunagu_desk"].value
        response = await servers[1].get("/desk/api/me", cookies={"tsunagu_desk": cookie})
        assert response.status == 200 and (await response.json())["name"] == "あおい"
    finally:
        for server in servers:
            await server.close()
