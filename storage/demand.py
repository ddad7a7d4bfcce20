"""Unmet demand: each time a person went unanswered, one anonymous row (issue 14).

A row says what (the first topic), where (prefecture, municipality if given), when (the UTC hour)
and why (REASONS), and nothing else: no pseudonym, no case id, no minute, no partner, nothing that
links it to a person or a case, so it may be kept after the cases are deleted and shown to the
people who run the network. Reports read it aggregated and suppress small cells (bot/stats).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Index, select
from sqlmodel import Field, SQLModel

from storage.db import Connected, Database
from storage.tables import UTCDateTime, _Id, table_of

#: Why nobody answered. `nobody_on_duty`: some matching partner was open by its hours, but none of
#: its counselors was on duty (storage/presence.py).
REASONS = ("no_partner_open", "all_full", "nobody_on_duty", "waited_too_long", "left_before_reached")


class DemandRow(SQLModel, table=True):
    """One person unanswered, anonymously."""

    __tablename__ = "unmet_demand"
    __table_args__ = (Index("ix_unmet_demand_hour", "hour"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=_Id)
    hour: datetime = Field(sa_type=UTCDateTime)  # the UTC hour it happened in (minutes dropped)
    topic: str = Field(max_length=32)
    prefecture: str | None = Field(default=None, max_length=2)
    municipality: str | None = Field(default=None, max_length=6)
    reason: str = Field(max_length=32)


_t = table_of(DemandRow)


@dataclass(frozen=True)
class Unmet:
    hour: datetime
    topic: str
    prefecture: str | None
    municipality: str | None
    reason: str


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class DemandStore:
    def __init__(self, db: Database | Connected) -> None:
        self._db = db

    def on(self, db: Database | Connected) -> DemandStore:
        """This store inside another transaction: a worker's batch writes its unmet rows with the
        batch (a second write transaction beside it would wait for the batch's own lock)."""
        return DemandStore(db)

    async def record(self, *, topic: str, prefecture: str | None, municipality: str | None, reason: str,
                     at: datetime) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r} (one of {', '.join(REASONS)})")
        async with self._db.write() as conn:
            await conn.execute(_t.insert().values(hour=hour_of(at), topic=topic[:32], prefecture=prefecture,
                                                  municipality=municipality, reason=reason))

    async def between(self, start: datetime, end: datetime) -> list[Unmet]:
        """Rows whose hour is in [start, end), oldest first."""
        async with self._db.read() as conn:
            rows = (await conn.execute(select(_t).where(_t.c.hour >= start, _t.c.hour < end)
                                       .order_by(_t.c.hour, _t.c.id))).all()
        return [Unmet(r.hour, r.topic, r.prefecture, r.municipality, r.reason) for r in rows]

    async def add_many(self, rows: Sequence[Unmet]) -> None:
        """For tests and imports: rows as they are."""
        async with self._db.write() as conn:
            await conn.execute(_t.insert(), [dict(hour=hour_of(r.hour), topic=r.topic, prefecture=r.prefecture,
                                                  municipality=r.municipality, reason=r.reason) for r in rows])
