"""Database set-up: one async engine for SQLite (aiosqlite) or PostgreSQL (asyncpg), same code.

SQLite gets WAL (readers never wait for the writer), a busy timeout (other processes on the
same file wait instead of failing), foreign keys, and synchronous=FULL so that a transaction is
on disk when commit returns: the webhook acknowledges an event only after that.

SQLite allows one writer at a time. Write transactions start with BEGIN IMMEDIATE, so they take
the write lock up front instead of failing half-way when a read turns into a write; inside one
process they also queue on an asyncio lock, so they wait in the event loop rather than in
SQLite's sleeping busy handler. Every statement is a trip to aiosqlite's thread, so the code
here avoids the ones it can (no separate BEGIN, no rollback on pool checkin).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel

from storage import migrate
from storage import tables as _tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.errors import DatabaseError, UnsupportedDatabase
from storage.urls import database_url, is_memory, require_sqlite_folder

READ_POOL_SIZE = 16
_SYNCHRONOUS = {"OFF", "NORMAL", "FULL", "EXTRA"}


class Database:
    """An open database: the engine, its dialect name, and an ORM session factory.

    `Store` is the intended way in; `engine` and `sessions` are there for tools and tests.
    Writes made through them do not queue with the Store's (on SQLite they wait in the busy
    timeout instead), so keep them to tools that run beside, not inside, the service.
    """

    def __init__(self, engine: AsyncEngine, *, dialect: str,
                 write_engine: AsyncEngine | None = None, file: str | None = None) -> None:
        self.engine = engine
        self.dialect = dialect
        # Writes get their own single connection, so a crowd of readers never keeps the writer
        # (and with it every caller waiting on a commit) queuing for the pool.
        self._write_engine = write_engine or engine
        self.sessions: async_sessionmaker[AsyncSession] = async_sessionmaker(
            engine, expire_on_commit=False
        )
        self._write_lock = asyncio.Lock() if dialect == "sqlite" else None
        self._writers = WritersLock(Path(f"{file}-writer")) if file is not None else None
        self._before_close: list[Callable[[], Awaitable[None]]] = []
        # The SQLite file's identity when opened: a file removed or replaced under a running
        # server must stop it writing (into an unlinked file that a restart would never see).
        self.file = file
        self._identity = _identity(file) if file else None
        self.write_failure: str | None = None  # the last write's error, until a write succeeds

    def check_identity(self) -> None:
        """Raise DatabaseError if the SQLite file is not the one opened (removed, replaced)."""
        if self.file is not None and _identity(self.file) != self._identity:
            raise DatabaseError(f"the database file {self.file} was removed or replaced while the server ran; "
                                "restart it (and restore the file from a backup if it was lost)")

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed when the block ends, rolled back if it raises.

        A database error is remembered (`write_failure`, which the health check reports) until a
        later write succeeds."""
        try:
            self.check_identity()
            if self._write_lock is None:
                async with self._write_engine.begin() as conn:
                    yield conn
            else:
                async with self._write_lock:
                    if self._writers is not None:
                        await self._writers.acquire()
                    try:
                        async with self._write_engine.begin() as conn:
                            yield conn
                    finally:
                        if self._writers is not None:
                            self._writers.release()
        except IntegrityError:  # a constraint doing its job (a duplicate key): the database is fine
            raise
        except (DBAPIError, DatabaseError, OSError) as exc:
            self.write_failure = type(getattr(exc, "orig", None) or exc).__name__
            raise
        self.write_failure = None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reading. On SQLite no transaction is opened (the driver begins one
        only before a write), so each statement sees its own snapshot: Store's reads are single
        statements for that reason."""
        if self._write_engine is self.engine and self._write_lock is not None:
            # In-memory SQLite: one connection for everything, so reads queue with the writes.
            async with self._write_lock, self.engine.connect() as conn:
                yield conn
            return
        async with self.engine.connect() as conn:
            yield conn

    def asyncpg_dsn(self) -> dict[str, object]:
        """How to open a plain asyncpg connection to this PostgreSQL database (LISTEN/NOTIFY)."""
        url = self.engine.url
        return {"host": url.host, "port": url.port or 5432, "user": url.username, "password": url.password,
                "database": url.database}

    def on_close(self, flush: Callable[[], Awaitable[None]]) -> None:
        """Run `flush` before the engine goes away (Stores finish their queued writes)."""
        self._before_close.append(flush)

    async def close(self) -> None:
        """Finish writes already requested, then close every connection."""
        for flush in self._before_close:
            await flush()
        if self._write_engine is not self.engine:
            await self._write_engine.dispose()
        await self.engine.dispose()
        if self._writers is not None:
            self._writers.close()


SchemaPolicy = Literal["auto", "upgrade", "check", "create"]


class WritersLock:
    """One SQLite writer at a time across processes, handed over at once.

    SQLite lets one connection write at a time; a second process that finds the file locked
    sleeps in SQLite's busy handler (1, 2, 5 ... 100 ms at a time) and tries again, and meanwhile
    the first process, whose next writer needs no sleep, takes the lock again: under load the
    waiting process starves (the web process's webhook waits seconds behind the worker). So every
    writer of this database first takes an exclusive flock on a file beside it: a blocked
    process waits in the kernel and is woken the moment the lock is free.
    """

    def __init__(self, path: Path) -> None:
        self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    async def acquire(self) -> None:
        fd = self._fd
        if fd is None:
            raise DatabaseError("the database is closed")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another process writes: wait for it in a thread, not the loop
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class Connected:
    """One open transaction seen as a Database: `write()` and `read()` both give its connection,
    and start nothing. A store made on it (`CaseStore(Connected(conn, dialect), keyring)`) does
    its work inside that transaction, e.g. a work queue batch's (storage/work.py)."""

    def __init__(self, conn: AsyncConnection, dialect: str) -> None:
        self._conn = conn
        self.dialect = dialect

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        yield self._conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        yield self._conn


async def open_database(
    url: str,
    *,
    schema: SchemaPolicy = "auto",
    echo: bool = False,
    search_path: str | None = None,
    sqlite_synchronous: str = "FULL",
    pool_size: int | None = None,
    durable_commits: bool = True,
) -> Database:
    """Create the engines, set SQLite's pragmas, and make sure the schema is the code's.

    `schema` says how (see migrate.py for what an upgrade does):

    - "upgrade": migrate to head first, adopting a database of a release before migrations.
    - "check": refuse an out-of-date schema with SchemaOutOfDate, whose one line tells the
      operator to run `tsunagu db upgrade`; several instances must never migrate at once.
    - "create": `create_all`, recording no revision: for tests and throwaway databases only.
    - "auto" (the default): "upgrade" on SQLite, where the embedded default is one service
      that upgrades itself on start; "check" on PostgreSQL, where migrating is the operator's step.

    `sqlite:///x.db` and `postgresql://...` are accepted and given their async driver.
    `search_path` (PostgreSQL only) puts the tables, and the migration revision, in that schema.
    `pool_size` sizes the readers' pool; writes use one connection of their own.
    `durable_commits=False` lets a commit return before it is on disk (SQLite synchronous=NORMAL
    in WAL mode, PostgreSQL synchronous_commit=off): a killed process loses nothing it committed,
    a power cut may lose the last moments. For work that is redone if lost (a worker's turns,
    whose events stay pending until their commit is kept); never for what acknowledges an event.
    """
    if schema not in ("auto", "upgrade", "check", "create"):
        raise ValueError(f"unknown schema policy {schema!r}")
    parsed = database_url(url)
    dialect = parsed.get_backend_name()
    if schema == "auto":
        schema = "upgrade" if dialect == "sqlite" else "check"
    if dialect == "sqlite" and search_path is not None:
        raise UnsupportedDatabase("search_path applies to PostgreSQL only")
    if sqlite_synchronous.upper() not in _SYNCHRONOUS:
        raise UnsupportedDatabase(f"unknown SQLite synchronous setting {sqlite_synchronous!r}")
    if not durable_commits:
        sqlite_synchronous = "NORMAL"
    memory = is_memory(parsed)
    require_sqlite_folder(parsed)
    if schema == "upgrade" and not memory:
        # Before the service's engines exist, on a connection of its own (see migrate.py).
        await migrate.upgrade(url, search_path=search_path)
    # hide_parameters: SQL errors and echo never print values (pseudonyms, ciphertexts).
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    if dialect == "sqlite":
        if memory:
            kwargs["poolclass"] = StaticPool  # one shared connection, or each sees its own empty DB
        # Every transaction here ends in commit or rollback, so the pool's extra rollback on
        # checkin is only another trip through aiosqlite's thread.
        kwargs["pool_reset_on_return"] = None
    else:
        settings = {"search_path": search_path} if search_path is not None else {}
        if not durable_commits:
            settings["synchronous_commit"] = "off"
        if settings:
            kwargs["connect_args"] = {"server_settings": settings}
    engines = []
    # A fixed pool: connections beyond it would be opened and closed per request (for aiosqlite
    # a new thread each time), which under load cost more than waiting for a free one.
    for size in ([None] if memory else [pool_size or READ_POOL_SIZE, 1]):
        extra = {} if size is None else {"pool_size": size, "max_overflow": 0}
        engine = create_async_engine(parsed, **kwargs, **extra)
        if dialect == "sqlite":
            _sqlite_events(engine, synchronous=sqlite_synchronous)
        engines.append(engine)
    try:
        if schema == "create":
            async with engines[-1].begin() as conn:
                await conn.run_sync(SQLModel.metadata.create_all)
        elif schema == "upgrade" and memory:  # the database is this engine's one connection
            await migrate.upgrade_engine(engines[-1])
        elif schema == "check":
            await migrate.check_engine(engines[-1])
    except BaseException as exc:
        for engine in engines:
            await engine.dispose()
        if isinstance(exc, DBAPIError):
            raise DatabaseError.of("cannot open the database", exc) from None
        raise
    file = None if memory or dialect != "sqlite" else os.path.abspath(str(parsed.database))
    return Database(engines[0], dialect=dialect, write_engine=engines[-1], file=file)


def _identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of a file, or None if it is gone."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _sqlite_events(engine: AsyncEngine, *, synchronous: str) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The sqlite3 driver opens a transaction itself just before the first INSERT, UPDATE or
        # DELETE; "IMMEDIATE" makes that BEGIN IMMEDIATE, taking the write lock up front, at no
        # extra round trip through aiosqlite's thread. Plain reads run without a transaction.
        dbapi_connection.isolation_level = "IMMEDIATE"
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "busy_timeout=10000", "foreign_keys=ON",
                       f"synchronous={synchronous.upper()}"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()
