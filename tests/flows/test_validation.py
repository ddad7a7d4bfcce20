"""One broken flow per check: each must give one clear line naming the file, place and step."""

from __future__ import annotations

import pytest

from flows import FlowValidationError, parse_flow
from flows.errors import Problem

from .helpers import MINI, mini


def problems(text: str) -> list[Problem]:
    with pytest.raises(FlowValidationError) as info:
        parse_flow(text, source="f.yaml")
    return list(info.value.problems)


def only_error(text: str) -> Problem:
    errors = [p for p in problems(text) if p.severity == "error"]
    assert len(errors) == 1, "\n".join(map(str, errors))
    return errors[0]


def test_the_test_flow_is_valid() -> None:
    flow = mini()
    assert flow.id == "mini" and flow.warnings == ()
    assert len(flow.version) == 16


def test_error_line_format_and_str() -> None:
    text = MINI.replace("kind: say", "kind: sya")
    err = only_error(text)
    assert str(err) == ("f.yaml:14:11: step 'hello': unknown step kind 'sya' (did you mean 'say'?); "
                        "use one of: say, ask, ask_text, branch, set, handoff, end")
    with pytest.raises(FlowValidationError) as info:
        parse_flow(text, source="f.yaml")
    assert str(info.value) == str(err)


def test_unknown_field() -> None:
    err = only_error(MINI.replace("    save_as: color\n", "    save_as: color\n    multipel: true\n"))
    assert (err.line, err.column, err.step) == (19, 5, "color")
    assert err.message.startswith("unknown field 'multipel' for an ask step (did you mean 'multiple'?)")


def test_unknown_top_level_field() -> None:
    err = only_error(MINI.replace("id: mini\n", "id: mini\nlanguage: [ja]\n"))
    assert (err.line, err.column, err.step) == (3, 1, None)
    assert "unknown field 'language'" in err.message


def test_next_target_that_does_not_exist() -> None:
    err = only_error(MINI.replace("        next: bye\n", "        next: by\n"))
    assert (err.line, err.column, err.step) == (28, 15, "check")
    assert "goes to 'by', but there is no step with that id (did you mean 'bye'?)" in err.message


def test_otherwise_target_that_does_not_exist() -> None:
    err = only_error(MINI.replace("otherwise: name", "otherwise: nmae"))
    assert (err.line, err.step) == (29, "check") and "'otherwise:' goes to 'nmae'" in err.message


def test_unreachable_step_is_a_warning() -> None:
    text = MINI.replace("  - id: bye\n", "  - id: lost\n    kind: say\n    text: {ja: 迷子, en: Lost}\n"
                        "    next: bye\n  - id: bye\n")
    flow = parse_flow(text, source="f.yaml")
    [warning] = flow.warnings
    assert (warning.line, warning.step, warning.severity) == (43, "lost", "warning")
    assert "no path reaches this step" in warning.message
    assert str(warning).startswith("f.yaml:43:5: step 'lost': warning: ")


def test_path_that_never_ends() -> None:
    text = MINI.replace("    otherwise: name\n", "    otherwise: color\n")
    parse_flow(text, source="f.yaml")  # color -> check -> color still reaches bye through red
    text = MINI.replace("        next: bye\n", "        next: color\n").replace("otherwise: name", "otherwise: color")
    errors = [p for p in problems(text) if p.severity == "error"]
    assert {p.step for p in errors} == {"hello", "color", "check"}
    assert all("can never reach an end or handoff" in p.message for p in errors)


def test_loop_without_a_question() -> None:
    text = MINI.replace("    values: {done: true}\n", "    values: {done: true}\n    next: again\n").replace(
        "  - id: connect\n", "  - id: again\n    kind: say\n    text: {ja: また, en: Again}\n    next: mark\n"
        "  - id: connect\n")
    messages = [p.message for p in problems(text) if p.severity == "error"]
    assert any("loop without asking anything: mark → again → mark" in m for m in messages)


def test_text_missing_in_a_declared_language() -> None:
    err = only_error(MINI.replace("text: {ja: 色は？, en: Color?}", "text: {ja: 色は？}"))
    assert (err.line, err.column, err.step) == (19, 11, "color")
    assert err.message == "the text has no en text; add a line 'en: …' under 'text:'"


def test_text_written_once_in_a_two_language_flow() -> None:
    err = only_error(MINI.replace("text: {ja: 名前は？, en: Name?}", "text: 名前は？"))
    assert err.step == "name" and "is written once" in err.message


