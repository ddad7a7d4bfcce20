"""`tsunagu routing …`: check a directory file, explain a decision, report coverage gaps.

Thin: parses arguments, calls the pure `routing` package, prints. A file a coordinator can fix is
reported as problems (check) or as a one-line `tsunagu: error:` (the others), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from pathlib import Path

import routing
from bot.cli import CliError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("routing", help="partner directory: check, explain, coverage")
    sub = parser.add_subparsers(dest="routing_command", required=True, metavar="ROUTING_COMMAND")

    check = sub.add_parser("check", help="check a directory file and list every problem")
    check.add_argument("file", type=Path)
    check.add_argument("--hotlines", action="store_true", help="the file is a hotlines file, not a directory")
    check.set_defaults(run=run_check)

    explain = sub.add_parser("explain", help="show where a case would be routed, and why not elsewhere")
    _directory_option(explain)
    explain.add_argument("--topic", action="append", required=True, help="topic id; repeat for several")
    explain.add_argument("--region", help='JIS prefecture code, e.g. 13 (none: only nationwide partners)')
    explain.add_argument("--municipality",
                         help="municipality code (131016) or name (千代田区, さっぽろし, Sapporo City)")
    explain.add_argument("--language", default="ja")
    explain.add_argument("--urgent", action="store_true")
    explain.add_argument("--avoid-own-area", action="store_true")
    explain.add_argument("--at", help="ISO time with offset, e.g. 2026-12-31T03:00+09:00 (default: now)")
    explain.add_argument("--load", action="append", default=[], metavar="ORG=N", help="open conversations of a partner")
    explain.add_argument("--on-duty", action="append", default=None, metavar="ORG=N",
                         help="counselors on duty at a partner; once given, partners not named have nobody "
                              "(without it, presence is not considered)")
    explain.add_argument("--hotlines", type=Path, help="hotlines file (default: the bundled one)")
    explain.add_argument("--json", action="store_true")
    explain.set_defaults(run=run_explain)

    cov = sub.add_parser("coverage", help="hours with no open partner, per topic and prefecture")
    _directory_option(cov)
    cov.add_argument("--from", dest="start", help="first day, YYYY-MM-DD (default: today in the directory's zone)")
    cov.add_argument("--days", type=int, default=7)
    cov.add_argument("--topic", action="append", help="only these topics (repeat)")
    cov.add_argument("--region", action="append", help="only these prefecture codes (repeat)")
    cov.add_argument("--municipalities", metavar="PREFECTURE",
                     help="per municipality of this prefecture (code, e.g. 14) instead of per prefecture")
    cov.add_argument("--json", action="store_true")
    cov.add_argument("--html", type=Path, metavar="FILE", help="also write a heatmap page to FILE")
    cov.set_defaults(run=run_coverage)


def _directory_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--directory", type=Path, help="directory file (default: the bundled example)")


def _directory(args: argparse.Namespace) -> routing.Directory:
    return routing.load_directory(args.directory or routing.example_directory_path())


def run_check(args: argparse.Namespace) -> int:
    try:
        if args.hotlines:
            lines = routing.load_hotlines(args.file)
            print(f"{args.file}: OK: {len(lines.lines)} phone lines")
            return 0
        directory = routing.load_directory(args.file)
    except routing.DirectoryError as exc:
        for problem in exc.problems:
            print(problem)
        print(f"{len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}", file=sys.stderr)
        return 1
    orgs = directory.organizations
    topics = {t for o in orgs for t in o.topics}
    zones = sorted({o.timezone.key for o in orgs})
    paused = sum(o.paused for o in orgs)
    print(
        f"{args.file}: OK: {len(orgs)} organizations ({paused} paused), {len(topics)} of "
        f"{len(routing.TOPICS)} topics, time zones {', '.join(zones)}"
    )
    return 0


def _at(text: str | None) -> datetime:
    if text is None:
        return datetime.now().astimezone()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--at {text!r}: expected an ISO time such as 2026-12-31T03:00+09:00") from None
    if moment.tzinfo is None:
        raise CliError(f"--at {text!r}: give the offset too, e.g. {text}+09:00")
    return moment


def _loads(items: list[str], option: str = "--load") -> dict[str, int]:
    loads: dict[str, int] = {}
    for item in items:
        org, _, count = item.partition("=")
        if not org or not count.isdigit():
            raise CliError(f"{option} {item!r}: expected ORG=N, e.g. tokyo-night=3")
        loads[org] = int(count)
    return loads


def _municipality(text: str, prefecture: str | None) -> str:
    """A municipality's code from its code or name; one readable line when it is unknown or ambiguous."""
    found = routing.find_municipality(text, prefecture=prefecture)
    if not found:
        where = f" in {prefecture} {routing.PREFECTURES.get(prefecture, '')}" if prefecture else ""
        raise CliError(f"--municipality {text!r}: no such municipality{where} (give its code, e.g. 131016)")
    if len(found) > 1:
        names = ", ".join(f"{m.code} {routing.PREFECTURES[m.prefecture]}{m.full_name}" for m in found[:5])
        raise CliError(f"--municipality {text!r} names several places: {names}; give the code or --region")
    return found[0].code


