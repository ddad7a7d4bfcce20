"""Pseudonymous, encrypted storage: inbox, addresses, sessions and outbox on SQLite or PostgreSQL.

    storage = await open_storage("sqlite+aiosqlite:///./tsunagu.db", "./tsunagu.key")
    await storage.store.accept_events(...)      # and .cases, .mailbox, .desk_users, .flow_versions
    await storage.close()

bundle.py opens everything once; see store.py for what each call guarantees, keys.py for the key
file and encryption, writer.py for how concurrent writes share transactions (group commit),
db.py for the engine set-up and its schema policy, migrate.py for schema migrations, outbox.py
and codec.py for the outbox row and its messages. `close()` finishes queued writes first.
"""

from storage import erasure, migrate
from storage.audit import AuditEntry, AuditLog  # the audit trail (registers its tables)
from storage.bundle import Storage, open_storage
from storage.cases import CaseConflict, CaseStore  # the counselor desk's cases (registers its tables)
from storage.codec import PayloadError, decode_messages, encode_batches, encode_messages
from storage.db import Database, SchemaPolicy, open_database
from storage.demand import DemandStore  # anonymous unmet demand (registers its table)
from storage.desk_users import DeskUsers  # web desk accounts and sessions (registers its tables)
from storage.errors import (
    ConcurrentUpdate,
    DatabaseError,
    DecryptError,
    InvalidEvent,
    KeyFileError,
    StorageError,
    TamperedValue,
    UnknownKeyId,
    UnsupportedDatabase,
)
from storage.flow_versions import FlowVersionInfo, FlowVersionStore
from storage.keys import Keyring
from storage.migrate import SchemaMismatch, SchemaOutOfDate
from storage.presence import Presence  # counselors on duty (registers its table)
from storage.store import Store
from storage.values import InboxItem, NewEvent, OutboxItem, Outgoing, StoredSession
from storage.web_mailbox import MailItem, WebMailbox  # the web chat's mailbox (registers its table)

__all__ = [
    "AuditEntry",
    "AuditLog",
    "CaseConflict",
    "CaseStore",
    "ConcurrentUpdate",
    "InvalidEvent",
    "Database",
    "DatabaseError",
    "DeskUsers",
    "DecryptError",
    "DemandStore",
    "Presence",
    "FlowVersionInfo",
    "FlowVersionStore",
    "InboxItem",
    "KeyFileError",
    "Keyring",
    "MailItem",
    "NewEvent",
    "OutboxItem",
    "Outgoing",
    "PayloadError",
    "SchemaMismatch",
    "SchemaOutOfDate",
    "SchemaPolicy",
    "Storage",
    "StorageError",
    "Store",
    "StoredSession",
    "TamperedValue",
    "UnknownKeyId",
    "UnsupportedDatabase",
    "WebMailbox",
    "decode_messages",
    "encode_batches",
    "encode_messages",
    "erasure",
    "migrate",
    "open_database",
    "open_storage",
]
