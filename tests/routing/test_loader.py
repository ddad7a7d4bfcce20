from __future__ import annotations

from datetime import date

import pytest

from routing import (
    ALL,
    DirectoryError,
    RoutingError,
    example_directory_path,
    load_directory,
    parse_directory,
)
from tests.routing.helpers import directory, org_yaml


def problems(text: str) -> list[str]:
    with pytest.raises(DirectoryError) as info:
        parse_directory(text, source="dir.yaml")
    assert isinstance(info.value, RoutingError)
    return [str(p) for p in info.value.problems]


def one_org(**fields: str) -> list[str]:
    return problems("organizations:\n" + org_yaml("a", **fields))


def test_example_directory_loads_with_the_promised_partners():
    d = load_directory(example_directory_path())
    zones = {o.timezone.key for o in d.organizations}
    assert {"Europe/London", "America/Los_Angeles", "Asia/Tokyo"} <= zones
    assert any(r.end > 1440 for o in d.organizations for r in o.hours), "an overnight shift"
    assert any(all(r.days <= {5, 6} for r in o.hours) for o in d.organizations), "a weekend-only partner"
    assert any(o.desk.web for o in d.organizations)
    assert any(o.paused for o in d.organizations)
    from routing import TOPICS

    assert {t for o in d.organizations for t in o.topics} == set(TOPICS)


def test_fields_are_read_as_written():
    d = directory(org_yaml(
        "tokyo-night",
        regions='["13", "11"]', languages="[ja, en]", out_of_area="true", crisis="true",
        desk="{slack_channel: C0TOKYO}", timezone="Europe/London", holidays="as_sunday",
        closed_dates='["2026-12-31", 2027-01-01]', extra_hours='[{date: "2026-12-30", from: "10:00", to: "16:00"}]',
        hours='[{days: [mon, fri], from: "18:00", to: "02:00"}]', paused="true", response_minutes="3",
    ))
    org = d.organizations[0]
    assert org.regions == frozenset({"13", "11"}) and not org.nationwide
    assert org.languages == ("ja", "en") and org.out_of_area and org.crisis and org.paused
    assert org.desk.slack_channel == "C0TOKYO" and not org.desk.web
    assert org.timezone.key == "Europe/London" and org.holidays == "as_sunday"
    assert org.closed_dates == {date(2026, 12, 31), date(2027, 1, 1)}
    assert org.extra_hours[0].start == 600 and org.extra_hours[0].end == 960
    rule = org.hours[0]
    assert rule.days == {0, 4} and (rule.start, rule.end) == (18 * 60, 26 * 60)
    assert org.response_minutes == 3 and org.line == 3


def test_defaults():
    org = directory(org_yaml()).organizations[0]
    assert org.regions is ALL or org.regions == ALL
    assert org.timezone.key == "Asia/Tokyo" and org.holidays == "open"
    assert not org.out_of_area and not org.crisis and not org.paused and org.response_minutes == 10


def test_default_zone_comes_from_the_file():
    org = directory(org_yaml(), timezone="Europe/London").organizations[0]
    assert org.timezone.key == "Europe/London"


def test_to_equal_to_from_names_file_line_and_field():
    text = (
        "organizations:\n" + org_yaml("a") + org_yaml("b", hours='\n      - {days: [mon], from: "18:00", to: "18:00"}')
    )
    assert problems(text) == [
        "dir.yaml:18:42: organizations[1].hours[0].to: 'to' equals 'from' (\"18:00\"); "
        'for a whole day write from "00:00" to "24:00"'
    ]


def test_unknown_topic_with_suggestion():
    (msg,) = one_org(topics="[loneliness, suicde]")
    assert msg.startswith("dir.yaml:4:26: organizations[0].topics[1]: unknown topic id \"suicde\"")
    assert "did you mean 'suicide'" in msg


def test_bad_prefecture_code():
    (msg,) = one_org(regions='["13", "48"]')
    assert msg.startswith('dir.yaml:5:21: organizations[0].regions[1]: bad prefecture code "48"')


def test_unquoted_prefecture_numbers_are_accepted():
    org = directory(org_yaml(regions="[13, 1]")).organizations[0]
    assert org.regions == {"13", "01"}


def test_unknown_zone():
    (msg,) = one_org(timezone="Asia/Tokio")
    assert msg.startswith('dir.yaml:10:15: organizations[0].timezone: unknown time zone "Asia/Tokio"')


def test_duplicate_id_points_at_the_second_and_names_the_first():
    msgs = problems("organizations:\n" + org_yaml("same") + org_yaml("same"))
    assert msgs == ["dir.yaml:10:9: organizations[1].id: duplicate id 'same' (first used on line 2)"]


def test_unknown_field_suggests_the_right_one():
    (msg,) = one_org(topic="[dv]")
    assert msg == "dir.yaml:10:5: organizations[0].topic: unknown field 'topic' (did you mean 'topics'?)"


