"""YAML mistakes said in plain words, at the line and column to fix (flows and routing alike)."""

from __future__ import annotations

import pytest

from flows import FlowValidationError, parse_flow
from flows.loader import bundled_path

INTAKE = bundled_path().read_text(encoding="utf-8")


def first_problem(text: str) -> str:
    with pytest.raises(FlowValidationError) as info:
        parse_flow(text, source="intake.yaml")
    return str(info.value.problems[0])


def test_a_list_item_indented_one_space_too_far_says_so() -> None:
    text = INTAKE.replace("  - id: age_band\n", "   - id: age_band\n", 1)
    line = INTAKE.splitlines().index("  - id: age_band") + 1
    problem = first_problem(text)
    assert problem.startswith(f"intake.yaml:{line}:4: this line is indented less than the one above"), problem
    assert "<block" not in problem and "expected" not in problem


def test_a_line_indented_more_than_the_one_above() -> None:
    text = INTAKE.replace("    save_as: age_band\n", "      save_as: age_band\n", 1)
    problem = first_problem(text)
    assert "this line is indented more than the one above" in problem, problem


def test_a_colon_in_a_text_asks_for_quotes() -> None:
    text = INTAKE.replace("en: How old are you?", "en: Age: how old are you?")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "Age: how old" in t)
    problem = first_problem(text)
    assert problem.startswith(f"intake.yaml:{line}:14: this text has ': ' (colon and space) in it"), problem
    assert "double quotes" in problem


def test_a_tab_an_open_quote_and_a_field_written_twice() -> None:
    assert "Tab character" in first_problem(INTAKE.replace("    kind: say\n", "\tkind: say\n", 1))
    quote = first_problem(INTAKE.replace("ja: 年代を教えてください。", 'ja: "年代を教えてください。', 1))
    assert "this quote is never closed" in quote
    twice = first_problem(INTAKE.replace("    save_as: age_band\n", "    save_as: age_band\n    save_as: x\n", 1))
    assert "the field 'save_as' is written twice in the same place" in twice