def test_text_in_an_undeclared_language() -> None:
    err = only_error(MINI.replace("{ja: こんにちは, en: Hello}", "{ja: こんにちは, en: Hello, fr: Bonjour}"))
    assert err.step == "hello" and "'fr' is not one of this flow's languages" in err.message


def test_more_than_13_choices() -> None:
    many = "".join(f"      - {{value: c{i}, label: {{ja: 色{i}, en: C{i}}}}}\n" for i in range(11))
    err = only_error(MINI.replace("      - {value: red,", many + "      - {value: red,"))
    assert (err.line, err.column, err.step) == (20, 5, "color")
    assert "14 choices, but LINE shows at most 13 buttons" in err.message


def test_choice_label_over_20_characters() -> None:
    err = only_error(MINI.replace("en: Blue}", "en: Blue like the deep sea}"))
    assert (err.line, err.step) == (22, "color")
    assert "'Blue like the deep sea' is 22 characters" in err.message and "at most 20" in err.message


def test_text_over_5000_characters() -> None:
    err = only_error(MINI.replace("en: Hello}", "en: " + "a" * 5001 + "}"))
    assert (err.line, err.step) == (15, "hello") and "5001 characters" in err.message


def test_answer_read_before_any_path_sets_it() -> None:
    err = only_error(MINI.replace("when: {color: red}", "when: {colour: red}"))
    assert (err.line, err.column, err.step) == (27, 9, "check")
    assert "reads the answer 'colour', but no step before this one sets it" in err.message


def test_answer_set_on_some_paths_only_is_a_warning() -> None:
    # 'name' is set on the way through the text question, but not when 'color' is blue and the
    # branch jumps straight to a second branch that reads it.
    text = MINI.replace("      - when: {color: red}\n        next: bye\n",
                        "      - when: {color: red}\n        next: bye\n"
                        "      - when: {color: blue}\n        next: check2\n")
    text = text.replace("    values: {done: true}\n", "    values: {done: true}\n  - id: check2\n    kind: branch\n"
                        "    cases:\n      - when: {name: bob}\n        next: bye\n    otherwise: connect\n")
    flow = parse_flow(text, source="f.yaml")
    assert [(w.step, w.line) for w in flow.warnings] == [("check2", 45)]
    assert "reads the answer 'name', which is not set on every path" in flow.warnings[0].message


def test_two_steps_with_the_same_id() -> None:
    err = only_error(MINI.replace("  - id: mark\n", "  - id: name\n"))
    assert (err.line, err.column, err.step) == (37, 9, "name")
    assert "another step already has the id 'name' (line 30)" in err.message


def test_global_command_that_shadows_a_choice_label() -> None:
    err = only_error(MINI.replace("{ja: なし, en: None}", "{ja: やめる, en: None}"))
    assert (err.line, err.step) == (23, "color")
    assert "the choice 'やめる' is also a word of the global command 'stop'" in err.message


def test_shadowing_is_found_after_nfkc_and_case_folding() -> None:
    err = only_error(MINI.replace("{ja: なし, en: None}", "{ja: なし, en: ＳＴＯＰ}"))
    assert "global command 'stop'" in err.message


def test_unknown_schema_version() -> None:
    err = only_error(MINI.replace("version: 1", "version: 7"))
    assert (err.line, err.column) == (1, 10) and "'version: 7' is not a flow language version" in err.message


def test_invalid_yaml_points_at_the_place() -> None:
    err = only_error(MINI.replace("    kind: say\n", "    kind: say\n   text: x\n"))
    assert (err.line, err.column) == (15, 4)
    assert err.message.startswith("this line is indented less than the one above (column 4, line 14 starts at "
                                  "column 5)"), err.message


def test_last_step_that_does_not_finish() -> None:
    err = only_error(MINI + "  - id: tail\n    kind: say\n    text: {ja: あ, en: a}\n")
    assert err.step == "tail" and "last step" in err.message


def test_bad_timeouts() -> None:
    err = only_error(MINI.replace("expire_after: 1h", "expire_after: 5m"))
    assert err.line == 5 and "expire_after must be longer than reminder_after" in err.message
    err = only_error(MINI.replace("expire_after: 1h", "expire_after: soon"))
    assert "'expire_after: soon' is not a length of time" in err.message


