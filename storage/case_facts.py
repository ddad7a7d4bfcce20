"""Read-only facts about cases, for the anonymous statistics and the standard export (issue 14).

Reads the desk's tables (storage/case_tables.py) without changing them, and decrypts only the
intake answers (never a message text or note): a report needs the topics, age band, prefecture and
municipality, the times of the case, how many messages it had and when the counselor first wrote,
and whether a follow-up was kept. What leaves this module is a `CaseFacts` value; the pseudonym
never does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from storage.case_tables import CaseMessageRow, CaseRow, FollowUpRow
from storage.db import Database
from storage.keys import Keyring
from storage.tables import table_of

_case = table_of(CaseRow)
_msg = table_of(CaseMessageRow)
_fu = table_of(FollowUpRow)

FOLLOWUP_KEPT = ("scheduled", "asked", "done")  # the person said yes to the check-in


@dataclass(frozen=True)
class CaseFacts:
    id: int  # to read the same case again; never exported or shown
    org_id: str | None
    status: str
    outcome: str | None
    urgent: bool
    language: str
    share_consent: bool
    answers: Mapping[str, Any]
    created_at: datetime
    queued_at: datetime
    accepted_at: datetime | None
    closed_at: datetime | None
    first_reply_at: datetime | None  # the first message a counselor sent
    messages: int  # relayed either way (notes not counted)
    followup: str | None  # the follow-up's status, if one was offered

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(self.answers.get("topics") or ()) or ("other",)

    @property
    def waited(self) -> timedelta | None:
        return self.accepted_at - self.queued_at if self.accepted_at else None

    @property
    def first_reply(self) -> timedelta | None:
        return self.first_reply_at - self.queued_at if self.first_reply_at else None

    @property
    def length(self) -> timedelta | None:
        return self.closed_at - self.accepted_at if self.closed_at and self.accepted_at else None

    @property
    def followup_kept(self) -> bool:
        return self.followup in FOLLOWUP_KEPT


class CaseFactsReader:
    def __init__(self, db: Database, keyring: Keyring) -> None:
        self._db = db
        self._keys = keyring

    async def created_between(self, start: datetime, end: datetime, *, org_id: str | None = None) -> list[CaseFacts]:
        """Cases opened in [start, end); of one partner (the one holding it now) if `org_id`."""
        where = [_case.c.created_at >= start, _case.c.created_at < end]
        if org_id is not None:
            where.append(_case.c.org_id == org_id)
        return await self._read(where)

    async def closed_between(self, start: datetime, end: datetime, *, org_id: str) -> list[CaseFacts]:
        """One partner's cases closed in [start, end)."""
        return await self._read([_case.c.status == "closed", _case.c.closed_at >= start, _case.c.closed_at < end,
                                 _case.c.org_id == org_id])

    async def _read(self, where: list[Any]) -> list[CaseFacts]:
        async with self._db.read() as conn:
            rows = (await conn.execute(select(_case).where(*where).order_by(_case.c.id))).all()
            ids = [r.id for r in rows]
            first: dict[int, datetime] = {}
            counts: dict[int, int] = {}
            followups: dict[int, str] = {}
            for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
                for case_id, at in (await conn.execute(
                        select(_msg.c.case_id, func.min(_msg.c.created_at)).where(
                            _msg.c.case_id.in_(chunk), _msg.c.direction == "counselor").group_by(_msg.c.case_id))):
                    first[case_id] = at
                for case_id, n in (await conn.execute(
                        select(_msg.c.case_id, func.count()).where(
                            _msg.c.case_id.in_(chunk), _msg.c.direction.in_(["person", "counselor"]))
                        .group_by(_msg.c.case_id))):
                    counts[case_id] = int(n)
                for case_id, status in (await conn.execute(
                        select(_fu.c.case_id, _fu.c.status).where(_fu.c.case_id.in_(chunk)).order_by(_fu.c.id))):
                    followups[case_id] = status
        return [self._facts(r, first, counts, followups) for r in rows]

    def _facts(self, r: Any, first: Mapping[int, datetime], counts: Mapping[int, int],
               followups: Mapping[int, str]) -> CaseFacts:
        answers = json.loads(self._keys.decrypt(r.answers_enc, aad=f"case|{r.id}|answers".encode())) \
            if r.answers_enc else {}
        at = first.get(r.id)
        if isinstance(at, str):  # an aggregate on SQLite may come back as text
            at = datetime.fromisoformat(at)
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        return CaseFacts(
            id=r.id, org_id=r.org_id, status=r.status, outcome=r.outcome, urgent=bool(r.urgent),
            language=r.language, share_consent=bool(r.share_consent), answers=answers, created_at=r.created_at,
            queued_at=r.queued_at, accepted_at=r.accepted_at, closed_at=r.closed_at, first_reply_at=at,
            messages=counts.get(r.id, 0), followup=followups.get(r.id))
