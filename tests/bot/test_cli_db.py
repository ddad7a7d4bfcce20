"""`tsunagu db status | rotate-key | purge` for operators."""

from __future__ import annotations

import json

from bot.cli import main
from storage import Keyring


def test_status_rotate_and_purge(tmp_path, monkeypatch, capsys):
    key = tmp_path / "tsunagu.key"
    Keyring.load_or_create(key)
    monkeypatch.setenv("TSUNAGU_KEY_FILE", str(key))
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")

    assert main(["db", "status"]) == 0
    assert "inbox_pending         0" in capsys.readouterr().out

    before = json.loads(key.read_text())
    assert main(["db", "rotate-key"]) == 0
    out = capsys.readouterr().out
    after = Keyring.load(key)
    assert out.startswith(f"new current key {after.current_key_id}")
    assert after.current_key_id not in json.dumps(before)
    assert len(after.key_ids) == 2

    assert main(["db", "purge", "--older-than", "7"]) == 0
    out = capsys.readouterr().out
    assert "deleted 0 finished rows older than 7 days" in out
    for kind in ("web_chat", "cases", "addresses", "people_keys", "desk_sessions", "audit"):
        assert kind in out  # every kind of record is purged, not only the queue's rows

    assert main(["db", "rewrap-keys"]) == 0
    assert capsys.readouterr().out.startswith(f"rewrapped 0 data keys under {after.current_key_id}")


def test_purge_refuses_zero_days_in_one_line(tmp_path, monkeypatch, capsys):
    key = tmp_path / "tsunagu.key"
    Keyring.load_or_create(key)
    monkeypatch.setenv("TSUNAGU_KEY_FILE", str(key))
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    assert main(["db", "purge", "--older-than", "0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tsunagu: error: --older-than must be at least 1 day") and err.count("\n") == 1


def test_missing_key_file_is_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TSUNAGU_KEY_FILE", str(tmp_path / "absent.key"))
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    assert main(["db", "status"]) == 1
    err = capsys.readouterr().err
    assert "absent.key" in err and err.count("\n") == 1 and "Traceback" not in err


def test_create_key_makes_a_private_key_file_once(tmp_path, monkeypatch, capsys):
    key = tmp_path / "tsunagu.key"
    monkeypatch.setenv("TSUNAGU_KEY_FILE", str(key))
    assert main(["db", "create-key"]) == 0
    assert capsys.readouterr().out.startswith(f"created {key} (mode 0600)")
    assert key.stat().st_mode & 0o777 == 0o600
    first = key.read_bytes()
    Keyring.load(key)  # a key file the service accepts

    assert main(["db", "create-key"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tsunagu: error: ") and "already exists" in err and err.count("\n") == 1
    assert key.read_bytes() == first


def test_retention_settings_come_from_the_environment_and_bad_ones_are_one_line(tmp_path, monkeypatch, capsys):
    from datetime import timedelta

    from bot.settings import Settings

    keep = Settings.from_env({"TSUNAGU_RETENTION_CASE_DAYS": "0", "TSUNAGU_RETENTION_ADDRESS_DAYS": "90",
                              "TSUNAGU_RETENTION_AUDIT_DAYS": "730", "TSUNAGU_KEY_STORE": "/srv/keys/ks"}).retention()
    assert keep.cases == timedelta(0) and keep.addresses == timedelta(days=90) and keep.audit == timedelta(days=730)
    assert keep.queue == keep.web_chat == timedelta(days=30) and keep.desk_sessions == timedelta(days=7)
    key = tmp_path / "tsunagu.key"
    Keyring.load_or_create(key)
    monkeypatch.setenv("TSUNAGU_KEY_FILE", str(key))
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    monkeypatch.setenv("TSUNAGU_RETENTION_WEB_CHAT_DAYS", "-1")
    assert main(["db", "purge"]) == 1
    err = capsys.readouterr().err
    assert "retention_web_chat_days" in err and err.count("\n") == 1
