"""GET /chat/ws: the WebSocket protocol as the chat page speaks it, on an app with no LINE or
Slack credentials at all."""

from __future__ import annotations

import json

import aiohttp

from bot.app import SERVICES
from tests.web.conftest import INTAKE, client_id


async def _inbox_total(service) -> int:
    return (await service.app[SERVICES].store.counts())["inbox_total"]


async def test_the_greeting_comes_unasked_and_the_intake_completes(web_service):
    chat = await web_service.open()
    greeting = await chat.until(lambda f: f["type"] == "line")
    assert greeting["seq"] == 1 and greeting["from"] == "bot"
    assert "無料" in greeting["messages"][0]["text"]
    assert [c["label"] for c in greeting["messages"][-1]["choices"]] == ["はい", "いいえ"]
    for answer in INTAKE:
        sent = await chat.say(answer)
        await chat.acked(sent)
        await chat.bot_line_after(chat.last_seq)
    assert "相談員を探します" in chat.bot_texts[-1]
    rendered = web_service.app[SERVICES].metrics.render().decode()
    assert 'tsunagu_handoffs_total{channel="web"} 1.0' in rendered
    # the person's own lines come back numbered too, between the bot's
    mine = [f for f in chat.lines if f["from"] == "person"]
    assert [f["messages"][0]["text"] for f in mine] == INTAKE


async def test_a_resend_after_a_reconnect_is_stored_once_and_answered_once(web_service):
    chat = await web_service.open()
    await chat.until(lambda f: f["type"] == "line")
    same = client_id()
    await chat.say("はい", id=same)
    await chat.acked(same)
    await chat.close()
    await web_service.settle()
    before = await _inbox_total(web_service)

    again = await web_service.open(chat.token, last_seq=1)  # the page had only the greeting
    await again.say("はい", id=same)  # the page did not see the ack, so it sends again
    await again.acked(same)
    await web_service.settle()
    assert await _inbox_total(web_service) == before == 2  # the opening and the one message
    await again.until(lambda f: f["type"] == "line" and f["seq"] == 3)
    assert [f["from"] for f in again.lines] == ["person", "bot"], "no line repeated"


async def test_the_mailbox_replays_what_a_closed_page_missed(web_service):
    chat = await web_service.open()
    await chat.until(lambda f: f["type"] == "line")
    for answer in INTAKE[:3]:
        sent = await chat.say(answer)
        await chat.acked(sent)
        await chat.bot_line_after(chat.last_seq)
    seen = chat.last_seq
    sent = await chat.say(INTAKE[3])
    await chat.acked(sent)
    await chat.close()  # gone before the answer is delivered
    await web_service.settle()
    box = web_service.app[SERVICES].web_mailbox
    assert await box.last_seq(next(iter(await _pseudonyms(web_service)))) > seen + 1

    back = await web_service.open(chat.token, last_seq=seen)
    missed = await back.bot_line_after(seen)  # `until` fails on any gap or repeat in seq
    assert missed["seq"] == seen + 2 and "地域" in missed["messages"][0]["text"]

    reloaded = await web_service.open(chat.token)  # a reloaded page starts from nothing
    await reloaded.until(lambda f: f["type"] == "line" and f["seq"] == missed["seq"])
    assert len(reloaded.lines) == missed["seq"]


async def _pseudonyms(service) -> set[str]:
    from sqlalchemy import text

    async with service.app[SERVICES].store._db.read() as conn:
        return {r[0] for r in await conn.execute(text("SELECT pseudonym FROM web_mailbox"))}


async def test_a_frame_over_the_size_limit_is_refused_and_the_socket_closed(web_service):
    chat = await web_service.open()
    await chat.until(lambda f: f["type"] == "line")
    before = await _inbox_total(web_service)
    await chat.ws.send_str(json.dumps({"type": "say", "id": client_id(), "text": "あ" * 1400}))  # ~4.2 KB
    msg = await chat.ws.receive(timeout=5)
    while msg.type == aiohttp.WSMsgType.TEXT:
        msg = await chat.ws.receive(timeout=5)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert chat.ws.close_code == 1009
    await web_service.settle()
    assert await _inbox_total(web_service) == before


async def test_a_text_over_the_length_limit_is_refused_but_the_socket_stays(web_service):
    chat = await web_service.open()
    await chat.until(lambda f: f["type"] == "line")
    too_long = await chat.say("a" * 1001)
    error = await chat.until(lambda f: f["type"] == "error")
    assert error == {"type": "error", "code": "too-long", "id": too_long}
    fine = await chat.say("はい")
    await chat.acked(fine)


async def test_a_socket_without_a_valid_hello_is_closed(web_service):
    for first in ({"type": "say", "id": client_id(), "text": "hi"}, {"type": "hello", "token": "short"}, "nonsense"):
        ws = await web_service.client.ws_connect("/chat/ws")
        await ws.send_str(first if isinstance(first, str) else json.dumps(first))
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 4400, first
        await ws.close()
    assert await _inbox_total(web_service) == 0


async def test_html_in_a_message_comes_back_as_the_same_characters(web_service):
    chat = await web_service.open()
    await chat.until(lambda f: f["type"] == "line")
    html = '<img src=x onerror="document.title=\'owned\'"><script>alert(1)</script>'
    sent = await chat.say(html)
    await chat.acked(sent)
    line = await chat.until(lambda f: f["type"] == "line" and f.get("id") == sent)
    assert line["messages"][0]["text"] == html  # data, not markup: the page shows it with textContent


async def test_two_pages_of_one_person_both_see_the_conversation(web_service):
    first = await web_service.open()
    await first.until(lambda f: f["type"] == "line")
    second = await web_service.open(first.token, last_seq=1)
    sent = await first.say("はい")
    await first.acked(sent)
    await second.until(lambda f: f["type"] == "line" and f.get("id") == sent)
    await second.bot_line_after(2)
    await first.bot_line_after(2)


async def test_the_page_is_served_without_cookies_or_outside_requests(web_service):
    page = await web_service.client.get("/chat")
    assert page.status == 200 and page.content_type == "text/html"
    html = await page.text()
    assert 'aria-live="polite"' in html and '<label for="text"' in html and 'lang="ja"' in html
    assert "Set-Cookie" not in page.headers
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    for name in ("chat.js", "chat.css", "embed.js"):
        asset = await web_service.client.get(f"/static/{name}")
        assert asset.status == 200, name
        body = await asset.text()
        assert "http://" not in body and "https://" not in body.replace("https://tsunagu.example.org", ""), name
        assert "innerHTML" not in body.replace("never innerHTML", ""), name
