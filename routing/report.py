"""Readable renderings: the `explain` table, and the coverage report as text, JSON and an HTML page."""

from __future__ import annotations

import html
import unicodedata
from datetime import datetime, timedelta, tzinfo

from routing import municipalities as places_jp
from routing.coverage import Coverage, Gap
from routing.decide import Decision
from routing.places import PREFECTURES, TOPICS

# --- explain ---------------------------------------------------------------------------------------


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  " + "  ".join(_pad(c, w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  " + "  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return lines


def _stamp(moment: datetime, tz: tzinfo | None) -> str:
    local = moment.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")


def render_decision(decision: Decision) -> str:
    """The decision as a table a coordinator can read: who would get the case, and why not the others."""
    req, tz = decision.request, decision.at.tzinfo
    region = f"{req.prefecture} {PREFECTURES[req.prefecture]}" if req.prefecture else "none given"
    if req.municipality:
        place = places_jp.get(req.municipality)
        region += f" · municipality {req.municipality} {place.full_name if place else ''}".rstrip()
    flags = [f for f, on in (("urgent", req.urgent), ("avoids own area", req.avoid_own_area)) if on]
    out = [
        f"Request: topics {', '.join(req.topics)} · region {region} · language {req.language}"
        + (f" · {' · '.join(flags)}" if flags else ""),
        f"At: {_stamp(decision.at, tz)}",
        "",
    ]
    if decision.candidates:
        out.append("Candidates, in order:")
        rows = [
            [str(i), c.org.id, c.org.name, f"{c.load}/{c.capacity}", "crisis" if c.via_crisis else "match",
             c.org.desk.slack_channel or ("web" if c.org.desk.web else "-")]
            for i, c in enumerate(decision.candidates, start=1)
        ]
        out += _table(["#", "org", "name", "load", "via", "desk"], rows)
    else:
        out.append("No partner can take this case now. / いま対応できる団体がありません。")
        if decision.next_open is not None:
            out.append(f"Next opening: {_stamp(decision.next_open, tz)}")
        else:
            out.append("Next opening: none in the next 14 days")
    if decision.excluded:
        out += ["", "Excluded:"]
        out += _table(["org", "reason", "detail"], [[e.org, e.reason, e.detail] for e in decision.excluded])
    out += ["", "Phone lines open now / いま通じる電話:"]
    if decision.hotlines:
        out += _table(
            ["number", "name", "hours"], [[h.number, f"{h.name} ({h.name_en})", h.hours] for h in decision.hotlines]
        )
    else:
        out.append("  (none)")
    return "\n".join(out) + "\n"


# --- coverage ----------------------------------------------------------------------------------------


def _span_text(start: datetime, end: datetime) -> str:
    tail = end.strftime("%H:%M")
    if end.date() != start.date():
        if end.date() == start.date() + timedelta(days=1) and end.hour == 0 and end.minute == 0:
            tail = "24:00"
        else:
            tail = end.strftime("%Y-%m-%d %H:%M")
    return f"{start.strftime('%Y-%m-%d %H:%M')}–{tail} {end.tzname() or ''}".rstrip()


def municipalities_label(codes: list[str], all_codes: tuple[str, ...]) -> str:
    """Municipalities that share a gap: all of the prefecture's, a few by name, or a count."""
    def name(code: str) -> str:
        found = places_jp.get(code)
        return found.full_name if found else code

    if len(codes) == len(all_codes) and codes:
        pref = codes[0][:2]
        return f"{PREFECTURES.get(pref, pref)} all {len(codes)} municipalities"
    if len(codes) <= 3:
        return ", ".join(f"{c} {name(c)}" for c in codes)
    return f"{len(codes)} municipalities ({', '.join(name(c) for c in codes[:3])}, …)"


