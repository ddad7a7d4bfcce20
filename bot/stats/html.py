"""The HTML reports: standalone pages with inline CSS and charts drawn here as plain SVG, so they
open from a file, print, and need no script and no network. Japanese first, then English."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date, timedelta

import routing

from .cases import CaseReport, Cell, Times
from .demand import DemandReport

e = html.escape
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac", "#1f77b4", "#8c564b", "#17becf", "#bcbd22", "#7f7f7f", "#d62728")
HIDDEN = "＜k"

CSS = """
body{font-family:system-ui,"Hiragino Sans","Noto Sans JP","IPAGothic",sans-serif;margin:1.5rem;color:#222;
max-width:1100px}
h1{font-size:1.35rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:13px;margin:.5rem 0}th,td{padding:3px 8px;border-bottom:1px solid #e4e4e4}
th{text-align:left;background:#f5f5f5}td.n{text-align:right;font-variant-numeric:tabular-nums}
td.hid{color:#999;text-align:right}.note{color:#555;font-size:13px}svg text{font-size:11px;fill:#333}
.legend span{display:inline-block;margin-right:10px;font-size:12px}.legend i{display:inline-block;width:10px;
height:10px;margin-right:4px}
"""


def page(title: str, body: list[str]) -> str:
    return "\n".join(["<!doctype html>", '<html lang="ja"><head><meta charset="utf-8">',
                      f"<title>{e(title)}</title>", f"<style>{CSS}</style></head><body>", *body,
                      "</body></html>"]) + "\n"


def num(value: float | int | None, hidden: str = HIDDEN) -> str:
    if value is None:
        return hidden
    if isinstance(value, float):
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:,}"


def _td(value: float | int | None, *, dash: bool = False) -> str:
    if value is None:
        return f'<td class="hid">{"—" if dash else HIDDEN}</td>'
    return f'<td class="n">{e(num(value))}</td>'


# --- SVG ------------------------------------------------------------------------------------------


def _tick(value: float, peak: float) -> float | int:
    return round(value) if peak >= 10 else round(value, 1)


def bar_chart(items: Sequence[tuple[str, float | None]], *, title: str, unit: str = "", width: int = 900,
              height: int = 220, marks: Sequence[float | None] | None = None, color: str = PALETTE[0],
              rotate: bool = False) -> str:
    """Vertical bars; a hidden value is a grey hatched stub marked ＜k; `marks` adds a tick per bar
    (say, the 90th percentile over a median)."""
    top, bottom, left = 24, 56 if rotate else 30, 44
    plot_h = height - top - bottom
    peak = max([v for _, v in items if v is not None] + [m for m in (marks or ()) if m is not None] + [1])
    step = (width - left - 10) / max(len(items), 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="{e(title)}">',
           '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
           'patternTransform="rotate(45)"><rect width="6" height="6" fill="#eee"/>'
           '<line x1="0" y1="0" x2="0" y2="6" stroke="#bbb" stroke-width="2"/></pattern></defs>',
           f'<text x="{left}" y="14" style="font-size:12px;font-weight:600">{e(title)}</text>']
    for frac in (0.25, 0.5, 0.75, 1.0):
        y = top + plot_h * (1 - frac)
        out.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                   f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{e(num(_tick(peak * frac, peak)))}</text>')
    out.append(f'<line x1="{left}" x2="{width - 10}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#999"/>')
    for i, (label, value) in enumerate(items):
        x = left + i * step + step * 0.15
        w = step * 0.7
        if value is None:
            out.append(f'<rect x="{x:.1f}" y="{top + plot_h - 12}" width="{w:.1f}" height="12" fill="url(#hatch)">'
                       f'<title>{e(label)}: {HIDDEN} (hidden: fewer than k)</title></rect>')
        else:
            h = plot_h * value / peak
            out.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{w:.1f}" height="{h:.1f}" '
                       f'fill="{color}"><title>{e(label)}: {e(num(value))}{e(unit)}</title></rect>')
        if marks is not None and marks[i] is not None:
            y = top + plot_h * (1 - (marks[i] or 0) / peak)
            out.append(f'<line x1="{x:.1f}" x2="{x + w:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#222" '
                       f'stroke-width="2"><title>{e(label)}: p90 {e(num(marks[i]))}{e(unit)}</title></line>')
        cx = x + w / 2
        if rotate:
            out.append(f'<text transform="translate({cx:.1f},{top + plot_h + 8}) rotate(60)">{e(label)}</text>')
        else:
            out.append(f'<text x="{cx:.1f}" y="{top + plot_h + 14}" text-anchor="middle">{e(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def stacked_chart(columns: Sequence[str], series: Sequence[str], values: dict[tuple[str, str], int | None], *,
                  title: str, width: int = 900, height: int = 260) -> str:
    """Stacked bars: one column per `columns` entry, one colour per series; hidden parts stacked grey."""
    top, bottom, left = 24, 30, 44
    plot_h = height - top - bottom
    totals = [sum(values.get((c, s)) or 0 for s in series) + sum(1 for s in series if values.get((c, s), 0) is None)
              for c in columns]
    peak = max(totals + [1])
    step = (width - left - 10) / max(len(columns), 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="{e(title)}">',
           f'<text x="{left}" y="14" style="font-size:12px;font-weight:600">{e(title)}</text>',
           f'<line x1="{left}" x2="{width - 10}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#999"/>']
    for frac in (0.5, 1.0):
        y = top + plot_h * (1 - frac)
        out.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                   f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{e(num(round(peak * frac)))}</text>')
    for i, column in enumerate(columns):
        x = left + i * step + step * 0.15
        w = step * 0.7
        y = top + plot_h
        for j, s in enumerate(series):
            value = values.get((column, s), 0)
            if value == 0:
                continue
            h = plot_h * value / peak if value is not None else max(plot_h / peak, 4)  # hidden: a visible sliver
            y -= h
            fill = PALETTE[j % len(PALETTE)] if value is not None else "#ccc"
            label = f"{column} · {s}: {num(value)}"
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}" '
                       f'stroke="#fff" stroke-width="0.5"><title>{e(label)}</title></rect>')
        out.append(f'<text x="{x + w / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle">{e(column)}</text>')
    out.append("</svg>")
    legend = "".join(f'<span><i style="background:{PALETTE[j % len(PALETTE)]}"></i>{e(s)}</span>'
                     for j, s in enumerate(series))
    return "".join(out) + f'<p class="legend">{legend}<span><i style="background:#ccc"></i>{HIDDEN}</span></p>'


# --- the case statistics ---------------------------------------------------------------------------


def _label(dim: str, value: str) -> str:
    if dim == "topic" and value in routing.TOPICS:
        return f"{routing.TOPICS[value][0]} ({value})"
    if dim == "prefecture" and value in routing.PREFECTURES:
        return f"{value} {routing.PREFECTURES[value]}"
    if dim == "municipality":
        found = routing.municipality(value)
        if found is not None:
            return f"{value} {found.full_name}"
    return value


def _times(t: Times | None) -> list[str]:
    if t is None:
        return [_td(None), _td(None)]
    return [_td(t.median, dash=True), _td(t.p90, dash=True)]


def _row(labels: list[str], cell: Cell) -> str:
    parts = [f"<td>{e(x)}</td>" for x in labels]
    if cell.count is None:
        parts.append(f'<td class="hid" colspan="8" style="text-align:left">{HIDDEN}</td>')
    else:
        parts.append(_td(cell.count))
        parts += _times(cell.waiting) + _times(cell.first_reply) + [_td(cell.length.median if cell.length else None,
                                                                         dash=True)]
        parts += [_td(cell.messages, dash=True), _td(cell.followups_kept)]
    return "<tr>" + "".join(parts) + "</tr>"


def _head(dims: Sequence[str]) -> str:
    cols = [*dims, "件数 cases", "待ち 中央値 wait median", "待ち p90 wait p90", "初回返信 中央値 first reply median",
            "初回返信 p90 first reply p90", "会話 中央値 length median", "メッセージ 中央値 messages median",
            "フォローアップ継続 follow-ups kept"]
    return "<tr>" + "".join(f"<th>{e(c)}</th>" for c in cols) + "</tr>"


def render_cases_html(report: CaseReport, *, by_hour: Sequence[tuple[int, Times]],
                      weeks: Sequence[date], weekly: dict[tuple[str, str], int | None],
                      unmet_by_prefecture: dict[str, int | None], timezone: str) -> str:
    title = f"相談の統計 / Case statistics {report.start} – {report.end - timedelta(days=1)}"
    who = f"{e(report.org)} のみ / partner {e(report.org)} only" if report.org else "全団体 / all partners"
    body = [f"<h1>{e(title)}</h1>",
            f'<p class="note">{who} · k = {report.k}: '
            f"件数が k 未満の欄と、そこから計算で戻せる欄は「{HIDDEN}」で伏せています。"
            f" Cells with fewer than k cases, and cells from which one could be worked back, show {HIDDEN}."
            f" Times in minutes, shown when at least k cases have them (—). {report.hidden} values hidden."
            f" Hours and weeks in {e(timezone)}.</p>"]
    total = report.total
    body.append(f"<p>合計 / total: <b>{e(num(total.count))}</b> cases; median wait "
                f"{e(num(total.waiting.median if total.waiting else None, '—'))} min, "
                f"p90 {e(num(total.waiting.p90 if total.waiting else None, '—'))} min</p>")
    body.append("<h2>待ち時間（時刻別） / Waiting time by hour of day</h2>")
    body.append(bar_chart([(f"{h}", t.median) for h, t in by_hour], marks=[t.p90 for _, t in by_hour],
                          title="中央値（棒）と p90（線）/ median (bar) and p90 (line), minutes", unit=" min"))
    body.append("<h2>テーマ別の件数（週ごと） / Cases by topic over weeks</h2>")
    topics = [t for t in routing.TOPICS if any(k[1] == t for k in weekly)]
    body.append(stacked_chart([w.isoformat()[5:] for w in weeks], topics,
                              {(w[5:], t): n for (w, t), n in weekly.items()},
                              title="週の始まり（月曜） / week starting Monday"))
    body.append("<h2>つながらなかった相談（都道府県別） / Unmet demand by prefecture</h2>")
    shown = [(f"{code} {routing.PREFECTURES.get(code, code)}", n) for code, n in sorted(unmet_by_prefecture.items())]
    body.append(bar_chart(shown or [("—", 0)], title="件数 / people unanswered", rotate=True, color=PALETTE[2],
                          height=260))
    body.append("<h2>表 / Table</h2><table>" + _head(report.by))
    body += [_row([_label(d, v) for d, v in zip(report.by, cell.key, strict=True)], cell) for cell in report.cells]
    body.append("</table>")
    for dim, cells in report.margins:
        body.append(f"<h2>{e(dim)} 別の合計 / totals by {e(dim)}</h2><table>" + _head([dim]))
        body += [_row([_label(dim, cell.key[0])], cell) for cell in cells]
        body.append("</table>")
    return page(title, body)


# --- unmet demand -------------------------------------------------------------------------------------


REASON_LABELS = {
    "no_partner_open": "開いている団体なし / no partner open",
    "all_full": "すべて満員 / all full",
    "nobody_on_duty": "担当者不在 / nobody on duty",
    "waited_too_long": "待ち時間超過 / waited too long",
    "left_before_reached": "つながる前に離脱 / left before reached",
}


def render_demand_html(report: DemandReport) -> str:
    unit = "市区町村" if report.prefecture else "都道府県"
    title = f"つながらなかった相談 / Unmet demand {report.start} – {report.end - timedelta(days=1)}"
    body = [f"<h1>{e(title)}</h1>",
            f'<p class="note">k = {report.k}: 件数が k 未満の欄と、そこから計算で戻せる欄は「{HIDDEN}」で伏せています。'
            f" Counts under k and those that could be worked back show {HIDDEN}. "
            "「空白時間」は同じ期間に相談先がなかったテーマ×時間の合計"
            "（ディレクトリから、つながらなかった相談のテーマ: "
            f"{e(', '.join(report.gap_topics))}） / gap hours: topic-hours with no partner open in the same period, "
            f"from the directory, in the topics people went unanswered about. "
            f"Hours in {e(report.timezone)}.</p>",
            f"<p>合計 / total: <b>{e(num(report.total))}</b></p>"]
    worst = sorted(report.places, key=lambda p: (-(p.unmet or 0), -p.gap_hours))
    body.append(f"<h2>{unit}別 / By {'municipality' if report.prefecture else 'prefecture'}</h2>")
    body.append(bar_chart([(f"{p.code} {p.name}" if report.prefecture is None else p.name, p.unmet)
                           for p in worst[:30] if p.unmet != 0],
                          title="つながらなかった人数 / people unanswered (top 30)", rotate=True,
                          color=PALETTE[2], height=280))
    body.append(bar_chart([(f"{p.code} {p.name}" if report.prefecture is None else p.name, p.gap_hours)
                           for p in worst[:30] if p.unmet != 0],
                          title="空白時間 / coverage gap hours (same places)", rotate=True, color=PALETTE[0],
                          height=280, unit=" h"))
    body.append("<h2>時刻別 / By hour of day</h2>")
    body.append(bar_chart([(str(h), n) for h, n in report.by_hour], title="人数 / people", color=PALETTE[1]))
    heads = ["コード code", "名前 name", "人数 people", *REASON_LABELS.values(), "空白時間 gap hours",
             "空白の多いテーマ topics with most gaps"]
    body.append("<h2>表 / Table</h2><table><tr>" + "".join(f"<th>{e(h)}</th>" for h in heads) + "</tr>")
    quiet = sum(1 for p in worst if p.unmet == 0 and p.gap_hours)
    for p in worst:
        if p.unmet == 0:
            continue
        cells = [f"<td>{e(p.code)}</td>", f"<td>{e(p.name)}</td>", _td(p.unmet)]
        cells += [_td(n) for _, n in p.by_reason]
        cells += [_td(p.gap_hours), f"<td>{e(', '.join(p.worst_topics))}</td>"]
        body.append("<tr>" + "".join(cells) + "</tr>")
    body.append("</table>")
    if quiet:
        body.append(f'<p class="note">ほかに {quiet} か所で空白時間がありますが、'
                    "つながらなかった相談はありませんでした。"
                    f" {quiet} more places have gaps but nobody went unanswered there.</p>")
    body.append("<h2>理由別 / By reason</h2><table>")
    body += [f"<tr><td>{e(REASON_LABELS.get(r, r))}</td>{_td(n)}</tr>" for r, n in report.by_reason]
    body.append("</table><h2>テーマ別 / By topic</h2><table>")
    body += [f"<tr><td>{e(_label('topic', t))}</td>{_td(n)}</tr>" for t, n in report.by_topic]
    body.append("</table>")
    return page(title, body)
