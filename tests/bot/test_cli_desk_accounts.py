"""Counselor accounts (issue 11, item 5): `tsunagu desk disable-user`, `enable-user`,
`reset-password`, `revoke-sessions`, and `list-users` with the last sign-in; a disabled account
cannot sign in and its sessions end; every change is in the audit trail; mistakes are one line."""

from __future__ import annotations

import asyncio
import io

import pytest

import bot.cli
from storage import open_database
from storage.audit import AuditLog
from storage.desk_users import DeskUsers
from tests.fakes.clock import START

PASSWORD = "a long enough password"


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    monkeypatch.setenv("TSUNAGU_KEY_FILE", str(tmp_path / "k.key"))
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert bot.cli.main(["desk", "add-user", "ibasho-24", "そら"]) == 0
    return tmp_path


def on_db(tmp_path, action):
    async def run():
        db = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
        try:
            return await action(DeskUsers(db), AuditLog(db))
        finally:
            await db.close()

    return asyncio.run(run())


def sign_in(tmp_path, password=PASSWORD):
    async def go(users, _audit):
        result = await users.sign_in("ibasho-24", "そら", password, address="a", now=START)
        return result[1] if result else None

    return on_db(tmp_path, go)


def session_user(tmp_path, token):
    return on_db(tmp_path, lambda users, _a: users.session(token, now=START))


def listed(capsys) -> list[list[str]]:
    assert bot.cli.main(["desk", "list-users"]) == 0
    return [line.split("\t") for line in capsys.readouterr().out.splitlines()[1:]]


def test_disable_ends_sessions_and_sign_in_and_enable_restores_it(env, monkeypatch, capsys):
    assert listed(capsys) == [["ibasho-24", "そら", "enabled", "never"]]
    token = sign_in(env)
    assert token and session_user(env, token) is not None
    assert listed(capsys)[0][3].startswith(START.date().isoformat())
    assert bot.cli.main(["desk", "disable-user", "ibasho-24", "そら"]) == 0
    assert "disabled (1 session ended)" in capsys.readouterr().out
    assert session_user(env, token) is None, "its session ended"
    assert sign_in(env) is None, "a disabled account cannot sign in, even with the right password"
    assert listed(capsys)[0][2] == "disabled"
    assert bot.cli.main(["desk", "enable-user", "ibasho-24", "そら"]) == 0
    assert sign_in(env) is not None


def test_reset_password_from_stdin_or_a_file_and_revoke_sessions(env, monkeypatch, capsys):
    token = sign_in(env)
    monkeypatch.setattr("sys.stdin", io.StringIO("the new password here\n"))
    assert bot.cli.main(["desk", "reset-password", "ibasho-24", "そら"]) == 0
    assert "has a new password (1 session ended)" in capsys.readouterr().out
    assert session_user(env, token) is None and sign_in(env) is None
    assert sign_in(env, "the new password here") is not None
    secret = env / "pw.txt"
    secret.write_text("from a file, long enough\n", encoding="utf-8")
    assert bot.cli.main(["desk", "reset-password", "ibasho-24", "そら", "--password-file", str(secret)]) == 0
    token = sign_in(env, "from a file, long enough")
    assert bot.cli.main(["desk", "revoke-sessions", "ibasho-24", "そら"]) == 0
    assert session_user(env, token) is None and sign_in(env, "from a file, long enough") is not None
    entries = on_db(env, lambda _u, audit: audit.entries())
    assert [e.detail.split(",")[0] for e in entries] == ["add", "reset_password", "reset_password",
                                                         "revoke_sessions"]
    assert all(e.action == "account" and e.front == "cli" and e.actor.startswith("cli:") for e in entries)
    assert on_db(env, lambda _u, audit: audit.verify())[1] is None


@pytest.mark.parametrize(("argv", "stdin", "says"), [
    (["reset-password", "ibasho-24", "そら"], "", "no password on stdin"),
    (["reset-password", "ibasho-24", "そら"], "short\n", "at least 10 characters"),
    (["reset-password", "ibasho-24", "そら", "--password-file", "/nonexistent/pw"], "", "/nonexistent/pw"),
    (["disable-user", "ibasho-24", "だれ"], "", "ibasho-24 has no desk user named だれ"),
    (["revoke-sessions", "nowhere", "そら"], "", "nowhere has no desk user named そら"),
])
def test_mistakes_are_one_line_without_a_traceback(env, monkeypatch, capsys, argv, stdin, says):
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert bot.cli.main(["desk", *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tsunagu: error: ") and says in err and "Traceback" not in err
    assert err.count("\n") == 1
