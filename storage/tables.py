"""The tables. Columns named `*_enc` hold `Keyring.encrypt` tokens; nothing else identifies anyone.

In the clear are only what the database must compare or order by: pseudonyms (HMAC, not
reversible without the key), platform event ids (opaque, needed for de-duplication), statuses,
counters and UTC times.
"""

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, Table, Text, TypeDecorator, UniqueConstraint, text
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on both backends.

    SQLite has no time zone type and SQLAlchemy stores its datetimes as naive text, so values are
    converted to UTC and stored naive there (text in one format compares in time order), and
    marked UTC again on read. Naive input is refused: it is a local time someone forgot to convert.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to storage; pass a timezone-aware (UTC) datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a table model, typed (SQLModel does not declare `__table__`)."""
    table = vars(model).get("__table__")
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table


# 64-bit ids on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the auto-incrementing rowid.
_Id = BigInteger().with_variant(Integer(), "sqlite")


class InboxRow(SQLModel, table=True):
    """One platform event, stored before the webhook is acknowledged."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "event_id", name="uq_inbox_channel_event"),
        Index("ix_inbox_status_id", "status", "id"),
        Index("ix_inbox_pseudonym", "pseudonym"),
        # The work queue's head of line: a person's earliest pending event (storage/work.py).
        Index("ix_inbox_pending_person", "pseudonym", "id", postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'")),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=_Id)
    channel: str = Field(max_length=32)
    event_id: str = Field(max_length=128)
    pseudonym: str | None = Field(default=None, max_length=64)
    payload_enc: str = Field(sa_type=Text)
    status: str = Field(default="pending", max_length=16)  # pending | done | failed (the dead letters)
    received_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, max_length=200)
    attempts: int = Field(default=0)  # failed tries so far
    available_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # not before (a retry's backoff)


class AddressRow(SQLModel, table=True):
    """How to reach a pseudonym: the only place a platform user id is kept, encrypted."""

    __tablename__ = "addresses"

    pseudonym: str = Field(primary_key=True, max_length=64)
    channel: str = Field(max_length=32)
    platform_user_id_enc: str = Field(sa_type=Text)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class SessionRow(SQLModel, table=True):
    """A person's conversation state (flow position, answers), encrypted, with an optimistic version."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_wake_at", "wake_at"),)

    pseudonym: str = Field(primary_key=True, max_length=64)
    version: int
    state_enc: str = Field(sa_type=Text)
    wake_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class OutboxRow(SQLModel, table=True):
    """One message to deliver, written in the same transaction as the state that produced it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_pseudonym_id", "status", "pseudonym", "id"),
        Index("ix_outbox_pending_person", "pseudonym", "id", postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'")),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=_Id)
    pseudonym: str = Field(max_length=64)
    channel: str = Field(max_length=32)
    payload_enc: str = Field(sa_type=Text)
    reply_token_enc: str | None = Field(default=None, sa_type=Text)
    reply_token_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retry_key: str = Field(max_length=36, unique=True)
    status: str = Field(default="pending", max_length=16)  # pending | sent | undeliverable
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, max_length=200)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)  # a sender's lease
    claim: str | None = Field(default=None, max_length=36)  # which lease: a sender's marks must carry it
    reply_tried: bool = Field(default=False)  # the reply token was handed to LINE in an earlier attempt


class WorkPassRow(SQLModel, table=True):
    """A periodic pass's lease: the instance that holds it runs the pass; the others skip it."""

    __tablename__ = "work_passes"

    name: str = Field(primary_key=True, max_length=32)
    owner: str = Field(max_length=64)
    until: datetime = Field(sa_type=UTCDateTime)
