"""「削除」 on LINE (issue 11): asked with quick-reply buttons, erased on yes, kept on no; after the
goodbye, the address (the LINE user id, encrypted) goes too."""

from __future__ import annotations

import sqlite3

from bot.app import SERVICES
from tests.bot.conftest import event

USER = "U77aa0c3e5b7d2468ace13579bdf02468"


def _rows(service, pseudonym: str) -> dict[str, int]:
    conn = sqlite3.connect(service.db_path)
    found = {t: conn.execute(f"SELECT COUNT(*) FROM {t} WHERE pseudonym = ?", (pseudonym,)).fetchone()[0]
             for t in ("addresses", "sessions", "inbox", "outbox")}
    conn.close()
    return found


async def test_erase_on_line_asks_then_erases_everything(service):
    keyring = service.client.server.app[SERVICES].keyring
    pseudonym = keyring.pseudonym("line", USER)
    for text in ("こんにちは", "はい"):
        await service.send(event(text=text, user=USER))
        await service.settle()
    assert _rows(service, pseudonym)["addresses"] == 1

    await service.send(event(text="データを消して", user=USER))
    await service.settle()
    asked = service.line.calls[-1]
    assert asked.kind == "reply"
    question = asked.messages[-1]
    assert "データを削除しますか" in question["text"] and "Erase your data?" not in question["text"]
    labels = [item["action"]["label"] for item in question["quickReply"]["items"]]
    assert labels == ["削除する / Erase", "削除しない / Keep"]

    await service.send(event(text="削除する / Erase", user=USER))
    await service.settle()
    done = service.line.calls[-1]
    assert done.kind == "reply" and "削除しました" in done.texts[0] and "erased" not in done.texts[0]
    assert _rows(service, pseudonym)["inbox"] == 0

    service.clock.advance(minutes=11)
    await service.settle()
    assert _rows(service, pseudonym) == {"addresses": 0, "sessions": 0, "inbox": 0, "outbox": 0}


async def test_no_keeps_everything_and_the_conversation_goes_on(service):
    keyring = service.client.server.app[SERVICES].keyring
    pseudonym = keyring.pseudonym("line", USER)
    for text in ("こんにちは", "はい"):
        await service.send(event(text=text, user=USER))
        await service.settle()
    assert "どんなことで相談したいですか" in service.line.calls[-1].texts[-1]
    await service.send(event(text="delete my data", user=USER))
    await service.settle()
    await service.send(event(text="削除しない / Keep", user=USER))
    await service.settle()
    assert "削除はしませんでした" in service.line.calls[-1].texts[0]
    assert _rows(service, pseudonym)["addresses"] == 1
    # the intake is where it was: the topics question takes the answer (no new welcome)
    await service.send(event(text="孤独・孤立", user=USER))
    await service.settle()
    after = " ".join(service.line.calls[-1].texts)
    assert "孤独・孤立" in after and "こんにちは" not in after
    assert _rows(service, pseudonym)["sessions"] == 1


async def test_erase_speaks_the_conversations_language(service):
    user = "U0ENGLISH000000000000000000000001"
    for text in ("hello", "English"):
        await service.send(event(text=text, user=user))
        await service.settle()
    await service.send(event(text="delete my data", user=user))
    await service.settle()
    question = service.line.calls[-1].messages[-1]
    assert "Erase your data?" in question["text"] and "データを削除しますか" not in question["text"]
    await service.send(event(text="Keep", user=user))
    await service.settle()
    assert service.line.calls[-1].texts[0] == "Nothing was erased. You can carry on."
