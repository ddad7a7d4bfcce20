"""The fast YAML path: the same values as ruamel, positions read only for problems (issue 14, item 6)."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from routing import (
    DirectoryError,
    default_hotlines_path,
    example_directory_path,
    load_hotlines,
    parse_directory,
    yamlsource,
)
from routing.yamlsource import block_item_lines, parse_yaml
from tests.routing.helpers import directory, org_yaml


def _plain(value):
    """ruamel's round-trip values as plain Python values, to compare with the fast parser's."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if hasattr(value, "isoformat"):  # dates reach the loader as text (it reads ISO dates either way)
        return value.isoformat()
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value


@pytest.mark.parametrize("path", [example_directory_path(), default_hotlines_path()], ids=["directory", "hotlines"])
def test_bundled_files_read_the_same_as_with_ruamel(path):
    text = path.read_text(encoding="utf-8")
    assert parse_yaml(text, str(path)) == _plain(YAML(typ="rt").load(text))


@pytest.mark.parametrize("text", [
    "a: 13\nb: '13'\nc: [01, 08, 010]\nd: 2026-12-31\ne: yes\nf: 18:00\ng: ~\nh: true\n",
    "---\norganizations: []\n",
    "base: &b {x: 1, z: 3}\nc: {<<: *b, y: 2}\nd:\n  <<: [*b]\n  x: 5\n",
    "hours: &weekday [{days: [mon], from: \"09:00\", to: \"17:00\"}]\nother: *weekday\n",
])
def test_values_match_ruamel(text):
    assert parse_yaml(text, "x.yaml") == _plain(YAML(typ="rt").load(text))


@pytest.mark.parametrize("path", [example_directory_path()], ids=["example"])
def test_the_directory_is_the_same_read_either_way(path, monkeypatch):
    fast = parse_directory(path.read_text(encoding="utf-8"), source="x.yaml")
    monkeypatch.setattr(yamlsource, "_fast", None)
    slow = parse_directory(path.read_text(encoding="utf-8"), source="x.yaml")
    assert fast == slow and [o.line for o in fast.organizations] == [o.line for o in slow.organizations]


def test_several_documents_are_refused_as_before():
    with pytest.raises(DirectoryError) as info:
        parse_yaml("a: 1\n---\nb: 2\n", "x.yaml")
    assert "x.yaml" in str(info.value)


def test_a_syntax_error_is_reported_by_ruamel_with_its_line_in_plain_words():
    with pytest.raises(DirectoryError) as info:
        parse_directory("organizations:\n  - id: a\n    topics: [loneliness\n", source="bad.yaml")
    assert str(info.value).startswith("bad.yaml:4:1: the [ … ] opened on line 3 is not closed")


def test_a_valid_directory_never_pays_for_positions(monkeypatch):
    """Line numbers come from ruamel, which is slow: only a problem may ask for them."""
    calls = []
    real = yamlsource.Positions._document
    monkeypatch.setattr(yamlsource.Positions, "_document", lambda self: calls.append(1) or real(self))
    d = directory(org_yaml("a"), org_yaml("b", regions='["13"]'))
    assert len(d) == 2 and calls == []
    assert [o.line for o in d.organizations] == [3, 11]
    with pytest.raises(DirectoryError) as info:
        directory(org_yaml("a"), org_yaml("b", topics="[suicde]"))
    assert calls and str(info.value.problems[0]).startswith("test.yaml:13:14: organizations[1].topics[0]")


def test_merge_keys_share_fields_between_partners():
    text = (
        "organizations:\n"
        "  - &d {id: a, name: A, topics: [loneliness], regions: [all], capacity: 2, desk: {web: true},"
        " hours: [{days: daily, from: \"00:00\", to: \"24:00\"}]}\n"
        "  - {<<: *d, id: b, name: B, capacity: 5}\n"
    )
    a, b = parse_directory(text, source="m.yaml").organizations
    assert (b.id, b.name, b.capacity, b.topics, b.hours) == ("b", "B", 5, a.topics, a.hours)


def test_block_item_lines_agree_with_ruamel_on_the_example():
    text = example_directory_path().read_text(encoding="utf-8")
    doc = YAML(typ="rt").load(text)
    assert block_item_lines(text, "organizations") == [o.lc.line + 1 for o in doc["organizations"]]
    assert block_item_lines("organizations: [{id: a}]\n", "organizations") is None


def test_hotlines_still_load():
    assert load_hotlines().lines
