"""unmet demand: anonymous rows of people who went unanswered (issue 14)

Revision ID: 69b5cdba6c65
Revises: 2c9371f1fe89
Create Date: 2026-11-30

One new table, nothing else touched: each row is a topic, a prefecture, a municipality, the UTC
hour and a reason, with no link to a person or a case (storage/demand.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "69b5cdba6c65"
down_revision: str | None = "2c9371f1fe89"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "unmet_demand",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("topic", sa.String(32), nullable=False),
        sa.Column("prefecture", sa.String(2)),
        sa.Column("municipality", sa.String(6)),
        sa.Column("reason", sa.String(32), nullable=False),
    )
    op.create_index("ix_unmet_demand_hour", "unmet_demand", ["hour"])


def downgrade() -> None:
    op.drop_index("ix_unmet_demand_hour", table_name="unmet_demand")
    op.drop_table("unmet_demand")
