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
