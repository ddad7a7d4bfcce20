"""A running Tsunagu (no LINE, no Slack) whose directory has web-desk partners open at all hours,
with counselor accounts created before it starts; a counselor client with its own cookie jar."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import SERVICES, create_app
from storage import open_database
from storage.desk_users import DeskUsers
from tests.fakes.clock import START, Clock
from tests.web.conftest import INTAKE, WebService, web_settings

DIRECTORY = """\
timezone: Asia/Tokyo
organizations:
  - id: hikari
    name: ひかり相談室
    name_en: Hikari Counselling
    topics: [loneliness, suicide, family, other]
    regions: [all]
    languages: [ja, en]
    out_of_area: true
    capacity: 5
    desk: {web: true}
    hours: [{days: daily, from: "00:00", to: "24:00"}]
  - id: hoshi
    name: ほし窓口
    name_en: Hoshi Desk
    topics: [loneliness, suicide, family, other]
    regions: [all]
    languages: [ja, en]
    out_of_area: true
    capacity: 5
    desk: {web: true}
    hours: [{days: daily, from: "00:00", to: "24:00"}]
"""

PASSWORD = "correct horse battery"
USERS = [("hikari", "あおい"), ("hikari", "みどり"), ("hoshi", "そら")]


@dataclass
class Counselor:
    """One browser of a counselor: its own cookies, and the CSRF token from sign-in."""

    session: aiohttp.ClientSession
    base: str
    csrf: str | None = None
    me: dict = field(default_factory=dict)

    async def sign_in(self, org: str, name: str, password: str = PASSWORD) -> aiohttp.ClientResponse:
        response = await self.session.post(self.base + "/desk/api/signin",
                                           json={"org": org, "name": name, "password": password})
        if response.status == 200:
            self.me = await response.json()
            self.csrf = self.me["csrf"]
        return response

    async def get(self, path: str) -> aiohttp.ClientResponse:
        return await self.session.get(self.base + path)

    async def post(self, path: str, body: dict | None = None, *, csrf: bool = True) -> aiohttp.ClientResponse:
        headers = {"X-CSRF-Token": self.csrf or ""} if csrf else {}
        return await self.session.post(self.base + path, json=body or {}, headers=headers)

    async def queue(self) -> dict:
        response = await self.get("/desk/api/cases")
        assert response.status == 200, response.status
        return await response.json()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def desk_service(tmp_path, clock):
    directory = tmp_path / "directory.yaml"
    directory.write_text(DIRECTORY, encoding="utf-8")
    settings = web_settings(tmp_path, directory=directory, desk_poll_seconds=0.2)
    db = await open_database(settings.database_url)
    users = DeskUsers(db, scrypt_n=2**10)  # cheap hashes for tests; the stored parameters say so
    for org, name in USERS:
        await users.add(org, name, PASSWORD, now=START)
    await db.close()
    app = create_app(settings, clock=clock)
    client = TestClient(TestServer(app))
    await client.start_server()
    service = WebService(client=client, clock=clock, db_path=tmp_path / "tsunagu.db")
    await service.on_duty("hikari", "hoshi")  # a colleague is on duty at each partner
    yield service
    await client.close()


@pytest.fixture
async def counselors(desk_service):
    """A factory of counselor clients, each with its own cookie jar."""
    sessions: list[aiohttp.ClientSession] = []
    base = str(desk_service.client.make_url("/")).rstrip("/")

    def make() -> Counselor:
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        sessions.append(session)
        return Counselor(session=session, base=base)

    yield make
    for session in sessions:
        await session.close()


async def intake(service: WebService, token: str | None = None):
    """A person completes the intake on /chat; returns their open chat and their queued case."""
    chat = await service.open(token or secrets.token_hex(32))
    await chat.until(lambda f: f["type"] == "line" and f["from"] == "bot")
    for answer in INTAKE:
        sent = await chat.say(answer)
        await chat.acked(sent)
        await chat.bot_line_after(chat.last_seq)
    await service.settle()
    cases = service.app[SERVICES].desk.cases
    for _ in range(100):
        queued = await cases.queued()
        if queued:
            return chat, queued[-1]
        await asyncio.sleep(0.02)
    raise AssertionError("no case was queued")

