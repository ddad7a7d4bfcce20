from __future__ import annotations

import json
import re
from datetime import date

from routing import (
    coverage,
    coverage_json,
    example_directory_path,
    load_directory,
    render_coverage_html,
    render_coverage_text,
)
from tests.routing.helpers import check_golden, directory, jst, org_yaml

DAY = '[{days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00"}]'


def spans(cov):
    return [(g.topic, g.region, g.start, g.end) for g in cov.gaps]


def test_gaps_are_merged_spans_and_include_holidays():
    d = directory(org_yaml("day", hours=DAY, holidays="closed"))
    cov = coverage(d, start=date(2026, 11, 2), days=2, topics=["loneliness"], regions=["13"])  # Mon, then 文化の日
    assert spans(cov) == [
        ("loneliness", "13", jst(2026, 11, 2, 0, 0), jst(2026, 11, 2, 9, 0)),
        ("loneliness", "13", jst(2026, 11, 2, 17, 0), jst(2026, 11, 4, 0, 0)),
    ]


def test_overnight_shifts_and_closed_dates_cover_the_right_minutes():
    night = '[{days: daily, from: "18:00", to: "09:00"}]'
    d = directory(
        org_yaml("day", hours='[{days: daily, from: "09:00", to: "18:00"}]'),
        org_yaml("night", hours=night, closed_dates='["2026-12-31"]'),
    )
    cov = coverage(d, start=date(2026, 12, 30), days=3, topics=["loneliness"], regions=["13"])
    assert spans(cov) == [("loneliness", "13", jst(2026, 12, 31, 18, 0), jst(2027, 1, 1, 9, 0))]


def test_regional_partners_fill_only_their_prefectures():
    d = directory(
        org_yaml("national", hours=DAY),
        org_yaml("tokyo", regions='["13"]', hours='[{days: daily, from: "00:00", to: "24:00"}]'),
    )
    cov = coverage(d, start=date(2026, 12, 7), days=1, topics=["loneliness"])
    regions_with_gaps = {g.region for g in cov.gaps}
    assert "13" not in regions_with_gaps and len(regions_with_gaps) == 46


def test_paused_partners_do_not_count():
    d = directory(org_yaml("p", paused="true"), org_yaml("day", hours=DAY))
    cov = coverage(d, start=date(2026, 12, 7), days=1, topics=["loneliness"], regions=["13"])
    assert cov.paused == ("p",)
    assert len(cov.gaps) == 2


def test_overseas_partner_fills_japanese_night_through_its_dst_change():
    london = org_yaml("london", timezone="Europe/London", hours='[{days: daily, from: "13:00", to: "22:00"}]')
    day = org_yaml("day", hours='[{days: daily, from: "07:00", to: "22:00"}]')
    cov = coverage(directory(london, day), start=date(2026, 10, 24), days=3, topics=["loneliness"], regions=["13"])
    # BST until 25 Oct 01:00 UTC: London's shifts cover 21:00-06:00 JST, leaving 06:00-07:00 open;
    # from the 25th's shift (GMT) they cover 22:00-07:00 JST and the morning gap closes.
    assert spans(cov) == [
        ("loneliness", "13", jst(2026, 10, 24, 6, 0), jst(2026, 10, 24, 7, 0)),
        ("loneliness", "13", jst(2026, 10, 25, 6, 0), jst(2026, 10, 25, 7, 0)),
    ]


def test_heat_counts_partners_on_duty_for_the_whole_hour():
    d = directory(org_yaml("a", hours=DAY), org_yaml("b", hours='[{days: [mon], from: "09:30", to: "12:00"}]'))
    cov = coverage(d, start=date(2026, 12, 7), days=7, topics=["loneliness"], regions=["13"])
    heat = cov.heat["loneliness"]
    assert heat[9] == (1, 1)  # Monday 09:00: b starts at 09:30, so only a for the whole hour
    assert heat[10] == (2, 2) and heat[8] == (0, 0) and heat[24 + 10] == (1, 1)
    assert 8 in cov.gap_hours["loneliness"] and 10 not in cov.gap_hours["loneliness"]


def test_short_window_leaves_hours_of_the_week_unknown():
    cov = coverage(directory(org_yaml()), start=date(2026, 12, 7), days=1, topics=["loneliness"])
    assert cov.heat["loneliness"][0] == (1, 1) and cov.heat["loneliness"][24] is None and cov.gaps == ()


def test_example_directory_coverage_text_golden(update_golden):
    cov = coverage(
        load_directory(example_directory_path()), start=date(2026, 12, 28), days=7, topics=["dv", "suicide", "school"]
    )
    text = render_coverage_text(cov).replace(str(example_directory_path()), "example-directory.yaml")
    check_golden("coverage_example.txt", text, update_golden)
    assert "dv · 47 沖縄県 · 2026-12-31 07:00–09:00 JST" in text


def test_example_directory_coverage_json_golden(update_golden):
    cov = coverage(load_directory(example_directory_path()), start=date(2026, 12, 31), days=1, regions=["13", "47"])
    data = coverage_json(cov)
    assert set(data["gaps"][0]) == {"topic", "region", "start", "end"}
    check_golden("coverage_example.json", json.dumps(data, ensure_ascii=False, indent=2) + "\n", update_golden)


def test_html_heatmap_is_standalone():
    cov = coverage(load_directory(example_directory_path()), start=date(2026, 12, 28), days=7)
    page = render_coverage_html(cov)
    assert page.startswith("<!doctype html>") and "<style>" in page
    assert not re.search(r"(src|href)=|https?://|<script", page)
    assert page.count("<tr><th>") == 16 + 1  # header row
    assert page.count("<td ") == 16 * 168
    # a 0 cell is striped red and never covered by the gap mark (it used to hide the red under a frame)
    assert re.search(r'class="(day )?c0"', page) and "c0 gap" not in page
    assert re.search(r'class="(day )?c[1-4] gap"', page), "an hour with a gap in some prefectures is marked"
