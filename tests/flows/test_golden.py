"""Golden transcripts: each answers file runs through the real engine and must match its transcript.

After a deliberate change to a flow or the engine, rewrite them with `pytest --update-golden`
and read the diff before committing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from flows import load_bundled
from flows.transcript import run_script

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(GOLDEN.glob("*/*.answers"))


def language_of(lines: list[str]) -> str | None:
    for line in lines:
        if line.startswith("# lang:"):
            return line.split(":", 1)[1].strip()
    return None


@pytest.mark.parametrize("answers", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_transcript_matches_golden(answers: Path, update_golden: bool) -> None:
    flow = load_bundled(answers.parent.name)
    lines = answers.read_text(encoding="utf-8").splitlines()
    got = run_script(flow, lines, language=language_of(lines), where=answers.name)
    expected = answers.with_suffix(".transcript")
    if update_golden:
        expected.write_text(got, encoding="utf-8")
    assert expected.exists(), f"no {expected.name}; run pytest --update-golden to create it"
    assert got == expected.read_text(encoding="utf-8")


def test_every_bundled_flow_has_golden_cases() -> None:
    flows_dir = Path(load_bundled().source).parent
    for script in flows_dir.glob("*.yaml"):
        assert list((GOLDEN / script.stem).glob("*.answers")), f"no golden answers for {script.name}"


def test_simulate_cli_prints_the_same_transcript(capsys: pytest.CaptureFixture[str]) -> None:
    answers = GOLDEN / "intake" / "full_en.answers"
    assert main(["flows", "simulate", "intake", "--lang", "en", "--answers", str(answers)]) == 0
    assert capsys.readouterr().out == answers.with_suffix(".transcript").read_text(encoding="utf-8")
