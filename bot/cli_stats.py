"""`tsunagu stats …`: anonymous statistics for the people who run the network (docs/coordinators.md).

cases    counts and times of the period's cases by topic, prefecture, age band, outcome, partner
         (--by), small cells suppressed (k, TSUNAGU_STATS_K, default 10); --org for one partner's own
demand   where and when people went unanswered, beside the directory's coverage gaps

Both print a table; --json and --csv give the same as data; --html FILE writes a page with charts.
Dates are days in --tz (default the directory's zone); --to is the last day, included.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import routing
from storage import Database, Keyring, open_database
from storage.case_facts import CaseFacts, CaseFactsReader
from storage.demand import DemandStore, Unmet

from .cli import CliError
from .settings import Settings
from .stats.cases import DIMENSIONS, CaseReport, Cell, case_report, suppressed_counts, waiting_by_hour, weekly_by
from .stats.demand import DemandReport, demand_report
from .stats.html import num, render_cases_html, render_demand_html

T = TypeVar("T")
R = TypeVar("R")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("stats", help="anonymous statistics: cases, unmet demand")
    actions = parser.add_subparsers(dest="stats_command", required=True, metavar="REPORT")
    cases = actions.add_parser("cases", help="counts and times of cases, small cells suppressed")
    _period(cases)
    cases.add_argument("--by", default="topic", help=f"comma-separated: {', '.join(DIMENSIONS)} (default topic)")
    cases.add_argument("--org", help="one partner's own figures")
    _formats(cases)
    cases.set_defaults(run=run_cases)
    demand = actions.add_parser("demand", help="people unanswered, beside the coverage gaps")
    _period(demand)
    demand.add_argument("--prefecture", help="per municipality of this prefecture (JIS code, e.g. 14)")
    _formats(demand)
    demand.set_defaults(run=run_demand)


def _period(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", required=True, help="last day (included), YYYY-MM-DD")
    parser.add_argument("--k", type=int, help="hide counts under k (default TSUNAGU_STATS_K, 10)")
    parser.add_argument("--tz", help="time zone of the days and hours (default: the directory's)")
    parser.add_argument("--directory", type=Path, help="directory file (default: TSUNAGU_DIRECTORY or the example)")
    parser.add_argument("--config", type=Path, help="TOML settings file (environment variables win)")


def _formats(parser: argparse.ArgumentParser) -> None:
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="the report as JSON")
    shape.add_argument("--csv", action="store_true", help="the table as CSV")
    parser.add_argument("--html", type=Path, metavar="FILE", help="also write a page with charts to FILE")


def _day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CliError(f"{flag} {text!r}: expected a date YYYY-MM-DD") from None


class Context:
    def __init__(self, args: argparse.Namespace) -> None:
        self.settings = Settings.from_env(config_file=args.config)
        self.directory = routing.load_directory(args.directory or self.settings.directory
                                                or routing.example_directory_path())
        try:
            self.tz = ZoneInfo(args.tz) if args.tz else self.directory.timezone
        except (ZoneInfoNotFoundError, ValueError):
            raise CliError(f"--tz {args.tz!r}: unknown time zone (e.g. Asia/Tokyo)") from None
        self.start = _day(args.start, "--from")
        self.end = _day(args.end, "--to") + timedelta(days=1)
        if self.end <= self.start:
            raise CliError("--to is before --from")
        if (self.end - self.start).days > 366:
            raise CliError("give at most 366 days")
        self.k = self.settings.stats_k if args.k is None else args.k
        if self.k < 2:
            raise CliError("--k must be at least 2")

    @property
    def span(self) -> tuple[datetime, datetime]:
        return datetime.combine(self.start, time(), self.tz), datetime.combine(self.end, time(), self.tz)

    def with_storage(self, action: Callable[[Reading], Awaitable[T]]) -> T:
        """Read the database as it is: no key file is created and no schema migrated."""
        keyring = Keyring.load(self.settings.key_file)
        # People's data keys (a case's answers are under them); a key store that is not there is
        # not made here: values under it then read as lost, in one line.
        store_path = self.settings.key_store_path
        people = keyring.attach(store_path) if store_path.exists() else None

        async def main() -> T:
            database = await open_database(self.settings.database_url, schema="check")
            try:
                return await action(Reading(database, keyring))
            finally:
                await database.close()
                if people is not None:
                    people.close()

        return asyncio.run(main())


class Reading:
    """What the reports read: the anonymous demand rows and the cases' facts."""

    def __init__(self, database: Database, keyring: Keyring) -> None:
        self.database, self.keyring = database, keyring
        self.demand = DemandStore(database)
        self.cases = CaseFactsReader(database, keyring)


