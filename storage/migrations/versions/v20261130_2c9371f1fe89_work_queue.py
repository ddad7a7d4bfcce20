"""work queue: claims from the database instead of in-memory queues

Revision ID: 2c9371f1fe89
Revises: 2a21dac2e1d5
Create Date: 2026-11-30

- inbox: `attempts` and `available_at` (a failing event backs off, then becomes a dead letter),
  and a partial index on a person's pending events (the head-of-line claim).
- outbox: a sender's lease (`claimed_until`, `claim`), `reply_tried` (a reply token already
  handed to LINE), and the same partial index for the per-person order.
- cases: `rank` (the queue's order as a number the database can compare) and `due_at` (when the
  periodic pass should look at a queued case again), with their indexes; existing queued cases get
  their rank and are due at once.
- work_passes: the lease a periodic pass holds so that one instance runs it.

Columns are spelled in plain SQLAlchemy types, so later changes to the models never change it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "2c9371f1fe89"
down_revision: str | None = "2a21dac2e1d5"
branch_labels: str | None = None
depends_on: str | None = None

_TIME = sa.DateTime(timezone=True)
_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_table(
        "work_passes",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("until", _TIME, nullable=False),
    )
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("available_at", _TIME, nullable=True))
        batch.create_index("ix_inbox_pending_person", ["pseudonym", "id"], postgresql_where=_PENDING,
                           sqlite_where=_PENDING)
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_until", _TIME, nullable=True))
        batch.add_column(sa.Column("claim", sa.String(36), nullable=True))
        batch.add_column(sa.Column("reply_tried", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index("ix_outbox_pending_person", ["pseudonym", "id"], postgresql_where=_PENDING,
                           sqlite_where=_PENDING)
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("rank", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("due_at", _TIME, nullable=True))
        batch.create_index("ix_cases_queue", ["status", "org_id", "rank"])
        batch.create_index("ix_cases_due", ["status", "due_at"])
    _rank_waiting_cases()


def _rank_waiting_cases() -> None:
    """Cases waiting when the release changes: the rank of their place, and a look at once."""
    bind = op.get_bind()
    cases = sa.table("cases", sa.column("id", sa.BigInteger()), sa.column("status", sa.String()),
                     sa.column("priority", sa.Integer()), sa.column("queued_at", _TIME),
                     sa.column("rank", sa.BigInteger()), sa.column("due_at", _TIME))
    now = datetime.now(UTC)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # as storage.tables.UTCDateTime stores it there
    for row in bind.execute(sa.select(cases.c.id, cases.c.priority, cases.c.queued_at)
                            .where(cases.c.status == "queued")).all():
        queued = row.queued_at if row.queued_at.tzinfo else row.queued_at.replace(tzinfo=UTC)
        rank = int(row.priority) * 60 - int(queued.timestamp())
        bind.execute(sa.update(cases).where(cases.c.id == row.id).values(rank=rank, due_at=now))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_due")
        batch.drop_index("ix_cases_queue")
        batch.drop_column("due_at")
        batch.drop_column("rank")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_pending_person")
        batch.drop_column("reply_tried")
        batch.drop_column("claim")
        batch.drop_column("claimed_until")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_index("ix_inbox_pending_person")
        batch.drop_column("available_at")
        batch.drop_column("attempts")
    op.drop_table("work_passes")
