"""Several versions at once: a session stays on its version; a broken edit never replaces a good one."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.engine import Input, resume, start
from flows.versions import FlowVersions, UnknownVersion

from .helpers import MINI, T0, mini


def test_session_stays_on_its_version_after_an_edit(tmp_path: Path) -> None:
    (tmp_path / "mini.yaml").write_text(MINI, encoding="utf-8")
    held = FlowVersions()
    assert held.load_folder(tmp_path) == []
    old = held.current("mini")
    turn = start(old, now=T0)

    (tmp_path / "mini.yaml").write_text(MINI.replace("色は？", "好きな色は？"), encoding="utf-8")
    held.load_folder(tmp_path)
    new = held.current("mini")
    assert new.version != old.version
    assert start(new, now=T0).messages[-1].text == "好きな色は？"
    later = resume(held.for_session(turn.session), turn.session, Input(text="はじめから"), now=T0)
    assert later.messages[-1].text == "色は？" and later.session.version == old.version

    held.drop_unused({("mini", old.version)})
    assert sorted(held.versions("mini")) == sorted([old.version, new.version])
    held.drop_unused(set())
    assert held.versions("mini") == [new.version]
    with pytest.raises(UnknownVersion):
        held.for_session(turn.session)


def test_invalid_edit_keeps_the_working_version(tmp_path: Path) -> None:
    (tmp_path / "mini.yaml").write_text(MINI, encoding="utf-8")
    held = FlowVersions()
    held.load_folder(tmp_path)
    good = held.current("mini").version
    (tmp_path / "mini.yaml").write_text(MINI.replace("kind: say", "kind: sya"), encoding="utf-8")
    problems = held.load_folder(tmp_path)
    assert [p.step for p in problems] == ["hello"]
    assert held.current("mini").version == good == mini().version
