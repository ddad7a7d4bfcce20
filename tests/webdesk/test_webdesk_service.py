"""The desk in a service without Slack: web-desk partners get cases with no Slack card, and the
embedded defaults create a demo counselor for the example directory's web-desk partner once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.app import SERVICES
from bot.desk import Desk, notices
from bot.settings import Settings
from bot.webdesk.mount import create_demo_user, on_embedded_defaults
from routing import example_directory_path, load_directory
from storage import open_database
from storage.desk_users import DeskUsers
from storage.presence import Presence
from storage.tables import OutboxRow
from tests.fakes.clock import START
from tests.webdesk.conftest import intake


async def test_a_case_for_a_web_desk_partner_has_no_slack_card(desk_service):
    port = desk_service.app[SERVICES].port
    assert await port.staffing.staffed() and isinstance(port.desk, Desk), "a desk account exists: it takes handoffs"
    _, case = await intake(desk_service)
    assert case.org_id in ("hikari", "hoshi")
    cards = await desk_service.app[SERVICES].desk.cases.cards(case.id)
    assert [(c.org_id, c.slack_channel, c.state) for c in cards] == [(case.org_id, "", "open")]
    await desk_service.settle()
    outbox = OutboxRow.__table__
    async with desk_service.app[SERVICES].database.read() as conn:
        rows = (await conn.execute(select(outbox.c.status, outbox.c.error).where(
            outbox.c.channel == notices.CHANNEL))).all()
    assert rows, "the desk told its front ends about the new card"
    assert {tuple(r) for r in rows} == {("sent", None)}, "a web-desk card's notices need no delivery"


def test_only_the_embedded_defaults_count_as_the_demo(tmp_path):
    assert on_embedded_defaults(Settings())
    assert not on_embedded_defaults(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"))
    assert not on_embedded_defaults(Settings(directory=tmp_path / "directory.yaml"))


async def test_the_demo_counselor_is_created_at_the_examples_web_desk_partner(tmp_path, capsys):
    db = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    users = DeskUsers(db, scrypt_n=2**10)
    presence = Presence(db)
    org, name, password = await create_demo_user(users, load_directory(example_directory_path()), now=START,
                                                 presence=presence)
    directory = load_directory(example_directory_path())
    assert directory.get(org).desk.web and name == "demo"
    printed = capsys.readouterr().err
    assert password in printed and "/desk" in printed
    signed = await users.sign_in(org, name, password, address="127.0.0.1", now=START)
    assert signed is not None and signed[0].org_id == org
    # On duty from the start and with no end, so the demo connects a person at any hour.
    assert "on duty now" in printed
    assert await presence.counts(START + timedelta(days=365)) == {org: 1}
    await db.close()


async def test_the_person_is_thanked_before_being_told_their_place_in_the_queue(desk_service):
    chat, case = await intake(desk_service)
    for part in ("1番目", "答えてくれてありがとう"):
        if not any(part in t for t in chat.bot_texts):
            await chat.until(lambda f, part=part: f["type"] == "line" and any(part in m["text"] for m in f["messages"]))
    texts = chat.bot_texts
    thanks = next(i for i, t in enumerate(texts) if t.startswith("答えてくれてありがとう"))
    queued = next(i for i, t in enumerate(texts) if "1番目" in t)
    assert thanks < queued, texts[-3:]
