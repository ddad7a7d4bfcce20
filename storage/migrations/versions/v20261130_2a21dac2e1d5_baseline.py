"""baseline: the schema of the releases before migrations, which made it with create_all

Revision ID: 2a21dac2e1d5
Revises:
Create Date: 2026-11-30

`metadata` below is a frozen copy of that schema, written out in plain SQLAlchemy types so that
later changes to the models never change it. It is what an empty database is given, and what a
database made by an earlier release (tables, but no alembic_version) must equal to be adopted
(storage.migrate stamps it with this revision; any difference is refused). Never edit it: a
change of schema is a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from alembic.operations import ops

revision: str = "2a21dac2e1d5"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# 64-bit ids on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the auto-incrementing rowid.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)

metadata = sa.MetaData()

sa.Table(
    "inbox", metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("event_id", sa.String(128), nullable=False),
    sa.Column("pseudonym", sa.String(64)),
    sa.Column("payload_enc", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("received_at", _TIME, nullable=False),
    sa.Column("finished_at", _TIME),
    sa.Column("error", sa.String(200)),
    sa.UniqueConstraint("channel", "event_id", name="uq_inbox_channel_event"),
    sa.Index("ix_inbox_status_id", "status", "id"),
    sa.Index("ix_inbox_pseudonym", "pseudonym"),
)
sa.Table(
    "addresses", metadata,
    sa.Column("pseudonym", sa.String(64), primary_key=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("platform_user_id_enc", sa.Text, nullable=False),
    sa.Column("updated_at", _TIME, nullable=False),
)
sa.Table(
    "sessions", metadata,
    sa.Column("pseudonym", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("state_enc", sa.Text, nullable=False),
    sa.Column("wake_at", _TIME),
    sa.Column("updated_at", _TIME, nullable=False),
    sa.Index("ix_sessions_wake_at", "wake_at"),
)
sa.Table(
    "outbox", metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("pseudonym", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("payload_enc", sa.Text, nullable=False),
    sa.Column("reply_token_enc", sa.Text),
    sa.Column("reply_token_expires_at", _TIME),
    sa.Column("retry_key", sa.String(36), nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", _TIME, nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("finished_at", _TIME),
    sa.Column("error", sa.String(200)),
    sa.Index("ix_outbox_status_pseudonym_id", "status", "pseudonym", "id"),
)
sa.Table(
    "flow_versions", metadata,
    sa.Column("flow_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("first_published_at", _TIME, nullable=False),
    sa.Column("published_at", _TIME, nullable=False),
    sa.Column("current", sa.Boolean, nullable=False),
)
sa.Table(
    "web_mailbox", metadata,
    sa.Column("pseudonym", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("key", sa.String(160), nullable=False, unique=True),
    sa.Column("payload_enc", sa.Text, nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Index("ix_web_mailbox_created_at", "created_at"),
)
sa.Table(
    "cases", metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("pseudonym", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("handle", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("org_id", sa.String(64)),
    sa.Column("candidates", sa.Text, nullable=False),
    sa.Column("tried", sa.Text, nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("urgent", sa.Boolean, nullable=False),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("share_consent", sa.Boolean, nullable=False),
    sa.Column("answers_enc", sa.Text, nullable=False),
    sa.Column("risk_enc", sa.Text),
    sa.Column("counselor_id", sa.String(64)),
    sa.Column("counselor_name", sa.String(80)),
    sa.Column("outcome", sa.String(32)),
    sa.Column("told_position", sa.Integer),
    sa.Column("lines_sent", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("queued_at", _TIME, nullable=False),
    sa.Column("offered_at", _TIME),
    sa.Column("accepted_at", _TIME),
    sa.Column("closed_at", _TIME),
    sa.Index("ix_cases_status_org", "status", "org_id"),
    sa.Index("ix_cases_pseudonym", "pseudonym", "id"),
)
sa.Table(
    "case_cards", metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("case_id", _ID, nullable=False),
    sa.Column("org_id", sa.String(64), nullable=False),
    sa.Column("slack_channel", sa.String(32), nullable=False),
    sa.Column("ts", sa.String(32)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("via", sa.String(16), nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Index("ix_case_cards_ts", "slack_channel", "ts"),
    sa.Index("ix_case_cards_case", "case_id"),
)
sa.Table(
    "case_messages", metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("case_id", _ID, nullable=False),
    sa.Column("direction", sa.String(16), nullable=False),
    sa.Column("source_key", sa.String(160), nullable=False),
    sa.Column("body_enc", sa.Text, nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.UniqueConstraint("source_key", name="uq_case_messages_source"),
    sa.Index("ix_case_messages_case", "case_id", "id"),
)
sa.Table(
    "desk_orgs", metadata,
    sa.Column("org_id", sa.String(64), primary_key=True),
)
sa.Table(
    "risk_marks", metadata,
    sa.Column("pseudonym", sa.String(64), primary_key=True),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("words_enc", sa.Text, nullable=False),
    sa.Column("lines_sent_at", _TIME),
    sa.Column("updated_at", _TIME, nullable=False),
)
sa.Table(
    "follow_ups", metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("case_id", _ID, nullable=False),
    sa.Column("pseudonym", sa.String(64), nullable=False),
    sa.Column("org_id", sa.String(64), nullable=False),
    sa.Column("days", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("due_at", _TIME, nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Index("ix_follow_ups_status_due", "status", "due_at"),
    sa.Index("ix_follow_ups_pseudonym", "pseudonym"),
)
sa.Table(
    "desk_users", metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("org_id", sa.String(64), nullable=False),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.UniqueConstraint("org_id", "name", name="uq_desk_users_org_name"),
)
sa.Table(
    "desk_sessions", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", _ID, nullable=False),
    sa.Column("expires_at", _TIME, nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
)
sa.Table(
    "desk_signin_failures", metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("at", _TIME, nullable=False),
    sa.Index("ix_desk_signin_failures_key", "key", "at"),
)


def upgrade() -> None:
    for table in metadata.sorted_tables:
        op.invoke(ops.CreateTableOp.from_table(table))
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            op.invoke(ops.CreateIndexOp.from_index(index))


def downgrade() -> None:
    for table in reversed(metadata.sorted_tables):
        op.invoke(ops.DropTableOp.from_table(table))
