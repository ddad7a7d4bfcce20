"""Statements built once at import; the hot paths only bind values.

SQLAlchemy's statement building is a noticeable share of a small write's cost, and a prebuilt
statement also hits the compiled cache at once. Bound parameter names start with `b_` because
names equal to a column's are reserved in SET clauses.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, String, bindparam, delete, func, select, update

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
OUTBOX_FINISH = (
    update(_outbox).where(_outbox.c.id == bindparam("b_id"), _outbox.c.status == "pending")
    .values(status=bindparam("b_status", type_=String()),
            finished_at=bindparam("b_now", type_=UTCDateTime()),
            attempts=_outbox.c.attempts + 1, reply_token_enc=None,
            error=bindparam("b_error", type_=String()))
)
OUTBOX_RETRY = (
    update(_outbox).where(_outbox.c.id == bindparam("b_id"), _outbox.c.status == "pending")
    .values(attempts=_outbox.c.attempts + 1,
            next_attempt_at=bindparam("b_next", type_=UTCDateTime()),
            error=bindparam("b_error", type_=String()))
)
OUTBOX_RETRY_PUSH = (  # the reply token was used up: the next attempt pushes
    update(_outbox).where(_outbox.c.id == bindparam("b_id"), _outbox.c.status == "pending")
    .values(attempts=_outbox.c.attempts + 1, reply_token_enc=None, reply_token_expires_at=None,
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
_heads = (select(func.min(_outbox.c.id).label("id"))
          .where(_outbox.c.status == "pending")
          .group_by(_outbox.c.pseudonym)
          .subquery())
DUE_OUTBOX = (select(_outbox)
               .join(_heads, _heads.c.id == _outbox.c.id)
               .where(_outbox.c.next_attempt_at <= bindparam("b_now", type_=UTCDateTime()))
               .order_by(_outbox.c.id)
               .limit(bindparam("b_limit", type_=Integer())))


def _count(table: Any, *where: Any) -> Any:
    return select(func.count()).select_from(table).where(*where).scalar_subquery()


COUNTS = select(
    _count(_inbox).label("inbox_total"),
    _count(_inbox, _inbox.c.status == "pending").label("inbox_pending"),
    _count(_inbox, _inbox.c.status == "failed").label("inbox_failed"),
    _count(_outbox, _outbox.c.status == "pending").label("outbox_pending"),
    _count(_outbox, _outbox.c.status == "undeliverable").label("outbox_undeliverable"),
    _count(_session).label("sessions"),
    _count(_address).label("addresses"),
)
