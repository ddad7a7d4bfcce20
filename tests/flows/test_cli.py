"""`tsunagu flows validate|simulate|graph` as a coordinator runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from flows import bundled_path

from .helpers import MINI


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(MINI.replace("kind: say", "kind: sya"), encoding="utf-8")
    return path


def test_validate_bundled_intake_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "validate", str(bundled_path())]) == 0
    out = capsys.readouterr().out
    assert "intake.yaml: ok (flow intake, version " in out
    assert out.rstrip().endswith("1 file checked: 0 errors, 0 warnings")


def test_validate_error_lines_and_exit_1(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "validate", str(broken)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (f"{broken}:14:11: step 'hello': unknown step kind 'sya' (did you mean 'say'?); "
                        "use one of: say, ask, ask_text, branch, set, handoff, end")
    assert lines[-1] == "1 file checked: 1 error, 0 warnings"


def test_validate_warnings_do_not_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "warn.yaml"
    path.write_text(MINI + "  - id: lost\n    kind: end\n", encoding="utf-8")
    assert main(["flows", "validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{path}:46:5: step 'lost': warning: no path reaches this step" in out


def test_validate_folder_and_json(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (broken.parent / "good.yml").write_text(MINI, encoding="utf-8")
    assert main(["flows", "validate", "--json", str(broken.parent)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert [(f["file"].rsplit("/", 1)[-1], f["errors"]) for f in data["files"]] == [("broken.yaml", 1), ("good.yml", 0)]
    assert data["problems"] == [{
        "file": str(broken), "line": 14, "column": 11, "step": "hello", "severity": "error",
        "message": "unknown step kind 'sya' (did you mean 'say'?); use one of: say, ask, ask_text, branch, set, "
                   "handoff, end",
    }]


def test_validate_missing_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "validate", str(tmp_path / "nope.yaml")]) == 1
    err = capsys.readouterr().err
    assert err == f"tsunagu: error: {tmp_path / 'nope.yaml'}: No such file or directory\n"


def test_simulate_refuses_a_broken_flow(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "simulate", str(broken), "--answers", "-"]) == 1
    err = capsys.readouterr().err
    assert "step 'hello': unknown step kind 'sya'" in err and "Traceback" not in err


def test_simulate_unknown_language(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "simulate", "intake", "--lang", "fr"]) == 1
    assert "the flow has no language 'fr'; it has ja, en" in capsys.readouterr().err


def test_simulate_interactive_with_commands(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    inputs = iter(["[sticker]", "1", "stop"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(inputs))
    assert main(["flows", "simulate", "intake", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "[1] Yes  [2] No" in out
    assert "Sorry, I can't receive stickers" in out
    assert out.rstrip().endswith("session: ended (stopped)")


def test_simulate_bad_answers_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = tmp_path / "a.txt"
    answers.write_text("1\n[wiat 5m]\n", encoding="utf-8")
    assert main(["flows", "simulate", "intake", "--answers", str(answers)]) == 1
    assert f"{answers}:2: unknown '[wiat 5m]'" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_graph(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "graph", "intake", "--format", fmt]) == 0
    out = capsys.readouterr().out
    if fmt == "mermaid":
        assert out.startswith("flowchart TD\n")
        assert '  s_danger -- "はい (urgent)" --> s_danger_help' in out
        assert "  class s_danger_help,s_connect handoff" in out and "  class s_declined finish" in out
    else:
        assert out.startswith('digraph "intake" {')
        assert '"terms" -> "declined" [label="いいえ"];' in out
        assert '"connect" [label=' in out and "doubleoctagon" in out
        assert out.count("{") == out.count("}")


def test_graph_in_english(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "graph", "intake", "--lang", "en"]) == 0
    assert 's_region -- "Kanto" --> s_prefecture_kanto' in capsys.readouterr().out
