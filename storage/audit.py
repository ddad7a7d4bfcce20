"""The audit trail: who did what to which case, and when — never what anyone wrote.

Each entry records the actor (a counselor's id as the desk knows it: a Slack user id, or
"web:<account id>"; "cli:<login>" for an operator's command; "person" for what a person did), the
organization they acted for, the front end ("slack", "web", "cli", "line", "system"), the action,
the case (if any), a short detail made of codes only (an outcome, a partner id, a refusal reason;
`DETAIL` refuses anything else, so no content can be put there), and the time.

Append-only and chained: an entry's hash is SHA-256 over the previous entry's hash and the entry
in canonical form (sorted-key JSON, its id included), and `audit_head` keeps the last id and hash,
so an entry edited, removed from the middle or from the end is found by `verify`. Retention removes
a prefix only (`purge`), and the head says where the kept part starts.

Appends are serialized: the head row is read FOR UPDATE on PostgreSQL (two processes append one
after the other), and SQLite has one writer at a time (storage/db.py). An `AuditLog` made on a
transaction's connection (`on(Connected(...))`) appends inside that transaction, with the change it
records: what the desk does for a Slack event is written with the event's batch.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Index, Text, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel

from storage.db import Connected, Database
from storage.tables import UTCDateTime, _Id, table_of

GENESIS = "0" * 64
ACTIONS = frozenset({
    "accept", "view", "say", "note", "transfer", "release", "close", "take_over", "erase", "export",
    "sign_in", "sign_in_failed", "sign_out", "account",
})
FRONTS = frozenset({"slack", "web", "cli", "line", "system"})
DETAIL = re.compile(r"^[A-Za-z0-9_=:.,/+ -]{0,160}$")  # codes only: never free text
_ACTOR = re.compile(r"^[A-Za-z0-9_:.@-]{1,80}$")


class AuditRow(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_case", "case_id"), Index("ix_audit_log_org_at", "org_id", "at"))

    id: int = Field(primary_key=True, sa_type=_Id, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=80)
    org_id: str | None = Field(default=None, max_length=64)
    front: str = Field(max_length=16)
    action: str = Field(max_length=32)
    case_id: int | None = Field(default=None, sa_type=_Id)
    detail: str = Field(default="", max_length=160)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHeadRow(SQLModel, table=True):
    """One row (id 1): the last entry's id and hash, and where the kept entries start."""

    __tablename__ = "audit_head"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_id: int = Field(default=0, sa_type=_Id)
    hash: str = Field(default=GENESIS, max_length=64)
    first_id: int = Field(default=1, sa_type=_Id)  # the oldest entry kept (a purge moves it on)
    first_prev: str = Field(default=GENESIS, sa_type=Text)  # the hash that entry follows


_log = table_of(AuditRow)
_head = table_of(AuditHeadRow)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    org_id: str | None
    front: str
    action: str
    case_id: int | None
    detail: str
    prev_hash: str
    hash: str

    def canonical(self) -> str:
        fields = {k: v for k, v in asdict(self).items() if k not in ("prev_hash", "hash")}
        fields["at"] = self.at.isoformat()
        return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256((prev_hash + entry.canonical()).encode()).hexdigest()


def safe_actor(value: str | None) -> str:
    """An actor id as it may be kept: the id itself if it is a plain id, else "?"."""
    return value if value and _ACTOR.match(value) else "?"


def _entry_of(r: object) -> AuditEntry:
    return AuditEntry(id=int(r.id), at=r.at, actor=r.actor, org_id=r.org_id, front=r.front,  # type: ignore[attr-defined]
                      action=r.action, case_id=r.case_id, detail=r.detail,  # type: ignore[attr-defined]
                      prev_hash=r.prev_hash, hash=r.hash)  # type: ignore[attr-defined]


