"""Retention for every kind of record (issue 11): a purge a year later leaves no case content,
message, note, card, follow-up or address of a closed case (the issue found 1,981 addresses and
every case still there), only anonymous records; what is still in use stays; zero retention
erases a case's content as it closes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from storage import CaseStore, Database, Keyring, NewEvent, Store, WebMailbox, erasure
from storage.audit import AuditLog
from storage.cases import NewCard
from storage.desk_users import DeskUsers
from storage.erasure import Retention
from storage.keystore import default_path
from tests.backends import Backend

T0 = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
PEOPLE = 40


async def _count(db: Database, sql: str) -> int:
    async with db.read() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def _a_closed_case(cases: CaseStore, store: Store, person: str, *, followup: bool, now: datetime) -> int:
    await store.remember_address(channel="line", pseudonym=person, platform_user_id=f"U{person}", now=now)
    case = await cases.open_case(
        pseudonym=person, channel="line", answers={"topics": ["dv", "family"], "age_band": "19_29", "prefecture": "13"},
        urgent=False, language="ja", share_consent=True, priority=0, risk_words=["死にたい"], org_id="alpha",
        candidates=["alpha"], card=NewCard("alpha", "C0ALPHA"), now=now)
    await cases.record(case.id, direction="person", text="夫に殴られた", source_key=f"in:{person}", now=now)
    await cases.record(case.id, direction="counselor", text="話してくれてありがとう", source_key=f"out:{person}", now=now)
    await cases.record(case.id, direction="note", text="内部メモ", source_key=f"note:{person}", now=now)
    await cases.transition(case.id, expect_status=("queued",), values={"status": "closed", "outcome": "resolved",
                                                                      "closed_at": now},
                           followup_days=7 if followup else None, now=now)
    return case.id


async def test_a_purge_a_year_later_leaves_only_anonymous_records(backend: Backend, tmp_path: Path) -> None:
    db = await backend.open()
    keyring = Keyring.generate()
    keyring.attach(default_path(tmp_path / "k.key"))
    store, cases, mailbox = Store(db, keyring), CaseStore(db, keyring), WebMailbox(db, keyring)
    for i in range(PEOPLE):
        await _a_closed_case(cases, store, f"p{i:03d}", followup=i % 2 == 0, now=T0)
    await mailbox.append("w1", b"line", key="k1", now=T0)
    await store.accept_events([NewEvent("line", "e1", "p000", b"payload", T0)])
    # Still in touch: a person with an open case keeps their address and case.
    await store.remember_address(channel="line", pseudonym="open1", platform_user_id="Uopen", now=T0)
    open_case = await cases.open_case(
        pseudonym="open1", channel="line", answers={"topics": ["money"]}, urgent=False, language="ja",
        share_consent=False, priority=0, risk_words=[], org_id="alpha", candidates=["alpha"],
        card=NewCard("alpha", "C0ALPHA"), now=T0)
    users = DeskUsers(db, scrypt_n=2**10)
    await users.add("alpha", "はな", "long enough password", now=T0)
    assert await users.sign_in("alpha", "はな", "long enough password", address="127.0.0.1", now=T0)
    assert await _count(db, "SELECT COUNT(*) FROM addresses") == PEOPLE + 1
    assert await _count(db, "SELECT COUNT(*) FROM follow_ups") == PEOPLE // 2

    counts = await erasure.purge(db, store, mailbox, keyring, Retention(), now=T0 + timedelta(days=365))

    assert await _count(db, "SELECT COUNT(*) FROM addresses") == 1  # open1's
    assert await _count(db, "SELECT COUNT(*) FROM case_messages") == 0
    assert await _count(db, "SELECT COUNT(*) FROM follow_ups") == 0
    assert await _count(db, f"SELECT COUNT(*) FROM case_cards WHERE case_id <> {open_case.id}") == 0
    assert await _count(db, "SELECT COUNT(*) FROM cases WHERE status = 'closed' AND (pseudonym <> '' "
                            "OR risk_enc IS NOT NULL)") == 0
    assert await _count(db, "SELECT COUNT(*) FROM outbox") == 0
    assert await _count(db, "SELECT COUNT(*) FROM web_mailbox") == 0
    assert await _count(db, "SELECT COUNT(*) FROM inbox WHERE status <> 'pending'") == 0
    assert await _count(db, "SELECT COUNT(*) FROM desk_sessions") == 0
    assert counts["cases"] == PEOPLE and counts["addresses"] == PEOPLE
    # What stays of each closed case is its anonymous record: topics, dates, partner, outcome.
    kept = [c for c in await cases.queued()] + [await cases.case(i) for i in range(1, PEOPLE + 2)]
    closed = [c for c in kept if c is not None and c.status == "closed"]
    assert len(closed) == PEOPLE
    assert {json.dumps(dict(c.answers)) for c in closed} == {json.dumps({"topics": ["dv", "family"]})}
    assert all(c.org_id == "alpha" and c.outcome == "resolved" and c.closed_at == T0 for c in closed)
    # The person with the open case is untouched.
    still = await cases.case(open_case.id)
    assert still is not None and still.pseudonym == "open1" and still.answers == {"topics": ["money"]}
    # People of whom nothing is left lost their data keys.
    assert keyring.people is not None and keyring.people.counts()["people_keys"] <= 2


async def test_recent_records_stay(backend: Backend, tmp_path: Path) -> None:
    db = await backend.open()
    keyring = Keyring.generate()
    store, cases, mailbox = Store(db, keyring), CaseStore(db, keyring), WebMailbox(db, keyring)
    await _a_closed_case(cases, store, "p1", followup=True, now=T0)
    counts = await erasure.purge(db, store, mailbox, keyring, Retention(), now=T0 + timedelta(days=29))
    assert not any(counts.values())
    assert await _count(db, "SELECT COUNT(*) FROM case_messages") == 3
    assert await _count(db, "SELECT COUNT(*) FROM addresses") == 1


async def test_zero_retention_erases_a_cases_content_as_it_closes(backend: Backend) -> None:
    db = await backend.open()
    keyring = Keyring.generate()
    store, cases = Store(db, keyring), CaseStore(db, keyring, erase_on_close=True)
    case_id = await _a_closed_case(cases, store, "p1", followup=True, now=T0)
    closed = await cases.case(case_id)
    assert closed is not None and closed.pseudonym == "" and closed.answers == {"topics": ["dv", "family"]}
    assert closed.risk_words == ()
    assert await cases.messages(case_id) == []
    assert await _count(db, "SELECT COUNT(*) FROM follow_ups") == 0
    # the next pass takes the card and the address (nothing keeps them any more)
    counts = await erasure.purge(db, store, WebMailbox(db, keyring), keyring,
                                 Retention(cases=timedelta(0), addresses=timedelta(0)), now=T0 + timedelta(seconds=1))
    assert counts["cases"] == 1 and counts["addresses"] == 1
    assert await _count(db, "SELECT COUNT(*) FROM case_cards") == 0


async def test_audit_entries_go_after_their_period_and_what_is_kept_still_verifies(backend: Backend) -> None:
    db = await backend.open()
    keyring = Keyring.generate()
    audit = AuditLog(db)
    await audit.record(action="accept", actor="U0OLD", front="slack", org_id="alpha", case_id=1, now=T0)
    await audit.record(action="close", actor="U0NEW", front="slack", org_id="alpha", case_id=1,
                       now=T0 + timedelta(days=400))
    counts = await erasure.purge(db, Store(db, keyring), WebMailbox(db, keyring), keyring, Retention(),
                                 now=T0 + timedelta(days=401))
    assert counts["audit"] == 1
    assert [e.action for e in await audit.entries()] == ["close"]
    assert (await audit.verify())[1] is None
