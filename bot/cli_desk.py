"""`tsunagu desk …`: counselor accounts for the web desk at /desk.

add-user ORG NAME   create a counselor at partner ORG; NAME is shown to the person. The password
                    is asked twice at a terminal; otherwise it is the first line of stdin (or of
                    --password-file FILE). A running server sees the new account at once.
list-users          the accounts, by partner (never a password or hash)
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from routing import example_directory_path, load_directory
from storage import open_database
from storage.desk_users import DeskUser, DeskUsers

from .cli import CliError
from .clock import utcnow
from .settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("desk", help="counselor accounts for the web desk (/desk)")
    actions = parser.add_subparsers(dest="desk_command", required=True, metavar="ACTION")
    add = actions.add_parser("add-user", help="create a web desk counselor at a partner",
                             description="The partner must have `desk: {web: true}` in the directory.")
    add.add_argument("org", metavar="ORG", help="the partner's id in the directory")
    add.add_argument("name", metavar="NAME", help="the counselor's nickname (shown to the person)")
    source = add.add_mutually_exclusive_group()
    source.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of stdin (the default without a terminal)")
    source.add_argument("--password-file", type=Path, metavar="FILE",
                        help="read the password from the first line of FILE")
    add.add_argument("--config", type=Path, help="TOML settings file (environment variables win)")
    add.set_defaults(run=run_add)
    users = actions.add_parser("list-users", help="list web desk counselors")
    users.add_argument("--config", type=Path, help="TOML settings file (environment variables win)")
    users.set_defaults(run=run_list)


def _password(args: argparse.Namespace) -> str:
    """The new account's password: from --password-file, from stdin (asked for, or whenever stdin
    is not a terminal, so scripts and pipes work), or typed twice at the terminal."""
    if args.password_file is not None:
        with open(args.password_file, encoding="utf-8") as handle:
            password = handle.readline().rstrip("\r\n")
        if not password:
            raise CliError(f"{args.password_file}: the first line (the password) is empty")
        return password
    if args.password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("no password on stdin: pipe one line (echo \"$PW\" | tsunagu desk add-user ORG NAME), "
                           "or use --password-file FILE")
        return password
    try:
        first = getpass.getpass("password / パスワード: ")
        again = getpass.getpass("again / もう一度: ")
    except EOFError:
        raise CliError("no password given: type it at the prompt, or use --password-file FILE") from None
    if again != first:
        raise CliError("the passwords differ")
    return first


def run_add(args: argparse.Namespace) -> int:
    settings = Settings.from_env(config_file=args.config)
    directory = load_directory(settings.directory or example_directory_path())
    org = directory.get(args.org)
    if org is None or not org.desk.web:
        web = ", ".join(o.id for o in directory.organizations if o.desk.web) or "none"
        raise CliError(f"{args.org} is not a partner with desk: {{web: true}} (those with one: {web})")
    password = _password(args)

    async def main() -> None:
        db = await open_database(settings.database_url)
        try:
            await DeskUsers(db).add(org.id, args.name, password, now=utcnow())
        finally:
            await db.close()

    try:
        asyncio.run(main())
    except SQLAlchemyError as exc:  # the database is not there or not reachable: one line, no traceback
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        raise CliError(f"cannot write to the database {where}: {type(exc).__name__}; "
                       "check TSUNAGU_DATABASE_URL and that the database is running") from None
    print(f"created desk user {args.name} at {org.id} ({org.name}); sign in at /desk")
    return 0


def run_list(args: argparse.Namespace) -> int:
    settings = Settings.from_env(config_file=args.config)

    async def main() -> list[DeskUser]:
        db = await open_database(settings.database_url)
        try:
            return await DeskUsers(db).users()
        finally:
            await db.close()

    for user in asyncio.run(main()):
        print(f"{user.org_id}\t{user.name}")
    return 0
