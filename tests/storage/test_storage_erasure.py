"""erase_person (issue 11) on both backends: every row linked to the pseudonym goes, the cases
become anonymous records and an open one is closed as erased; other people are untouched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from storage import CaseStore, Database, Keyring, NewEvent, Store, WebMailbox, erasure
from storage.cases import NewCard, handle_for
from storage.keystore import default_path
from tests.backends import Backend

T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


async def _rows(db: Database, pseudonym: str) -> dict[str, int]:
    found = {}
    async with db.read() as conn:
        for table in ("addresses", "inbox", "outbox", "web_mailbox", "risk_marks", "follow_ups", "cases"):
            found[table] = int((await conn.execute(
                text(f"SELECT COUNT(*) FROM {table} WHERE pseudonym = :p"), {"p": pseudonym})).scalar_one())
    return found


async def _person(store: Store, cases: CaseStore, mailbox: WebMailbox, who: str) -> tuple[int, int]:
    await store.remember_address(channel="line", pseudonym=who, platform_user_id=f"U-{who}", now=T0)
    await store.accept_events([NewEvent("line", f"ev-{who}", who, b"hello", T0)])
    await mailbox.append(who, b"line", key=f"mb-{who}", now=T0)
    await cases.mark_risk(who, weights={"死にたい": 3}, now=T0)
    closed = await cases.open_case(
        pseudonym=who, channel="line", answers={"topics": ["suicide"]}, urgent=False, language="ja",
        share_consent=True, priority=0, risk_words=[], org_id="alpha", candidates=["alpha"],
        card=NewCard("alpha", "C0ALPHA"), now=T0)
    await cases.record(closed.id, direction="person", text="前の相談", source_key=f"a-{who}", now=T0)
    await cases.transition(closed.id, expect_status=("queued",), values={"status": "closed", "outcome": "resolved",
                                                                        "closed_at": T0},
                           followup_days=7, now=T0)
    opened = await cases.open_case(
        pseudonym=who, channel="line", answers={"topics": ["dv"], "prefecture": "13"}, urgent=False,
        language="ja", share_consent=False, priority=0, risk_words=["殴られ"], org_id="alpha",
        candidates=["alpha"], card=NewCard("alpha", "C0ALPHA"), now=T0 + timedelta(days=1))
    await cases.record(opened.id, direction="note", text="メモ", source_key=f"n-{who}", now=T0)
    return closed.id, opened.id


async def test_erase_person_removes_everything_of_theirs_and_nothing_else(backend: Backend, tmp_path: Path) -> None:
    db = await backend.open()
    keyring = Keyring.generate()
    keyring.attach(default_path(tmp_path / "k.key"))
    store, cases, mailbox = Store(db, keyring), CaseStore(db, keyring), WebMailbox(db, keyring)
    closed_id, open_id = await _person(store, cases, mailbox, "alice")
    await _person(store, cases, mailbox, "bob")

    async with db.write() as conn:
        told = await erasure.erase_person(conn, keyring, "alice", now=T0 + timedelta(days=2))
    assert told == [open_id]
    left = await _rows(db, "alice")
    assert left == {"addresses": 0, "inbox": 0, "outbox": 0, "web_mailbox": 1, "risk_marks": 0,
                    "follow_ups": 0, "cases": 0}  # web_mailbox: the empty line holding the page's place
    assert [m.payload for m in await mailbox.since("alice", 0)] == [b'{"from": "bot", "messages": [], "at": "'
                                                                    + (T0 + timedelta(days=2)).isoformat().encode()
                                                                    + b'"}']
    for case_id in (closed_id, open_id):
        case = await cases.case(case_id)
        assert case is not None and case.pseudonym == "" and case.status == "closed" and case.risk_words == ()
        # the handle was an HMAC of the pseudonym: recomputable from a platform id; now random
        assert case.handle != handle_for(keyring, "alice", case_id) and len(case.handle) == 5
        assert await cases.messages(case_id) == []
    was_open = await cases.case(open_id)
    assert was_open is not None and was_open.outcome == "erased" and dict(was_open.answers) == {"topics": ["dv"]}
    assert (await cases.case(closed_id)).outcome == "resolved"  # type: ignore[union-attr]
    assert await _rows(db, "bob") == {"addresses": 1, "inbox": 1, "outbox": 0, "web_mailbox": 1, "risk_marks": 1,
                                      "follow_ups": 1, "cases": 2}
    assert await store.address_of("bob") == ("line", "U-bob")


async def test_an_event_whose_key_was_destroyed_is_a_dead_letter_not_a_stuck_queue(backend: Backend,
                                                                                  tmp_path: Path) -> None:
    from storage.work import WorkQueue

    db = await backend.open()
    keyring = Keyring.generate()
    keyring.attach(default_path(tmp_path / "k.key"))
    store = Store(db, keyring)
    await store.accept_events([NewEvent("line", "e-gone", "gone", b"x", T0), NewEvent("line", "e-ok", "ok", b"y", T0)])
    keyring.forget("gone")
    keyring.destroy_doomed()
    queue = WorkQueue(db, keyring)
    async with queue.claim(now=T0, limit=10) as work:
        assert [(i.pseudonym, i.payload) for i in work.items] == [("ok", b"y")]
    async with db.read() as conn:
        status = (await conn.execute(text("SELECT status, error FROM inbox WHERE event_id = 'e-gone'"))).one()
    assert tuple(status) == ("failed", "ErasedValue")
