"""「削除」 (issue 11): a person on the web chat, in conversation with a web desk counselor, erases
their data. The counselor sees the case closed as erased; nothing of the person reads from the
database, nor from a copy of its file taken before the erasure (crypto-shredding: their data key
is gone from the key store)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.app import SERVICES
from storage import DecryptError, Keyring
from storage.errors import ErasedValue
from storage.keystore import default_path
from tests.webdesk.conftest import intake

PERSON_SAID = "夫からの暴力のことで相談したいです-person-secret"
COUNSELOR_SAID = "話してくれてありがとう-counselor-secret"
NOTE = "内部メモ-note-secret"
NAMES = {"hikari": "あおい", "hoshi": "そら"}


def _backup(db_path: Path, to: Path) -> None:
    """A copy of the live database file as an operator's backup would take it (WAL included)."""
    source, target = sqlite3.connect(db_path), sqlite3.connect(to)
    source.backup(target)
    source.close()
    target.close()


def _values(db: Path, pseudonym: str) -> list[tuple[str, str, bytes]]:
    """Every encrypted value of the person in a database file: (table, token, associated data)."""
    conn = sqlite3.connect(db)
    found: list[tuple[str, str, bytes]] = []
    for channel, event_id, token in conn.execute(
            "SELECT channel, event_id, payload_enc FROM inbox WHERE pseudonym = ?", (pseudonym,)):
        found.append(("inbox", token, f"inbox|{channel}|{event_id}|{pseudonym}".encode()))
    for (token,) in conn.execute("SELECT state_enc FROM sessions WHERE pseudonym = ?", (pseudonym,)):
        found.append(("sessions", token, f"session|{pseudonym}".encode()))
    for channel, token in conn.execute(
            "SELECT channel, platform_user_id_enc FROM addresses WHERE pseudonym = ?", (pseudonym,)):
        found.append(("addresses", token, f"address|{channel}|{pseudonym}".encode()))
    for key, token in conn.execute("SELECT key, payload_enc FROM web_mailbox WHERE pseudonym = ?", (pseudonym,)):
        found.append(("web_mailbox", token, f"web_mailbox|{pseudonym}|{key}".encode()))
    for retry_key, token in conn.execute(
            "SELECT retry_key, payload_enc FROM outbox WHERE pseudonym = ?", (pseudonym,)):
        found.append(("outbox", token, f"outbox|{pseudonym}|{retry_key}".encode()))
    cases = [r[0] for r in conn.execute("SELECT id FROM cases WHERE pseudonym = ?", (pseudonym,))]
    for case_id in cases:
        (token,) = conn.execute("SELECT answers_enc FROM cases WHERE id = ?", (case_id,)).fetchone()
        found.append(("cases", token, f"case|{case_id}|answers".encode()))
        for source_key, token in conn.execute(
                "SELECT source_key, body_enc FROM case_messages WHERE case_id = ?", (case_id,)):
            found.append(("case_messages", token, f"case_message|{case_id}|{source_key}".encode()))
        for retry_key, token in conn.execute(
                "SELECT retry_key, payload_enc FROM outbox WHERE pseudonym = ?", (f"desk:{case_id}",)):
            found.append(("outbox", token, f"outbox|desk:{case_id}|{retry_key}".encode()))
    conn.close()
    return found


def _readable(keyring: Keyring, values: list[tuple[str, str, bytes]]) -> list[bytes]:
    out = []
    for _table, token, aad in values:
        try:
            out.append(keyring.decrypt(token, aad=aad))
        except DecryptError:
            pass
    return out


def _current_keyring(tmp: Path) -> Keyring:
    """The key file and key store as they are now, opened afresh (another process, later)."""
    keyring = Keyring.load(tmp / "tsunagu.key")
    keyring.attach(default_path(tmp / "tsunagu.key"))
    return keyring


