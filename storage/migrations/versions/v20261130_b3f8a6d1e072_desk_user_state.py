"""desk user state: disabled accounts and the last sign-in (issue 11, item 5)

Revision ID: b3f8a6d1e072
Revises: 9d2b7e5a4c13
Create Date: 2026-11-30

Two nullable columns on desk_users (storage/desk_users.py): `disabled_at` (an account set so by
`tsunagu desk disable-user` cannot sign in, and its sessions are gone), and `last_sign_in_at`
(shown by `tsunagu desk list-users`). Existing accounts stay enabled, with no sign-in known.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "b3f8a6d1e072"
down_revision: str | None = "9d2b7e5a4c13"
branch_labels: str | None = None
depends_on: str | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("desk_users") as batch:
        batch.add_column(sa.Column("disabled_at", _TIME))
        batch.add_column(sa.Column("last_sign_in_at", _TIME))


def downgrade() -> None:
    with op.batch_alter_table("desk_users") as batch:
        batch.drop_column("last_sign_in_at")
        batch.drop_column("disabled_at")
