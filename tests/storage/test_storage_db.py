"""open_database: URLs it accepts and refuses, SQLite's settings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from storage import Keyring, NewEvent, Outgoing, StorageError, Store, UnsupportedDatabase, open_database


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url", "oracle+cx_oracle://h/db"])
async def test_other_databases_are_refused_in_one_line(url: str) -> None:
    with pytest.raises(UnsupportedDatabase) as caught:
        await open_database(url)
    assert "\n" not in str(caught.value)
    assert issubclass(UnsupportedDatabase, StorageError)


async def test_sqlite_url_without_driver_gets_aiosqlite_and_its_pragmas(tmp_path: Path) -> None:
    db = await open_database(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        assert db.dialect == "sqlite" and db.engine.url.drivername == "sqlite+aiosqlite"
        async with db.engine.connect() as conn:
            pragmas = {name: (await conn.execute(text(f"PRAGMA {name}"))).scalar()
                       for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")}
        assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10000,
                           "synchronous": 2}
    finally:
        await db.close()
    with pytest.raises(UnsupportedDatabase):
        await open_database(f"sqlite:///{tmp_path / 'b.db'}", search_path="x")


async def test_in_memory_sqlite_works_for_quick_tools() -> None:
    db = await open_database("sqlite+aiosqlite://")
    try:
        store = Store(db, Keyring.generate())
        now = datetime(2026, 1, 1, tzinfo=UTC)
        [item] = await store.accept_events([NewEvent("line", "e1", None, b"{}", now)])
        assert [i.id for i in await store.pending_events()] == [item.id]

        async def turn(n: int) -> None:  # reads and writes interleaved on the one connection
            await store.accept_events([NewEvent("line", f"x{n}", f"p{n}", b"{}", now)])
            assert await store.load_session(f"p{n}") is None
            await store.commit_turn(pseudonym=f"p{n}", expected_version=None, state={}, wake_at=None,
                                    outgoing=[Outgoing("line", b"m")], inbox_id=None, now=now)

        await asyncio.wait_for(asyncio.gather(*(turn(n) for n in range(50))), timeout=20)
        assert (await store.counts())["sessions"] == 50
    finally:
        await db.close()


async def test_bad_settings_are_refused_before_the_database_is_touched(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    with pytest.raises(UnsupportedDatabase, match="synchronous"):
        await open_database(url, sqlite_synchronous="sometimes")
    with pytest.raises(ValueError, match="schema policy"):
        await open_database(url, schema="maybe")  # type: ignore[arg-type]
    assert not (tmp_path / "a.db").exists()
