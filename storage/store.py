"""The repository the bot talks to: inbox, addresses, sessions, outbox. Values are encrypted here.

Every method is one transaction. Associated data binds each ciphertext to its row and purpose
(`inbox|channel|event id|pseudonym`, `session|pseudonym`, ...), so a value copied into another
row, or another column, does not decrypt.

`mark_*` methods on a row that is gone (for example removed by `forget_person` while a send was
in flight) do nothing rather than raise: the caller could not do anything useful about it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Database
from storage.errors import ConcurrentUpdate
from storage.keys import Keyring
from storage.tables import AddressRow, InboxRow, OutboxRow, SessionRow

_inbox = InboxRow.__table__
_address = AddressRow.__table__
_session = SessionRow.__table__
_outbox = OutboxRow.__table__

_ERROR_MAX = 200


@dataclass(frozen=True)
class NewEvent:
    """An event as received, before it has an inbox id. `payload` is the raw event (JSON bytes)."""

    channel: str
    event_id: str
    pseudonym: str | None
    payload: bytes
    received_at: datetime


@dataclass(frozen=True)
class InboxItem:
    id: int
    channel: str
    event_id: str
    pseudonym: str | None
    payload: bytes
    received_at: datetime


@dataclass(frozen=True)
class Outgoing:
    """A message the worker wants delivered; `payload` is the platform message(s) as bytes."""

    channel: str
    payload: bytes
    reply_token: str | None = None
    reply_token_expires_at: datetime | None = None


@dataclass(frozen=True)
class OutboxItem:
    id: int
    pseudonym: str
    channel: str
    payload: bytes
    reply_token: str | None
    reply_token_expires_at: datetime | None
    retry_key: str
    attempts: int


@dataclass(frozen=True)
class StoredSession:
    state: dict[str, Any]
    version: int
    wake_at: datetime | None


def _aad(*parts: str) -> bytes:
    # "|" cannot be forged across parts that never contain it (ids, pseudonyms, channel names).
    return "|".join(parts).encode()


def _aware(*values: datetime | None) -> None:
    """Refuse naive datetimes up front (the column type would too, wrapped in SQLAlchemy's error)."""
    for value in values:
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError("naive datetime given to storage; pass a timezone-aware (UTC) datetime")


def _short(error: str) -> str:
    return error[:_ERROR_MAX]


class Store:
    """Inbox, addresses, sessions and outbox over one `Database`, encrypting with one `Keyring`."""

    def __init__(self, db: Database, keyring: Keyring) -> None:
        self._db = db
        self._keys = keyring
        self._insert = sqlite.insert if db.dialect == "sqlite" else postgresql.insert

    # --- inbox --------------------------------------------------------------------------------

    async def accept_events(self, events: Sequence[NewEvent]) -> list[InboxItem]:
        """Store new events in one transaction; skip ones already stored. Durable on return.

        Returns only the events that were new, in input order, so a redelivery is processed once.
        """
        if not events:
            return []
        _aware(*(e.received_at for e in events))
        rows = [
            (e, self._keys.encrypt(e.payload, aad=_aad("inbox", e.channel, e.event_id, e.pseudonym or "")))
            for e in events
        ]
        accepted: list[InboxItem] = []
        async with self._db.write() as conn:
            for e, token in rows:
                stmt = (
                    self._insert(_inbox)
                    .values(channel=e.channel, event_id=e.event_id, pseudonym=e.pseudonym,
                            payload_enc=token, status="pending", received_at=e.received_at)
                    .on_conflict_do_nothing(index_elements=["channel", "event_id"])
                    .returning(_inbox.c.id, _inbox.c.received_at)
                )
                row = (await conn.execute(stmt)).first()
                if row is not None:
                    accepted.append(InboxItem(id=row.id, channel=e.channel, event_id=e.event_id,
                                              pseudonym=e.pseudonym, payload=e.payload,
                                              received_at=row.received_at))
        return accepted

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
        async with self._db.write() as conn:
            await conn.execute(_finish_event(inbox_id, status="done", now=now, error=None))

    async def mark_event_failed(self, inbox_id: int, *, now: datetime, error: str) -> None:
        """`error` is a short code or exception class name, never text from the person."""
        _aware(now)
        async with self._db.write() as conn:
            await conn.execute(_finish_event(inbox_id, status="failed", now=now, error=_short(error)))

    async def purge_finished(self, *, before: datetime) -> int:
        """Retention: delete finished inbox events and outbox messages older than `before`.

        Pending rows are never purged. Keeping finished events for a while is what makes a late
        redelivery a no-op, so `before` should be well past the platform's redelivery window.
        Returns the number of rows deleted.
        """
        _aware(before)
        async with self._db.write() as conn:
            a = await conn.execute(delete(_inbox).where(
                _inbox.c.status != "pending", _inbox.c.received_at < before))
            b = await conn.execute(delete(_outbox).where(
                _outbox.c.status != "pending", _outbox.c.created_at < before))
        return (a.rowcount or 0) + (b.rowcount or 0)

    # --- addresses ----------------------------------------------------------------------------

    async def remember_address(self, *, channel: str, pseudonym: str, platform_user_id: str,
                               now: datetime) -> None:
        """Record how to reach `pseudonym`; the only place a platform user id is stored."""
        _aware(now)
        token = self._keys.encrypt(platform_user_id.encode(), aad=_aad("address", channel, pseudonym))
        stmt = self._insert(_address).values(
            pseudonym=pseudonym, channel=channel, platform_user_id_enc=token, updated_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=["pseudonym"],
            set_={"channel": channel, "platform_user_id_enc": token, "updated_at": now},
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def address_of(self, pseudonym: str) -> tuple[str, str] | None:
        """(channel, platform user id) for delivery; only the sender should call this."""
        stmt = select(_address.c.channel, _address.c.platform_user_id_enc).where(
            _address.c.pseudonym == pseudonym)
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        raw = self._keys.decrypt(row.platform_user_id_enc, aad=_aad("address", row.channel, pseudonym))
        return row.channel, raw.decode()

    # --- sessions -----------------------------------------------------------------------------

    async def load_session(self, pseudonym: str) -> StoredSession | None:
        stmt = select(_session).where(_session.c.pseudonym == pseudonym)
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).first()
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
            state_token = self._keys.encrypt(encoded, aad=_aad("session", pseudonym))
        out_rows = []
        for msg in outgoing:
            retry_key = str(uuid.uuid4())
            out_rows.append({
                "pseudonym": pseudonym,
                "channel": msg.channel,
                "payload_enc": self._keys.encrypt(
                    msg.payload, aad=_aad("outbox", pseudonym, retry_key)),
                "reply_token_enc": None if msg.reply_token is None else self._keys.encrypt(
                    msg.reply_token.encode(), aad=_aad("reply", pseudonym, retry_key)),
                "reply_token_expires_at": msg.reply_token_expires_at,
                "retry_key": retry_key,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            })
        async with self._db.write() as conn:
            new_version = await self._write_session(
                conn, pseudonym=pseudonym, expected_version=expected_version,
                state_token=state_token, wake_at=wake_at, now=now)
            for values in out_rows:  # one by one: ids must follow the given order
                await conn.execute(_outbox.insert().values(**values))
            if inbox_id is not None:
                await conn.execute(_finish_event(inbox_id, status="done", now=now, error=None))
        return new_version

    async def _write_session(self, conn: Any, *, pseudonym: str, expected_version: int | None,
                             state_token: str | None, wake_at: datetime | None,
                             now: datetime) -> int | None:
        where = _session.c.pseudonym == pseudonym
        if expected_version is None:
            if state_token is None:
                exists = (await conn.execute(select(_session.c.version).where(where))).first()
                if exists is not None:
                    raise ConcurrentUpdate("a session was created meanwhile")
                return None
            stmt = (
                self._insert(_session)
                .values(pseudonym=pseudonym, version=1, state_enc=state_token, wake_at=wake_at,
                        updated_at=now)
                .on_conflict_do_nothing(index_elements=["pseudonym"])
                .returning(_session.c.version)
            )
            if (await conn.execute(stmt)).first() is None:
                raise ConcurrentUpdate("a session was created meanwhile")
            return 1
        where = where & (_session.c.version == expected_version)
        if state_token is None:
            result = await conn.execute(delete(_session).where(where))
            new_version = None
        else:
            new_version = expected_version + 1
            result = await conn.execute(update(_session).where(where).values(
                version=new_version, state_enc=state_token, wake_at=wake_at, updated_at=now))
        if result.rowcount != 1:
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
        """Per person, the oldest undelivered message, if its time has come.

        A later message never overtakes an earlier one: while a person's oldest message waits
        for a retry, nothing else of theirs is due.
        """
        _aware(now)
        heads = (select(func.min(_outbox.c.id).label("id"))
                 .where(_outbox.c.status == "pending")
                 .group_by(_outbox.c.pseudonym)
                 .subquery())
        stmt = (select(_outbox)
                .join(heads, heads.c.id == _outbox.c.id)
                .where(_outbox.c.next_attempt_at <= now)
                .order_by(_outbox.c.id)
                .limit(limit))
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [self._outbox_item(r) for r in rows]

    def _outbox_item(self, r: Any) -> OutboxItem:
        token = None
        if r.reply_token_enc is not None:
            token = self._keys.decrypt(r.reply_token_enc, aad=_aad("reply", r.pseudonym, r.retry_key)).decode()
        return OutboxItem(
            id=r.id, pseudonym=r.pseudonym, channel=r.channel,
            payload=self._keys.decrypt(r.payload_enc, aad=_aad("outbox", r.pseudonym, r.retry_key)),
            reply_token=token, reply_token_expires_at=r.reply_token_expires_at,
            retry_key=r.retry_key, attempts=r.attempts)

    async def mark_sent(self, outbox_id: int, *, now: datetime) -> None:
        """Delivered. The reply token is dropped: it is spent and no longer needed."""
        _aware(now)
        stmt = (update(_outbox).where(_outbox.c.id == outbox_id, _outbox.c.status == "pending")
                .values(status="sent", finished_at=now, attempts=_outbox.c.attempts + 1,
                        reply_token_enc=None, error=None))
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def mark_retry(self, outbox_id: int, *, next_attempt_at: datetime, error: str,
                         reply_token_spent: bool = False) -> None:
        """Try again at `next_attempt_at`; with `reply_token_spent` the next try pushes instead."""
        _aware(next_attempt_at)
        values: dict[str, Any] = {"attempts": _outbox.c.attempts + 1,
                                  "next_attempt_at": next_attempt_at, "error": _short(error)}
        if reply_token_spent:
            values.update(reply_token_enc=None, reply_token_expires_at=None)
        stmt = (update(_outbox).where(_outbox.c.id == outbox_id, _outbox.c.status == "pending")
                .values(**values))
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def mark_undeliverable(self, outbox_id: int, *, now: datetime, error: str) -> None:
        """Give up on this message (e.g. a 4xx other than 429); the person's next one may go."""
        _aware(now)
        stmt = (update(_outbox).where(_outbox.c.id == outbox_id, _outbox.c.status == "pending")
                .values(status="undeliverable", finished_at=now, attempts=_outbox.c.attempts + 1,
                        reply_token_enc=None, error=_short(error)))
        async with self._db.write() as conn:
            await conn.execute(stmt)

    # --- people and health --------------------------------------------------------------------

    async def forget_person(self, pseudonym: str) -> None:
        """Delete what identifies or quotes a person: address, session, undelivered messages,
        and processed inbox events (pending ones stay until the worker has handled them)."""
        async with self._db.write() as conn:
            await conn.execute(delete(_address).where(_address.c.pseudonym == pseudonym))
            await conn.execute(delete(_session).where(_session.c.pseudonym == pseudonym))
            await conn.execute(delete(_outbox).where(_outbox.c.pseudonym == pseudonym,
                                                     _outbox.c.status == "pending"))
            await conn.execute(delete(_inbox).where(_inbox.c.pseudonym == pseudonym,
                                                    _inbox.c.status != "pending"))

    async def counts(self) -> dict[str, int]:
        """Row counts for /metrics and /healthz (a cheap query that also proves the DB answers)."""
        queries = {
            "inbox_pending": select(func.count()).select_from(_inbox).where(_inbox.c.status == "pending"),
            "inbox_failed": select(func.count()).select_from(_inbox).where(_inbox.c.status == "failed"),
            "outbox_pending": select(func.count()).select_from(_outbox).where(_outbox.c.status == "pending"),
            "outbox_undeliverable": select(func.count()).select_from(_outbox).where(
                _outbox.c.status == "undeliverable"),
            "sessions": select(func.count()).select_from(_session),
            "addresses": select(func.count()).select_from(_address),
        }
        async with self._db.read() as conn:
            return {name: int((await conn.execute(q)).scalar_one()) for name, q in queries.items()}


def _finish_event(inbox_id: int, *, status: str, now: datetime, error: str | None) -> Any:
    return (update(_inbox).where(_inbox.c.id == inbox_id)
            .values(status=status, finished_at=now, error=error))
