"""The database file never holds the browser's token or what the person wrote, in the clear,
and the log never carries either."""

from __future__ import annotations

from tests.web.conftest import INTAKE

FREE_TEXT = "夜になると誰にも言えない気持ちで苦しくなります"


async def test_token_and_free_text_are_in_neither_the_sqlite_file_nor_the_log(web_service, caplog):
    caplog.set_level("DEBUG")
    chat = await web_service.open()
    await chat.until(lambda f: f["type"] == "line")
    for answer in [*INTAKE, FREE_TEXT]:
        sent = await chat.say(answer)
        await chat.acked(sent)
        await chat.bot_line_after(chat.last_seq)
    await web_service.settle()
    assert any(FREE_TEXT == f["messages"][0]["text"] for f in chat.lines if f["from"] == "person")

    raw = b"".join(p.read_bytes() for p in web_service.db_path.parent.iterdir()
                   if p.name.startswith(web_service.db_path.name))
    assert len(raw) > 10_000
    for secret in (chat.token, FREE_TEXT, "相談員につなぐ準備をしています"):  # the last: a bot reply
        assert secret.encode() not in raw, f"{secret[:12]!r}... found in the database file"
    assert caplog.text, "the service logged something to check"
    for secret in (chat.token, FREE_TEXT):
        assert secret not in caplog.text


async def test_the_privacy_page_says_this_services_retention_periods(tmp_path, clock):
    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import create_app
    from tests.web.conftest import web_settings

    settings = web_settings(tmp_path, retention_case_days=0, retention_web_chat_days=14, retention_address_days=90)
    client = TestClient(TestServer(create_app(settings, clock=clock)))
    await client.start_server()
    try:
        response = await client.get("/chat/privacy")
        assert response.status == 200 and response.headers["Content-Security-Policy"].startswith("default-src 'none'")
        page = await response.text()
        assert "14日 / 14 days" in page  # web chat lines, as set here
        assert "相談の終了時にすぐ削除 / erased as the consultation ends" in page  # zero retention of cases
        assert "90日" in page and "30日 / 30 days" in page  # addresses; the queue's default
        chat = await (await client.get("/chat")).text()
        assert 'id="erase"' in chat and 'href="chat/privacy"' in chat
        script = await (await client.get("/static/chat.js")).text()
        assert "決められた期間のあと消えます" not in script  # the old, untrue wording
        assert "この操作では消えません" in script and "does not erase what the service keeps" in script
    finally:
        await client.close()


async def test_the_erase_button_sends_what_a_person_would_type(web_service):
    """The page's button says 「削除」 over the socket; the bot answers with the question."""
    chat = await web_service.open()
    await chat.until(lambda f: f["type"] == "line")
    seen = chat.last_seq
    await chat.acked(await chat.say("削除"))
    asked = await chat.until(lambda f: f["type"] == "line" and f["from"] == "bot" and f["seq"] > seen)
    assert "データを削除しますか" in asked["messages"][-1]["text"]
    assert [c["label"] for c in asked["messages"][-1]["choices"]] == ["削除する / Erase", "削除しない / Keep"]
