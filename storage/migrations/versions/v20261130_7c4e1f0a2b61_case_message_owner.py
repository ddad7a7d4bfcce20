"""case message owner: the card and the partner each case message belongs to (issue 11, item 3)

Revision ID: 7c4e1f0a2b61
Revises: 8b4f0c2d6a17
Create Date: 2026-11-30

Two nullable columns on case_messages: `card_id`, the partner's card the message was exchanged
under (a person's or counselor's message) or written on (a note), and `org_id`, that card's
partner. The desk shows a partner the messages of its own cards, earlier ones only with the
person's consent, and a note only to the partner that wrote it (bot/desk/policy.py). Rows written
before this revision have neither: the desk places them by time among the case's cards, and treats
a legacy note as the note of the partner whose card was open then.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "7c4e1f0a2b61"
down_revision: str | None = "8b4f0c2d6a17"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("case_messages") as batch:
        batch.add_column(sa.Column("card_id", _ID))
        batch.add_column(sa.Column("org_id", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("case_messages") as batch:
        batch.drop_column("org_id")
        batch.drop_column("card_id")
