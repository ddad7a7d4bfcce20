"""Statements built once at import; the hot paths only bind values.

SQLAlchemy's statement building is a noticeable share of a small write's cost, and a prebuilt
statement also hits the compiled cache at once. Bound parameter names start with `b_` because
names equal to a column's are reserved in SET clauses.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Integer, String, bindparam, delete, exists, func, or_, select, update

from storage.tables import AddressRow, InboxRow, OutboxRow, SessionRow, UTCDateTime, table_of

_inbox = table_of(InboxRow)
_address = table_of(AddressRow)
_session = table_of(SessionRow)
_outbox = table_of(OutboxRow)

INBOX_FINISH = (
    update(_inbox).where(_inbox.c.id == bindparam("b_id"))
    .values(status=bindparam("b_status", type_=String()),
            finished_at=bindparam("b_now", type_=UTCDateTime()),
            error=bindparam("b_error", type_=String()))
)
OUTBOX_INSERT = _outbox.insert()
# A sender's marks carry its claim: a sender whose lease ran out (and whose row another sender
# may have taken since) changes nothing. Attempts are counted when a row is claimed.
_claimed = (_outbox.c.id == bindparam("b_id"), _outbox.c.status == "pending",
            _outbox.c.claim == bindparam("b_claim", type_=String()))
OUTBOX_FINISH = (
    update(_outbox).where(*_claimed)
    .values(status=bindparam("b_status", type_=String()),
            finished_at=bindparam("b_now", type_=UTCDateTime()),
            reply_token_enc=None, claimed_until=None, error=bindparam("b_error", type_=String()))
)
OUTBOX_RETRY = (
    update(_outbox).where(*_claimed)
    .values(next_attempt_at=bindparam("b_next", type_=UTCDateTime()), claimed_until=None,
            error=bindparam("b_error", type_=String()))
)
OUTBOX_HAND_BACK = (  # claimed and never handed to the platform: as it was before the claim
    update(_outbox).where(*_claimed)
    .values(claimed_until=None, claim=None, attempts=_outbox.c.attempts - 1,
            reply_tried=bindparam("b_tried", type_=Boolean()))
)
OUTBOX_RETRY_PUSH = (  # the reply token was used up: the next attempt pushes
    update(_outbox).where(*_claimed)
    .values(reply_token_enc=None, reply_token_expires_at=None, claimed_until=None,
            next_attempt_at=bindparam("b_next", type_=UTCDateTime()),
            error=bindparam("b_error", type_=String()))
)
ADDRESS_OF = select(_address.c.channel, _address.c.platform_user_id_enc).where(
    _address.c.pseudonym == bindparam("b_p"))
SESSION_LOAD = select(_session).where(_session.c.pseudonym == bindparam("b_p"))
SESSION_VERSION = select(_session.c.version).where(_session.c.pseudonym == bindparam("b_p"))
SESSION_DELETE = delete(_session).where(_session.c.pseudonym == bindparam("b_p"),
                                         _session.c.version == bindparam("b_v"))
SESSION_UPDATE = (
    update(_session).where(_session.c.pseudonym == bindparam("b_p"),
                           _session.c.version == bindparam("b_v"))
    .values(version=bindparam("b_nv", type_=Integer()), state_enc=bindparam("b_s", type_=String()),
            wake_at=bindparam("b_w", type_=UTCDateTime()),
            updated_at=bindparam("b_now", type_=UTCDateTime()))
)
_earlier = _outbox.alias("earlier")
# Each person's oldest undelivered row, if its time has come and no sender holds it: a later
# message never overtakes an earlier one (while the oldest waits for a retry, nothing else of
# that person is due).
DUE_OUTBOX = (select(_outbox)
              .where(_outbox.c.status == "pending",
                     _outbox.c.next_attempt_at <= bindparam("b_now", type_=UTCDateTime()),
                     or_(_outbox.c.claimed_until.is_(None),
                         _outbox.c.claimed_until < bindparam("b_now", type_=UTCDateTime())),
                     ~exists().where(_earlier.c.pseudonym == _outbox.c.pseudonym, _earlier.c.status == "pending",
                                     _earlier.c.id < _outbox.c.id))
              .order_by(_outbox.c.id)
              .limit(bindparam("b_limit", type_=Integer())))


def _count(table: Any, *where: Any) -> Any:
    return select(func.count()).select_from(table).where(*where).scalar_subquery()


COUNTS = select(
    _count(_inbox).label("inbox_total"),
    _count(_inbox, _inbox.c.status == "pending").label("inbox_pending"),
    _count(_inbox, _inbox.c.status == "failed").label("inbox_failed"),
    _count(_inbox, _inbox.c.status == "pending", _inbox.c.attempts > 0).label("inbox_retrying"),
    _count(_outbox, _outbox.c.status == "pending").label("outbox_pending"),
    _count(_outbox, _outbox.c.status == "undeliverable").label("outbox_undeliverable"),
    _count(_session).label("sessions"),
    _count(_address).label("addresses"),
)
