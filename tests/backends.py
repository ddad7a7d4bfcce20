"""Fixtures for two backends (a pytest plugin registered in tests/conftest.py).

One contract, two backends: every storage test runs on a SQLite file and on PostgreSQL.

PostgreSQL tests get their own schema (dropped afterwards), so they never see each other's rows
and may run next to other people's tests on the same database. Set TSUNAGU_TEST_POSTGRES_URL to
point elsewhere; if nothing answers there, the PostgreSQL variants are skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage import CaseStore, Database, Keyring, SchemaPolicy, Store, open_database

PG_URL = os.environ.get(
    "TSUNAGU_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
_pg_problem: list[str | None] = []


async def _postgres_problem() -> str | None:
    """None if PostgreSQL answers, else why not (asked once per run)."""
    if not _pg_problem:
        u = make_url(PG_URL)
        try:
            conn = await asyncpg.connect(host=u.host, port=u.port or 5432, user=u.username,
                                         password=u.password, database=u.database, timeout=3)
            await conn.close()
            _pg_problem.append(None)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            _pg_problem.append(f"PostgreSQL at {u.host}:{u.port or 5432} did not answer: {exc}")
    return _pg_problem[0]


@dataclass
class Backend:
    """A fresh, empty database on one backend; `open()` may be called several times."""

    name: str
    url: str
    search_path: str | None = None
    sqlite_file: Path | None = None
    opened: list[Database] = field(default_factory=list)

    async def open(self, *, schema: SchemaPolicy = "create") -> Database:
        """Open it; by default with create_all (fast: most tests are not about migrations,
        which tests/storage/test_storage_migrate.py runs on both backends)."""
        db = await open_database(self.url, search_path=self.search_path, schema=schema)
        self.opened.append(db)
        return db

    async def sql(self, db: Database, statement: str, **params: object) -> list[tuple]:
        """Raw SQL, for tests that play the attacker with direct database access."""
        async with db.engine.begin() as conn:
            result = await conn.execute(text(statement), params)
            return [tuple(r) for r in result] if result.returns_rows else []

    async def raw_bytes(self) -> bytes:
        """Everything the database holds, as bytes: the SQLite file and its WAL, or every
        PostgreSQL row of every table in the test schema rendered as text."""
        if self.sqlite_file is not None:
            parts = []
            for suffix in ("", "-wal", "-shm"):
                p = Path(str(self.sqlite_file) + suffix)
                if p.exists():
                    parts.append(p.read_bytes())
            return b"\n".join(parts)
        u = make_url(PG_URL)
        conn = await asyncpg.connect(host=u.host, port=u.port or 5432, user=u.username,
                                     password=u.password, database=u.database)
        try:
            tables = await conn.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
                self.search_path)
            assert tables, "no tables found in the test schema"
            lines = []
            for t in tables:
                for row in await conn.fetch(
                        f'SELECT t::text AS r FROM "{self.search_path}"."{t["table_name"]}" t'):
                    lines.append(row["r"])
            return "\n".join(lines).encode()
        finally:
            await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        file = tmp_path / "tsunagu.db"
        b = Backend("sqlite", f"sqlite+aiosqlite:///{file}", sqlite_file=file)
        yield b
        for db in b.opened:
            await db.close()
        return
    problem = await _postgres_problem()
    if problem:
        pytest.skip(problem)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    u = make_url(PG_URL)
    admin = await asyncpg.connect(host=u.host, port=u.port or 5432, user=u.username,
                                  password=u.password, database=u.database)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    b = Backend("postgresql", PG_URL, search_path=schema)
    try:
        yield b
    finally:
        for db in b.opened:
            await db.close()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.generate()


@pytest.fixture
async def db(backend: Backend) -> Database:
    return await backend.open()


@pytest.fixture
def store(db: Database, keyring: Keyring) -> Store:
    return Store(db, keyring)


@pytest.fixture
def cases(db: Database, keyring: Keyring) -> CaseStore:
    return CaseStore(db, keyring)


@pytest.fixture
async def pg_database() -> AsyncIterator[str]:
    """A PostgreSQL database of its own, for tests that start other processes (which cannot be
    given a schema): its URL, at the head revision; dropped afterwards."""
    problem = await _postgres_problem()
    if problem:
        pytest.skip(problem)
    from bench._servers import temporary_postgres

    async with temporary_postgres(PG_URL, prefix="tsunagu_t_") as url:
        yield url
