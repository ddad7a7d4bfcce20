"""`tsunagu desk …`: counselor accounts for the web desk at /desk.

add-user ORG NAME         create a counselor at partner ORG; NAME is shown to the person. The
                          password is asked twice at a terminal; otherwise it is the first line of
                          stdin (or of --password-file FILE). A running server sees it at once.
list-users                the accounts, by partner, enabled or not, with their last sign-in (never a
                          password or hash)
disable-user ORG NAME     the account cannot sign in any more; its sessions and web duty end now
enable-user ORG NAME      the account can sign in again
reset-password ORG NAME   a new password (read as add-user reads it); every session of it ends
revoke-sessions ORG NAME  sign the account out everywhere (it can sign in again)

Every change is kept in the audit trail (`tsunagu audit`), with the operator's login.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from routing import example_directory_path, load_directory
from storage import Database, open_database
from storage.audit import AuditLog
from storage.desk_users import DeskUser, DeskUsers
from storage.presence import Presence

from .cli import CliError
from .cli_audit import operator
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
    for command, helptext in (("disable-user", "a counselor can no longer sign in; their sessions end now"),
                              ("enable-user", "a disabled counselor can sign in again"),
                              ("reset-password", "set a new password; every session of the account ends"),
                              ("revoke-sessions", "sign a counselor out everywhere")):
        change = actions.add_parser(command, help=helptext)
        change.add_argument("org", metavar="ORG", help="the partner's id in the directory")
        change.add_argument("name", metavar="NAME", help="the counselor's name")
        if command == "reset-password":
            given = change.add_mutually_exclusive_group()
            given.add_argument("--password-stdin", action="store_true",
                               help="read the password from the first line of stdin (the default without a terminal)")
            given.add_argument("--password-file", type=Path, metavar="FILE",
                               help="read the password from the first line of FILE")
        change.add_argument("--config", type=Path, help="TOML settings file (environment variables win)")
        change.set_defaults(run=run_change, change=command)


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

    async def add(db: Database) -> None:
        user = await DeskUsers(db).add(org.id, args.name, password, now=utcnow())
        await _audit(db, user, "add")

    _on_database(settings, add)
    print(f"created desk user {args.name} at {org.id} ({org.name}); sign in at /desk")
    return 0


T = TypeVar("T")


def _on_database(settings: Settings, action: Callable[[Database], Awaitable[T]]) -> T:
    """Run `action` on the database; an unreachable one is one line, no traceback."""
    async def main() -> T:
        db = await open_database(settings.database_url)
        try:
            return await action(db)
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except SQLAlchemyError as exc:
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        raise CliError(f"cannot use the database {where}: {type(exc).__name__}; "
                       "check TSUNAGU_DATABASE_URL and that the database is running") from None


async def _audit(db: Database, user: DeskUser, change: str) -> None:
    await AuditLog(db).record(action="account", actor=operator(), org_id=user.org_id, front="cli",
                              detail=f"{change},user=web:{user.id}", now=utcnow())


def run_list(args: argparse.Namespace) -> int:
    settings = Settings.from_env(config_file=args.config)

    async def users(db: Database) -> list[DeskUser]:
        return await DeskUsers(db).users()

    print("org\tname\tstate\tlast sign-in (UTC)")
    for user in _on_database(settings, users):
        last = user.last_sign_in.isoformat(timespec="seconds") if user.last_sign_in else "never"
        print(f"{user.org_id}\t{user.name}\t{'disabled' if user.disabled else 'enabled'}\t{last}")
    return 0


def run_change(args: argparse.Namespace) -> int:
    settings = Settings.from_env(config_file=args.config)
    password = _password(args) if args.change == "reset-password" else None

    async def change(db: Database) -> tuple[DeskUser, int]:
        users, now = DeskUsers(db), utcnow()
        if args.change in ("disable-user", "enable-user"):
            user, ended = await users.set_disabled(args.org, args.name, args.change == "disable-user", now=now)
        elif args.change == "reset-password":
            user, ended = await users.reset_password(args.org, args.name, password or "")
        else:
            user, ended = await users.revoke_sessions(args.org, args.name)
        if args.change != "enable-user":  # signed out: no longer on duty at the web desk either
            await Presence(db).end(f"web:{user.id}", user.org_id)
        await _audit(db, user, args.change.replace("-", "_"))
        return user, ended

    user, ended = _on_database(settings, change)
    said = {"disable-user": "disabled", "enable-user": "enabled", "reset-password": "has a new password",
            "revoke-sessions": "signed out everywhere"}[args.change]
    tail = f" ({ended} session{'s' if ended != 1 else ''} ended)" if args.change != "enable-user" else ""
    print(f"desk user {user.name} at {user.org_id} {said}{tail}")
    return 0
