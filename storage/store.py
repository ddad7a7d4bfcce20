"""The repository the bot talks to: inbox, addresses, sessions, outbox. Values are encrypted here.

Every method is one transaction, or part of one shared with other callers' writes (group
commit, see writer.py); either way it returns after the commit. Associated data binds each
ciphertext to its row and purpose (`inbox|channel|event id|pseudonym`, `session|pseudonym`, ...),
so a value copied into another row, or another column, does not decrypt. Outbox rows are written
and read through outbox.py, which CaseStore shares.

`mark_*` methods on a row that is gone (for example removed by `forget_person` while a send was
in flight) do nothing rather than raise: the caller could not do anything useful about it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.base import Executable

from storage import statements as Q
from storage.db import Database
from storage.errors import ConcurrentUpdate, ErasedValue, InvalidEvent
from storage.keys import Keyring
from storage.outbox import outbox_item, outbox_values
from storage.tables import AddressRow, InboxRow, OutboxRow, SessionRow, table_of
from storage.values import InboxItem, NewEvent, OutboxItem, Outgoing, StoredSession
from storage.writer import Batch, GroupWriter

_inbox = table_of(InboxRow)
_address = table_of(AddressRow)
_session = table_of(SessionRow)
_outbox = table_of(OutboxRow)

_ERROR_MAX = 200
# Column lengths of the inbox (tables.py): checked per caller before a shared INSERT.
_LIMITS = {"channel": 32, "event_id": 128, "pseudonym": 64}
_INSERT_CHUNK = 200  # rows per INSERT statement (6 bound values each, far below both limits)


def _aad(*parts: str) -> bytes:
    # "|" cannot be forged across parts that never contain it (ids, pseudonyms, channel names).
    return "|".join(parts).encode()


def _aware(*values: datetime | None) -> None:
    """Refuse naive datetimes up front (the column type would too, wrapped in SQLAlchemy's error)."""
    for value in values:
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError("naive datetime given to storage; pass a timezone-aware (UTC) datetime")


def _check(event: NewEvent) -> None:
    """Refuse, to this caller alone, an event the shared INSERT would fail on (see InvalidEvent)."""
    for name, limit in _LIMITS.items():
        value = getattr(event, name)
        if value is None and name == "pseudonym":
            continue
        if not isinstance(value, str) or not value and name != "pseudonym" or len(value) > limit:
            raise InvalidEvent(f"inbox {name} must be text of 1 to {limit} characters")
        if "\x00" in value or not value.isprintable():
            raise InvalidEvent(f"inbox {name} must be printable text")
    if not isinstance(event.payload, bytes):
        raise InvalidEvent("inbox payload must be bytes")


def _short(error: str) -> str:
    return error[:_ERROR_MAX]


class Store:
    """Inbox, addresses, sessions and outbox over one `Database`, encrypting with one `Keyring`.

    Make one Store per Database and share it: its writes are grouped into shared transactions.
    """

    def __init__(self, db: Database, keyring: Keyring) -> None:
        self._db = db
        self._keys = keyring
        self._writer = GroupWriter(db)
        self._accepts: list[tuple[list[dict[str, Any]], asyncio.Future[Any]]] = []
        self._accept_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        db.on_close(self.flush)
        self._insert = sqlite.insert if db.dialect == "sqlite" else postgresql.insert
        upsert = self._insert(_address)
        self._address_upsert = upsert.on_conflict_do_update(
            index_elements=["pseudonym"],
            set_={"channel": upsert.excluded.channel,
                  "platform_user_id_enc": upsert.excluded.platform_user_id_enc,
                  "updated_at": upsert.excluded.updated_at})
        self._session_insert = self._insert(_session).on_conflict_do_nothing(
            index_elements=["pseudonym"])

    async def flush(self) -> None:
        """Wait until every write requested so far is committed (shutdown: before closing)."""
        while self._background or self._writer.busy:
            if self._background:
                await asyncio.wait(list(self._background))
            await self._writer.flush()

    async def _later(self, statement: Any, params: dict[str, Any]) -> None:
        """A write whose result nobody needs: batched with the group's others (see writer.py)."""

        async def job(_conn: AsyncConnection, batch: Batch) -> None:
            batch.add(statement, params)

        await self._writer.run(job)

    # --- inbox --------------------------------------------------------------------------------

    async def accept_events(self, events: Sequence[NewEvent]) -> list[InboxItem]:
        """Store new events in one transaction; skip ones already stored. Durable on return.

        Returns only the events that were new, in input order, so a redelivery is processed once.
        Calls made while a write is in flight share one INSERT in the next transaction.
        """
        if not events:
            return []
        _aware(*(e.received_at for e in events))
        for e in events:
            _check(e)
        await self._keys.prepare(e.pseudonym for e in events)
        values: list[dict[str, Any]] = []
        for e in events:
            values.append({
                "channel": e.channel, "event_id": e.event_id, "pseudonym": e.pseudonym,
                "payload_enc": self._keys.encrypt(
                    e.payload, aad=_aad("inbox", e.channel, e.event_id, e.pseudonym or ""),
                    person=e.pseudonym),
                "status": "pending", "received_at": e.received_at,
            })
        done: asyncio.Future[dict[tuple[str, str], tuple[int, datetime]]] = (
            asyncio.get_running_loop().create_future())
        self._accepts.append((values, done))
        if self._accept_task is None:
            self._accept_task = asyncio.create_task(self._submit_accepts())
            self._background.add(self._accept_task)  # a strong reference until it is done
            self._accept_task.add_done_callback(self._background.discard)
        inserted = await asyncio.shield(done)
        accepted = []
        for e in events:
            hit = inserted.pop((e.channel, e.event_id), None)
            if hit is not None:
                accepted.append(InboxItem(id=hit[0], channel=e.channel, event_id=e.event_id,
                                          pseudonym=e.pseudonym, payload=e.payload,
                                          received_at=hit[1]))
        return accepted

    async def _submit_accepts(self) -> None:
        """Queue one write job for all accept calls waiting when it runs (one INSERT for all).

        If that shared write fails, each call is written again on its own, so a call whose rows
        the database refuses fails alone and never takes other callers' events down with it.
        """
        batch: list[tuple[list[dict[str, Any]], asyncio.Future[Any]]] | None = None

        def take() -> list[tuple[list[dict[str, Any]], asyncio.Future[Any]]]:
            nonlocal batch
            if batch is None:  # once: a re-run of the job (see writer.py) reuses the same batch
                batch, self._accepts = self._accepts, []
                self._accept_task = None
            return batch

        async def job(conn: AsyncConnection, _batch: Batch
                      ) -> list[dict[tuple[str, str], tuple[int, datetime]]]:
            return await self._insert_events(conn, [values for values, _ in take()])

        try:
            results = await self._writer.run(job)
        except asyncio.CancelledError:
            for _, fut in take():
                fut.cancel()
            raise
        except Exception as exc:
            calls = take()
            if len(calls) == 1:
                if not calls[0][1].done():
                    calls[0][1].set_exception(exc)
                return
            await self._accept_each(calls)
            return
        for (_, fut), inserted in zip(take(), results, strict=True):
            if not fut.done():
                fut.set_result(inserted)

    async def _accept_each(self, calls: list[tuple[list[dict[str, Any]], asyncio.Future[Any]]]) -> None:
        """The shared INSERT failed: each call in a transaction of its own, in the same order."""
        for values, fut in calls:
            async def alone(conn: AsyncConnection, _batch: Batch, values: list[dict[str, Any]] = values
                            ) -> dict[tuple[str, str], tuple[int, datetime]]:
                return (await self._insert_events(conn, [values]))[0]

            try:
                inserted = await self._writer.run(alone)
            except asyncio.CancelledError:
                for _, rest in calls:
                    if not rest.done():
                        rest.cancel()
                raise
            except Exception as exc:
                if not fut.done():
                    fut.set_exception(exc)
            else:
                if not fut.done():
                    fut.set_result(inserted)

    async def _insert_events(self, conn: AsyncConnection, calls: list[list[dict[str, Any]]]
                             ) -> list[dict[tuple[str, str], tuple[int, datetime]]]:
        """Insert the calls' events with one statement; per call, {(channel, event id): (id, at)}
        of the events it was first to store (as if the calls had run one after another)."""
        owner: dict[tuple[str, str], int] = {}
        rows = []
        for index, values in enumerate(calls):
            for v in values:
                key = (v["channel"], v["event_id"])
                if key not in owner:
                    owner[key] = index
                    rows.append(v)
        results: list[dict[tuple[str, str], tuple[int, datetime]]] = [{} for _ in calls]
        for start in range(0, len(rows), _INSERT_CHUNK):
            stmt = (self._insert(_inbox).values(rows[start:start + _INSERT_CHUNK])
                    .on_conflict_do_nothing(index_elements=["channel", "event_id"])
                    .returning(_inbox.c.id, _inbox.c.channel, _inbox.c.event_id,
                               _inbox.c.received_at))
            for row in await conn.execute(stmt):
                key = (row.channel, row.event_id)
                results[owner[key]][key] = (row.id, row.received_at)
        return results

    async def pending_events(self, *, limit: int = 1000) -> list[InboxItem]:
        """Events stored but not yet processed, oldest first (for recovery at start-up)."""
        stmt = select(_inbox).where(_inbox.c.status == "pending").order_by(_inbox.c.id).limit(limit)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            InboxItem(id=r.id, channel=r.channel, event_id=r.event_id, pseudonym=r.pseudonym,
                      payload=self._keys.decrypt(
                          r.payload_enc, aad=_aad("inbox", r.channel, r.event_id, r.pseudonym or "")),
                      received_at=r.received_at)
            for r in rows
        ]

    async def mark_event_done(self, inbox_id: int, *, now: datetime) -> None:
        _aware(now)
        await self._later(Q.INBOX_FINISH, _finish_params(inbox_id, status="done", now=now, error=None))

    async def mark_event_failed(self, inbox_id: int, *, now: datetime, error: str) -> None:
        """`error` is a short code or exception class name, never text from the person."""
        _aware(now)
        await self._later(Q.INBOX_FINISH, _finish_params(inbox_id, status="failed", now=now,
                                                        error=_short(error)))

    async def purge_finished(self, *, before: datetime) -> int:
        """Retention: delete finished inbox events and outbox messages older than `before`.

        Pending rows are never purged. Keeping finished events for a while is what makes a late
        redelivery a no-op, so `before` should be well past the platform's redelivery window.
        Returns the number of rows deleted.
        """
        _aware(before)

        async def job(conn: AsyncConnection, _batch: Batch) -> int:
            a = await conn.execute(delete(_inbox).where(
                _inbox.c.status != "pending", _inbox.c.received_at < before))
            b = await conn.execute(delete(_outbox).where(
                _outbox.c.status != "pending", _outbox.c.created_at < before))
            return (a.rowcount or 0) + (b.rowcount or 0)

        return await self._writer.run(job, alone=True)

    # --- addresses ----------------------------------------------------------------------------

    async def remember_address(self, *, channel: str, pseudonym: str, platform_user_id: str,
                               now: datetime) -> None:
        """Record how to reach `pseudonym`; the only place a platform user id is stored."""
        _aware(now)
        token = self._keys.encrypt(platform_user_id.encode(), aad=_aad("address", channel, pseudonym),
                                   person=pseudonym)
        await self._later(self._address_upsert, {"pseudonym": pseudonym, "channel": channel,
                                                 "platform_user_id_enc": token, "updated_at": now})

    async def address_of(self, pseudonym: str) -> tuple[str, str] | None:
        """(channel, platform user id) for delivery; only the sender should call this."""
        async with self._db.read() as conn:
            row = (await conn.execute(Q.ADDRESS_OF, {"b_p": pseudonym})).first()
        if row is None:
            return None
        raw = self._keys.decrypt(row.platform_user_id_enc, aad=_aad("address", row.channel, pseudonym))
        return row.channel, raw.decode()

    # --- sessions -----------------------------------------------------------------------------

    async def load_session(self, pseudonym: str) -> StoredSession | None:
        async with self._db.read() as conn:
            row = (await conn.execute(Q.SESSION_LOAD, {"b_p": pseudonym})).first()
        if row is None:
            return None
        state = json.loads(self._keys.decrypt(row.state_enc, aad=_aad("session", pseudonym)))
        return StoredSession(state=state, version=row.version, wake_at=row.wake_at)

    async def commit_turn(
        self,
        *,
        pseudonym: str,
        expected_version: int | None,
        state: dict[str, Any] | None,
        wake_at: datetime | None,
        outgoing: Sequence[Outgoing],
        inbox_id: int | None,
        now: datetime,
    ) -> int | None:
        """Write one turn's result in ONE transaction: session, outbox rows, inbox done.

        `expected_version` is the version loaded (None: there was no session). If someone else
        changed the session since, nothing is written and ConcurrentUpdate is raised. `state`
        None ends the session (deletes the row). Returns the new version, or None if deleted.
        """
        _aware(now, wake_at, *(m.reply_token_expires_at for m in outgoing))
        state_token = None
        if state is not None:
            encoded = json.dumps(state, ensure_ascii=False, separators=(",", ":")).encode()
            state_token = self._keys.encrypt(encoded, aad=_aad("session", pseudonym), person=pseudonym)
        out_rows = [
            outbox_values(self._keys, pseudonym=pseudonym, channel=msg.channel, payload=msg.payload, now=now,
                          reply_token=msg.reply_token, reply_token_expires_at=msg.reply_token_expires_at)
            for msg in outgoing
        ]

        async def job(conn: AsyncConnection, batch: Batch) -> int | None:
            # The session comes first: a conflict is found before anything is written. The rest
            # joins the group's batched statements, still inside this same transaction; outbox
            # rows keep their order (ids follow it).
            new_version = await self._write_session(
                conn, batch, pseudonym=pseudonym, expected_version=expected_version,
                state_token=state_token, wake_at=wake_at, now=now)
            for values in out_rows:
                batch.add(Q.OUTBOX_INSERT, values)
            if inbox_id is not None:
                batch.add(Q.INBOX_FINISH, _finish_params(inbox_id, status="done", now=now, error=None))
            return new_version

        return await self._writer.run(job)

    async def _write_session(self, conn: AsyncConnection, batch: Batch, *, pseudonym: str,
                             expected_version: int | None, state_token: str | None,
                             wake_at: datetime | None, now: datetime) -> int | None:
        """Insert, update or delete the session if it is still at `expected_version`.

        Where the driver reports executemany row counts (SQLite), the write joins the batch
        with an exact row count check; elsewhere it runs now and checks its own row count.
        Either way a conflict surfaces as ConcurrentUpdate before this turn is committed.
        """
        if expected_version is None and state_token is None:
            if (await conn.execute(Q.SESSION_VERSION, {"b_p": pseudonym})).first() is not None:
                raise ConcurrentUpdate("a session was created meanwhile")
            return None
        statement: Executable
        if expected_version is None:
            statement = self._session_insert
            params: dict[str, Any] = {"pseudonym": pseudonym, "version": 1,
                                      "state_enc": state_token, "wake_at": wake_at,
                                      "updated_at": now}
            new_version: int | None = 1
        elif state_token is None:
            statement, new_version = Q.SESSION_DELETE, None
            params = {"b_p": pseudonym, "b_v": expected_version}
        else:
            statement, new_version = Q.SESSION_UPDATE, expected_version + 1
            params = {"b_p": pseudonym, "b_v": expected_version, "b_nv": new_version,
                      "b_s": state_token, "b_w": wake_at, "b_now": now}
        if batch.can_check:
            batch.add(statement, params, exact=True)
        elif (await conn.execute(statement, params)).rowcount != 1:
            raise ConcurrentUpdate(f"session is no longer at version {expected_version}")
        return new_version

    async def due_sessions(self, now: datetime, *, limit: int = 500) -> list[str]:
        """Pseudonyms whose wake-up time (reminder, expiry) has come, earliest first."""
        _aware(now)
        stmt = (select(_session.c.pseudonym)
                .where(_session.c.wake_at.is_not(None), _session.c.wake_at <= now)
                .order_by(_session.c.wake_at, _session.c.pseudonym).limit(limit))
        async with self._db.read() as conn:
            return list((await conn.execute(stmt)).scalars())

    # --- outbox -------------------------------------------------------------------------------

    async def due_outbox(self, now: datetime, *, limit: int = 200) -> list[OutboxItem]:
        """Per person, the oldest undelivered message, if its time has come and no sender holds
        it (a look, for tests and status; senders claim with `claim_outbox`)."""
        _aware(now)
        async with self._db.read() as conn:
            rows = (await conn.execute(Q.DUE_OUTBOX, {"b_now": now, "b_limit": limit})).all()
        return [outbox_item(self._keys, r) for r in rows]

    async def claim_outbox(self, now: datetime, *, limit: int, lease: timedelta) -> list[OutboxItem]:
        """Take up to `limit` due rows (each its person's oldest) for one sender, for `lease`.

        The attempt is recorded before anything is sent: `attempts` goes up, and a reply token
        still fresh is marked as handed over (`reply_tried`), so that after a crash the next sender
        knows a refusal of that token means the earlier attempt delivered it. Another sender takes
        the row only once the lease has run out; the marks below carry the claim, so a sender that
        outlived its lease changes nothing.
        """
        _aware(now)
        claim = str(uuid.uuid4())
        due = Q.DUE_OUTBOX
        if self._db.dialect != "sqlite":
            due = due.with_for_update(skip_locked=True, of=_outbox)
        async with self._db.write() as conn:
            if self._db.dialect == "sqlite":  # the write lock before the read (see work.py)
                await conn.execute(text("UPDATE work_passes SET owner = owner WHERE 1 = 0"))
            rows = (await conn.execute(due, {"b_now": now, "b_limit": limit})).all()
            if not rows:
                return []
            items, unreadable = {}, []
            for r in rows:
                try:
                    items[r.id] = outbox_item(self._keys, r)
                except ErasedValue:  # its person's data key is gone (erased): it can never be sent
                    unreadable.append(r.id)
            if unreadable:
                await conn.execute(update(_outbox).where(_outbox.c.id.in_(unreadable)).values(
                    status="undeliverable", finished_at=now, error="ErasedValue"))
            rows = [r for r in rows if r.id in items]
            if not rows:
                return []
            ids = [r.id for r in rows]
            fresh = and_(_outbox.c.reply_token_enc.is_not(None), _outbox.c.reply_token_expires_at > now)
            await conn.execute(update(_outbox).where(_outbox.c.id.in_(ids)).values(
                claimed_until=now + lease, claim=claim, attempts=_outbox.c.attempts + 1,
                reply_tried=or_(_outbox.c.reply_tried, fresh)))
        return [replace(items[r.id], attempts=r.attempts + 1, claim=claim) for r in rows]

    async def mark_sent(self, item: OutboxItem, *, now: datetime) -> None:
        """Delivered. The reply token is dropped: it is spent and no longer needed."""
        _aware(now)
        await self._later(Q.OUTBOX_FINISH, {"b_id": item.id, "b_claim": item.claim, "b_status": "sent",
                                           "b_now": now, "b_error": None})

    async def mark_retry(self, item: OutboxItem, *, next_attempt_at: datetime, error: str,
                         reply_token_spent: bool = False) -> None:
        """Try again at `next_attempt_at`; with `reply_token_spent` the next try pushes instead."""
        _aware(next_attempt_at)
        await self._later(Q.OUTBOX_RETRY_PUSH if reply_token_spent else Q.OUTBOX_RETRY,
                          {"b_id": item.id, "b_claim": item.claim, "b_next": next_attempt_at,
                           "b_error": _short(error)})

    async def hand_back(self, item: OutboxItem) -> None:
        """A row this sender claimed and never began to send (it is stopping): free for the next
        sender at once, its attempt and reply-token mark undone."""
        await self._later(Q.OUTBOX_HAND_BACK, {"b_id": item.id, "b_claim": item.claim, "b_tried": item.reply_tried})

    async def mark_undeliverable(self, item: OutboxItem, *, now: datetime, error: str) -> None:
        """Give up on this message (e.g. a 4xx other than 429); the person's next one may go."""
        _aware(now)
        await self._later(Q.OUTBOX_FINISH, {"b_id": item.id, "b_claim": item.claim, "b_status": "undeliverable",
                                           "b_now": now, "b_error": _short(error)})

    # --- people and health --------------------------------------------------------------------

    async def forget_person(self, pseudonym: str) -> None:
        """Delete what identifies or quotes a person: address, session, undelivered messages,
        and processed inbox events (pending ones stay until the worker has handled them)."""

        async def job(conn: AsyncConnection, _batch: Batch) -> None:
            await conn.execute(delete(_address).where(_address.c.pseudonym == pseudonym))
            await conn.execute(delete(_session).where(_session.c.pseudonym == pseudonym))
            await conn.execute(delete(_outbox).where(_outbox.c.pseudonym == pseudonym,
                                                     _outbox.c.status == "pending"))
            await conn.execute(delete(_inbox).where(_inbox.c.pseudonym == pseudonym,
                                                    _inbox.c.status != "pending"))

        # alone: after the batched writes of turns queued before it, so none of those survive.
        await self._writer.run(job, alone=True)

    async def counts(self) -> dict[str, int]:
        """Row counts for /metrics and /healthz, in one statement (one snapshot, one trip)."""
        async with self._db.read() as conn:
            row = (await conn.execute(Q.COUNTS)).one()
        return {name: int(value) for name, value in row._mapping.items()}


def _finish_params(inbox_id: int, *, status: str, now: datetime, error: str | None) -> dict[str, Any]:
    return {"b_id": inbox_id, "b_status": status, "b_now": now, "b_error": error}