class AuditLog:
    def __init__(self, db: Database | Connected) -> None:
        self._db = db

    def on(self, db: Database | Connected) -> AuditLog:
        """The same trail appended inside another transaction (a work batch's)."""
        return AuditLog(db)

    async def record(self, *, action: str, actor: str, front: str, now: datetime, org_id: str | None = None,
                     case_id: int | None = None, detail: str = "") -> AuditEntry:
        """Append one entry. `detail` is codes only (DETAIL); a wrong action, front or detail is a
        programming error (ValueError), never silently kept."""
        if action not in ACTIONS or front not in FRONTS or not DETAIL.match(detail):
            raise ValueError(f"not an audit entry: action={action!r} front={front!r}")
        org = org_id if org_id is None or _ACTOR.match(org_id) else "?"
        async with self._db.write() as conn:
            query = select(_head).where(_head.c.id == 1)
            if self._db.dialect == "postgresql":
                query = query.with_for_update()
            head = (await conn.execute(query)).first()
            if head is None:  # the first entry ever (the migration inserts the row; create_all does not)
                insert = sqlite.insert if self._db.dialect == "sqlite" else postgresql.insert
                await conn.execute(insert(_head).values(id=1, last_id=0, hash=GENESIS, first_id=1, first_prev=GENESIS)
                                   .on_conflict_do_nothing(index_elements=["id"]))
                head = (await conn.execute(query)).one()
            entry = AuditEntry(id=int(head.last_id) + 1, at=now, actor=safe_actor(actor), org_id=org, front=front,
                               action=action, case_id=case_id, detail=detail, prev_hash=head.hash, hash="")
            entry = AuditEntry(**{**asdict(entry), "hash": chain_hash(head.hash, entry)})
            await conn.execute(_log.insert().values(**asdict(entry)))
            await conn.execute(update(_head).where(_head.c.id == 1).values(last_id=entry.id, hash=entry.hash))
        return entry

    async def erased(self, *, channel: str, org_id: str | None, case_id: int | None, now: datetime,
                     detail: str = "") -> AuditEntry:
        """A person erased their data (issue 11, item 1): recorded as the person's own action on
        their channel ("line", "web", "slack"), for the case's partner; never who they were."""
        return await self.record(action="erase", actor="person", front=channel if channel in FRONTS else "system",
                                 org_id=org_id, case_id=case_id, detail=detail, now=now)

    async def entries(self, *, org_id: str | None = None, case_id: int | None = None,
                      since: datetime | None = None, limit: int | None = None) -> list[AuditEntry]:
        query = select(_log).order_by(_log.c.id)
        if org_id is not None:
            query = query.where(_log.c.org_id == org_id)
        if case_id is not None:
            query = query.where(_log.c.case_id == case_id)
        if since is not None:
            query = query.where(_log.c.at >= since)
        if limit is not None:
            query = query.limit(limit)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [_entry_of(r) for r in rows]

    async def verify(self, *, batch: int = 5000) -> tuple[int, str | None]:
        """(entries checked, None) if the chain holds; else the first break, in one line."""
        async with self._db.read() as conn:
            head = (await conn.execute(select(_head).where(_head.c.id == 1))).first()
        expected_id = int(head.first_id) if head else 1
        prev = head.first_prev if head else GENESIS
        checked, after = 0, 0
        while True:
            async with self._db.read() as conn:
                rows = (await conn.execute(select(_log).where(_log.c.id > after).order_by(_log.c.id)
                                           .limit(batch))).all()
            if not rows:
                break
            for row in rows:
                entry = _entry_of(row)
                if entry.id != expected_id:
                    return checked, (f"entry {expected_id} is missing (removed): the next one kept is {entry.id}"
                                     if entry.id > expected_id else f"entry {entry.id} is out of order")
                if entry.prev_hash != prev:
                    return checked, f"entry {entry.id} does not follow entry {entry.id - 1} (its previous hash differs)"
                if chain_hash(prev, entry) != entry.hash:
                    return checked, f"entry {entry.id} was edited: its hash does not match what it says"
                prev, expected_id, checked, after = entry.hash, entry.id + 1, checked + 1, entry.id
        last = int(head.last_id) if head else 0
        if last != expected_id - 1 or (head is not None and last and head.hash != prev):
            if last >= expected_id:
                return checked, f"entries {expected_id} to {last} are missing (removed from the end)"
            return checked, f"the head says entry {last}, the log ends at {expected_id - 1}"
        return checked, None

    async def purge(self, before: datetime) -> int:
        """Remove the entries older than `before` (retention): a prefix only, the head moved on so
        that what is kept still verifies."""
        async with self._db.write() as conn:
            query = select(_head).where(_head.c.id == 1)
            if self._db.dialect == "postgresql":
                query = query.with_for_update()
            head = (await conn.execute(query)).first()
            if head is None:
                return 0
            last_old = (await conn.execute(select(_log.c.id, _log.c.hash).where(_log.c.at < before)
                                           .order_by(_log.c.id.desc()).limit(1))).first()
            if last_old is None:
                return 0
            result = await conn.execute(_log.delete().where(_log.c.id <= last_old.id))
            await conn.execute(update(_head).where(_head.c.id == 1).values(first_id=int(last_old.id) + 1,
                                                                         first_prev=last_old.hash))
        return int(result.rowcount or 0)


def describe(entries: Sequence[AuditEntry]) -> list[str]:
    """The entries as lines for a terminal (tab-separated; never content: there is none)."""
    return [f"{e.id}\t{e.at.isoformat()}\t{e.front}\t{e.org_id or '-'}\t{e.actor}\t{e.action}\t"
            f"{e.case_id if e.case_id is not None else '-'}\t{e.detail or '-'}" for e in entries]
