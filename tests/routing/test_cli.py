from __future__ import annotations

import json

import pytest

import bot.cli
from routing import example_directory_path
from tests.routing.helpers import check_golden, org_yaml

EXAMPLE = str(example_directory_path())


@pytest.fixture(autouse=True)
def only_routing_commands(monkeypatch):
    """Parse with the routing sub-commands alone, so these tests do not depend on other areas' modules."""
    monkeypatch.setattr(bot.cli, "COMMANDS", ("bot.cli_routing",))


def test_check_ok(capsys):
    assert bot.cli.main(["routing", "check", EXAMPLE]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and ": OK: 9 organizations (1 paused), 16 of 16 topics" in out


def test_check_lists_every_problem_and_exits_1(tmp_path, capsys):
    bad = tmp_path / "dir.yaml"
    bad.write_text("organizations:\n" + org_yaml("a", topics="[dvv]", timezone="Mars/Base"), encoding="utf-8")
    assert bot.cli.main(["routing", "check", str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{bad}:4:14: organizations[0].topics[0]: unknown topic id \"dvv\" (did you mean 'dv'?)",
        f'{bad}:10:15: organizations[0].timezone: unknown time zone "Mars/Base" (use an IANA name such as Asia/Tokyo or Europe/London)',
    ]


def test_check_hotlines_file(capsys):
    from routing import default_hotlines_path

    assert bot.cli.main(["routing", "check", "--hotlines", str(default_hotlines_path())]) == 0
    assert "OK: 14 phone lines" in capsys.readouterr().out


def test_explain_text_golden(capsys, update_golden):
    argv = ["routing", "explain", "--directory", EXAMPLE, "--topic", "dv", "--topic", "family", "--region", "13",
            "--urgent", "--at", "2026-12-31T03:00+09:00", "--load", "la-asanokai=1"]
    assert bot.cli.main(argv) == 0
    check_golden("explain_dv_urgent.txt", capsys.readouterr().out, update_golden)


def test_explain_nothing_open_golden(capsys, update_golden):
    argv = ["routing", "explain", "--directory", EXAMPLE, "--topic", "suicide", "--region", "27",
            "--at", "2026-12-31T15:00+09:00"]
    assert bot.cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "Next opening: 2026-12-31 22:00 JST" in out
    check_golden("explain_suicide_closed.txt", out, update_golden)


def test_explain_json(capsys, update_golden):
    argv = ["routing", "explain", "--directory", EXAMPLE, "--topic", "hikikomori", "--region", "27",
            "--avoid-own-area", "--at", "2027-01-02T12:00+09:00", "--json"]
    assert bot.cli.main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"candidates", "excluded", "next_open", "hotlines"}
    assert [c["org"] for c in data["candidates"]] == ["zenkoku-hiruma"] or data["candidates"] == []
    assert {"org": "kansai-shumatsu", "reason": "out_of_area"}.items() <= {
        **next(e for e in data["excluded"] if e["org"] == "kansai-shumatsu")
    }.items()
    check_golden("explain_hikikomori_avoid.json", json.dumps(data, ensure_ascii=False, indent=2) + "\n", update_golden)


def test_coverage_text_json_and_html(tmp_path, capsys):
    page = tmp_path / "cov.html"
    argv = ["routing", "coverage", "--directory", EXAMPLE, "--from", "2026-12-28", "--days", "7", "--html", str(page)]
    assert bot.cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "dv · 47 沖縄県 · 2026-12-31 07:00–09:00 JST" in out and f"Heatmap written to {page}" in out
    assert page.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert (
        bot.cli.main(
            [
                "routing",
                "coverage",
                "--directory",
                EXAMPLE,
                "--from",
                "2026-12-31",
                "--days",
                "1",
                "--topic",
                "dv",
                "--region",
                "47",
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["gaps"][0] == {
        "topic": "dv",
        "region": "47",
        "start": "2026-12-31T00:00:00+09:00",
        "end": "2026-12-31T01:00:00+09:00",
    }


@pytest.mark.parametrize(
    "argv, message",
    [
        (["routing", "explain", "--topic", "dv", "--at", "2026-12-31T03:00"], "give the offset too"),
        (["routing", "explain", "--topic", "nope", "--at", "2026-12-31T03:00+09:00"], "unknown topic 'nope'"),
        (["routing", "explain", "--topic", "dv", "--load", "x"], "expected ORG=N"),
        (["routing", "coverage", "--from", "31-12-2026"], "expected a date"),
        (["routing", "coverage", "--days", "0"], "give 1 to 366 days"),
        (["routing", "explain", "--directory", "/nonexistent/dir.yaml", "--topic", "dv"], "/nonexistent/dir.yaml"),
    ],
)
def test_mistakes_give_one_line_errors(argv, message, capsys):
    assert bot.cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("tsunagu: error: ") and message in err and "Traceback" not in err


def test_explain_with_a_broken_directory_is_an_error_not_a_traceback(tmp_path, capsys):
    bad = tmp_path / "dir.yaml"
    bad.write_text("organizations: []\n", encoding="utf-8")
    assert bot.cli.main(["routing", "explain", "--directory", str(bad), "--topic", "dv"]) == 1
    assert "expected a non-empty list" in capsys.readouterr().err
