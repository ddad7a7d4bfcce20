"""`tsunagu flows publish | history | rollback`, and a running server following them."""

from __future__ import annotations

import asyncio
import shutil

from bot.app import SERVICES
from bot.cli import main
from flows import bundled_path
from tests.bot.test_flow_publishing import NEW, OLD, _running, _say


def _edited(tmp_path):
    path = tmp_path / "edited.yaml"
    path.write_text(bundled_path("intake").read_text(encoding="utf-8").replace(OLD, NEW), encoding="utf-8")
    return path


def test_publish_history_and_rollback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("TSUNAGU_FLOWS_DIR", raising=False)
    assert main(["flows", "publish"]) == 0
    first = capsys.readouterr().out.split()[2]
    assert main(["flows", "publish", str(_edited(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert f"(was {first})" in out
    second = out.split()[2]

    assert main(["flows", "history"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("* intake") and second in lines[1]
    assert first in lines[2] and not lines[2].startswith("*")

    assert main(["flows", "rollback", first[:6]]) == 0
    assert f"intake is at version {first} again" in capsys.readouterr().out
    main(["flows", "history"])
    assert first in capsys.readouterr().out.splitlines()[1]


def test_publish_refuses_a_broken_file_and_publishes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nid: intake\nsteps:\n  - id: a\n    say: hi\n    next: nowhere\n", encoding="utf-8")
    assert main(["flows", "publish", str(_edited(tmp_path)), str(broken)]) == 1
    out = capsys.readouterr().out
    assert "broken.yaml:" in out and "nothing published" in out
    assert main(["flows", "history"]) == 0
    assert "no published versions" in capsys.readouterr().out


def test_rollback_to_an_unknown_version_is_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    assert main(["flows", "rollback", "ffff"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("tsunagu: error: no published version of 'intake' starts with 'ffff'")
    assert "\n" not in err


async def test_server_follows_a_publication_made_by_another_process(tmp_path, fake_line, clock, monkeypatch):
    folder = tmp_path / "flows"
    folder.mkdir()
    shutil.copy(bundled_path("intake"), folder / "intake.yaml")
    service = await _running(tmp_path, fake_line, clock, folder)
    try:
        versions = service.client.server.app[SERVICES].flows
        before = versions.current_version("intake")
        monkeypatch.setenv("TSUNAGU_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'tsunagu.db'}")
        code = await asyncio.to_thread(main, ["flows", "publish", str(_edited(tmp_path))])
        assert code == 0
        for _ in range(200):
            if versions.current_version("intake") != before:
                break
            await asyncio.sleep(0.02)
        await _say(service, "Unew", "こんにちは")
        assert NEW in await _say(service, "Unew", "はい")
    finally:
        await service.client.close()
