"""`tsunagu audit` and `tsunagu audit verify` as an operator runs them (issue 11, item 4): the
entries filtered by partner, case and time; a verified chain exits 0, an edited one exits 1 with
one line naming the entry; an export is itself recorded."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta

import pytest

import bot.cli
from storage import open_database
from storage.audit import AuditLog
from storage.keys import Keyring
from tests.fakes.clock import START


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    monkeypatch.setenv("TSUNAGU_KEY_FILE", str(tmp_path / "k.key"))

    async def fill():
        db = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
        audit = AuditLog(db)
        for i, org in enumerate(("ibasho-24", "other", "ibasho-24")):
            await audit.record(action="view", actor=f"web:{i}", org_id=org, front="web", case_id=10 + i,
                               detail="ok", now=START + timedelta(days=i))
        await db.close()

    asyncio.run(fill())
    return tmp_path


def test_the_entries_filtered_and_the_chain_verified(env, capsys):
    assert bot.cli.main(["audit", "--org", "ibasho-24"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("id\t") and [line.split("\t")[6] for line in out[1:]] == ["10", "12"]
    assert bot.cli.main(["audit", "--case", "11"]) == 0
    assert [line.split("\t")[3] for line in capsys.readouterr().out.splitlines()[1:]] == ["other"]
    since = (START + timedelta(days=1)).astimezone().date().isoformat()
    assert bot.cli.main(["audit", "--since", since]) == 0
    assert len(capsys.readouterr().out.splitlines()) >= 3
    assert bot.cli.main(["audit", "verify"]) == 0
    assert "verified: 3 entries" in capsys.readouterr().out


def test_an_edited_entry_fails_verify_with_one_line(env, capsys):
    with sqlite3.connect(env / "d.db") as conn:
        conn.execute("UPDATE audit_log SET actor = 'web:99' WHERE id = 2")
    assert bot.cli.main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "entry 2 was edited" in err and "Traceback" not in err


def test_a_bad_since_is_one_line(env, capsys):
    assert bot.cli.main(["audit", "--since", "yesterday"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tsunagu: error: --since") and err.count("\n") == 1


def test_an_export_is_recorded(env, capsys):
    Keyring.load_or_create(env / "k.key")
    assert bot.cli.main(["export", "cases", "--org", "ibasho-24", "--from", "2026-01-01", "--to", "2026-01-31",
                         "--stdout", "jsonl"]) == 0
    capsys.readouterr()
    assert bot.cli.main(["audit"]) == 0
    last = capsys.readouterr().out.splitlines()[-1].split("\t")
    assert last[2:6] == ["cli", "ibasho-24", last[4], "export"] and last[4].startswith("cli:")
    assert "from=2026-01-01" in last[7] and "cases=0" in last[7]
    assert bot.cli.main(["audit", "verify"]) == 0