def run_explain(args: argparse.Namespace) -> int:
    directory = _directory(args)
    region = args.region
    if region is not None and region.isdigit() and len(region) == 1:
        region = f"0{region}"
    municipality = _municipality(args.municipality, region) if args.municipality else None
    request = routing.RouteRequest(
        topics=tuple(args.topic), prefecture=region, language=args.language,
        urgent=args.urgent, avoid_own_area=args.avoid_own_area, municipality=municipality,
    )
    hotlines = routing.load_hotlines(args.hotlines) if args.hotlines else None
    # Shown on the directory's clock (JST rather than "UTC+09:00"); the instant is the same.
    at = _at(args.at).astimezone(directory.timezone)
    on_duty = _loads(args.on_duty, "--on-duty") if args.on_duty is not None else None
    for org in on_duty or ():
        if directory.get(org) is None:
            raise CliError(f"--on-duty {org}=…: no partner {org!r} in the directory")
    decision = routing.route(request, directory, _loads(args.load), at, hotlines=hotlines, on_duty=on_duty)
    if args.json:
        print(json.dumps(decision.to_json(), ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(routing.render_decision(decision))
    return 0


def run_coverage(args: argparse.Namespace) -> int:
    directory = _directory(args)
    if args.days < 1 or args.days > 366:
        raise CliError(f"--days {args.days}: give 1 to 366 days")
    if args.start is None:
        start = datetime.now(directory.timezone).date()
    else:
        try:
            start = date.fromisoformat(args.start)
        except ValueError:
            raise CliError(f"--from {args.start!r}: expected a date YYYY-MM-DD") from None
    for topic in args.topic or ():
        if topic not in routing.TOPICS:
            raise CliError(f"--topic {topic!r}: unknown topic (known: {', '.join(routing.TOPICS)})")
    regions = [f"0{r}" if r.isdigit() and len(r) == 1 else r for r in args.region] if args.region else None
    for region in regions or ():
        if region not in routing.PREFECTURES:
            raise CliError(f"--region {region!r}: use a JIS prefecture code 01 to 47")
    local = args.municipalities
    if local is not None:
        local = f"0{local}" if local.isdigit() and len(local) == 1 else local
        if local not in routing.PREFECTURES:
            raise CliError(f"--municipalities {args.municipalities!r}: use a JIS prefecture code 01 to 47")
        if regions:
            raise CliError("--municipalities and --region: give one of them")
    report = routing.coverage(directory, start=start, days=args.days, topics=args.topic, regions=regions,
                              municipalities_of=local)
    if args.html is not None:
        args.html.write_text(routing.render_coverage_html(report), encoding="utf-8")
    if args.json:
        print(json.dumps(routing.coverage_json(report), ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(routing.render_coverage_text(report))
        if args.html is not None:
            print(f"Heatmap written to {args.html}")
    return 0