def test_missing_required_fields():
    msgs = problems("organizations:\n  - id: a\n    name: x\n")
    assert any(m.endswith("organizations[0].topics: required") for m in msgs)
    assert any(m.endswith("organizations[0].capacity: required") for m in msgs)
    assert any(m.endswith("organizations[0].desk: required") for m in msgs)
    assert all(m.startswith("dir.yaml:2: ") for m in msgs)


def test_bad_times_days_modes_dates_and_desks_are_all_reported_together():
    msgs = problems(
        "organizations:\n"
        + org_yaml(
            "a",
            hours='[{days: [mon, funday], from: "25:00", to: "9"}]',
            holidays="sometimes",
            closed_dates='["2026-02-30"]',
            desk="{slack_channel: general}",
            capacity="0",
        )
    )
    text = "\n".join(msgs)
    for expected in (
        'unknown day "funday"', 'no such time "25:00"', 'expected a time "HH:MM", got "9"',
        'expected one of closed, open, as_sunday, got "sometimes"', 'expected a date "YYYY-MM-DD", got "2026-02-30"',
        "expected a Slack channel id", "must be at least 1, got 0",
    ):
        assert expected in text
    assert len(msgs) == 7


def test_desk_needs_somewhere_to_send_cases():
    (msg,) = one_org(desk="{web: false}")
    assert "needs slack_channel or web: true" in msg


def test_times_read_as_numbers_ask_for_quotes():
    (msg,) = problems(
        "%YAML 1.1\n---\norganizations:\n" + org_yaml("a", hours='[{days: [mon], from: 18:00, to: "20:00"}]')
    )
    assert 'write times in quotes, like "18:00"' in msg


def test_yaml_syntax_error_has_a_line():
    (msg,) = problems("organizations:\n  - id: a\n    name: [unclosed\n")
    assert msg.startswith("dir.yaml:4:1: ") and "the [ … ] opened on line 3 is not closed" in msg


def test_yaml_mistakes_are_said_in_plain_words_with_line_and_column():
    (msg,) = problems("organizations:\n  - id: a\n    name: x\n   - id: b\n")
    assert msg.startswith("dir.yaml:4:4: this line is indented less than the one above"), msg
    assert "block end" not in msg and "block sequence" not in msg
    (msg,) = problems("organizations:\n  - id: a\n\tname: x\n")
    assert msg == "dir.yaml:3:1: this line has a Tab character; YAML needs spaces here: replace the Tab with spaces"
    (msg,) = problems("organizations:\n  - id: a\n    name: Tokyo: night\n")
    assert msg.startswith("dir.yaml:3:16: this text has ': ' (colon and space) in it")


def test_unquoted_times_are_flagged_as_the_docs_say():
    (msg,) = one_org(hours='[{days: [mon], from: 09:00, to: "17:00"}]')
    assert msg == ('dir.yaml:9:33: organizations[0].hours[0].from: write times in quotes, like "09:00" '
                   "(without quotes some YAML readers take 09:00 for a number)")
    assert directory(org_yaml(hours="[{days: [mon], from: '09:00', to: \"17:00\"}]")).organizations[0].hours


@pytest.mark.parametrize(("written", "meant"), [("domestic_violence", "dv"), ("suicidal", "suicide"),
                                                ("bullying", "school"), ("孤独・孤立", "loneliness"),
                                                ("suicde", "suicide"), ("young carers", "carer")])
def test_topic_suggestions_know_what_the_words_mean(written, meant):
    (msg,) = one_org(topics=f"[{written}]")
    assert f"(did you mean '{meant}'?)" in msg


def test_not_a_mapping_and_empty_list():
    assert problems("- a\n- b\n")[0].startswith("dir.yaml:1: expected a mapping")
    assert problems("organizations: []\n") == [
        "dir.yaml:1:16: organizations: expected a non-empty list of organizations, got a list"
    ]


def test_missing_file_is_an_oserror(tmp_path):
    with pytest.raises(OSError):
        load_directory(tmp_path / "nope.yaml")


def test_error_string_lists_every_problem():
    with pytest.raises(DirectoryError) as info:
        parse_directory("organizations:\n" + org_yaml("a", topics="[x]", regions="[99]"), source="d.yaml")
    assert str(info.value).count("\n") == 1
    problem = info.value.problems[0]
    assert (problem.file, problem.line, problem.field) == ("d.yaml", 4, "organizations[0].topics[0]")


def test_duplicate_id_is_found_even_when_the_first_has_other_problems():
    msgs = problems("organizations:\n" + org_yaml("same", topics="[nope]") + org_yaml("same"))
    assert msgs[-1] == "dir.yaml:10:9: organizations[1].id: duplicate id 'same' (first used on line 2)"
    assert len(msgs) == 2
