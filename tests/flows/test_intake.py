"""The bundled intake says and stores what DOMAIN.md and the issue ask for."""

from __future__ import annotations

from flows import load_bundled
from flows.model import Ask, End, Handoff

TOPICS = ["loneliness", "suicide", "dv", "sexual_violence", "abuse", "school", "money", "work", "family",
          "health", "hikikomori", "pregnancy", "lgbtq", "foreign", "carer", "other"]


def test_intake_basics() -> None:
    flow = load_bundled()
    assert flow.id == "intake" and flow.languages == ("ja", "en") and flow.schema_version == 1
    assert flow.warnings == ()
    assert {c.name: c.action for c in flow.commands}["stop"] == "stop"
    words = {c.name: c.words for c in flow.commands}
    assert set(words["stop"]) >= {"やめる", "stop", "終了"} and set(words["restart"]) >= {"はじめから", "restart"}


def test_topics_are_the_domain_ids_in_order() -> None:
    step = load_bundled().step("topics")
    assert isinstance(step, Ask) and step.multiple and step.save_as == "topics"
    assert [c.value for c in step.choices] == TOPICS


def test_every_prefecture_once_with_its_jis_code() -> None:
    flow = load_bundled()
    codes = [c.value for s in flow.steps if isinstance(s, Ask) and s.save_as == "prefecture" for c in s.choices]
    assert codes == [f"{n:02d}" for n in range(1, 48)]


def test_answer_variables() -> None:
    flow = load_bundled()
    saved = {s.save_as for s in flow.steps if isinstance(s, Ask)}
    assert {"topics", "age_band", "prefecture", "danger", "language", "avoid_own_area", "share_consent"} <= saved
    assert flow.step("language").sets_language
    assert [c.value for c in flow.step("avoid_own_area").choices] == [True, False]
    assert [c.value for c in flow.step("share_consent").choices] == [True, False]
    danger = flow.step("danger")
    assert [(c.value, c.urgent) for c in danger.choices] == [("yes", True), ("no", False)]


def test_phone_lines_and_terms() -> None:
    flow = load_bundled()
    help_text = flow.step("danger_help").text
    declined = flow.step("declined")
    assert isinstance(declined, End) and declined.reason == "stopped"
    for lang in ("ja", "en"):
        text = help_text.get(lang, "ja")
        for number in ("110", "119", "0120-279-338", "0120-061-338"):
            assert number in text
        assert "0120-279-338" in declined.text.get(lang, "ja")
    terms = flow.step("terms").text.get("ja", "ja")
    for phrase in ("秘密", "命の危険", "医療", "混み合", "選ぶことはできません", "同意"):
        assert phrase in terms
    assert isinstance(flow.steps[-1], Handoff)