# --- cases --------------------------------------------------------------------------------------------


def run_cases(args: argparse.Namespace) -> int:
    ctx = Context(args)
    by = tuple(d.strip() for d in args.by.split(",") if d.strip())
    for dim in by:
        if dim not in DIMENSIONS:
            raise CliError(f"--by {dim!r}: unknown (use {', '.join(DIMENSIONS)})")
    if args.org is not None and ctx.directory.get(args.org) is None:
        raise CliError(f"--org {args.org!r}: no such partner in {ctx.directory.source}")
    start, end = ctx.span

    async def read(storage: Reading) -> tuple[list[CaseFacts], list[Unmet]]:
        facts = await storage.cases.created_between(start, end, org_id=args.org)
        unmet = await storage.demand.between(start, end) if args.html and args.org is None else []
        return facts, unmet

    facts, unmet = ctx.with_storage(read)
    try:
        report = case_report(facts, by=by, k=ctx.k, start=ctx.start, end=ctx.end, org=args.org)
    except ValueError as exc:
        raise CliError(f"--by {args.by!r}: {exc}") from None
    if args.html is not None:
        weeks, weekly = weekly_by(facts, ctx.tz, ctx.k)
        per_pref: dict[str, int] = {}
        for u in unmet:
            per_pref[u.prefecture or "none"] = per_pref.get(u.prefecture or "none", 0) + 1
        args.html.write_text(render_cases_html(
            report, by_hour=waiting_by_hour(facts, ctx.tz, ctx.k), weeks=weeks, weekly=weekly,
            unmet_by_prefecture=suppressed_counts(per_pref, ctx.k), timezone=ctx.tz.key), encoding="utf-8")
    _print(args, report, _cases_json, _cases_csv, _cases_text)
    return 0


def _print(args: argparse.Namespace, report: R, as_json: Callable[[R], object], as_csv: Callable[[R], str],
           as_text: Callable[[R], str]) -> None:
    """A report as JSON, CSV or text on stdout (the HTML, if asked, is written already)."""
    if args.json:
        print(json.dumps(as_json(report), ensure_ascii=False, indent=2))
    elif args.csv:
        sys.stdout.write(as_csv(report))
    else:
        sys.stdout.write(as_text(report))
        if args.html is not None:
            print(f"Report written to {args.html}")


def _cell_json(cell: Cell) -> dict[str, object]:
    out = asdict(cell)
    out["key"] = list(cell.key)
    return out


def _cases_json(report: CaseReport) -> dict[str, object]:
    return {
        "from": report.start.isoformat(), "to": (report.end - timedelta(days=1)).isoformat(), "by": list(report.by),
        "k": report.k, "org": report.org, "hidden": report.hidden, "total": _cell_json(report.total),
        "cells": [_cell_json(c) for c in report.cells],
        "margins": {dim: [_cell_json(c) for c in cells] for dim, cells in report.margins},
    }


_COLUMNS = ("cases", "wait_median", "wait_p90", "first_reply_median", "first_reply_p90", "length_median",
            "messages_median", "followups_kept")


def _cell_values(cell: Cell) -> list[float | int | None]:
    if cell.count is None:
        return [None] * len(_COLUMNS)
    w, f, n = cell.waiting, cell.first_reply, cell.length
    return [cell.count, w.median if w else None, w.p90 if w else None, f.median if f else None,
            f.p90 if f else None, n.median if n else None, cell.messages, cell.followups_kept]


