"""CaseStore: the desk's cases, cards, relayed messages and follow-ups, encrypted like the Store's.

Every change of a case is one transaction that also writes what it sends: messages to the person
(outbox rows on the person's channel, delivered by the same OutboxPump as the intake's) and
messages to counselors (outbox rows on the "desk" channel, one queue per case, keyed
`desk:<case id>`), so nothing is lost while LINE or Slack is down and nothing is sent for a change
that did not happen.

Accept is decided by the database, not by a lock in one process: the partner's row in
`desk_orgs` is locked (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the transaction starts with
BEGIN IMMEDIATE, which serialises writers across processes), its open conversations are counted
against its capacity, and `UPDATE cases ... WHERE status = 'queued'` decides the single winner by
its row count.

Outbox rows are written by outbox.py, the same writer `Store` uses, through the same prebuilt insert
statement; messages to the person are encoded by codec.py, as the dispatcher's are.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from flows.messages import Message
from storage import statements as Q
from storage.case_tables import HANDLE_ALPHABET, CardRow, CaseMessageRow, CaseRow, DeskOrgRow, FollowUpRow, RiskMarkRow
from storage.codec import encode_batches
from storage.db import Connected, Database
from storage.erasure import strip_cases
from storage.errors import StorageError
from storage.keys import Keyring
from storage.outbox import outbox_values
from storage.tables import table_of

_case = table_of(CaseRow)
_card = table_of(CardRow)
_msg = table_of(CaseMessageRow)
_org = table_of(DeskOrgRow)
_risk = table_of(RiskMarkRow)
_fu = table_of(FollowUpRow)

DESK_CHANNEL = "desk"  # notices about cards to the front ends (bot/desk/notices.py)
LEGACY_DESK_CHANNEL = "slack-desk"  # the same, in rows written by the first release
PERSON_BATCH = 5  # messages per outbox row (LINE takes 5 per call)
_HANDLE_ALPHABET = HANDLE_ALPHABET
NEW_CARD = "new"  # in a desk op's "card_id": the card this transition creates


class CaseConflict(StorageError):
    """The case is no longer in the state the change expected (someone else changed it first)."""


@dataclass(frozen=True)
class Case:
    id: int
    pseudonym: str
    channel: str
    handle: str
    status: str
    org_id: str | None
    candidates: tuple[str, ...]
    tried: tuple[str, ...]
    priority: int
    urgent: bool
    language: str
    share_consent: bool
    answers: Mapping[str, Any]
    risk_words: tuple[str, ...]
    counselor_id: str | None
    counselor_name: str | None
    outcome: str | None
    told_position: int | None
    lines_sent: bool
    created_at: datetime
    queued_at: datetime
    offered_at: datetime | None
    accepted_at: datetime | None
    closed_at: datetime | None
    terms_version: str | None = None  # the terms the person accepted, and when
    terms_accepted_at: datetime | None = None

    @property
    def label(self) -> str:
        return f"相談者 {self.handle}"

    def waited(self, now: datetime) -> timedelta:
        return max(timedelta(0), now - self.queued_at)


@dataclass(frozen=True)
class Card:
    id: int
    case_id: int
    org_id: str
    slack_channel: str
    ts: str | None
    state: str
    via: str = "route"
    created_at: datetime | None = None


@dataclass(frozen=True)
class CaseMessage:
    id: int
    case_id: int
    direction: str
    text: str
    created_at: datetime
    card_id: int | None = None  # the card it was exchanged under or written on (None: see case_tables.py)
    org_id: str | None = None  # that card's partner


@dataclass(frozen=True)
class FollowUp:
    id: int
    case_id: int
    pseudonym: str
    org_id: str
    days: int
    status: str
    due_at: datetime


@dataclass(frozen=True)
class Emit:
    """What a change sends, written in its transaction: messages to the person (encoded by
    codec.py, PERSON_BATCH to an outbox row) and to the desk (one op dict per outbox row)."""

    person: tuple[Message, ...] = ()
    desk: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class AcceptResult:
    won: bool
    case: Case | None
    reason: str | None = None  # taken | moved | closed | capacity | unknown


@dataclass(frozen=True)
class NewCard:
    org_id: str
    slack_channel: str
    via: str = "route"  # route | overflow | transfer | followup: a transfer shows the summary
                        # only with the person's consent


Build = Callable[[Case], Emit]
_ANY = object()
_NOTHING: Build = lambda _case: Emit()  # noqa: E731


def _aad(*parts: str) -> bytes:
    return "|".join(parts).encode()


def rank_of(priority: int, queued_at: datetime) -> int:
    """The queue's order as one number: priority plus one point a minute waited is, a minute
    at a time, `priority + (now - queued_at) / 60`; times 60 and less `now`, which every case
    shares, it is a number that does not change while the case waits."""
    return priority * 60 - int(queued_at.timestamp())


def case_rank(case: Case) -> int:
    return rank_of(case.priority, case.queued_at)


def handle_for(keyring: Keyring, pseudonym: str, case_id: int) -> str:
    """A short handle from an HMAC of pseudonym and case: stable in a case, unlinkable across."""
    digest = bytes.fromhex(keyring.pseudonym("case-handle", f"{pseudonym}:{case_id}"))
    number = int.from_bytes(digest[:4], "big")
    chars = []
    for _ in range(4):
        number, index = divmod(number, len(_HANDLE_ALPHABET))
        chars.append(_HANDLE_ALPHABET[index])
    return f"{chars[0]}{chars[1]}-{chars[2]}{chars[3]}"


def _due_now(now: datetime, *, unassigned: bool, at_orgs: Sequence[str] = ()) -> Any:
    """Queued cases (unassigned ones, or those at `at_orgs`) due now, if they were due later."""
    which = []
    if unassigned:
        which.append(_case.c.org_id.is_(None))
    if at_orgs:
        which.append(_case.c.org_id.in_(list(at_orgs)))
    return update(_case).where(_case.c.status == "queued", _case.c.due_at > now, or_(*which)).values(due_at=now)


class CaseStore:
    def __init__(self, db: Database | Connected, keyring: Keyring, *, erase_on_close: bool = False) -> None:
        """`erase_on_close`: zero retention, a case's content goes as it closes (erasure.py)."""
        self._db = db
        self._keys = keyring
        self.erase_on_close = erase_on_close
        self._insert = sqlite.insert if db.dialect == "sqlite" else postgresql.insert

    @property
    def db(self) -> Database | Connected:
        """Where this store reads and writes: the database, or one open transaction."""
        return self._db

    # --- encoding -----------------------------------------------------------------------------

    def _enc(self, value: Any, *aad: str, person: str | None) -> str:
        """Encrypted under the data key of `person` (None or "": the key file's, for what no
        longer belongs to anyone, e.g. the anonymous record of an erased case)."""
        return self._keys.encrypt(json.dumps(value, ensure_ascii=False).encode(), aad=_aad(*aad),
                                  person=person or None)

    def _dec(self, token: str | None, *aad: str, default: Any = None) -> Any:
        if token is None:
            return default
        return json.loads(self._keys.decrypt(token, aad=_aad(*aad)))

    def _case_of(self, r: Any) -> Case:
        return Case(
            id=r.id, pseudonym=r.pseudonym, channel=r.channel, handle=r.handle, status=r.status,
            org_id=r.org_id, candidates=tuple(json.loads(r.candidates)), tried=tuple(json.loads(r.tried)),
            priority=r.priority, urgent=bool(r.urgent), language=r.language,
            share_consent=bool(r.share_consent),
            answers=self._dec(r.answers_enc, "case", str(r.id), "answers", default={}),
            risk_words=tuple(self._dec(r.risk_enc, "case", str(r.id), "risk", default=[])),
            counselor_id=r.counselor_id, counselor_name=r.counselor_name, outcome=r.outcome,
            told_position=r.told_position, lines_sent=bool(r.lines_sent), created_at=r.created_at,
            queued_at=r.queued_at, offered_at=r.offered_at, accepted_at=r.accepted_at,
            closed_at=r.closed_at, terms_version=r.terms_version, terms_accepted_at=r.terms_accepted_at)

    @staticmethod
    def _card_of(r: Any) -> Card:
        return Card(id=r.id, case_id=r.case_id, org_id=r.org_id, slack_channel=r.slack_channel,
                    ts=r.ts, state=r.state, via=r.via, created_at=r.created_at)

    # --- writing what a change sends ----------------------------------------------------------

    async def _emit(self, conn: AsyncConnection, case: Case, emit: Emit, now: datetime,
                    new_card: int | None = None) -> None:
        rows = [outbox_values(self._keys, pseudonym=case.pseudonym, channel=case.channel, payload=payload,
                              now=now)
                for payload in encode_batches(emit.person, per_row=PERSON_BATCH)]
        for op in emit.desk:
            if op.get("card_id") == NEW_CARD:
                op = dict(op, card_id=new_card)
            rows.append(outbox_values(self._keys, pseudonym=f"desk:{case.id}", channel=DESK_CHANNEL,
                                      payload=json.dumps(op, ensure_ascii=False).encode(), now=now,
                                      person=case.pseudonym or None))
        if rows:
            await conn.execute(Q.OUTBOX_INSERT, rows)

    async def _load(self, conn: AsyncConnection, case_id: int) -> Case | None:
        row = (await conn.execute(select(_case).where(_case.c.id == case_id))).first()
        return self._case_of(row) if row else None

    async def _add_card(self, conn: AsyncConnection, case_id: int, card: NewCard, now: datetime) -> int:
        result = await conn.execute(_card.insert().values(
            case_id=case_id, org_id=card.org_id, slack_channel=card.slack_channel, state="open",
            via=card.via, created_at=now).returning(_card.c.id))
        return int(result.scalar_one())

    # --- cases --------------------------------------------------------------------------------

    async def open_case(
        self, *, pseudonym: str, channel: str, answers: Mapping[str, Any], urgent: bool,
        language: str, share_consent: bool, priority: int, risk_words: Sequence[str],
        org_id: str | None, candidates: Sequence[str], card: NewCard | None,
        told_position: int | None = None, due_at: datetime | None = None, build: Build = _NOTHING,
        terms: tuple[str, datetime] | None = None, now: datetime,
    ) -> Case:
        """Queue a new case (at `org_id`, or unassigned when no partner is open) with its card.
        `due_at`: when the desk's periodic pass should look at it (overflow, or a routing try)."""
        async with self._db.write() as conn:
            result = await conn.execute(_case.insert().values(
                pseudonym=pseudonym, channel=channel, status="queued", org_id=org_id,
                candidates=json.dumps(list(candidates)), tried="[]", priority=priority,
                urgent=urgent, language=language, share_consent=share_consent, answers_enc="",
                lines_sent=False, told_position=told_position, version=1, created_at=now, queued_at=now,
                offered_at=now if org_id else None, rank=rank_of(priority, now), due_at=due_at,
                terms_version=terms[0] if terms else None, terms_accepted_at=terms[1] if terms else None,
            ).returning(_case.c.id))
            case_id = int(result.scalar_one())
            await conn.execute(update(_case).where(_case.c.id == case_id).values(
                handle=handle_for(self._keys, pseudonym, case_id),
                answers_enc=self._enc(dict(answers), "case", str(case_id), "answers", person=pseudonym),
                risk_enc=self._enc(list(risk_words), "case", str(case_id), "risk", person=pseudonym)))
            card_id = await self._add_card(conn, case_id, card, now) if card else None
            case = await self._load(conn, case_id)
            assert case is not None
            await self._emit(conn, case, build(case), now, card_id)
        return case

    async def transition(
        self, case_id: int, *, expect_status: Sequence[str], expect_org: Any = _ANY,
        expect_counselor: Any = _ANY, values: Mapping[str, Any] | None = None,
        card_states: Mapping[int, str] | None = None, new_card: NewCard | None = None,
        followup_days: int | None = None, build: Build = _NOTHING, now: datetime,
    ) -> Case:
        """Change a case if it is still as expected, with what the change sends, in one transaction.

        `values` may name: status, org_id, candidates, tried (lists), priority, urgent, risk_words
        (a list, stored encrypted), counselor_id, counselor_name, outcome, told_position,
        lines_sent, queued_at, offered_at, accepted_at, closed_at, due_at. Raises CaseConflict
        otherwise. A case that leaves the queue is due for nothing; a new priority moves its rank; a
        conversation that ends or leaves its partner makes the cases waiting for capacity due now.
        """
        sets: dict[str, Any] = {}
        risk_words = None
        for key, value in (values or {}).items():
            if key in ("candidates", "tried"):
                sets[key] = json.dumps(list(value))
            elif key == "risk_words":
                risk_words = list(value)
            else:
                sets[key] = value
        where = [_case.c.id == case_id, _case.c.status.in_(list(expect_status))]
        if expect_org is not _ANY:
            where.append(_case.c.org_id.is_(None) if expect_org is None else _case.c.org_id == expect_org)
        if expect_counselor is not _ANY:
            where.append(_case.c.counselor_id == expect_counselor)
        async with self._db.write() as conn:
            if risk_words is not None:
                owner = (await conn.execute(select(_case.c.pseudonym).where(_case.c.id == case_id))).scalar()
                sets["risk_enc"] = self._enc(risk_words, "case", str(case_id), "risk", person=owner)
            if sets.get("status") in ("active", "closed"):
                sets["due_at"] = None
            result = await conn.execute(
                update(_case).where(*where).values(version=_case.c.version + 1, **sets))
            if result.rowcount != 1:
                raise CaseConflict(f"case {case_id} changed meanwhile")
            if "priority" in sets or "queued_at" in sets:
                row = (await conn.execute(select(_case.c.priority, _case.c.queued_at)
                                          .where(_case.c.id == case_id))).one()
                await conn.execute(update(_case).where(_case.c.id == case_id).values(
                    rank=rank_of(row.priority, row.queued_at)))
            if "active" in expect_status and sets.get("status") in ("closed", "queued"):
                # A conversation ended or left its partner: capacity freed, so the cases that found
                # every partner full are due at once rather than at their next routing try.
                await conn.execute(_due_now(now, unassigned=True))
            for card_id, state in (card_states or {}).items():
                await conn.execute(update(_card).where(_card.c.id == card_id).values(state=state))
            new_card_id = await self._add_card(conn, case_id, new_card, now) if new_card else None
            case = await self._load(conn, case_id)
            assert case is not None
            if followup_days:
                await conn.execute(_fu.insert().values(
                    case_id=case_id, pseudonym=case.pseudonym, org_id=case.org_id or "",
                    days=followup_days, status="offered", due_at=now + timedelta(days=followup_days),
                    created_at=now))
            await self._emit(conn, case, build(case), now, new_card_id)
            if self.erase_on_close and sets.get("status") == "closed":
                await strip_cases(conn, self._keys, [case_id], drop_cards=False, pending_notices=False)
        return case

    async def accept(self, card_id: int, *, counselor_id: str, counselor_name: str, capacity: int,
                     build: Build = _NOTHING, now: datetime) -> AcceptResult:
        """One winner among any number of concurrent accepts, and never more open conversations
        at the partner than `capacity` (see the module docstring for how)."""
        async with self._db.write() as conn:
            card = (await conn.execute(select(_card).where(_card.c.id == card_id))).first()
            if card is None:
                return AcceptResult(False, None, "unknown")
            # A write first: on SQLite this begins the IMMEDIATE transaction before any read.
            await conn.execute(self._insert(_org).values(org_id=card.org_id).on_conflict_do_nothing(
                index_elements=["org_id"]))
            if self._db.dialect != "sqlite":
                await conn.execute(select(_org.c.org_id).where(_org.c.org_id == card.org_id).with_for_update())
            active = (await conn.execute(select(func.count()).select_from(_case).where(
                _case.c.org_id == card.org_id, _case.c.status == "active"))).scalar_one()
            won = False
            if active < capacity:  # counted inside this transaction, under the partner's lock
                result = await conn.execute(update(_case).where(
                    _case.c.id == card.case_id, _case.c.status == "queued",
                    _case.c.org_id == card.org_id,
                ).values(status="active", counselor_id=counselor_id, counselor_name=counselor_name,
                         accepted_at=now, due_at=None, version=_case.c.version + 1))
                won = result.rowcount == 1
            case = await self._load(conn, card.case_id)
            if not won:
                if case is None:
                    return AcceptResult(False, None, "unknown")
                if case.status == "queued" and case.org_id == card.org_id:
                    return AcceptResult(False, case, "capacity")
                if case.status == "active" and case.org_id == card.org_id:
                    return AcceptResult(False, case, "taken")
                return AcceptResult(False, case, "closed" if case.status == "closed" else "moved")
            assert case is not None
            await self._emit(conn, case, build(case), now)
        return AcceptResult(True, case)

    # --- reading ------------------------------------------------------------------------------

    async def case(self, case_id: int) -> Case | None:
        async with self._db.read() as conn:
            row = (await conn.execute(select(_case).where(_case.c.id == case_id))).first()
        return self._case_of(row) if row else None

    async def latest_case(self, pseudonym: str) -> Case | None:
        async with self._db.read() as conn:
            row = (await conn.execute(select(_case).where(_case.c.pseudonym == pseudonym)
                                      .order_by(_case.c.id.desc()).limit(1))).first()
        return self._case_of(row) if row else None

    async def queued(self) -> list[Case]:
        """Every waiting case, read and decrypted: for tools and tests, not for the hot paths
        (those count and order in the database: `place`, `due`, `position_changes`)."""
        async with self._db.read() as conn:
            rows = (await conn.execute(select(_case).where(_case.c.status == "queued")
                                       .order_by(_case.c.id))).all()
        return [self._case_of(r) for r in rows]

    async def make_due(self, now: datetime, *, at_orgs: Sequence[str] = (), unassigned: bool = False) -> int:
        """Queued cases at these partners (and, with `unassigned`, those that found none) are due
        now rather than at their overflow or next routing try: something changed for them (the
        partner's counselors all went off duty; a counselor came on duty)."""
        if not at_orgs and not unassigned:
            return 0
        async with self._db.write() as conn:
            result = await conn.execute(_due_now(now, unassigned=unassigned, at_orgs=at_orgs))
        return int(result.rowcount or 0)

    async def due(self, now: datetime, *, limit: int = 200) -> list[Case]:
        """Waiting cases the periodic pass should look at now (an overflow, a routing try)."""
        async with self._db.read() as conn:
            rows = (await conn.execute(select(_case).where(
                _case.c.status == "queued", _case.c.due_at.is_not(None), _case.c.due_at <= now)
                .order_by(_case.c.due_at, _case.c.id).limit(limit))).all()
        return [self._case_of(r) for r in rows]

    async def place(self, case: Case) -> int:
        """1 + the cases waiting at the same partner that come before this one (the queue's order:
        rank, then who came first), counted in the database without reading any case."""
        ahead = or_(_case.c.rank > case_rank(case),
                    and_(_case.c.rank == case_rank(case), _case.c.queued_at < case.queued_at),
                    and_(_case.c.rank == case_rank(case), _case.c.queued_at == case.queued_at,
                         _case.c.id < case.id))
        async with self._db.read() as conn:
            before = (await conn.execute(select(func.count()).select_from(_case).where(
                _case.c.status == "queued", _case.c.org_id == case.org_id, ahead))).scalar_one()
        return 1 + int(before)

    async def place_for_new(self, org_id: str, *, priority: int, now: datetime) -> int:
        """The place a case of `priority` queued at `org_id` now would take (the last of equals)."""
        async with self._db.read() as conn:
            before = (await conn.execute(select(func.count()).select_from(_case).where(
                _case.c.status == "queued", _case.c.org_id == org_id,
                _case.c.rank >= rank_of(priority, now)))).scalar_one()
        return 1 + int(before)

    async def position_changes(self, *, step: int) -> list[tuple[int, int]]:
        """(case id, place) of waiting cases whose place moved at least `step` from the one they
        were told, ranked in the database (one statement, whatever the queue's length)."""
        place = func.row_number().over(partition_by=_case.c.org_id,
                                       order_by=(_case.c.rank.desc(), _case.c.queued_at, _case.c.id))
        ranked = (select(_case.c.id, _case.c.told_position, place.label("place"))
                  .where(_case.c.status == "queued", _case.c.org_id.is_not(None)).subquery())
        moved = func.abs(ranked.c.place - func.coalesce(ranked.c.told_position, 1)) >= step
        async with self._db.read() as conn:
            rows = (await conn.execute(select(ranked.c.id, ranked.c.place).where(moved)
                                       .order_by(ranked.c.id))).all()
        return [(int(r.id), int(r.place)) for r in rows]

    async def loads(self) -> dict[str, int]:
        """Open conversations per partner (what routing calls load)."""
        async with self._db.read() as conn:
            rows = (await conn.execute(select(_case.c.org_id, func.count()).where(
                _case.c.status == "active").group_by(_case.c.org_id))).all()
        return {org: int(n) for org, n in rows if org}

    async def card(self, card_id: int) -> Card | None:
        async with self._db.read() as conn:
            row = (await conn.execute(select(_card).where(_card.c.id == card_id))).first()
        return self._card_of(row) if row else None

    async def card_at(self, slack_channel: str, ts: str) -> Card | None:
        async with self._db.read() as conn:
            row = (await conn.execute(select(_card).where(
                _card.c.slack_channel == slack_channel, _card.c.ts == ts))).first()
        return self._card_of(row) if row else None

    async def cards(self, case_id: int) -> list[Card]:
        async with self._db.read() as conn:
            rows = (await conn.execute(select(_card).where(_card.c.case_id == case_id)
                                       .order_by(_card.c.id))).all()
        return [self._card_of(r) for r in rows]

    async def open_cards(self, org_id: str) -> list[tuple[int, int]]:
        """(card id, case id) of the partner's open cards, oldest first: its queued and active
        cases, as the web desk lists them."""
        async with self._db.read() as conn:
            rows = (await conn.execute(select(_card.c.id, _card.c.case_id).where(
                _card.c.org_id == org_id, _card.c.state == "open").order_by(_card.c.id))).all()
        return [(int(r.id), int(r.case_id)) for r in rows]

    async def set_card_ts(self, card_id: int, ts: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(update(_card).where(_card.c.id == card_id).values(ts=ts))

    async def closed_cards(self, org_id: str, *, closed_since: datetime, closed_before: datetime | None = None,
                           handle: str | None = None, limit: int = 500) -> list[tuple[Card, Case]]:
        """A partner's closed cards with their closed cases, most recently closed first: the
        partner's history (who may read it is the desk's rule, bot/desk/policy.py)."""
        closed_here = select(_card.c.case_id).where(_card.c.org_id == org_id, _card.c.state == "closed")
        query = select(_case).where(_case.c.id.in_(closed_here), _case.c.status == "closed",
                                    _case.c.org_id == org_id, _case.c.closed_at >= closed_since)
        if closed_before is not None:
            query = query.where(_case.c.closed_at < closed_before)
        if handle:
            query = query.where(_case.c.handle == handle)
        async with self._db.read() as conn:
            cases = (await conn.execute(query.order_by(_case.c.closed_at.desc(), _case.c.id.desc())
                                        .limit(limit))).all()
            cards = (await conn.execute(select(_card).where(
                _card.c.org_id == org_id, _card.c.state == "closed",
                _card.c.case_id.in_([r.id for r in cases])).order_by(_card.c.id))).all()
        card_of = {r.case_id: self._card_of(r) for r in cards}  # the partner's last card of each case
        return [(card_of[r.id], self._case_of(r)) for r in cases if r.id in card_of]

    async def last_person_message_ids(self, case_ids: Sequence[int]) -> dict[int, int]:
        """The id of the newest message each case's person wrote (cases they have not written in
        are left out): a front end compares them to tell a counselor that someone wrote."""
        if not case_ids:
            return {}
        async with self._db.read() as conn:
            rows = (await conn.execute(select(_msg.c.case_id, func.max(_msg.c.id)).where(
                _msg.c.case_id.in_(list(case_ids)), _msg.c.direction == "person").group_by(_msg.c.case_id))).all()
        return {int(case_id): int(last) for case_id, last in rows}

    # --- messages of a case -------------------------------------------------------------------

    async def record(self, case_id: int, *, direction: str, text: str, source_key: str,
                     build: Build = _NOTHING, card: Card | None = None, now: datetime) -> bool:
        """Keep a relayed text or note, and send what `build` says, once per `source_key`.

        The message belongs to `card` (the counselor's card, for what a counselor writes), or else
        to the case's open card at its partner now (none while no partner is open): who may read
        it later is decided by that (bot/desk/policy.py)."""
        async with self._db.write() as conn:
            owner = (await conn.execute(select(_case.c.pseudonym).where(_case.c.id == case_id))).scalar()
            if card is None:
                row = (await conn.execute(select(_card.c.id, _card.c.org_id).join(
                    _case, _case.c.id == _card.c.case_id).where(
                    _card.c.case_id == case_id, _card.c.state == "open", _card.c.org_id == _case.c.org_id)
                    .order_by(_card.c.id.desc()).limit(1))).first()
                card_id, org_id = (int(row.id), str(row.org_id)) if row else (None, None)
            else:
                card_id, org_id = card.id, card.org_id
            result = await conn.execute(self._insert(_msg).values(
                case_id=case_id, direction=direction, source_key=source_key,
                body_enc=self._enc(text, "case_message", str(case_id), source_key, person=owner), created_at=now,
                card_id=card_id, org_id=org_id,
            ).on_conflict_do_nothing(index_elements=["source_key"]).returning(_msg.c.id))
            if result.first() is None:
                return False
            case = await self._load(conn, case_id)
            if case is not None:
                await self._emit(conn, case, build(case), now)
        return True

    async def messages(self, case_id: int) -> list[CaseMessage]:
        async with self._db.read() as conn:
            rows = (await conn.execute(select(_msg).where(_msg.c.case_id == case_id)
                                       .order_by(_msg.c.id))).all()
        return [CaseMessage(id=r.id, case_id=r.case_id, direction=r.direction,
                            text=self._dec(r.body_enc, "case_message", str(r.case_id), r.source_key),
                            created_at=r.created_at, card_id=r.card_id, org_id=r.org_id) for r in rows]

    # --- risk seen during an intake -----------------------------------------------------------

    async def mark_risk(self, pseudonym: str, *, weights: Mapping[str, int], now: datetime) -> bool:
        """Add risk words (word -> weight) seen before a case exists; a word counts once.
        True the first time (send the emergency lines then)."""
        async with self._db.write() as conn:
            await conn.execute(self._insert(_risk).values(
                pseudonym=pseudonym, score=0, words_enc=self._enc([], "risk", pseudonym, person=pseudonym),
                updated_at=now).on_conflict_do_nothing(index_elements=["pseudonym"]))
            row = (await conn.execute(select(_risk).where(_risk.c.pseudonym == pseudonym))).one()
            known = self._dec(row.words_enc, "risk", pseudonym, default=[])
            new = [w for w in weights if w not in known]
            merged = known + new
            await conn.execute(update(_risk).where(_risk.c.pseudonym == pseudonym).values(
                score=row.score + sum(weights[w] for w in new),
                words_enc=self._enc(merged, "risk", pseudonym, person=pseudonym),
                lines_sent_at=row.lines_sent_at or now, updated_at=now))
        return row.lines_sent_at is None

    async def take_risk(self, pseudonym: str) -> tuple[int, list[str]]:
        """The risk seen during the intake, removed as it passes to the new case."""
        async with self._db.write() as conn:
            row = (await conn.execute(select(_risk).where(_risk.c.pseudonym == pseudonym))).first()
            if row is None:
                return 0, []
            await conn.execute(_risk.delete().where(_risk.c.pseudonym == pseudonym))
        return int(row.score), self._dec(row.words_enc, "risk", pseudonym, default=[])

    # --- follow-ups ---------------------------------------------------------------------------

    @staticmethod
    def _followup_of(r: Any) -> FollowUp:
        return FollowUp(id=r.id, case_id=r.case_id, pseudonym=r.pseudonym, org_id=r.org_id,
                        days=r.days, status=r.status, due_at=r.due_at)

    async def pending_followup(self, pseudonym: str) -> FollowUp | None:
        """The person's follow-up still in play (offered, scheduled or asked), if any."""
        async with self._db.read() as conn:
            row = (await conn.execute(select(_fu).where(
                _fu.c.pseudonym == pseudonym, _fu.c.status.in_(["offered", "scheduled", "asked"]))
                .order_by(_fu.c.id.desc()).limit(1))).first()
        return self._followup_of(row) if row else None

    async def due_followups(self, now: datetime) -> list[FollowUp]:
        async with self._db.read() as conn:
            rows = (await conn.execute(select(_fu).where(
                _fu.c.status == "scheduled", _fu.c.due_at <= now).order_by(_fu.c.due_at))).all()
        return [self._followup_of(r) for r in rows]

    async def move_followup(self, followup_id: int, *, expect: str, status: str,
                            due_at: datetime | None = None, build: Build = _NOTHING,
                            now: datetime) -> bool:
        """Move a follow-up on if it is still at `expect`, sending what `build` says (its case)."""
        sets: dict[str, Any] = {"status": status}
        if due_at is not None:
            sets["due_at"] = due_at
        async with self._db.write() as conn:
            result = await conn.execute(update(_fu).where(
                _fu.c.id == followup_id, _fu.c.status == expect).values(**sets))
            if result.rowcount != 1:
                return False
            case_id = (await conn.execute(select(_fu.c.case_id).where(_fu.c.id == followup_id))).scalar_one()
            case = await self._load(conn, case_id)
            if case is not None:
                await self._emit(conn, case, build(case), now)
        return True
