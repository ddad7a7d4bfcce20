"""Pseudonymous, encrypted storage: inbox, addresses, sessions and outbox on SQLite or PostgreSQL.

    keyring, created = Keyring.load_or_create(path)
    db = await open_database("sqlite+aiosqlite:///./tsunagu.db")
    store = Store(db, keyring)

See store.py for what each call guarantees, keys.py for the key file and encryption, writer.py
for how concurrent writes share transactions (group commit), db.py for the engine set-up.
Make one Store per Database and share it; `await db.close()` finishes queued writes first.
"""

from storage.cases import CaseConflict, CaseStore  # the counselor desk's cases (registers its tables)
from storage.db import Database, open_database
from storage.desk_users import DeskUsers  # web desk accounts and sessions (registers its tables)
from storage.errors import (
    ConcurrentUpdate,
    DecryptError,
    KeyFileError,
    StorageError,
    TamperedValue,
    UnknownKeyId,
    UnsupportedDatabase,
)
from storage.flow_versions import FlowVersionInfo, FlowVersionStore
from storage.keys import Keyring
from storage.store import Store
from storage.values import InboxItem, NewEvent, OutboxItem, Outgoing, StoredSession
from storage.web_mailbox import MailItem, WebMailbox  # the web chat's mailbox (registers its table)

__all__ = [
    "CaseConflict",
    "CaseStore",
    "ConcurrentUpdate",
    "Database",
    "DeskUsers",
    "DecryptError",
    "FlowVersionInfo",
    "FlowVersionStore",
    "InboxItem",
    "KeyFileError",
    "Keyring",
    "MailItem",
    "NewEvent",
    "OutboxItem",
    "Outgoing",
    "StorageError",
    "Store",
    "StoredSession",
    "TamperedValue",
    "UnknownKeyId",
    "UnsupportedDatabase",
    "WebMailbox",
    "open_database",
]
