"""`tsunagu db upgrade` and `tsunagu db current`: what an operator sees, errors as one line."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from storage import Keyring, migrate, open_database
from tests.storage import previous_release as release_before_migrations


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'tsunagu.db'}"
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", url)
    monkeypatch.setenv("TSUNAGU_KEY_FILE", str(tmp_path / "tsunagu.key"))
    return url


def test_current_and_upgrade_from_empty(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    head = migrate.head()
    assert main(["db", "current"]) == 1
    assert capsys.readouterr().out == f"current  none\nhead     {head}\nbehind: run tsunagu db upgrade\n"
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"upgraded empty -> {head} (head)\n"
    assert main(["db", "current"]) == 0
    assert capsys.readouterr().out == f"current  {head}\nhead     {head}\n"
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"already at head {head}\n"


def previous_release(url: str, *statements: str) -> None:
    """A database as the release before migrations left it, then `statements`."""

    async def make() -> None:
        db = await open_database(url, schema="create")
        await release_before_migrations.make(db, Keyring.generate())
        async with db.engine.begin() as conn:  # make() leaves the baseline's tables only
            for statement in statements:
                await conn.exec_driver_sql(statement)
        await db.close()

    asyncio.run(make())


def test_upgrade_adopts_a_database_of_the_release_before_migrations(
        url: str, capsys: pytest.CaptureFixture[str]) -> None:
    previous_release(url)
    assert main(["db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"adopted the tables of a release before migrations as {migrate.BASELINE}")
    assert main(["db", "current"]) == 0


def test_errors_are_one_line_without_a_traceback(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    previous_release(url, "DROP TABLE follow_ups")
    assert main(["db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tsunagu: error: database has Tsunagu tables but no migration revision")
    assert "table follow_ups missing" in err and err.count("\n") == 1

    monkeypatch.setenv("TSUNAGU_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    assert main(["db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert err == f"tsunagu: error: cannot open the database: no folder {tmp_path / 'no' / 'such'}\n"

    monkeypatch.setenv("TSUNAGU_DATABASE_URL", "mysql://u@h/db")
    for command in ("upgrade", "current"):
        assert main(["db", command]) == 1
        err = capsys.readouterr().err
        assert err.startswith("tsunagu: error: unsupported database 'mysql'") and err.count("\n") == 1


def test_current_refuses_a_revision_from_a_newer_release(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    with sqlite3.connect(url.split("///", 1)[1]) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    capsys.readouterr()
    assert main(["db", "current"]) == 1
    err = capsys.readouterr().err
    assert "revision ffffffffffff, which this release does not know" in err and err.count("\n") == 1
