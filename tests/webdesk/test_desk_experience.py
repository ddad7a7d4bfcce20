"""The web desk as a counselor meets it: answers in words in both languages, the partner's closed
cases found by handle, topic and date (only while retention keeps them, only its own), a
transfer list of partners that can take the case now, and what the page needs to notice news."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import SERVICES, create_app
from storage import open_database
from storage.desk_users import DeskUsers
from tests.fakes.clock import START
from tests.web.conftest import WebService, web_settings
from tests.webdesk.conftest import DIRECTORY, PASSWORD, USERS, intake

# Besides hikari and hoshi (open, with accounts): a web-only partner nobody can sign in to, and one
# with an account that is closed now. Neither can take a transfer.
MORE = """\
  - id: tsuki
    name: つき相談室
    topics: [loneliness, suicide, family, other]
    regions: [all]
    languages: [ja, en]
    out_of_area: true
    capacity: 5
    desk: {web: true}
    hours: [{days: daily, from: "00:00", to: "24:00"}]
  - id: asa
    name: あさの窓
    topics: [loneliness, suicide, family, other]
    regions: [all]
    languages: [ja, en]
    out_of_area: true
    capacity: 5
    desk: {web: true}
    hours: [{days: daily, from: "09:00", to: "10:00"}]
"""


@pytest.fixture
async def service(tmp_path, clock):
    directory = tmp_path / "directory.yaml"
    directory.write_text(DIRECTORY + MORE, encoding="utf-8")
    settings = web_settings(tmp_path, directory=directory, desk_poll_seconds=0.2)
    db = await open_database(settings.database_url)
    users = DeskUsers(db, scrypt_n=2**10)
    for org, name in [*USERS, ("asa", "あさひ")]:
        await users.add(org, name, PASSWORD, now=START)
    await db.close()
    client = TestClient(TestServer(create_app(settings, clock=clock)))
    await client.start_server()
    service = WebService(client=client, clock=clock, db_path=tmp_path / "tsunagu.db")
    await service.on_duty("hikari", "hoshi", "asa")  # tsuki: nobody on duty (nor any account)
    yield service
    await client.close()


@pytest.fixture
async def counselor(service):
    import aiohttp

    from tests.webdesk.conftest import Counselor

    sessions = []

    def make():
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        sessions.append(session)
        return Counselor(session=session, base=str(service.client.make_url("/")).rstrip("/"))

    yield make
    for session in sessions:
        await session.close()


NAMES = {"hikari": "あおい", "hoshi": "そら"}


async def accepted(service, counselor):
    chat, case = await intake(service)
    c = counselor()
    assert (await c.sign_in(case.org_id, NAMES[case.org_id])).status == 200
    assert (await c.post(f"/desk/api/cases/{case.id}/accept")).status == 200
    return chat, case, c


async def test_the_summary_is_in_words_in_both_languages(service, counselor):
    _, case, c = await accepted(service, counselor)
    data = await (await c.get(f"/desk/api/cases/{case.id}")).json()
    summary = data["case"]
    answers = dict(summary["answers"])
    assert summary["topics"] == "孤独・孤立 / Loneliness and isolation"
    assert answers["年代 / Age"] == "19〜29歳 / 19–29"
    assert answers["命の危険 / Danger now"] == "いいえ / no"
    assert answers["言語 / Language"] == "日本語 / Japanese"
    assert summary["language"] == "日本語 / Japanese"
    assert not {"19_29", "no", "ja", "30s"} & set(answers.values())


async def test_transfer_lists_only_partners_that_can_take_the_case_now(service, counselor):
    _, case, c = await accepted(service, counselor)
    data = await (await c.get(f"/desk/api/cases/{case.id}")).json()
    other = {"hikari": "hoshi", "hoshi": "hikari"}[case.org_id]
    assert [t["id"] for t in data["transfer_to"]] == [other], "not tsuki (no account) nor asa (closed now)"
    refused = await c.post(f"/desk/api/cases/{case.id}/transfer", {"to": "tsuki"})
    assert refused.status == 409 and (await refused.json())["error"] == "no_transfer"
    assert (await c.post(f"/desk/api/cases/{case.id}/transfer", {"to": other})).status == 200


async def test_the_queue_says_when_a_person_wrote(service, counselor):
    chat, case, c = await accepted(service, counselor)
    [listed] = (await c.queue())["active"]
    before = listed["last_person_id"]
    await chat.acked(await chat.say("聞いてほしいことがあります"))
    await service.settle()
    [listed] = (await c.queue())["active"]
    assert listed["last_person_id"] > before


async def close(c, case_id: int) -> None:
    assert (await c.post(f"/desk/api/cases/{case_id}/close", {"outcome": "resolved"})).status == 200


async def test_closed_cases_are_found_by_handle_topic_and_date_and_read(service, counselor, clock):
    chat, case, c = await accepted(service, counselor)
    await chat.acked(await chat.say("ありがとうございました"))
    await service.settle()
    await close(c, case.id)
    history = await (await c.get("/desk/api/history")).json()
    assert [x["id"] for x in history["cases"]] == [case.id]
    found = history["cases"][0]
    assert found["status"] == "closed" and found["outcome"] == "解決 / resolved" and found["closed_at"]
    assert {"id": "dv", "label": "DV・パートナーからの暴力 / Domestic and partner violence"} in history["topics"]
    handle = case.handle
    for query in (f"handle={handle}", f"handle={handle.lower().replace('-', '')}", "topic=loneliness",
                  f"from={clock().date()}&to={clock().date()}"):
        assert [x["id"] for x in (await (await c.get(f"/desk/api/history?{query}")).json())["cases"]] == [case.id]
    for query in ("handle=ZZ-ZZ", "topic=dv", f"from={(clock() + timedelta(days=2)).date()}"):
        assert (await (await c.get(f"/desk/api/history?{query}")).json())["cases"] == []
    for query in ("topic=nope", "from=yesterday"):
        assert (await c.get(f"/desk/api/history?{query}")).status == 400
    read = await (await c.get(f"/desk/api/history/{case.id}")).json()
    assert read["case"]["id"] == case.id and "transfer_to" not in read
    assert [m["text"] for m in read["messages"] if m["from"] == "person"] == ["ありがとうございました"]
    # nothing can be done to it any more
    assert (await c.post(f"/desk/api/cases/{case.id}/say", {"text": "x", "id": secrets.token_hex(8)})).status == 404


async def test_history_is_the_partners_own_and_ends_with_the_retention_period(service, counselor, clock):
    _, case, c = await accepted(service, counselor)
    await close(c, case.id)
    other_org = {"hikari": "hoshi", "hoshi": "hikari"}[case.org_id]
    stranger = counselor()
    assert (await stranger.sign_in(other_org, NAMES[other_org])).status == 200
    assert (await (await stranger.get("/desk/api/history")).json())["cases"] == []
    assert (await stranger.get(f"/desk/api/history/{case.id}")).status == 404
    retention = service.app[SERVICES].settings.retention_days
    clock.advance(days=retention, minutes=1)
    assert (await c.sign_in(case.org_id, NAMES[case.org_id])).status == 200  # the old session has expired
    assert (await (await c.get("/desk/api/history")).json())["cases"] == []
    assert (await c.get(f"/desk/api/history/{case.id}")).status == 404


async def test_the_history_and_a_closed_case_need_a_session(service):
    assert (await service.client.get("/desk/api/history")).status == 401
    assert (await service.client.get("/desk/api/history/1")).status == 401