def test_every_problem_is_reported_at_once() -> None:
    text = MINI.replace("kind: say", "kind: sya").replace("        next: bye\n", "        next: by\n")
    assert len([p for p in problems(text) if p.severity == "error"]) == 2


def test_number_that_yaml_would_change_must_be_quoted() -> None:
    err = only_error(MINI.replace("{value: blue,", "{value: 13_15,"))
    assert (err.line, err.step) == (22, "color")
    assert "read as the number 1315" in err.message and "quotes" in err.message
    err = only_error(MINI.replace("{value: blue,", "{value: 01,"))
    assert "read as the number 1" in err.message


def test_a_broken_step_does_not_cascade_into_link_errors() -> None:
    text = MINI.replace("  - id: bye\n    kind: end\n", "  - id: bye\n    kind: ende\n")
    err = only_error(text)
    assert err.step == "bye" and "unknown step kind 'ende'" in err.message


def test_more_than_five_messages_in_one_reply_is_a_warning() -> None:
    says = "".join(f"  - id: s{i}\n    kind: say\n    text: {{ja: あ{i}, en: a{i}}}\n" for i in range(4))
    flow = parse_flow(MINI.replace("  - id: color\n", says + "  - id: color\n"), source="f.yaml")
    [warning] = flow.warnings
    assert warning.step == "hello" and "up to 7 messages are sent at once" in warning.message


def test_a_typo_in_a_target_is_the_only_problem_reported() -> None:
    # It used to come after "can never reach an end … goes round forever" and 17 cascade warnings
    # about the steps reached only through the misspelt link.
    from flows.loader import bundled_path

    text = bundled_path().read_text(encoding="utf-8").replace("next: age_band", "next: age_bnd")
    found = problems(text)
    assert [p.message for p in found] == [
        "'next:' goes to 'age_bnd', but there is no step with that id (did you mean 'age_band'?)"]


SYNONYMS = MINI.replace(
    "      - {value: red, label: {ja: 赤, en: Red}}\n",
    "      - {value: red, label: {ja: 赤, en: Red}, synonyms: [あか, レッド], patterns: [赤い, 真っ赤]}\n",
).replace(
    "      - {value: blue, label: {ja: 青, en: Blue}}\n",
    "      - {value: blue, label: {ja: 青, en: Blue}, synonyms: [あお]}\n",
)


def test_synonyms_and_patterns_are_read() -> None:
    flow = mini(SYNONYMS)
    red = flow.step("color").choices[0]
    assert red.synonyms == ("あか", "レッド") and red.patterns == ("赤い", "真っ赤")


def test_a_synonym_that_names_two_choices_is_reported() -> None:
    err = only_error(SYNONYMS.replace("synonyms: [あお]", "synonyms: [あお, アカ]"))
    assert err.step == "color" and err.line == 22
    assert err.message.startswith("'アカ' names both the choice 'red' and the choice 'blue'")
    # a label of one choice given as a synonym of another, after width and kana folding
    err = only_error(SYNONYMS.replace("synonyms: [あお]", "synonyms: [ｱｶ]"))
    assert "names both the choice 'red' and the choice 'blue'" in err.message


def test_bad_patterns_ranges_and_synonyms() -> None:
    assert "is not a valid regular expression" in only_error(SYNONYMS.replace("[赤い, 真っ赤]", "[赤(い]")).message
    assert "matches any answer at all" in only_error(SYNONYMS.replace("[赤い, 真っ赤]", "[\".*\"]")).message
    assert "must be a list of words" in only_error(SYNONYMS.replace("synonyms: [あお]", "synonyms: {a: b}")).message
    err = only_error(SYNONYMS.replace("synonyms: [あお]", "range: [10, 5]"))
    assert err.message.startswith("'range:' must be two whole numbers, lowest first")
    overlap = SYNONYMS.replace("synonyms: [あお]", "range: [10, 20]").replace(
        "patterns: [赤い, 真っ赤]", "range: [0, 10]")
    err = only_error(overlap)
    assert err.message.startswith("the range [10, 20] of the choice 'blue' overlaps the range [0, 10] of the "
                                  "choice 'red'")


def test_a_synonym_that_is_a_stop_word_is_reported() -> None:
    err = only_error(SYNONYMS.replace("synonyms: [あお]", "synonyms: [やめる]"))
    assert "global command 'stop'" in err.message
