"""`tsunagu audit`: the audit trail (storage/audit.py), and a check of its chain.

    tsunagu audit [--org ORG] [--case ID] [--since DAY|TIME]   the entries, oldest first
    tsunagu audit verify                                       exit 0 if the chain holds; else 1,
                                                               and one line naming the entry that broke

An entry says who (counselor id, organization, front end), what, which case and when: never what
anyone wrote. A day or a time without a zone is Japan time.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from storage import open_database
from storage.audit import AuditLog, describe

from .cli import CliError
from .settings import Settings

JST = ZoneInfo("Asia/Tokyo")
HEADER = "id\tat (UTC)\tfront\torg\tactor\taction\tcase\tdetail"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("audit", help="the audit trail: who did what to which case, and when")
    parser.add_argument("what", nargs="?", choices=("list", "verify"), default="list",
                        help="list the entries (default), or verify the hash chain")
    parser.add_argument("--org", help="only this partner's entries")
    parser.add_argument("--case", type=int, help="only this case's entries")
    parser.add_argument("--since", help="only entries from this day (YYYY-MM-DD) or time (ISO 8601), Japan time")
    parser.add_argument("--config", type=Path, help="TOML settings file (environment variables win)")
    parser.set_defaults(run=run)


def operator() -> str:
    """The operator at the terminal as the audit trail names them: "cli:<login>"."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return f"cli:{login}"[:80]


def since_of(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), JST)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--since {text!r}: not a day (YYYY-MM-DD) or a time (ISO 8601)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=JST)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env(config_file=args.config)
    since = since_of(args.since)

    async def main() -> Any:
        db = await open_database(settings.database_url)
        try:
            audit = AuditLog(db)
            if args.what == "verify":
                return await audit.verify()
            return await audit.entries(org_id=args.org, case_id=args.case, since=since)
        finally:
            await db.close()

    try:
        found = asyncio.run(main())
    except SQLAlchemyError as exc:
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        raise CliError(f"cannot read the database {where}: {type(exc).__name__}; "
                       "check TSUNAGU_DATABASE_URL and that the database is running") from None
    if args.what == "verify":
        checked, problem = found
        if problem is not None:
            print(f"tsunagu audit verify: the chain is broken after {checked} good entries: {problem}",
                  file=sys.stderr)
            return 1
        print(f"audit chain verified: {checked} entries")
        return 0
    print(HEADER)
    for line in describe(found):
        print(line)
    return 0
