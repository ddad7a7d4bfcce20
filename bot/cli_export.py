"""`tsunagu export cases --org ORG --from --to`: a partner's closed cases in the standard schema.

Writes JSON Lines and CSV (docs/export.md says every field; docs/export.schema.json is the JSON
Schema): only what each person agreed to share. Files go to --out (a folder; default the current
one) as <org>-cases-<from>-<to>.jsonl and .csv; `--stdout jsonl|csv` prints one of them instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from storage.audit import AuditLog

from .cli import CliError
from .cli_audit import operator
from .cli_stats import Context, Reading
from .clock import utcnow
from .stats.export import export_records, to_csv, to_jsonl


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("export", help="a partner's closed cases in the standard schema")
    actions = parser.add_subparsers(dest="export_command", required=True, metavar="WHAT")
    cases = actions.add_parser("cases", help="closed cases of one partner as JSON Lines and CSV")
    cases.add_argument("--org", required=True, help="the partner's id in the directory")
    cases.add_argument("--from", dest="start", required=True, help="first day (cases closed from), YYYY-MM-DD")
    cases.add_argument("--to", dest="end", required=True, help="last day (included), YYYY-MM-DD")
    cases.add_argument("--out", type=Path, default=Path("."), help="folder for the files (default: here)")
    cases.add_argument("--stdout", choices=("jsonl", "csv"), help="print one format instead of writing files")
    cases.add_argument("--tz", help="time zone of the days and times (default: the directory's)")
    cases.add_argument("--directory", type=Path, help="directory file (default: TSUNAGU_DIRECTORY or the example)")
    cases.add_argument("--config", type=Path, help="TOML settings file (environment variables win)")
    cases.set_defaults(run=run_cases, k=None)


def run_cases(args: argparse.Namespace) -> int:
    ctx = Context(args)
    if ctx.directory.get(args.org) is None:
        raise CliError(f"--org {args.org!r}: no such partner in {ctx.directory.source}")
    if args.stdout is None and not args.out.is_dir():
        raise CliError(f"--out {args.out}: no such folder")
    start, end = ctx.span
    formats = (args.stdout,) if args.stdout else ("jsonl", "csv")

    async def read(storage: Reading) -> list[dict[str, Any]]:
        facts = await storage.cases.closed_between(start, end, org_id=args.org)
        records = export_records(facts, org=args.org, start=ctx.start, end=ctx.end, keyring=storage.keyring,
                                 tz=ctx.tz, formats=formats, now=utcnow())
        await AuditLog(storage.database).record(  # who exported which partner's cases, and how many
            action="export", actor=operator(), org_id=args.org, front="cli", now=utcnow(),
            detail=f"from={ctx.start.isoformat()},to={args.end},cases={len(records)},as={'+'.join(formats)}")
        return records

    records = ctx.with_storage(read)
    if args.stdout == "jsonl":
        sys.stdout.write(to_jsonl(records))
        return 0
    if args.stdout == "csv":
        sys.stdout.write(to_csv(records))
        return 0
    stem = f"{args.org}-cases-{ctx.start.isoformat()}-{args.end}"
    for suffix, text in ((".jsonl", to_jsonl(records)), (".csv", to_csv(records))):
        (args.out / f"{stem}{suffix}").write_text(text, encoding="utf-8")
    consented = sum(r["consented"] for r in records)
    print(f"{len(records)} closed cases of {args.org} ({consented} with consent to share the intake answers) "
          f"written to {args.out / stem}.jsonl and .csv")
    return 0
