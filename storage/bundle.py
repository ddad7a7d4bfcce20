"""open_storage: the key file and the database, opened once, with every store built once on them.

    storage = await open_storage(settings.database_url, settings.key_file)
    ...storage.store, storage.cases, storage.mailbox, storage.desk_users, storage.flow_versions
    await storage.close()

This is what a composition root (the server, a worker, a CLI command) calls instead of building
stores itself: there is one Store per Database (it groups writes into shared transactions, see
writer.py), and one of each other store, so two parts of a process never disagree about them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from storage.cases import CaseStore
from storage.db import Database, SchemaPolicy, open_database
from storage.demand import DemandStore
from storage.desk_users import SCRYPT_N, SESSION_TTL, DeskUsers
from storage.errors import KeyFileError
from storage.flow_versions import FlowVersionStore
from storage.keys import Keyring
from storage.keystore import default_path
from storage.presence import Presence
from storage.store import Store
from storage.web_mailbox import WebMailbox


@dataclass(frozen=True)
class Storage:
    """The open database, its keys, and the stores on them; `close()` when done."""

    database: Database
    keyring: Keyring
    key_created: bool  # the key file was created just now: say so, it must be backed up
    store: Store  # inbox, addresses, sessions, outbox
    cases: CaseStore  # the counselor desk's cases, cards, messages, follow-ups
    mailbox: WebMailbox  # the web chat's lines
    desk_users: DeskUsers  # web desk accounts and sessions
    flow_versions: FlowVersionStore  # published flow versions
    demand: DemandStore  # anonymous rows of people who went unanswered
    presence: Presence  # counselors on duty

    async def close(self) -> None:
        """Finish the writes already requested, then close every connection."""
        await self.database.close()
        if self.keyring.people is not None:
            self.keyring.people.close()


async def _uses_people_keys(database: Database) -> bool:
    """Whether any session, address or inbox row is encrypted under a person's data key."""
    async with database.read() as conn:
        for table, column in (("sessions", "state_enc"), ("addresses", "platform_user_id_enc"),
                              ("inbox", "payload_enc")):
            found = await conn.execute(text(f"SELECT 1 FROM {table} WHERE {column} LIKE 'p-%' LIMIT 1"))
            if found.first() is not None:
                return True
    return False


async def open_storage(
    url: str,
    key_file: str | os.PathLike[str],
    *,
    key_store: str | os.PathLike[str] | None = None,
    schema: SchemaPolicy = "auto",
    search_path: str | None = None,
    pool_size: int | None = None,
    sqlite_synchronous: str = "FULL",
    durable_commits: bool = True,
    desk_session_ttl: timedelta = SESSION_TTL,
    desk_scrypt_n: int = SCRYPT_N,
    erase_on_close: bool = False,
) -> Storage:
    """Load the key file (creating it, mode 0600, if absent), open the database with the
    `schema` policy (see open_database: by default SQLite upgrades itself and PostgreSQL must
    already be at head), and build each store once.

    `erase_on_close`: zero retention of cases (a case's content goes as it closes).

    People's data keys are in the key store (`key_store`, by default next to the key file, see
    keystore.py), opened (created) here too.

    Raises KeyFileError, SchemaOutOfDate, SchemaMismatch, DatabaseError or UnsupportedDatabase,
    each with one line an operator can act on. The key file is read first, so a key problem
    never leaves a half-opened database behind.
    """
    keyring, created = Keyring.load_or_create(key_file)
    people = keyring.attach(key_store or default_path(key_file))
    database = await open_database(url, schema=schema, search_path=search_path, pool_size=pool_size,
                                   sqlite_synchronous=sqlite_synchronous, durable_commits=durable_commits)
    if people.created and await _uses_people_keys(database):
        await database.close()
        people.close()
        for suffix in ("", "-wal", "-shm"):  # the empty store just made; the operator restores theirs
            Path(people.path + suffix).unlink(missing_ok=True)
        raise KeyFileError(
            f"{people.path}: no key store here, but the database holds values under people's data keys; "
            "restore the key store (or set TSUNAGU_KEY_STORE to where it is) before starting")
    return Storage(
        database=database,
        keyring=keyring,
        key_created=created,
        store=Store(database, keyring),
        cases=CaseStore(database, keyring, erase_on_close=erase_on_close),
        mailbox=WebMailbox(database, keyring),
        desk_users=DeskUsers(database, session_ttl=desk_session_ttl, scrypt_n=desk_scrypt_n),
        flow_versions=FlowVersionStore(database),
        demand=DemandStore(database),
        presence=Presence(database),
    )