def _cases_csv(report: CaseReport) -> str:
    """Cells, then each dimension's totals (the other dimensions "*"), then the grand total."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*report.by, *_COLUMNS])
    hidden = f"<{report.k}"

    def values(cell: Cell) -> list[object]:
        if cell.count is None:
            return [hidden] * len(_COLUMNS)
        return ["" if v is None else v for v in _cell_values(cell)]

    for cell in report.cells:
        writer.writerow([*cell.key, *values(cell)])
    for dim, cells in report.margins:
        for cell in cells:
            key = ["*"] * len(report.by)
            key[report.by.index(dim)] = cell.key[0]
            writer.writerow([*key, *values(cell)])
    writer.writerow([*(["*"] * len(report.by)), *values(report.total)])
    return out.getvalue()


def _cases_text(report: CaseReport) -> str:
    who = f" · partner {report.org}" if report.org else ""
    lines = [f"Cases {report.start} to {report.end - timedelta(days=1)}{who} · by {', '.join(report.by)} · "
             f"k={report.k} ({report.hidden} values hidden: <k, or could be worked back)",
             "times in minutes (median / p90); — where fewer than k cases have the figure"]
    rows = [[*cell.key, *_text_values(cell)] for cell in report.cells]
    rows.append([*(["合計 total"] + [""] * (len(report.by) - 1)), *_text_values(report.total)])
    head = [*report.by, "cases", "wait", "first reply", "length", "msgs", "follow-ups kept"]
    lines += routing_table(head, rows)
    return "\n".join(lines) + "\n"


def _text_values(cell: Cell) -> list[str]:
    if cell.count is None:
        return ["<k", "", "", "", "", ""]

    def pair(t: object) -> str:
        median = getattr(t, "median", None)
        p90 = getattr(t, "p90", None)
        return "—" if median is None else f"{num(median)} / {num(p90)}"

    return [num(cell.count), pair(cell.waiting), pair(cell.first_reply),
            "—" if not cell.length or cell.length.median is None else num(cell.length.median),
            "—" if cell.messages is None else num(cell.messages), num(cell.followups_kept, "<k")]


def routing_table(head: list[str], rows: list[list[str]]) -> list[str]:
    from routing.report import _table

    return _table(head, rows)


# --- demand -------------------------------------------------------------------------------------------


def run_demand(args: argparse.Namespace) -> int:
    ctx = Context(args)
    pref = args.prefecture
    if pref is not None:
        pref = f"0{pref}" if pref.isdigit() and len(pref) == 1 else pref
        if pref not in routing.PREFECTURES:
            raise CliError(f"--prefecture {args.prefecture!r}: use a JIS prefecture code 01 to 47")
    start, end = ctx.span
    rows = ctx.with_storage(lambda storage: storage.demand.between(start, end))
    report = demand_report(rows, directory=ctx.directory, start=ctx.start, end=ctx.end, k=ctx.k, tz=ctx.tz,
                           prefecture=pref)
    if args.html is not None:
        args.html.write_text(render_demand_html(report), encoding="utf-8")
    _print(args, report, _demand_json, _demand_csv, _demand_text)
    return 0


def _demand_json(report: DemandReport) -> dict[str, object]:
    return {
        "from": report.start.isoformat(), "to": (report.end - timedelta(days=1)).isoformat(), "k": report.k,
        "timezone": report.timezone, "prefecture": report.prefecture, "total": report.total,
        "places": [{"code": p.code, "name": p.name, "unmet": p.unmet, "by_reason": dict(p.by_reason),
                    "gap_hours": p.gap_hours, "worst_topics": list(p.worst_topics)} for p in report.places],
        "by_hour": {str(h): n for h, n in report.by_hour},
        "by_topic": dict(report.by_topic), "by_reason": dict(report.by_reason),
    }


def _demand_csv(report: DemandReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    reasons = [r for r, _ in report.places[0].by_reason] if report.places else []
    writer.writerow(["code", "name", "unmet", *reasons, "gap_hours", "worst_topics"])
    hidden = f"<{report.k}"
    for p in report.places:
        writer.writerow([p.code, p.name, hidden if p.unmet is None else p.unmet,
                         *(hidden if n is None else n for _, n in p.by_reason), p.gap_hours, ";".join(p.worst_topics)])
    return out.getvalue()


def _demand_text(report: DemandReport) -> str:
    unit = f"municipalities of {report.prefecture}" if report.prefecture else "prefectures"
    lines = [f"Unmet demand {report.start} to {report.end - timedelta(days=1)} · by {unit} · k={report.k}: "
             f"{num(report.total, '<k')} people unanswered",
             "gap hours: topic-hours with no partner open in the same period (from the directory), in the topics "
             f"people went unanswered about ({', '.join(report.gap_topics) or 'none'})"]
    places = sorted((p for p in report.places if p.unmet != 0), key=lambda p: (-(p.unmet or 0), -p.gap_hours))
    quiet = sum(1 for p in report.places if p.unmet == 0 and p.gap_hours)
    rows = [[p.code, p.name, num(p.unmet, "<k"),
             ", ".join(f"{r} {num(n, '<k')}" for r, n in p.by_reason if n != 0), num(p.gap_hours),
             ", ".join(p.worst_topics)] for p in places]
    lines += routing_table(["code", "name", "unanswered", "why", "gap hours", "topics with most gaps"], rows)
    if quiet:
        lines.append(f"{quiet} more places have gaps but nobody went unanswered there (--json or --html lists them)")
    if report.total == 0:
        lines.append("Nobody went unanswered in this period. / この期間、つながらなかった相談はありません。")
    else:
        lines.append("By hour of day (" + report.timezone + "): " +
                     " ".join(f"{h}:{num(n, '<k')}" for h, n in report.by_hour if n != 0))
    return "\n".join(lines) + "\n"
