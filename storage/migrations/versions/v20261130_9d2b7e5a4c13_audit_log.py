"""audit log: the append-only, hash-chained audit trail and its head (issue 11, item 4)

Revision ID: 9d2b7e5a4c13
Revises: 7c4e1f0a2b61
Create Date: 2026-11-30

Two new tables (storage/audit.py): `audit_log`, one row an action (who, which organization and
front end, what, which case, when; never content), each chained to the one before by SHA-256;
and `audit_head`, one row with the last entry's id and hash (read FOR UPDATE while appending on
PostgreSQL, so appends from several processes are serialized). Nothing else is touched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "9d2b7e5a4c13"
down_revision: str | None = "7c4e1f0a2b61"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)
_GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", _ID, primary_key=True, autoincrement=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("org_id", sa.String(64)),
        sa.Column("front", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("case_id", _ID),
        sa.Column("detail", sa.String(160), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_log_case", "audit_log", ["case_id"])
    op.create_index("ix_audit_log_org_at", "audit_log", ["org_id", "at"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_id", _ID, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("first_id", _ID, nullable=False),
        sa.Column("first_prev", sa.Text, nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "last_id": 0, "hash": _GENESIS, "first_id": 1, "first_prev": _GENESIS}])


def downgrade() -> None:
    op.drop_table("audit_head")
    op.drop_index("ix_audit_log_org_at", table_name="audit_log")
    op.drop_index("ix_audit_log_case", table_name="audit_log")
    op.drop_table("audit_log")
