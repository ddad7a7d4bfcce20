"""The work queue: inbox events and session timers, claimed by workers from the database.

A worker claims a batch: up to N inbox events, each the oldest pending event of its person (the
head of line), and sessions whose wake time has come, in ONE transaction that it then uses for
everything the batch does (the turns, the desk, the outbox rows, the done marks) and commits at
the end. A killed worker's transaction rolls back and its events are simply claimable again; no
heartbeat is needed for work that stays inside the database.

On PostgreSQL the claim is `FOR UPDATE SKIP LOCKED`: two workers never take the same rows, and a
later event of a person whose earlier event another worker holds is not claimable (the earlier
one is still pending, so the `NOT EXISTS` sees it). The batch's sessions are locked too, so a
timer and an event of one person never run at once. On SQLite there is one writer at a time;
the batch takes the write lock before it reads anything, so what it reads cannot change under it.

A failing event is retried with backoff (`available_at`) and after `MAX_ATTEMPTS` becomes a dead
letter (status "failed"), visible in `tsunagu db status` and the metrics; the person's later
events then go on.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import statements as Q
from storage.cases import CaseStore
from storage.db import Connected, Database
from storage.erasure import erase_person
from storage.errors import ConcurrentUpdate, ErasedValue
from storage.keys import Keyring
from storage.outbox import outbox_values
from storage.tables import AddressRow, InboxRow, SessionRow, UTCDateTime, WorkPassRow, table_of
from storage.values import InboxItem, Outgoing, StoredSession

_inbox = table_of(InboxRow)
_session = table_of(SessionRow)
_address = table_of(AddressRow)
_passes = table_of(WorkPassRow)

MAX_ATTEMPTS = 5
_ERROR_MAX = 200


def _aad(*parts: str) -> bytes:
    return "|".join(parts).encode()


def retry_delay(attempts: int) -> timedelta:
    """How long a failing event waits before its next try: 2, 4, 8, 16 seconds..."""
    return timedelta(seconds=min(300, 2 ** attempts))


@dataclass
class Claimed:
    """A claimed batch and the open transaction it runs in.

    Reads and writes go through this object, on the batch's connection. Writes whose result
    nobody reads (outbox rows, session states, done marks) are collected and executed once each at
    the end (`flush`, called by `WorkQueue.claim` before the commit).
    """

    conn: AsyncConnection
    keyring: Keyring
    dialect: str
    items: list[InboxItem]
    ticks: list[str]
    sessions: dict[str, StoredSession]
    versions: dict[str, int]
    cases: CaseStore
    # What must wait until the batch is committed (a notice to a counselor through Slack): run by
    # the worker afterwards, never when the batch rolls back.
    after_commit: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    wrote_outbox: bool = False
    _outbox: list[dict[str, Any]] = field(default_factory=list)
    _done: list[dict[str, Any]] = field(default_factory=list)
    _sessions: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def session(self, pseudonym: str) -> StoredSession | None:
        return self.sessions.get(pseudonym)

    async def load_session(self, pseudonym: str) -> StoredSession | None:
        """The session of a person outside the batch's own (a group, a tick's channel lookup)."""
        if pseudonym in self.sessions:
            return self.sessions[pseudonym]
        row = (await self.conn.execute(Q.SESSION_LOAD, {"b_p": pseudonym})).first()
        stored = None if row is None else _stored(self.keyring, pseudonym, row)
        if stored is not None:
            self.sessions[pseudonym] = stored
        return stored

    async def remember_address(self, *, channel: str, pseudonym: str, platform_user_id: str,
                               now: datetime) -> None:
        insert = sqlite.insert if self.dialect == "sqlite" else postgresql.insert
        token = self.keyring.encrypt(platform_user_id.encode(), aad=_aad("address", channel, pseudonym),
                                     person=pseudonym)
        upsert = insert(_address).values(pseudonym=pseudonym, channel=channel, platform_user_id_enc=token,
                                         updated_at=now)
        await self.conn.execute(upsert.on_conflict_do_update(
            index_elements=["pseudonym"],
            set_={"channel": upsert.excluded.channel, "platform_user_id_enc": upsert.excluded.platform_user_id_enc,
                  "updated_at": upsert.excluded.updated_at}))

    async def channel_of(self, pseudonym: str) -> str | None:
        row = (await self.conn.execute(Q.ADDRESS_OF, {"b_p": pseudonym})).first()
        return None if row is None else str(row.channel)

    def commit_turn(self, *, pseudonym: str, state: dict[str, Any] | None, wake_at: datetime | None,
                    outgoing: Sequence[Outgoing], inbox_id: int | None, now: datetime) -> None:
        """One turn's result: the new state (None ends the session), its messages, its event done."""
        encoded = None
        if state is not None:
            raw = json.dumps(state, ensure_ascii=False, separators=(",", ":")).encode()
            encoded = self.keyring.encrypt(raw, aad=_aad("session", pseudonym), person=pseudonym)
        version = self.versions.get(pseudonym)
        if encoded is None and version is None:
            pass  # no session before, none after
        elif encoded is None:
            self._sessions.append(("delete", {"b_p": pseudonym, "b_v": version}))
            del self.versions[pseudonym]
        elif version is None:
            self._sessions.append(("insert", {"pseudonym": pseudonym, "version": 1, "state_enc": encoded,
                                              "wake_at": wake_at, "updated_at": now}))
            self.versions[pseudonym] = 1
        else:
            self._sessions.append(("update", {"b_p": pseudonym, "b_v": version, "b_nv": version + 1,
                                              "b_s": encoded, "b_w": wake_at, "b_now": now}))
            self.versions[pseudonym] = version + 1
        for message in outgoing:
            self._outbox.append(outbox_values(self.keyring, pseudonym=pseudonym, channel=message.channel,
                                              payload=message.payload, now=now, reply_token=message.reply_token,
                                              reply_token_expires_at=message.reply_token_expires_at))
        if inbox_id is not None:
            self.done(inbox_id, now=now)

    async def erase(self, pseudonym: str, *, now: datetime, keep_seq: bool = True) -> list[int]:
        """Erase the person (storage/erasure.py) in this batch's transaction, and their data key
        with it: detached now, so what this batch still writes for them gets a new key, and
        destroyed once the batch committed. Returns the ids of their cases closed by it."""
        self.keyring.forget(pseudonym)
        self.after_commit.append(self._destroy_keys)
        return await erase_person(self.conn, self.keyring, pseudonym, now=now, keep_seq=keep_seq)

    async def _destroy_keys(self) -> None:
        self.keyring.destroy_doomed()

    def done(self, inbox_id: int, *, now: datetime) -> None:
        self._done.append({"b_id": inbox_id, "b_status": "done", "b_now": now, "b_error": None})

    async def flush(self) -> None:
        """Write what the batch collected (in order: sessions, outbox rows, done marks)."""
        statements = {"insert": _session.insert(), "update": Q.SESSION_UPDATE, "delete": Q.SESSION_DELETE}
        for kind, params in self._sessions:  # one by one: each checks the version it expects
            result = await self.conn.execute(statements[kind], params)
            if kind != "insert" and result.rowcount != 1:
                raise ConcurrentUpdate("a session changed under a claimed batch")
        if self._outbox:
            await self.conn.execute(Q.OUTBOX_INSERT, self._outbox)
            self.wrote_outbox = True
        if self._done:
            await self.conn.execute(Q.INBOX_FINISH, self._done)
        self._sessions, self._outbox, self._done = [], [], []


