"""consent on record: the terms a person accepted, and when, kept with the case (issue 11)

Revision ID: 8b4f0c2d6a17
Revises: 5e1c2a7d9b30
Create Date: 2026-11-30

Two nullable columns on `cases`: `terms_version` (a hash of the terms as the intake showed them,
bot/work/consent.py) and `terms_accepted_at`. Cases opened before this release have neither.
Nothing else in the database changes for issue 11: people's data keys live in the key store, a
separate file (storage/keystore.py), and erasure and retention use the existing tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "8b4f0c2d6a17"
down_revision: str | None = "5e1c2a7d9b30"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("terms_version", sa.String(32), nullable=True))
        batch.add_column(sa.Column("terms_accepted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("terms_accepted_at")
        batch.drop_column("terms_version")
