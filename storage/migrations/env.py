"""Alembic's environment, run by `storage.migrate` (never by the `alembic` command line).

storage.migrate opens the connection (SQLite: a transaction begun with BEGIN IMMEDIATE;
PostgreSQL: in the search_path schema, under an advisory lock), and passes it in
`config.attributes["connection"]` inside its transaction: every revision runs in that one
transaction, and the lock is what keeps two processes from migrating at once. A run without
that connection (the `alembic` command line, or offline `--sql`) would do neither, so it stops.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import storage  # noqa: F401  (registers every table on SQLModel.metadata)
from storage.migrate import context_options

connection = context.config.attributes.get("connection")
if context.is_offline_mode() or not isinstance(connection, Connection):
    raise RuntimeError("run migrations with `tsunagu db upgrade` (storage.migrate), not the alembic command")

context.configure(connection=connection, target_metadata=SQLModel.metadata,
                  **context_options(connection.dialect.name, SQLModel.metadata))
with context.begin_transaction():
    context.run_migrations()