def _stored(keyring: Keyring, pseudonym: str, row: Any) -> StoredSession:
    try:
        state = json.loads(keyring.decrypt(row.state_enc, aad=_aad("session", pseudonym)))
    except ErasedValue:  # the person's key was destroyed before this row went: they start over
        return StoredSession(state={}, version=row.version, wake_at=None)
    return StoredSession(state=state, version=row.version, wake_at=row.wake_at)


class WorkQueue:
    def __init__(self, db: Database, keyring: Keyring, *, erase_on_close: bool = False) -> None:
        self._db = db
        self._keys = keyring
        self._erase_on_close = erase_on_close
        pending = _inbox.c.status == "pending"
        earlier = _inbox.alias("earlier")
        now = bindparam("now", type_=UTCDateTime())
        self._heads = (
            select(_inbox)
            .where(pending, func.coalesce(_inbox.c.available_at, _inbox.c.received_at) <= now,
                   ~exists().where(earlier.c.pseudonym == _inbox.c.pseudonym, earlier.c.status == "pending",
                                   earlier.c.id < _inbox.c.id))
            .order_by(_inbox.c.id)
        )
        self._ticks = (
            select(_session.c.pseudonym)
            .where(_session.c.wake_at.is_not(None), _session.c.wake_at <= now,
                   ~exists().where(_inbox.c.pseudonym == _session.c.pseudonym, pending))
            .order_by(_session.c.wake_at)
        )

    @property
    def database(self) -> Database:
        return self._db

    @property
    def keyring(self) -> Keyring:
        return self._keys

    @property
    def postgres(self) -> bool:
        return self._db.dialect != "sqlite"

    @asynccontextmanager
    async def claim(self, *, now: datetime, limit: int, ticks: int = 0,
                    only: Sequence[int] | None = None) -> AsyncIterator[Claimed]:
        """Claim a batch and hold its transaction for the block; commit when the block ends.

        `only`: claim just these inbox ids, if they are still heads (a retry one by one).
        If the block raises, nothing of the batch is written and its events stay pending.
        """
        async with self._db.write() as conn:
            if not self.postgres:
                # The write lock first (the driver begins IMMEDIATE before a write), then the reads.
                await conn.execute(text("UPDATE work_passes SET owner = owner WHERE 1 = 0"))
            heads = self._heads.limit(limit)
            if only is not None:
                heads = heads.where(_inbox.c.id.in_(list(only)))
            if self.postgres:
                heads = heads.with_for_update(skip_locked=True, of=_inbox)
            rows = (await conn.execute(heads, {"now": now})).all()
            items, unreadable = [], []
            for r in rows:
                try:
                    payload = self._keys.decrypt(r.payload_enc, aad=_aad("inbox", r.channel, r.event_id,
                                                                         r.pseudonym or ""))
                except ErasedValue:  # its person's data key is gone (erased): a dead letter at once
                    unreadable.append(r.id)
                    continue
                items.append(InboxItem(id=r.id, channel=r.channel, event_id=r.event_id, pseudonym=r.pseudonym,
                                       payload=payload, received_at=r.received_at, attempts=r.attempts))
            if unreadable:
                await conn.execute(update(_inbox).where(_inbox.c.id.in_(unreadable)).values(
                    status="failed", finished_at=now, error="ErasedValue"))
            due: list[str] = []
            if ticks and only is None:
                query = self._ticks.limit(ticks)
                if self.postgres:
                    query = query.with_for_update(skip_locked=True, of=_session)
                due = [p for p in (await conn.execute(query, {"now": now})).scalars()]
            people = sorted({i.pseudonym for i in items if i.pseudonym} | set(due))
            sessions: dict[str, StoredSession] = {}
            if people:
                query = select(_session).where(_session.c.pseudonym.in_(people))
                if self.postgres:
                    query = query.with_for_update()
                for r in await conn.execute(query):
                    sessions[r.pseudonym] = _stored(self._keys, r.pseudonym, r)
            batch = Claimed(conn=conn, keyring=self._keys, dialect=self._db.dialect, items=items, ticks=due,
                            sessions=sessions, versions={p: s.version for p, s in sessions.items()},
                            cases=CaseStore(Connected(conn, self._db.dialect), self._keys,
                                            erase_on_close=self._erase_on_close))
            yield batch
            await batch.flush()

    async def fail(self, item: InboxItem, *, now: datetime, error: str,
                   apology: Sequence[Outgoing] = ()) -> bool:
        """A try of `item` failed: back off, or after MAX_ATTEMPTS make it a dead letter (and
        send `apology`, written in the same transaction). Returns True if it is now dead."""
        dead = item.attempts + 1 >= MAX_ATTEMPTS
        values: dict[str, Any] = {"attempts": _inbox.c.attempts + 1, "error": error[:_ERROR_MAX]}
        if dead:
            values.update(status="failed", finished_at=now)
        else:
            values["available_at"] = now + retry_delay(item.attempts + 1)
        async with self._db.write() as conn:
            result = await conn.execute(update(_inbox).where(
                and_(_inbox.c.id == item.id, _inbox.c.status == "pending")).values(**values))
            if dead and result.rowcount and apology and item.pseudonym:
                await conn.execute(Q.OUTBOX_INSERT, [outbox_values(
                    self._keys, pseudonym=item.pseudonym, channel=m.channel, payload=m.payload, now=now)
                    for m in apology])
        return dead

    async def take_pass(self, name: str, *, owner: str, now: datetime, hold: timedelta) -> bool:
        """Whether `owner` runs the periodic pass `name` now: yes if nobody holds its lease, or
        the lease ran out, or `owner` holds it; the lease is then `owner`'s for `hold`. So across
        any number of instances each pass runs once per period."""
        insert = sqlite.insert if self._db.dialect == "sqlite" else postgresql.insert
        async with self._db.write() as conn:
            await conn.execute(insert(_passes).values(name=name, owner="", until=now)
                               .on_conflict_do_nothing(index_elements=["name"]))
            result = await conn.execute(update(_passes).where(
                _passes.c.name == name, or_(_passes.c.until <= now, _passes.c.owner == owner))
                .values(owner=owner, until=now + hold))
        return result.rowcount == 1

    async def waiting(self, now: datetime) -> bool:
        """Whether any inbox event or timer is due (a cheap look before claiming)."""
        async with self._db.read() as conn:
            head = (await conn.execute(select(_inbox.c.id).where(
                _inbox.c.status == "pending",
                func.coalesce(_inbox.c.available_at, _inbox.c.received_at) <= now).limit(1))).first()
            if head is not None:
                return True
            tick = (await conn.execute(select(_session.c.pseudonym).where(
                _session.c.wake_at.is_not(None), _session.c.wake_at <= now).limit(1))).first()
        return tick is not None
