"""`tsunagu desk add-user` as an operator runs it: from a terminal, a pipe or a file, and never a
traceback (it used to end in EOFError when stdin was not a terminal)."""

from __future__ import annotations

import asyncio
import io

import pytest

import bot.cli
from storage import open_database
from storage.desk_users import DeskUsers


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    monkeypatch.setenv("TSUNAGU_KEY_FILE", str(tmp_path / "k.key"))
    return tmp_path


def users(tmp_path) -> list[tuple[str, str]]:
    async def read():
        db = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
        try:
            return [(u.org_id, u.name) for u in await DeskUsers(db).users()]
        finally:
            await db.close()

    return asyncio.run(read())


def test_a_password_piped_on_stdin_needs_no_flag(env, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert bot.cli.main(["desk", "add-user", "ibasho-24", "そら"]) == 0
    assert "created desk user そら at ibasho-24" in capsys.readouterr().out
    assert users(env) == [("ibasho-24", "そら")]


def test_a_password_file(env, capsys):
    secret = env / "pw.txt"
    secret.write_text("another long password\nignored\n", encoding="utf-8")
    assert bot.cli.main(["desk", "add-user", "ibasho-24", "ゆき", "--password-file", str(secret)]) == 0
    assert users(env) == [("ibasho-24", "ゆき")]


@pytest.mark.parametrize(("stdin", "argv", "says"), [
    ("", [], "no password on stdin"),
    ("short\n", [], "at least 10 characters"),
    ("", ["--password-file", "/nonexistent/pw"], "/nonexistent/pw: No such file or directory"),
])
def test_mistakes_are_one_line_without_a_traceback(env, monkeypatch, capsys, stdin, argv, says):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert bot.cli.main(["desk", "add-user", "ibasho-24", "そら", *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tsunagu: error: ") and says in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_the_same_name_twice_is_refused_in_one_line(env, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert bot.cli.main(["desk", "add-user", "ibasho-24", "そら"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert bot.cli.main(["desk", "add-user", "ibasho-24", "そら"]) == 1
    assert "already has a desk user named そら" in capsys.readouterr().err
