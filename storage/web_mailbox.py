"""The web chat's mailbox: every line of a web conversation, per person, numbered and encrypted.

A browser is not always connected (a phone on a train, a closed tab), so what the bot or a
counselor says to a person on the web is appended here before it is pushed to open sockets; a
browser that (re)connects says the last number it has and gets everything after it. The
person's own lines are appended too, so that a reloaded page shows the whole conversation while
the browser itself keeps nothing but its random token.

`seq` counts from 1 per pseudonym with no gaps. Each line carries a `key` (the outbox row's
retry key, or the inbox event id), unique, so an append retried after a crash or a resend is
stored once. Payloads are encrypted with associated data naming the row, like the other tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Index, Text, case, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from storage.db import Database
from storage.errors import ConcurrentUpdate
from storage.keys import Keyring
from storage.tables import UTCDateTime, table_of

_ATTEMPTS = 5


class WebMailboxRow(SQLModel, table=True):
    __tablename__ = "web_mailbox"
    __table_args__ = (Index("ix_web_mailbox_created_at", "created_at"),)

    pseudonym: str = Field(primary_key=True, max_length=64)
    seq: int = Field(primary_key=True)
    key: str = Field(max_length=160, unique=True)
    payload_enc: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)


@dataclass(frozen=True)
class MailItem:
    seq: int
    payload: bytes
    created_at: datetime


_table = table_of(WebMailboxRow)


def _aad(pseudonym: str, key: str) -> bytes:
    return f"web_mailbox|{pseudonym}|{key}".encode()


class WebMailbox:
    """Append and read one person's web conversation; see the module docstring."""

    def __init__(self, db: Database, keyring: Keyring) -> None:
        self._db = db
        self._keys = keyring

    async def append(self, pseudonym: str, payload: bytes, *, key: str, now: datetime) -> int:
        """Store `payload` as the person's next line and return its seq; if a line with this
        `key` is already stored, return that line's seq instead (so a retried append is a no-op)."""
        if now.tzinfo is None:
            raise ValueError("naive datetime given to storage; pass a timezone-aware (UTC) datetime")
        token = self._keys.encrypt(payload, aad=_aad(pseudonym, key), person=pseudonym)
        for _ in range(_ATTEMPTS):
            try:
                async with self._db.write() as conn:
                    found = (await conn.execute(
                        select(_table.c.seq).where(_table.c.key == key))).scalar_one_or_none()
                    if found is not None:
                        return int(found)
                    last = (await conn.execute(
                        select(func.max(_table.c.seq)).where(_table.c.pseudonym == pseudonym)
                    )).scalar_one_or_none()
                    seq = int(last or 0) + 1
                    await conn.execute(_table.insert().values(
                        pseudonym=pseudonym, seq=seq, key=key, payload_enc=token, created_at=now))
                    return seq
            except IntegrityError:  # another process took this seq (or this key) first: look again
                continue
        raise ConcurrentUpdate(f"could not append to the web mailbox after {_ATTEMPTS} tries")

    async def since(self, pseudonym: str, after: int, *, limit: int = 200) -> list[MailItem]:
        """The person's lines with seq > `after`, oldest first, at most `limit` of them."""
        stmt = (select(_table.c.seq, _table.c.key, _table.c.payload_enc, _table.c.created_at)
                .where(_table.c.pseudonym == pseudonym, _table.c.seq > after)
                .order_by(_table.c.seq).limit(limit))
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [MailItem(seq=r.seq, payload=self._keys.decrypt(r.payload_enc, aad=_aad(pseudonym, r.key)),
                         created_at=r.created_at) for r in rows]

    async def last_seq(self, pseudonym: str) -> int:
        async with self._db.read() as conn:
            value = (await conn.execute(
                select(func.max(_table.c.seq)).where(_table.c.pseudonym == pseudonym))).scalar_one_or_none()
        return int(value or 0)

    async def silent(self, *, before: datetime, limit: int = 500) -> list[str]:
        """People who never wrote a line (every line is the bot's) and whose newest line is older
        than `before`: chats opened and left, whose rows need not be kept.

        A person's own line is keyed by its inbox event id, which starts with the first 24
        characters of their pseudonym and a "." (bot/web/translate.py); the bot's lines are keyed
        by outbox retry keys (UUIDs), which never do."""
        own = func.sum(case((func.substr(_table.c.key, 1, 25) == func.substr(_table.c.pseudonym, 1, 24).concat("."), 1),
                            else_=0))
        stmt = (select(_table.c.pseudonym).group_by(_table.c.pseudonym)
                .having(func.max(_table.c.created_at) < before, own == 0).limit(limit))
        async with self._db.read() as conn:
            return [r[0] for r in (await conn.execute(stmt)).all()]

    async def forget(self, pseudonym: str) -> int:
        """Delete the person's whole web conversation; returns the number of lines deleted."""
        async with self._db.write() as conn:
            result = await conn.execute(delete(_table).where(_table.c.pseudonym == pseudonym))
        return result.rowcount or 0

    async def purge(self, *, before: datetime) -> int:
        """Retention: delete lines older than `before`; returns the number deleted."""
        async with self._db.write() as conn:
            result = await conn.execute(delete(_table).where(_table.c.created_at < before))
        return result.rowcount or 0
