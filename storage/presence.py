"""Who is on duty: counselors say so on the web desk (a switch) or on Slack (`/tsunagu on|off`).

A row is one counselor on duty for one partner, from `since` until `until`: the web desk keeps
`until` a few minutes ahead while its page is open (so closing the tab ends duty by itself),
Slack sets the length of a shift, and the demo counselor of the embedded defaults is on duty with
no end. Routing counts the rows still running per partner (bot/desk/partners.py): a partner with
nobody on duty takes no new case. Counselor ids are the desk's (a Slack user id, or
"web:<account id>"), never a person's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel

from storage.db import Database
from storage.tables import UTCDateTime, table_of


class DutyRow(SQLModel, table=True):
    """One counselor on duty for one partner."""

    __tablename__ = "desk_duty"

    counselor_id: str = Field(primary_key=True, max_length=64)
    org_id: str = Field(primary_key=True, max_length=64)
    front: str = Field(max_length=8)  # "web" or "slack"
    since: datetime = Field(sa_type=UTCDateTime)
    until: datetime | None = Field(default=None, sa_type=UTCDateTime)  # None: until switched off


_t = table_of(DutyRow)


@dataclass(frozen=True)
class Duty:
    since: datetime
    until: datetime | None


def _running(now: datetime) -> ColumnElement[bool]:
    return or_(_t.c.until.is_(None), _t.c.until > now)


class Presence:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._insert = sqlite.insert if db.dialect == "sqlite" else postgresql.insert

    async def start(self, counselor_id: str, org_id: str, *, front: str, now: datetime,
                    until: datetime | None) -> Duty:
        """On duty from now (or since the duty still running) until `until` (None: no end)."""
        async with self._db.write() as conn:
            row = (await conn.execute(select(_t.c.since, _t.c.until).where(
                _t.c.counselor_id == counselor_id, _t.c.org_id == org_id))).first()
            since = row.since if row is not None and (row.until is None or row.until > now) else now
            statement = self._insert(_t).values(counselor_id=counselor_id, org_id=org_id, front=front,
                                                since=since, until=until)
            await conn.execute(statement.on_conflict_do_update(
                index_elements=["counselor_id", "org_id"],
                set_={"front": front, "since": since, "until": until}))
        return Duty(since, until)

    async def end(self, counselor_id: str, org_id: str) -> bool:
        """Off duty; True if the counselor was on duty (or had been until lately)."""
        async with self._db.write() as conn:
            result = await conn.execute(delete(_t).where(_t.c.counselor_id == counselor_id, _t.c.org_id == org_id))
        return bool(result.rowcount)

    async def keep(self, counselor_id: str, org_id: str, *, until: datetime, now: datetime) -> bool:
        """Push a running duty's end to `until` (the web desk's page is still open). A duty with no
        end keeps none; one that already ended stays ended. True if still on duty."""
        async with self._db.write() as conn:
            result = await conn.execute(update(_t).where(
                _t.c.counselor_id == counselor_id, _t.c.org_id == org_id, _t.c.until.is_not(None),
                _t.c.until > now, _t.c.until < until).values(until=until))
            if result.rowcount:
                return True
        return await self.duty(counselor_id, org_id, now) is not None

    async def duty(self, counselor_id: str, org_id: str, now: datetime) -> Duty | None:
        async with self._db.read() as conn:
            row = (await conn.execute(select(_t.c.since, _t.c.until).where(
                _t.c.counselor_id == counselor_id, _t.c.org_id == org_id, _running(now)))).first()
        return Duty(row.since, row.until) if row is not None else None

    async def counts(self, now: datetime) -> dict[str, int]:
        """Counselors on duty now, per partner (partners with nobody are absent)."""
        async with self._db.read() as conn:
            rows = (await conn.execute(select(_t.c.org_id, func.count()).where(_running(now))
                                       .group_by(_t.c.org_id))).all()
        return {org_id: int(n) for org_id, n in rows}

    async def forget_ended(self, before: datetime) -> int:
        """Drop duties that ended before `before` (they count for nothing; a tidy table)."""
        async with self._db.write() as conn:
            result = await conn.execute(delete(_t).where(_t.c.until.is_not(None), _t.c.until < before))
        return int(result.rowcount or 0)
