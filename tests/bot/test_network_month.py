"""Issue 14's "Done when", in short: days of simulated cases through the real service, then the real
commands on what they left. bench/network_month.py runs the full month."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "export.schema.json").read_text(encoding="utf-8"))
K = 10


def _bench():
    spec = importlib.util.spec_from_file_location("network_month", ROOT / "bench" / "network_month.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["network_month"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    import asyncio

    bench = _bench()
    folder = tmp_path_factory.mktemp("month")
    result = asyncio.run(bench.simulate(folder, days=4, per_day=30, seed=11))
    return bench, result


@pytest.fixture
def env(month, monkeypatch):
    bench, result = month
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", result.settings.database_url)
    monkeypatch.setenv("TSUNAGU_KEY_FILE", str(result.settings.key_file))
    monkeypatch.setenv("TSUNAGU_DIRECTORY", str(result.settings.directory))
    first = bench.START.date()
    return ["--from", first.isoformat(), "--to", (first + timedelta(days=result.days - 1)).isoformat()]


def test_stats_show_no_cell_under_k(month, env, capsys):
    assert main(["stats", "cases", *env, "--by", "topic,prefecture", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    cells = [*report["cells"], *(c for cs in report["margins"].values() for c in cs), report["total"]]
    shown = [c for c in cells if c["count"] is not None]
    assert shown and all(c["count"] >= K for c in shown)
    assert report["hidden"] > 0, "a few days of a small network leave small cells, and they are hidden"
    assert report["total"]["count"] == month[1].cases
    for c in shown:
        if c["waiting"]["median"] is not None:
            assert c["waiting"]["n"] >= K
    assert main(["stats", "cases", *env, "--by", "topic,prefecture", "--csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("topic,prefecture,cases,") and any(",<10," in r for r in rows)


def test_stats_demand_shows_the_gaps_the_simulation_made(month, env, capsys):
    assert month[1].unmet > 0
    assert main(["stats", "demand", *env, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["total"] == month[1].unmet
    night = [n for h, n in report["by_hour"].items() if 2 <= int(h) < 9 and n != 0]  # None: there, but < k
    assert report["by_reason"]["no_partner_open"] != 0 and night, "nobody is on from 02:00 to 09:00"
    kanagawa = next(p for p in report["places"] if p["code"] == "14")
    assert kanagawa["gap_hours"] > 0 and kanagawa["unmet"] is not None
    assert main(["stats", "demand", *env, "--prefecture", "14", "--json"]) == 0
    local = json.loads(capsys.readouterr().out)
    assert {p["code"] for p in local["places"]} >= {"141003", "141305", "142085"}


def test_the_export_validates_against_its_schema(month, env, tmp_path, capsys):
    assert main(["export", "cases", "--org", "yokohama-city", *env, "--out", str(tmp_path)]) == 0
    assert "closed cases of yokohama-city" in capsys.readouterr().out
    [jsonl] = tmp_path.glob("*.jsonl")
    records = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert records
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    for record in records:
        validator.validate(record)
    # Only what each person agreed to share; Zushi's residents reach Yokohama's partner (accepts_from).
    assert all(r["topics"] is None for r in records if not r["consented"])
    assert {r["municipality"] for r in records if r["consented"]} <= {"141003", "142085", None}
    assert len({r["case_ref"] for r in records}) == len(records)
    [csv_file] = tmp_path.glob("*.csv")
    assert len(csv_file.read_text(encoding="utf-8").splitlines()) == len(records) + 1
    # A record without consent that still carried an answer would be refused by the schema.
    leaky = dict(records[0], consented=False, topics=["dv"])
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(leaky)


def test_the_html_reports_are_standalone(month, env, tmp_path, capsys):
    page = tmp_path / "cases.html"
    assert main(["stats", "cases", *env, "--by", "topic", "--html", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert text.count("<svg") == 3 and "<script" not in text and "http://" not in text.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert main(["stats", "demand", *env, "--html", str(tmp_path / "demand.html")]) == 0


def test_bad_arguments_get_one_line(env, capsys):
    assert main(["stats", "cases", *env, "--by", "colour"]) == 1
    assert capsys.readouterr().err.startswith("tsunagu: error: --by 'colour': unknown")
    assert main(["stats", "cases", "--from", "2026-13-01", "--to", "2026-11-02"]) == 1
    assert "expected a date" in capsys.readouterr().err
    assert main(["export", "cases", "--org", "nobody", *env]) == 1
    assert "no such partner" in capsys.readouterr().err