async def test_erasure_on_the_web_chat_closes_the_case_and_holds_in_an_older_copy(desk_service, counselors,
                                                                                   tmp_path):
    service = desk_service
    staff = {}
    for org, name in NAMES.items():
        c = counselors()
        assert (await c.sign_in(org, name)).status == 200
        assert (await c.post("/desk/api/duty", {"on": True})).status == 200
        staff[org] = c
    chat, case = await intake(service)
    c = staff[case.org_id]
    assert (await c.post(f"/desk/api/cases/{case.id}/accept")).status == 200
    assert (await c.post(f"/desk/api/cases/{case.id}/say", {"text": COUNSELOR_SAID})).status == 200
    assert (await c.post(f"/desk/api/cases/{case.id}/note", {"text": NOTE})).status == 200
    await chat.acked(await chat.say(PERSON_SAID))
    await service.settle()
    pseudonym = case.pseudonym

    backup = tmp_path / "backup-before-erasure.db"
    _backup(service.db_path, backup)
    before = _values(backup, pseudonym)
    assert {t for t, _, _ in before} >= {"inbox", "sessions", "addresses", "web_mailbox", "cases", "case_messages"}
    live = service.app[SERVICES].keyring
    readable = _readable(live, before)
    assert len(readable) == len(before), "before the erasure, the copy reads (the control)"
    assert any(PERSON_SAID.encode() in v for v in readable) and any(NOTE.encode() in v for v in readable)

    # 「削除」: the bot says what will go and asks, with buttons; the person taps yes.
    seen = chat.last_seq
    await chat.acked(await chat.say("削除"))
    asked = await chat.until(lambda f: f["type"] == "line" and f["from"] == "bot" and f["seq"] > seen
                             and any(m["choices"] for m in f["messages"]))
    question = asked["messages"][-1]
    # In the conversation's language only (Japanese here), as every message to a person.
    assert "削除" in question["text"] and "Erase your data" not in question["text"]
    assert [ch["label"] for ch in question["choices"]] == ["削除する / Erase", "削除しない / Keep"]
    seen = chat.last_seq
    await chat.acked(await chat.say("削除する / Erase"))
    goodbye = await chat.bot_line_after(seen)
    assert "削除しました" in goodbye["messages"][0]["text"] and "erased" not in goodbye["messages"][0]["text"]
    await service.settle()

    # The counselor: the case is closed as erased, and none of its messages or notes are left.
    cases = service.app[SERVICES].desk.cases
    closed = await cases.case(case.id)
    assert closed is not None and closed.status == "closed" and closed.outcome == "erased"
    assert closed.pseudonym == "" and dict(closed.answers) == {"topics": ["loneliness"]}
    assert await cases.messages(case.id) == []
    history = await (await c.get(f"/desk/api/history/{case.id}")).json()
    assert history["case"]["outcome"] == "相談者がデータを削除 / person erased their data"
    assert history["messages"] == []
    assert (await c.get(f"/desk/api/cases/{case.id}")).status == 404
    # The audit trail records the erasure as the person's own act, for the partner, and still verifies.
    audit = service.app[SERVICES].audit
    [erased] = [e for e in await audit.entries(case_id=case.id) if e.action == "erase"]
    assert (erased.actor, erased.front, erased.org_id) == ("person", "web", case.org_id)
    assert (await audit.verify())[1] is None

    # The older copy, opened with the key file and key store as they are now, reads nothing of them.
    later = _current_keyring(service.db_path.parent)
    for _table, token, aad in before:
        with pytest.raises(ErasedValue):
            later.decrypt(token, aad=aad)
    # ...and the live database holds nothing of theirs but the goodbye, its address and the timer
    # that erases those too.
    left = {t for t, _, _ in _values(service.db_path, pseudonym)}
    assert left <= {"sessions", "addresses", "outbox", "web_mailbox"}
    assert not [v for v in _readable(later, _values(service.db_path, pseudonym)) if PERSON_SAID.encode() in v]

    service.clock.advance(minutes=11)
    await service.settle()
    assert _values(service.db_path, pseudonym) == []
    conn = sqlite3.connect(service.db_path)
    for table in ("addresses", "sessions", "inbox", "outbox", "web_mailbox", "risk_marks", "follow_ups", "cases"):
        assert conn.execute(f"SELECT COUNT(*) FROM {table} WHERE pseudonym = ?", (pseudonym,)).fetchone() == (0,)
    conn.close()
