"""Tables of the counselor desk: cases, their Slack cards, relayed messages, follow-ups.

As in tables.py, columns named `*_enc` hold `Keyring.encrypt` tokens. In the clear are only what
the database must compare or order by: pseudonyms, statuses, partner ids, Slack channel ids and
message timestamps of the *desk* (never the person's), counters and UTC times. Intake answers,
risk words and every relayed text or note are encrypted.
"""

from datetime import datetime

from sqlalchemy import BigInteger, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.tables import UTCDateTime, _Id

HANDLE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # case handles: no 0/O, 1/I, read aloud without doubt


class CaseRow(SQLModel, table=True):
    """One request for a counselor: from the end of an intake (or a follow-up) to Close."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status_org", "status", "org_id"),
        Index("ix_cases_pseudonym", "pseudonym", "id"),
        Index("ix_cases_queue", "status", "org_id", "rank"),  # positions, counted in the database
        Index("ix_cases_due", "status", "due_at"),  # the next overflow or routing try
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=_Id)
    pseudonym: str = Field(max_length=64)
    channel: str = Field(max_length=32)  # the person's channel: where their messages go
    handle: str = Field(default="", max_length=16)  # e.g. "K7-3F"; an HMAC, stable within the case
    status: str = Field(max_length=16)  # queued | active | closed
    org_id: str | None = Field(default=None, max_length=64)  # None: queued, no partner open yet
    candidates: str = Field(default="[]", sa_type=Text)  # JSON list of partner ids, routing order
    tried: str = Field(default="[]", sa_type=Text)  # JSON list of partners it has overflowed from
    priority: int = Field(default=0)  # urgency and risk; waiting time is added when ordering
    urgent: bool = Field(default=False)
    language: str = Field(default="ja", max_length=16)
    share_consent: bool = Field(default=False)
    # The terms the person accepted in the intake (a hash of their text) and when (issue 11).
    terms_version: str | None = Field(default=None, max_length=32)
    terms_accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answers_enc: str = Field(sa_type=Text)
    risk_enc: str | None = Field(default=None, sa_type=Text)  # JSON list of matched risk words
    counselor_id: str | None = Field(default=None, max_length=64)  # the counselor's Slack user id
    counselor_name: str | None = Field(default=None, max_length=80)  # the counselor's nickname
    outcome: str | None = Field(default=None, max_length=32)
    told_position: int | None = Field(default=None)
    lines_sent: bool = Field(default=False)  # emergency lines already sent while queued
    version: int = Field(default=1)
    created_at: datetime = Field(sa_type=UTCDateTime)
    queued_at: datetime = Field(sa_type=UTCDateTime)  # waiting counts from here
    offered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # offered to org_id
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The queue's order without reading the cases: priority plus one point a minute waited, as a
    # number that does not change while a case waits (priority * 60 - queued_at in seconds).
    rank: int = Field(default=0, sa_type=BigInteger)
    # When the periodic pass should look at this queued case again: its overflow to the next
    # partner, or (no partner yet) the next routing try. None: nothing to do until it changes.
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CardRow(SQLModel, table=True):
    """A case's card in one partner's Slack channel; `ts` is set once Slack has taken the post."""

    __tablename__ = "case_cards"
    __table_args__ = (Index("ix_case_cards_ts", "slack_channel", "ts"), Index("ix_case_cards_case", "case_id"))

    id: int | None = Field(default=None, primary_key=True, sa_type=_Id)
    case_id: int = Field(sa_type=_Id)
    org_id: str = Field(max_length=64)
    slack_channel: str = Field(max_length=32)
    ts: str | None = Field(default=None, max_length=32)
    state: str = Field(default="open", max_length=16)  # open | moved | closed
    via: str = Field(default="route", max_length=16)  # route | overflow | transfer | followup
    created_at: datetime = Field(sa_type=UTCDateTime)


class CaseMessageRow(SQLModel, table=True):
    """A text of a case: relayed either way, or an internal note. Unique on its source event,
    so an event processed twice is relayed once."""

    __tablename__ = "case_messages"
    __table_args__ = (UniqueConstraint("source_key", name="uq_case_messages_source"),
                      Index("ix_case_messages_case", "case_id", "id"))

    id: int | None = Field(default=None, primary_key=True, sa_type=_Id)
    case_id: int = Field(sa_type=_Id)
    direction: str = Field(max_length=16)  # person | counselor | note
    source_key: str = Field(max_length=160)
    # The partner's card it was exchanged under (or written on, for a note), and that partner:
    # who may read it (bot/desk/policy.py). None in rows written before they were recorded, and
    # for a person's message left while no partner was open yet (it belongs to the first card).
    card_id: int | None = Field(default=None, sa_type=_Id)
    org_id: str | None = Field(default=None, max_length=64)
    body_enc: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)


class DeskOrgRow(SQLModel, table=True):
    """One row per partner, locked (SELECT ... FOR UPDATE) while an accept checks its capacity."""

    __tablename__ = "desk_orgs"

    org_id: str = Field(primary_key=True, max_length=64)


class RiskMarkRow(SQLModel, table=True):
    """Risk words seen during an intake, before there is a case to mark; taken at handoff."""

    __tablename__ = "risk_marks"

    pseudonym: str = Field(primary_key=True, max_length=64)
    score: int = Field(default=0)
    words_enc: str = Field(sa_type=Text)
    lines_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class FollowUpRow(SQLModel, table=True):
    """A check-in offered at Close: offered -> scheduled (the person agreed) -> asked -> done."""

    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_status_due", "status", "due_at"),
                      Index("ix_follow_ups_pseudonym", "pseudonym"))

    id: int | None = Field(default=None, primary_key=True, sa_type=_Id)
    case_id: int = Field(sa_type=_Id)
    pseudonym: str = Field(max_length=64)
    org_id: str = Field(max_length=64)
    days: int
    status: str = Field(max_length=16)  # offered | scheduled | asked | done | cancelled
    due_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
