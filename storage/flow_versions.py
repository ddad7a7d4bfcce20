"""Published flow versions: each version's source and when it was published, and which is current.

Flow files are coordinators' text, not personal data, so they are stored in the clear. Keeping
every published version lets a conversation continue on the version it started with across
restarts and edits, lets several server processes agree on the current version, and makes
`tsunagu flows history` and `rollback` possible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Text, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel

from storage.db import Database
from storage.tables import UTCDateTime, table_of


class FlowVersionRow(SQLModel, table=True):
    __tablename__ = "flow_versions"

    flow_id: str = Field(primary_key=True, max_length=64)
    version: str = Field(primary_key=True, max_length=64)
    source: str = Field(sa_type=Text)
    first_published_at: datetime = Field(sa_type=UTCDateTime)
    published_at: datetime = Field(sa_type=UTCDateTime)
    current: bool = Field(default=False)


@dataclass(frozen=True)
class FlowVersionInfo:
    flow_id: str
    version: str
    first_published_at: datetime
    published_at: datetime
    current: bool


_table = table_of(FlowVersionRow)


class FlowVersionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def publish(self, *, flow_id: str, version: str, source: str, now: datetime) -> bool:
        """Make `version` current for `flow_id` (storing its source if new). True if it changed."""
        insert = (sqlite if self._db.dialect == "sqlite" else postgresql).insert
        async with self._db.write() as conn:
            previous = (
                await conn.execute(
                    select(_table.c.version).where(_table.c.flow_id == flow_id, _table.c.current.is_(True))
                )
            ).scalar_one_or_none()
            await conn.execute(
                insert(_table)
                .values(flow_id=flow_id, version=version, source=source, first_published_at=now,
                        published_at=now, current=False)
                .on_conflict_do_nothing(index_elements=["flow_id", "version"])
            )
            if previous == version:
                return False
            await conn.execute(update(_table).where(_table.c.flow_id == flow_id).values(current=False))
            await conn.execute(
                update(_table)
                .where(_table.c.flow_id == flow_id, _table.c.version == version)
                .values(current=True, published_at=now)
            )
        return True

    async def current(self) -> dict[str, str]:
        """flow id -> current version."""
        async with self._db.read() as conn:
            rows = await conn.execute(select(_table.c.flow_id, _table.c.version).where(_table.c.current.is_(True)))
            return {r.flow_id: r.version for r in rows}

    async def source(self, flow_id: str, version: str) -> str | None:
        async with self._db.read() as conn:
            return (
                await conn.execute(
                    select(_table.c.source).where(_table.c.flow_id == flow_id, _table.c.version == version)
                )
            ).scalar_one_or_none()

    async def history(self, flow_id: str | None = None) -> list[FlowVersionInfo]:
        """Versions, newest publication first."""
        query = select(_table).order_by(_table.c.published_at.desc(), _table.c.version)
        if flow_id is not None:
            query = query.where(_table.c.flow_id == flow_id)
        async with self._db.read() as conn:
            return [
                FlowVersionInfo(r.flow_id, r.version, r.first_published_at, r.published_at, bool(r.current))
                for r in await conn.execute(query)
            ]

    async def find(self, flow_id: str, prefix: str) -> list[str]:
        """Versions of `flow_id` starting with `prefix` (people type short hashes)."""
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(_table.c.version).where(_table.c.flow_id == flow_id, _table.c.version.startswith(prefix))
            )
            return [r.version for r in rows]
