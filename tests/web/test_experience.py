"""What a person and an operator meet first: `/`, the chat greeting in the page's language, the
page's labels after a reload, one key-file warning, and desk accounts that work without a restart."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import bot.cli
import bot.serving
from bot.app import SERVICES, create_app
from tests.web.conftest import INTAKE, WebService, web_settings
from tests.webdesk.conftest import DIRECTORY, PASSWORD, Counselor


async def test_the_front_page_leads_to_the_chat_and_shows_the_desk_link(web_service):
    response = await web_service.client.get("/")
    assert response.status == 200
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    page = await response.text()
    assert 'href="chat"' in page and "相談をはじめる" in page
    assert 'href="desk"' in page and "相談員の方へ" in page
    assert page.index('href="chat"') < page.index('href="desk"')
    assert (await web_service.client.get("/static/index.css")).status == 200


async def _hello(service: WebService, *, lang: str | None, token: str | None = None, last_seq: int = 0):
    token = token or secrets.token_hex(32)
    ws = await service.client.ws_connect("/chat/ws")
    hello = {"type": "hello", "token": token, "last_seq": last_seq, **({"lang": lang} if lang else {})}
    await ws.send_str(json.dumps(hello))
    frames = []
    while True:
        frame = json.loads((await ws.receive(timeout=10)).data)
        frames.append(frame)
        if frame["type"] == "line" or (frame["type"] == "welcome" and last_seq):
            return ws, token, frames


async def test_the_greeting_follows_the_language_the_page_says(web_service):
    ws, _, frames = await _hello(web_service, lang="en")
    [line] = [f for f in frames if f["type"] == "line"]
    assert line["messages"][0]["text"].startswith("Hello, this is Tsunagu.")
    await ws.close()
    ws, _, frames = await _hello(web_service, lang="ja")
    assert [f for f in frames if f["type"] == "line"][0]["messages"][0]["text"].startswith("こんにちは")
    await ws.close()
    ws, _, frames = await _hello(web_service, lang="<script>")  # an odd hint is ignored, not refused
    assert [f for f in frames if f["type"] == "line"][0]["messages"][0]["text"].startswith("こんにちは")
    await ws.close()


async def test_a_reloaded_page_is_told_the_conversations_language(web_service):
    chat = await web_service.open()
    await chat.until(lambda f: f["type"] == "line" and f["from"] == "bot")
    assert (await chat.acked(await chat.say("English")))
    await chat.until(lambda f: f["type"] == "line" and "Is this all right" in json.dumps(f, ensure_ascii=False))
    await web_service.settle()
    await chat.close()
    ws, _, frames = await _hello(web_service, lang="ja", token=chat.token, last_seq=chat.last_seq)
    assert frames[0] == {"type": "welcome", "last_seq": chat.last_seq, "lang": "en"}
    await ws.close()


async def test_a_counselor_who_goes_on_duty_takes_handoffs_without_a_restart(tmp_path, clock):
    directory = tmp_path / "directory.yaml"
    directory.write_text(DIRECTORY, encoding="utf-8")
    app = create_app(web_settings(tmp_path, directory=directory), clock=clock)
    client = TestClient(TestServer(app))
    await client.start_server()
    service = WebService(client=client, clock=clock, db_path=tmp_path / "tsunagu.db")
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        services = app[SERVICES]

        async def complete_intake() -> None:
            chat = await service.open()
            await chat.until(lambda f: f["type"] == "line" and f["from"] == "bot")
            for answer in INTAKE:
                await chat.acked(await chat.say(answer))
                await chat.bot_line_after(chat.last_seq)
            await service.settle()
            await chat.close()

        async def queued_at(expected: list) -> None:
            for _ in range(250):
                await service.settle()
                found = [c.org_id for c in await services.desk.cases.queued()]
                if found == expected:
                    return
                await asyncio.sleep(0.02)
            raise AssertionError(f"queued at {found}, not {expected}")

        await complete_intake()
        assert await services.desk.cases.queued() == [], "no desk at all: nobody could see a case"
        await services.users.add("hikari", "あおい", PASSWORD, now=clock())  # as `tsunagu desk add-user` does
        await complete_intake()
        await queued_at([None])  # a desk now, but an account is not a counselor on duty: the case waits

        counselor = Counselor(session=session, base=str(client.make_url("/")).rstrip("/"))
        assert (await counselor.sign_in("hikari", "あおい")).status == 200
        assert counselor.me["duty"]["on"] is False
        assert (await counselor.post("/desk/api/duty", {"on": True})).status == 200
        await queued_at(["hikari"])  # the waiting case comes at once
    finally:
        await session.close()
        await client.close()


def test_the_key_file_warning_is_said_once(tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 't.db'}")
    monkeypatch.setenv("TSUNAGU_KEY_FILE", str(tmp_path / "new.key"))

    def run(app: web.Application, settings: object, **_: object) -> None:  # start and stop, as a quick serve would
        async def once() -> None:
            runner = web.AppRunner(app)
            await runner.setup()
            await runner.cleanup()

        asyncio.run(once())

    monkeypatch.setattr(bot.serving, "run", run)
    with caplog.at_level(logging.INFO):
        assert bot.cli.main(["serve", "--no-worker"]) == 0
    said = capsys.readouterr().err + "\n".join(r.getMessage() for r in caplog.records)
    assert said.count("key file") == 1, said
    assert (tmp_path / "new.key").exists()


@pytest.mark.parametrize("path", ["/chat", "/desk", "/"])
async def test_pages_are_served(web_service, path):
    assert (await web_service.client.get(path)).status == 200


@pytest.mark.parametrize("words", ["死にたい", "死にたい気持ち", "もう消えたい"])
async def test_a_risk_topic_brings_the_emergency_lines_and_keeps_the_question(web_service, words):
    # Emergency lines used to come last, with no buttons: the person was stuck at the topics question
    # (and typing 死にたい first got 「うまく受け取れませんでした」). This service has no desk at all
    # (no Slack, no account): the emergency lines never depend on one.
    assert not await web_service.app_services().port.staffing.staffed()
    chat = await web_service.open()
    await chat.until(lambda f: f["type"] == "line" and f["from"] == "bot")
    await chat.acked(await chat.say("はい"))
    seq = (await chat.bot_line_after(chat.last_seq))["seq"]
    await chat.acked(await chat.say(words))
    line = await chat.bot_line_after(seq)
    *_, lines, question = line["messages"]
    assert "110" in lines["text"] and "よりそいホットライン" in lines["text"] and not lines["choices"]
    assert question["text"].startswith("選んだもの：死にたい気持ち")
    assert "これで全部" in [c["label"] for c in question["choices"]]
    assert not any("うまく受け取れません" in m["text"] for m in line["messages"])
    await chat.acked(await chat.say("これで全部"))
    after = await chat.bot_line_after(line["seq"])
    assert after["messages"][-1]["text"] == "年代を教えてください。", "the person can go on"
    await chat.close()
