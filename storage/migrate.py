"""Schema migrations: bring a database to the schema this release's code needs, or say it is not.

    await upgrade(url)            # -> Upgraded(before, after, adopted)
    await current(url)            # -> the revision recorded in the database, or None
    await status(url)             # -> SchemaStatus(current, head)

Alembic is configured here in code, from the revisions shipped in `storage/migrations/`, so an
installed wheel migrates from any working directory. Every upgrade runs in one transaction that
only one process at a time can hold: on PostgreSQL under an advisory lock keyed by the schema
(several instances may start at once, and only one may migrate), on SQLite in a transaction
begun with BEGIN IMMEDIATE (the file's write lock). The second process waits, then finds the
database at head and does nothing.

A database made by a release before migrations has the tables but no `alembic_version`. It is
adopted when its tables equal the baseline revision's frozen schema: stamped with the baseline,
then upgraded like any other. A database whose tables differ from it is refused with a line
saying how; nothing is changed.

`open_database` applies a schema policy with these (see db.py): upgrade on the embedded SQLite
default, check on PostgreSQL, where migrating is the operator's step (`tsunagu db upgrade`).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import MetaData, event, inspect, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from storage.errors import DatabaseError, StorageError, UnsupportedDatabase
from storage.urls import database_url, is_memory, require_sqlite_folder

log = logging.getLogger(__name__)
# Alembic says at INFO which backend it found and whether DDL is transactional, on every run (and
# "non-transactional" on SQLite, where ours is): one line of our own says what changed instead.
logging.getLogger("alembic").setLevel(logging.WARNING)

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "2a21dac2e1d5"  # the schema of the releases before migrations (create_all)
_FILE_TEMPLATE = "v%(year)d%(month).2d%(day).2d_%(rev)s_%(slug)s"  # names that are valid modules
_UPGRADE_HINT = "run: tsunagu db upgrade"


class SchemaOutOfDate(StorageError):
    """The database's schema is older than this release's code (or not there at all)."""

    def __init__(self, current: str | None, head: str, *, tables: bool = True) -> None:
        self.current, self.head = current, head
        if current is not None:
            detail = f"database schema is at revision {current}, this release needs {head}"
        elif tables:
            detail = f"database was made by a release before migrations, this release needs revision {head}"
        else:
            detail = f"database has no Tsunagu tables yet, this release needs revision {head}"
        super().__init__(f"{detail}; {_UPGRADE_HINT}")


class SchemaMismatch(StorageError):
    """The database's schema is not one this release can upgrade from: its tables differ from the
    baseline without a recorded revision, or its revision is unknown here (a newer release)."""


@dataclass(frozen=True)
class Upgraded:
    """What an upgrade did: the revision before (None: none recorded) and after (head), and
    whether a database of a release before migrations was adopted (stamped baseline first)."""

    before: str | None
    after: str
    adopted: bool = False


class SchemaStatus(NamedTuple):
    current: str | None  # the revision recorded in the database; None if none is
    head: str  # the revision this release's code needs

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


# --- the public calls -----------------------------------------------------------------------------


async def upgrade(url: str, *, search_path: str | None = None) -> Upgraded:
    """Bring the database at `url` (and, on PostgreSQL, `search_path`'s schema) to head.

    Safe to run from several processes at once: one migrates, the others wait and find it done.
    Raises SchemaMismatch, changing nothing, if the database cannot be upgraded from where it is.
    """
    parsed = database_url(url)
    if is_memory(parsed):
        raise StorageError("an in-memory database lives in one connection; open it with open_database")
    require_sqlite_folder(parsed)
    engine = _engine(parsed, search_path)
    try:
        return await upgrade_engine(engine)
    except DBAPIError as exc:
        raise DatabaseError.of("cannot upgrade the database", exc) from None
    finally:
        await engine.dispose()


async def current(url: str, *, search_path: str | None = None) -> str | None:
    """The revision recorded in the database, or None (empty, or made before migrations)."""
    return (await status(url, search_path=search_path)).current


async def status(url: str, *, search_path: str | None = None) -> SchemaStatus:
    """(current, head). Raises SchemaMismatch if the recorded revision is unknown to this release."""
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite" and not is_memory(parsed) and not Path(str(parsed.database)).exists():
        return SchemaStatus(None, head())  # and no empty file left behind by looking
    engine = _engine(parsed, search_path, migrating=False)
    try:
        async with engine.connect() as conn:
            found, _tables = await conn.run_sync(_state)
    except DBAPIError as exc:
        raise DatabaseError.of("cannot read the database", exc) from None
    finally:
        await engine.dispose()
    _known(found)
    return SchemaStatus(found, head())


def head() -> str:
    """The revision this release's code needs."""
    found = _script().get_current_head()
    if found is None:  # only if the shipped versions/ folder were empty
        raise StorageError(f"no migrations found in {MIGRATIONS}")
    return found


# --- used by open_database ------------------------------------------------------------------------


async def upgrade_engine(engine: AsyncEngine) -> Upgraded:
    """`upgrade` on an engine the caller made (in-memory SQLite has only its own connection)."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await _lock(conn)
        done = await conn.run_sync(_upgrade)
    if done.before != done.after:
        log.info("database schema upgraded: %s -> %s%s", done.before or "empty", done.after,
                 " (adopted the tables of a release before migrations)" if done.adopted else "")
    return done


async def check_engine(engine: AsyncEngine) -> None:
    """Raise SchemaOutOfDate unless the database is at head, SchemaMismatch if it is ahead."""
    async with engine.connect() as conn:
        found, tables = await conn.run_sync(_state)
    _known(found)
    if found != head():
        raise SchemaOutOfDate(found, head(), tables=tables)


def context_options(dialect: str, metadata: MetaData) -> dict[str, Any]:
    """Options for every MigrationContext here and in env.py: compare and migrate only Tsunagu's
    tables (a shared schema may hold others'), and on SQLite alter tables in batch mode (copy
    and rename, as SQLite cannot alter most of a table in place)."""

    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        return type_ != "table" or name in metadata.tables

    return {"render_as_batch": dialect == "sqlite", "include_name": include_name, "compare_type": True}


def differences(connection: Connection, metadata: MetaData) -> list[str]:
    """How the database's Tsunagu tables differ from `metadata`, one short phrase each (names
    of tables, columns and indexes only: a schema holds no personal data)."""
    ctx = MigrationContext.configure(connection, opts=context_options(connection.dialect.name, metadata))
    return [_describe(diff) for diff in compare_metadata(ctx, metadata)]


# --- inside the transaction -----------------------------------------------------------------------


def _upgrade(connection: Connection) -> Upgraded:
    before, tables = _state(connection)
    _known(before)
    adopted = False
    cfg = _config(connection)
    if before is None and tables:
        problems = differences(connection, _baseline())
        if problems:
            shown = "; ".join(problems[:3]) + ("; ..." if len(problems) > 3 else "")
            raise SchemaMismatch(
                f"database has Tsunagu tables but no migration revision, and they differ from the schema "
                f"of the releases before migrations ({shown}), so it cannot be adopted; is "
                f"TSUNAGU_DATABASE_URL the right database?")
        command.stamp(cfg, BASELINE)
        adopted = True
    command.upgrade(cfg, "head")
    after, _ = _state(connection)
    assert after is not None
    return Upgraded(before=before, after=after, adopted=adopted)


def _state(connection: Connection) -> tuple[str | None, bool]:
    """(revision recorded, whether any of the baseline's tables exist)."""
    found = MigrationContext.configure(connection).get_current_revision()
    names = set(inspect(connection).get_table_names())
    return found, bool(names & set(_baseline().tables))


async def _lock(conn: AsyncConnection) -> None:
    """PostgreSQL: wait for the migration lock of this schema, held until the transaction ends.
    The key names the schema, so databases in other schemas (one per test) migrate side by side."""
    schema = (await conn.execute(text("SELECT current_schema()"))).scalar_one()
    digest = hashlib.blake2b(f"tsunagu.migrate|{schema}".encode(), digest_size=8).digest()
    key = int.from_bytes(digest, "big", signed=True)
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


# --- Alembic's configuration and the scripts --------------------------------------------------------


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("file_template", _FILE_TEMPLATE.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection  # env.py runs on it, inside our transaction
    return cfg


@cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


@cache
def _baseline() -> MetaData:
    """The frozen schema of the releases before migrations, from the baseline revision itself."""
    metadata = _script().get_revision(BASELINE).module.metadata
    assert isinstance(metadata, MetaData)
    return metadata


def _known(revision: str | None) -> None:
    if revision is None:
        return
    try:
        _script().get_revision(revision)
    except CommandError:
        raise SchemaMismatch(
            f"database schema is at revision {revision}, which this release does not know "
            "(a newer release migrated it); run that release or a newer one") from None


def _engine(url: URL, search_path: str | None, *, migrating: bool = True) -> AsyncEngine:
    """A one-connection-at-a-time engine in `search_path`'s schema (PostgreSQL). On SQLite, one
    for `migrating` begins every transaction with BEGIN IMMEDIATE, DDL included, so that an
    upgrade is all or nothing and holds the file's write lock from its first read."""
    kwargs: dict[str, Any] = {"poolclass": NullPool, "hide_parameters": True}
    if url.get_backend_name() == "sqlite":
        if search_path is not None:
            raise UnsupportedDatabase("search_path applies to PostgreSQL only")
        engine = create_async_engine(url, **kwargs)
        if not migrating:
            return engine

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # the driver begins nothing by itself...
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=30000")  # another process's upgrade: wait for it
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # ...and every transaction starts here

        return engine
    if search_path is not None:
        kwargs["connect_args"] = {"server_settings": {"search_path": search_path}}
    return create_async_engine(url, **kwargs)


def _describe(diff: Any) -> str:
    """One phrase for one of compare_metadata's differences (the models' view: "add" = missing)."""
    if isinstance(diff, list):  # column modifications come as a list of tuples
        diff = diff[0]
    kind = diff[0]
    names: dict[str, Callable[[Any], str]] = {
        "add_table": lambda d: f"table {d[1].name} missing",
        "remove_table": lambda d: f"table {d[1].name} not expected",
        "add_column": lambda d: f"column {d[2]}.{d[3].name} missing",
        "remove_column": lambda d: f"column {d[2]}.{d[3].name} not expected",
        "add_index": lambda d: f"index {d[1].name} missing",
        "remove_index": lambda d: f"index {d[1].name} not expected",
        "add_constraint": lambda d: f"constraint {d[1].name or 'on ' + d[1].table.name} missing",
        "remove_constraint": lambda d: f"constraint {d[1].name or 'on ' + d[1].table.name} not expected",
        "modify_type": lambda d: f"column {d[2]}.{d[3]} has another type",
        "modify_nullable": lambda d: f"column {d[2]}.{d[3]} differs in NULL",
        "modify_default": lambda d: f"column {d[2]}.{d[3]} has another default",
    }
    describe = names.get(kind)
    return describe(diff) if describe else kind.replace("_", " ")


# --- for developers: python -m storage.migrations revision "what changed" ---------------------------


async def new_revision(message: str) -> Path:
    """Write a revision from the difference between the models and a scratch database at head;
    returns its file. For developers: the file is a draft to read and finish."""
    with tempfile.TemporaryDirectory() as scratch:
        engine = _engine(database_url(f"sqlite+aiosqlite:///{scratch}/head.db"), None)
        try:
            await upgrade_engine(engine)
            async with engine.begin() as conn:
                written = await conn.run_sync(
                    lambda connection: command.revision(_config(connection), message, autogenerate=True))
        finally:
            await engine.dispose()
    scripts = written if isinstance(written, list) else [written]
    assert scripts and scripts[0] is not None
    return Path(scripts[0].path)
