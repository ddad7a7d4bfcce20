"""`tsunagu desk …`: counselor accounts for the web desk at /desk.

add-user ORG NAME   create a counselor at partner ORG (asks for the password twice, or reads
                    one line from stdin with --password-stdin); NAME is shown to the person
list-users          the accounts, by partner (never a password or hash)
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

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
    add.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    add.add_argument("--config", type=Path, help="TOML settings file (environment variables win)")
    add.set_defaults(run=run_add)
    users = actions.add_parser("list-users", help="list web desk counselors")
    users.add_argument("--config", type=Path, help="TOML settings file (environment variables win)")
    users.set_defaults(run=run_list)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password / パスワード: ")
    if getpass.getpass("again / もう一度: ") != first:
        raise CliError("the passwords differ")
    return first


def run_add(args: argparse.Namespace) -> int:
    settings = Settings.from_env(config_file=args.config)
    directory = load_directory(settings.directory or example_directory_path())
    org = directory.get(args.org)
    if org is None or not org.desk.web:
        web = ", ".join(o.id for o in directory.organizations if o.desk.web) or "none"
        raise CliError(f"{args.org} is not a partner with desk: {{web: true}} (those with one: {web})")
    password = _password(args.password_stdin)

    async def main() -> None:
        db = await open_database(settings.database_url)
        try:
            await DeskUsers(db).add(org.id, args.name, password, now=utcnow())
        finally:
            await db.close()

    asyncio.run(main())
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
