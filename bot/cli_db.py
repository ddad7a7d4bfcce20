"""`tsunagu db …`: the operator's tools for the database and the key file.

upgrade     migrate the schema to what this release needs (adopting a database of a release
            before migrations); safe while other instances start, one migrates at a time
current     the schema's revision and this release's; exit 1 if the database is behind
status      row counts (queues, sessions), and whether the database answers
create-key  create the key file (mode 0600) before the first start, for deployments that mount
            it read-only (containers, systemd credentials); refuses to overwrite one
rotate-key  add a new data key and make it current (old keys stay, so old rows still read)
rewrap-keys wrap every person's data key (the key store) under the key file's current key
purge       delete every kind of record past its retention period (docs/privacy.md)
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import TypeVar

from storage import Keyring, Store, erasure, migrate, open_database, open_storage

from .cli import CliError
from .clock import utcnow
from .settings import Settings

T = TypeVar("T")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("db", help="database and key file tools for operators")
    actions = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    actions.add_parser(
        "upgrade",
        help="migrate the database schema to what this release needs",
        description="Safe to run while servers start: one process migrates at a time, the others "
        "wait and find it done. On PostgreSQL, run it before starting a new release's servers.",
    ).set_defaults(run=run_upgrade)
    actions.add_parser(
        "current", help="the schema revision of the database and of this release; exit 1 if behind"
    ).set_defaults(run=run_current)
    actions.add_parser("status", help="row counts; exit 1 if the database does not answer").set_defaults(run=run_status)
    actions.add_parser(
        "create-key",
        help="create TSUNAGU_KEY_FILE (mode 0600); refuses if it exists",
        description="For deployments where the key file is mounted read-only and so cannot be created "
        "by the first start (docs/deploy.md). Back the new file up apart from the database.",
    ).set_defaults(run=run_create_key)
    rotate = actions.add_parser(
        "rotate-key",
        help="add a new data key to TSUNAGU_KEY_FILE and make it current",
        description="New values are encrypted with the new key; old keys stay so old rows still read. "
        "Restart (or reload) running servers to pick the new key up.",
    )
    rotate.set_defaults(run=run_rotate)
    actions.add_parser(
        "rewrap-keys",
        help="wrap people's data keys (TSUNAGU_KEY_STORE) under the key file's current key",
        description="Run after rotate-key once every server runs with the new key file.",
    ).set_defaults(run=run_rewrap)
    purge = actions.add_parser(
        "purge", help="delete every kind of record past its retention period (docs/privacy.md)",
        description="Finished inbox/outbox rows, web chat lines, closed cases' content, addresses of people "
        "no longer in touch, ended desk sessions and audit entries, each past its TSUNAGU_RETENTION_* "
        "setting; the hourly pass of a running worker does the same.")
    purge.add_argument("--older-than", type=int, default=None, metavar="DAYS",
                       help="retention of finished inbox/outbox rows and web chat lines, in days "
                       "(default: TSUNAGU_RETENTION_DAYS and TSUNAGU_RETENTION_WEB_CHAT_DAYS, 30)")
    purge.set_defaults(run=run_purge)


def _with_store(settings: Settings, action: Callable[[Store], Awaitable[T]]) -> T:
    async def main() -> T:
        keyring = Keyring.load(settings.key_file)
        db = await open_database(settings.database_url)
        try:
            return await action(Store(db, keyring))
        finally:
            await db.close()

    return asyncio.run(main())


def run_upgrade(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    done = asyncio.run(migrate.upgrade(settings.database_url))
    if done.before == done.after:
        print(f"already at head {done.after}")
    elif done.adopted:
        print(f"adopted the tables of a release before migrations as {migrate.BASELINE}; "
              f"upgraded {migrate.BASELINE} -> {done.after} (head)")
    else:
        print(f"upgraded {done.before or 'empty'} -> {done.after} (head)")
    return 0


def run_current(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    found = asyncio.run(migrate.status(settings.database_url))
    print(f"current  {found.current or 'none'}")
    print(f"head     {found.head}")
    if found.up_to_date:
        return 0
    print("behind: run tsunagu db upgrade")
    return 1


def run_status(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    counts = _with_store(settings, lambda store: store.counts())
    path = settings.key_store_path
    if path.exists():  # people's data keys, live and waiting to be destroyed (never created here)
        keys = Keyring.load(settings.key_file).attach(path)
        try:
            counts.update(keys.counts())
        finally:
            keys.close()
    for name, value in counts.items():
        print(f"{name:<22}{value}")
    return 0


def run_create_key(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    _, created = Keyring.load_or_create(settings.key_file)
    if not created:
        raise CliError(f"{settings.key_file} already exists; not replaced (a key file is never overwritten)")
    print(f"created {settings.key_file} (mode 0600): back it up apart from the database")
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    key_id = Keyring.rotate(settings.key_file)
    print(f"new current key {key_id} in {settings.key_file}; restart servers to use it")
    return 0


def run_rewrap(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    keyring = Keyring.load(settings.key_file)
    store = keyring.attach(settings.key_store_path)
    try:
        changed = store.rewrap()
    finally:
        store.close()
    print(f"rewrapped {changed} data keys under {keyring.current_key_id}")
    return 0


def run_purge(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    keep = settings.retention()
    if args.older_than is not None:
        if args.older_than < 1:
            raise CliError("--older-than must be at least 1 day "
                           "(late redeliveries are recognised by the finished rows)")
        keep = replace(keep, queue=timedelta(days=args.older_than), web_chat=timedelta(days=args.older_than))

    async def main() -> dict[str, int]:
        Keyring.load(settings.key_file)  # refuse a missing key file rather than create one
        storage = await open_storage(settings.database_url, settings.key_file, key_store=settings.key_store)
        try:
            return await erasure.purge(storage.database, storage.store, storage.mailbox, storage.keyring, keep,
                                       now=utcnow())
        finally:
            await storage.close()

    counts = asyncio.run(main())
    print(f"deleted {counts['queue']} finished rows older than {keep.queue.days} days")
    for name, count in counts.items():
        if name != "queue":
            print(f"{name:<14}{count}")
    return 0