def regions_label(codes: list[str], all_codes: tuple[str, ...]) -> str:
    if codes and len(codes[0]) == 6:
        return municipalities_label(codes, all_codes)
    if len(codes) == 1:
        return f"{codes[0]} {PREFECTURES[codes[0]]}"
    if len(codes) == len(all_codes) == 47:
        return "全国 all 47"
    ranges: list[str] = []
    ints = sorted(int(c) for c in codes)
    run_start = prev = ints[0]
    for n in [*ints[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        ranges.append(f"{run_start:02d}" if run_start == prev else f"{run_start:02d}–{prev:02d}")
        if n is not None:
            run_start = prev = n
    return f"{', '.join(ranges)} ({len(codes)} prefectures)"


def grouped_gaps(cov: Coverage) -> list[tuple[str, str, Gap]]:
    """(topic, regions label, first gap) per topic and span, regions with the same span merged."""
    by_span: dict[tuple[str, datetime, datetime], list[str]] = {}
    for gap in cov.gaps:
        by_span.setdefault((gap.topic, gap.start, gap.end), []).append(gap.region)
    order = {t: i for i, t in enumerate(cov.topics)}
    rows = []
    for (topic, start, end), codes in sorted(by_span.items(), key=lambda kv: (order[kv[0][0]], kv[0][1], kv[1][0])):
        rows.append((topic, regions_label(codes, cov.regions), Gap(topic, codes[0], start, end)))
    return rows


def render_coverage_text(cov: Coverage) -> str:
    end = cov.end - timedelta(days=1)
    paused = f"; paused, not counted: {', '.join(cov.paused)}" if cov.paused else ""
    unit = "municipalities" if cov.unit == "municipality" else "prefectures"
    out = [
        f"Coverage {cov.start.isoformat()} to {end.isoformat()} ({cov.days} days, {cov.timezone.key}): "
        f"{len(cov.topics)} topics × {len(cov.regions)} {unit}, {cov.organizations} partners{paused}",
    ]
    rows = grouped_gaps(cov)
    if not rows:
        out.append(f"No gaps: every topic has an open partner in every {cov.unit} at every minute.")
        return "\n".join(out) + "\n"
    out.append("Hours with no open partner / 対応できる団体がない時間:")
    for topic, label, gap in rows:
        out.append(f"  {topic} · {label} · {_span_text(gap.start, gap.end)}")
    gap_topics = {g.topic for g in cov.gaps}
    covered = [t for t in cov.topics if t not in gap_topics]
    pairs = len({(g.topic, g.region) for g in cov.gaps})
    out.append(
        f"{len(cov.gaps)} gaps in {pairs} of {len(cov.topics) * len(cov.regions)} topic × {cov.unit} pairs; "
        f"fully covered topics: {', '.join(covered) if covered else 'none'}"
    )
    return "\n".join(out) + "\n"


def coverage_json(cov: Coverage) -> dict[str, object]:
    return {
        "from": cov.start.isoformat(),
        "days": cov.days,
        "timezone": cov.timezone.key,
        "unit": cov.unit,
        "paused": list(cov.paused),
        "gaps": [
            {"topic": g.topic, "region": g.region, "start": g.start.isoformat(), "end": g.end.isoformat()}
            for g in cov.gaps
        ],
    }


_DAYS = ("月 Mon", "火 Tue", "水 Wed", "木 Thu", "金 Fri", "土 Sat", "日 Sun")
_CSS = """
body{font-family:system-ui,"Hiragino Sans","Noto Sans JP",sans-serif;margin:1.5rem;color:#222}
h1{font-size:1.3rem}table.heat{border-collapse:collapse;font-size:11px}
.heat th{font-weight:normal;padding:2px 4px;white-space:nowrap;text-align:left}
.heat td{width:9px;height:18px;padding:0;border:1px solid #fff}
.heat td.day{border-left:2px solid #555}
.c0{background:repeating-linear-gradient(135deg,#b2182b 0 3px,#ef3b2c 3px 6px)}
.c1{background:#fdae61}.c2{background:#fee08b}.c3{background:#a6d96a}.c4{background:#1a9850}
.na{background:#eee}.gap{box-shadow:inset 0 -4px 0 #000}
.legend span{display:inline-block;padding:2px 8px;margin-right:4px;font-size:12px}
.legend .c0{color:#fff;font-weight:bold}.legend .gap{padding-bottom:6px}
ul.gaps{font-family:ui-monospace,monospace;font-size:12px}
"""


def _plural(unit: str) -> str:
    return "municipalities" if unit == "municipality" else f"{unit}s"


def render_coverage_html(cov: Coverage) -> str:
    """A standalone page: inline CSS, no scripts, no external requests, opens from a file."""
    e = html.escape
    end = cov.end - timedelta(days=1)
    parts = [
        "<!doctype html>",
        '<html lang="ja"><head><meta charset="utf-8">',
        f"<title>Tsunagu coverage {e(cov.start.isoformat())}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>対応状況 / Coverage: {e(cov.start.isoformat())} – {e(end.isoformat())} "
        f"({cov.days} days, {e(cov.timezone.key)})</h1>",
        f"<p>{cov.organizations} partners"
        + (f"; paused, not counted: {e(', '.join(cov.paused))}" if cov.paused else "")
        + ". Each cell is one hour of the week; its colour is the fewest partners on duty for the whole hour"
        " on any such hour in the window (hover for fewest–most). Striped red: no partner at all. A black bar"
        f" at the bottom marks an hour in which at least one {cov.unit} has no open partner.</p>",
        '<p class="legend"><span class="c0">0</span><span class="c1">1</span><span class="c2">2</span>'
        '<span class="c3">3–4</span><span class="c4">5+</span><span class="na">not in window</span>'
        f'<span class="c3 gap">gap in some {_plural(cov.unit)}</span></p>',
        '<table class="heat"><thead><tr><th></th>',
    ]
    parts += [f'<th colspan="24">{e(day)}</th>' for day in _DAYS]
    parts.append("</tr></thead><tbody>")
    for topic in cov.topics:
        ja, en = TOPICS.get(topic, (topic, topic))
        row = [f"<tr><th>{e(ja)} <small>{e(topic)}</small></th>"]
        gap_hours = cov.gap_hours.get(topic, frozenset())
        for how, cell in enumerate(cov.heat[topic]):
            classes = ["day"] if how % 24 == 0 else []
            label = f"{_DAYS[how // 24]} {how % 24:02d}:00"
            if cell is None:
                classes.append("na")
                title = f"{label}: not in window"
            else:
                low, high = cell
                classes.append(
                    "c0" if low == 0 else "c1" if low == 1 else "c2" if low == 2 else "c3" if low < 5 else "c4"
                )
                title = f"{label}: {low}–{high} partners"
            if how in gap_hours and "c0" not in classes:  # a 0 cell is a gap everywhere: its red shows it
                classes.append("gap")
                title += f" · gap in some {cov.unit}"
            row.append(f'<td class="{" ".join(classes)}" title="{e(en)} · {e(title)}"></td>')
        row.append("</tr>")
        parts.append("".join(row))
    parts.append("</tbody></table>")
    rows = grouped_gaps(cov)
    parts.append(f"<h2>Gaps / 空白の時間 ({len(cov.gaps)})</h2>")
    if rows:
        parts.append('<ul class="gaps">')
        parts += [f"<li>{e(t)} · {e(label)} · {e(_span_text(g.start, g.end))}</li>" for t, label, g in rows]
        parts.append("</ul>")
    else:
        parts.append("<p>No gaps.</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
