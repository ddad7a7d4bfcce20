"""Erasure and retention of people's records, inside a caller's transaction.

`erase_person` is what 「削除」 does (bot/work/erase.py calls it in the worker's batch): every row
linked to the pseudonym goes — address, inbox and outbox rows, web chat lines, risk marks,
follow-ups, and of their cases the answers, risk words, messages, notes and the notices queued for
counselors — and an open case is closed as "erased". The session is the caller's (it is written
with the turn). What stays of a case is an anonymous record for statistics: partner, dates,
outcome and topics, with no pseudonym (`ANONYMOUS`) and nothing the person wrote.

The retention functions delete what is past its period; `strip_cases` turns a closed case into
that same anonymous record. Together with the destruction of the person's data key (keystore.py),
nothing of an erased person can be read from the database or from an older copy of it.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from storage.audit import AuditLog
from storage.case_tables import HANDLE_ALPHABET, CardRow, CaseMessageRow, CaseRow, FollowUpRow, RiskMarkRow
from storage.db import Database
from storage.desk_users import DeskFailureRow, DeskSessionRow
from storage.errors import DecryptError
from storage.keys import Keyring
from storage.presence import DutyRow
from storage.store import Store
from storage.tables import AddressRow, InboxRow, OutboxRow, SessionRow, table_of
from storage.web_mailbox import WebMailbox, WebMailboxRow

log = logging.getLogger(__name__)

ANONYMOUS = ""  # the pseudonym of a case that no longer belongs to anyone
ERASED = "erased"  # the outcome of a case closed because the person erased their data
_CHUNK = 500

_case = table_of(CaseRow)
_card = table_of(CardRow)
_msg = table_of(CaseMessageRow)
_fu = table_of(FollowUpRow)
_risk = table_of(RiskMarkRow)
_address = table_of(AddressRow)
_inbox = table_of(InboxRow)
_outbox = table_of(OutboxRow)
_session = table_of(SessionRow)
_mail = table_of(WebMailboxRow)
_desk_session = table_of(DeskSessionRow)
_desk_failure = table_of(DeskFailureRow)
_duty = table_of(DutyRow)


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    return [list(ids[i:i + _CHUNK]) for i in range(0, len(ids), _CHUNK)]


async def erase_person(conn: AsyncConnection, keyring: Keyring, pseudonym: str, *, now: datetime,
                       keep_seq: bool = True) -> list[int]:
    """Erase everything linked to `pseudonym` but their session; returns the ids of the cases
    that were open (queued or active), now closed as ERASED, whose counselors must be told.
    `keep_seq`: an empty web chat line keeps the place of the last (see `_empty_mailbox`)."""
    rows = (await conn.execute(select(_case.c.id, _case.c.status).where(_case.c.pseudonym == pseudonym))).all()
    opened = [int(r.id) for r in rows if r.status in ("queued", "active")]
    for chunk in _chunks(opened):
        await conn.execute(update(_case).where(_case.c.id.in_(chunk)).values(
            status="closed", outcome=ERASED, closed_at=now, due_at=None, version=_case.c.version + 1))
    await strip_cases(conn, keyring, [int(r.id) for r in rows], drop_cards=False)
    await conn.execute(delete(_address).where(_address.c.pseudonym == pseudonym))
    await conn.execute(delete(_inbox).where(_inbox.c.pseudonym == pseudonym))
    await conn.execute(delete(_outbox).where(_outbox.c.pseudonym == pseudonym))
    await _empty_mailbox(conn, keyring, pseudonym, now=now, keep_seq=keep_seq)
    await conn.execute(delete(_risk).where(_risk.c.pseudonym == pseudonym))
    await conn.execute(delete(_fu).where(_fu.c.pseudonym == pseudonym))
    return opened


async def _empty_mailbox(conn: AsyncConnection, keyring: Keyring, pseudonym: str, *, now: datetime,
                         keep_seq: bool) -> None:
    """Delete the person's web chat lines, but for an empty one in the last line's place: a page
    still open counts from there, and so sees the lines that follow (the goodbye)."""
    last = (await conn.execute(select(func.max(_mail.c.seq)).where(_mail.c.pseudonym == pseudonym))).scalar()
    await conn.execute(delete(_mail).where(_mail.c.pseudonym == pseudonym))
    if last and keep_seq:
        key = f"erased:{uuid.uuid4()}"
        empty = json.dumps({"from": "bot", "messages": [], "at": now.isoformat()}).encode()
        await conn.execute(_mail.insert().values(
            pseudonym=pseudonym, seq=int(last), key=key, created_at=now,
            payload_enc=keyring.encrypt(empty, aad=f"web_mailbox|{pseudonym}|{key}".encode())))


async def strip_cases(conn: AsyncConnection, keyring: Keyring, case_ids: Sequence[int], *, drop_cards: bool,
                      pending_notices: bool = True) -> int:
    """Make these cases anonymous records: no pseudonym, answers cut to the topics (under the key
    file's key: no person's key is needed to count them), no risk words; their messages, notes,
    follow-ups and desk notices deleted (without `pending_notices`, those not yet delivered stay:
    a case closing now still tells its counselors), and with `drop_cards` their cards too.
    Returns how many."""
    for chunk in _chunks(case_ids):
        for r in (await conn.execute(select(_case.c.id, _case.c.answers_enc).where(_case.c.id.in_(chunk)))).all():
            await conn.execute(update(_case).where(_case.c.id == r.id).values(
                pseudonym=ANONYMOUS, risk_enc=None, handle=_random_handle(),
                answers_enc=keyring.encrypt(json.dumps({"topics": _topics(keyring, r.id, r.answers_enc)}).encode(),
                                            aad=f"case|{r.id}|answers".encode())))
        await conn.execute(delete(_msg).where(_msg.c.case_id.in_(chunk)))
        await conn.execute(delete(_fu).where(_fu.c.case_id.in_(chunk)))
        notices: ColumnElement[bool] = _outbox.c.pseudonym.in_([f"desk:{i}" for i in chunk])
        if not pending_notices:
            notices = notices & (_outbox.c.status != "pending")
        await conn.execute(delete(_outbox).where(notices))
        if drop_cards:
            await conn.execute(delete(_card).where(_card.c.case_id.in_(chunk)))
    return len(case_ids)


def _random_handle() -> str:
    """A handle like the case's own (cases.handle_for), but random: the old one is an HMAC of the
    pseudonym, which anyone with the key file and a platform id could recompute and match."""
    chars = [secrets.choice(HANDLE_ALPHABET) for _ in range(4)]
    return f"{chars[0]}{chars[1]}-{chars[2]}{chars[3]}"


def _topics(keyring: Keyring, case_id: int, token: str | None) -> list[str]:
    if not token:
        return []
    try:
        answers: Any = json.loads(keyring.decrypt(token, aad=f"case|{case_id}|answers".encode()))
    except (DecryptError, ValueError):
        return []
    topics = answers.get("topics") if isinstance(answers, dict) else None
    return [str(t) for t in topics] if isinstance(topics, list) else []


# --- retention -------------------------------------------------------------------------------


async def purge_closed_cases(conn: AsyncConnection, keyring: Keyring, *, before: datetime) -> int:
    """Closed cases closed before `before` that still hold anything (a pseudonym, a message, a
    card): stripped to their anonymous record, cards and all. Returns how many."""
    holding = (_case.c.pseudonym != ANONYMOUS) | exists().where(_msg.c.case_id == _case.c.id) \
        | exists().where(_card.c.case_id == _case.c.id) | exists().where(_fu.c.case_id == _case.c.id)
    ids = [int(i) for i in (await conn.execute(select(_case.c.id).where(
        _case.c.status == "closed", _case.c.closed_at < before, holding))).scalars()]
    return await strip_cases(conn, keyring, ids, drop_cards=True)


async def purge_addresses(conn: AsyncConnection, *, before: datetime) -> list[str]:
    """Addresses not renewed since `before` of people with no session, no open case and no
    follow-up in play: nobody will write to them. Returns their pseudonyms (whose data keys the
    caller may then destroy, if nothing else of them is left)."""
    idle = (
        (_address.c.updated_at < before)
        & ~exists().where(_session.c.pseudonym == _address.c.pseudonym)
        & ~exists().where(_case.c.pseudonym == _address.c.pseudonym, _case.c.status != "closed")
        & ~exists().where(_fu.c.pseudonym == _address.c.pseudonym,
                          _fu.c.status.in_(["offered", "scheduled", "asked"]))
        & ~exists().where(_outbox.c.pseudonym == _address.c.pseudonym, _outbox.c.status == "pending")
    )
    people = [str(p) for p in (await conn.execute(select(_address.c.pseudonym).where(idle))).scalars()]
    for i in range(0, len(people), _CHUNK):
        await conn.execute(delete(_address).where(_address.c.pseudonym.in_(people[i:i + _CHUNK])))
    return people


async def left_nothing(conn: AsyncConnection, people: Sequence[str]) -> list[str]:
    """Of these pseudonyms, those with no row left anywhere (their data keys may go)."""
    left = set(people)
    for i in range(0, len(people), _CHUNK):
        chunk = list(people[i:i + _CHUNK])
        for table in (_address, _session, _inbox, _outbox, _mail, _risk, _fu, _case):
            found = await conn.execute(select(table.c.pseudonym).where(table.c.pseudonym.in_(chunk)).distinct())
            left -= set(found.scalars())
    return [p for p in people if p in left]


async def _orphan_keys(db: Database, keyring: Keyring, *, now: datetime) -> int:
    """Destroy the data keys of people of whom no row is left (their last lines went with
    retention), made over an hour ago. A key is doomed, the database asked again, and spared if a
    value under it appeared meanwhile, before the doomed are destroyed."""
    people = keyring.people
    if people is None:
        return 0
    after, doomed = "", {}
    while True:
        batch = people.people(created_before=now - ORPHAN_GRACE, after=after)
        if not batch:
            break
        after = batch[-1]
        async with db.read() as conn:
            gone = await left_nothing(conn, batch)
        doomed.update(people.doom_many(gone))
    if doomed:
        async with db.read() as conn:
            back = set(doomed) - set(await left_nothing(conn, list(doomed)))
        for pseudonym in back:
            people.spare(pseudonym, doomed[pseudonym])
    return people.destroy_doomed()


async def purge_desk_sessions(conn: AsyncConnection, *, before: datetime) -> int:
    """Web desk sign-ins that ended before `before`, and sign-in failures older than it."""
    a = await conn.execute(delete(_desk_session).where(_desk_session.c.expires_at < before))
    b = await conn.execute(delete(_desk_failure).where(_desk_failure.c.at < before))
    return int(a.rowcount or 0) + int(b.rowcount or 0)


# --- every kind of record at once ------------------------------------------------------------

ORPHAN_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class Retention:
    """How long each kind of record is kept (docs/privacy.md). `cases` zero: a case's content
    goes as it closes (CaseStore's `erase_on_close`), and the rest at the next pass."""

    queue: timedelta = timedelta(days=30)  # finished inbox and outbox rows
    web_chat: timedelta = timedelta(days=30)  # web chat lines
    cases: timedelta = timedelta(days=30)  # closed cases' content, cards and follow-ups
    addresses: timedelta = timedelta(days=30)  # of people with no session, open case or follow-up
    desk_sessions: timedelta = timedelta(days=7)  # ended web desk sign-ins, sign-in failures, duties
    audit: timedelta = timedelta(days=365)  # the audit trail


async def purge(db: Database, store: Store, mailbox: WebMailbox, keyring: Keyring, keep: Retention, *,
                now: datetime) -> dict[str, int]:
    """Delete every kind of record past its retention; returns how many of each. People of whom
    nothing is left lose their data key too (so older copies of the database stop reading)."""
    counts = {"queue": await store.purge_finished(before=now - keep.queue),
              "web_chat": await mailbox.purge(before=now - keep.web_chat)}
    async with db.write() as conn:
        counts["cases"] = await purge_closed_cases(conn, keyring, before=now - keep.cases)
    async with db.write() as conn:
        people = await purge_addresses(conn, before=now - keep.addresses)
        counts["addresses"] = len(people)
        gone = await left_nothing(conn, people)
    for pseudonym in gone:
        keyring.forget(pseudonym)
    counts["people_keys"] = keyring.destroy_doomed() + await _orphan_keys(db, keyring, now=now)
    async with db.write() as conn:
        counts["desk_sessions"] = await purge_desk_sessions(conn, before=now - keep.desk_sessions)
        counts["desk_sessions"] += int((await conn.execute(delete(_duty).where(
            _duty.c.until.is_not(None), _duty.c.until < now - keep.desk_sessions))).rowcount or 0)
    # The audit trail's oldest entries, its head moved on so that what is kept still verifies.
    counts["audit"] = await AuditLog(db).purge(now - keep.audit)
    return counts
