"""Database URLs: the two backends supported, each given its async driver."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from storage.errors import DatabaseError, UnsupportedDatabase

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def database_url(url: str) -> URL:
    """`sqlite:///x.db` and `postgresql://...` with their async driver; anything else is refused
    in one line that never shows a password."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UnsupportedDatabase(f"not a database URL: {url.split('@')[-1]!r}") from None
    backend = parsed.get_backend_name()
    if backend not in _DRIVERS:
        raise UnsupportedDatabase(
            f"unsupported database {backend!r}; use sqlite+aiosqlite:///FILE or "
            "postgresql+asyncpg://USER@HOST/DB"
        )
    return parsed.set(drivername=_DRIVERS[backend])


def is_memory(url: URL) -> bool:
    """An in-memory SQLite database: it lives in one connection, and dies with it."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def require_sqlite_folder(url: URL) -> None:
    """A SQLite file can be created only in a folder that exists: say so in one line, before the
    driver fails with "unable to open database file" (and leaves its thread behind)."""
    if url.get_backend_name() == "sqlite" and not is_memory(url):
        folder = Path(str(url.database)).parent
        if not folder.is_dir():
            raise DatabaseError(f"cannot open the database: no folder {folder}")
