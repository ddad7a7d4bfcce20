"""desk duty: which counselors are on duty for which partner (issue 13, presence)

Revision ID: 5e1c2a7d9b30
Revises: 69b5cdba6c65
Create Date: 2026-11-30

One new table, nothing else touched (storage/presence.py). After the upgrade nobody is on duty:
counselors switch duty on (the web desk's switch, `/tsunagu on` on Slack) before routing sends
them new cases; the release notes and docs/coordinators.md say so.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "5e1c2a7d9b30"
down_revision: str | None = "69b5cdba6c65"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "desk_duty",
        sa.Column("counselor_id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), primary_key=True),
        sa.Column("front", sa.String(8), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("desk_duty")
