"""The key store: one data key per person, kept apart from the database (crypto-shredding).

Each person's values (their inbox events, session, outbox rows, address, web chat lines, case
answers, messages and notes) are encrypted under a data key of their own. That key is wrapped
(encrypted) by the key file's current key and kept here, in a small SQLite file that is NOT the
database: erasing a person destroys their key, so a copy of the database taken before the erasure
no longer reads their values, as long as the key store it is opened with is the current one.

    people_keys(id TEXT PRIMARY KEY,      -- "p-<24 hex>", named in every value it encrypts
                pseudonym TEXT UNIQUE,    -- whose key; NULL once doomed (detached from the person)
                wrapped TEXT,             -- Keyring.encrypt(key, aad="person_key|<id>")
                created_at TEXT, doomed_at TEXT)

Erasure happens in two steps so that it holds whatever crashes: `doom` detaches the key from the
person before the database transaction that deletes their rows (a new value of that person gets a
new key), and `destroy_doomed` deletes it once that transaction committed (or, after a crash, on
the next periodic pass: a doomed key is never used again). Several processes on one machine share
the file (SQLite's locking, WAL); the file is created mode 0600.

The standard library's sqlite3 is used directly, synchronously: each call is one indexed lookup
on a local file, and a key is created once per person.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from storage.errors import KeyFileError


class Wrapper(Protocol):
    """What wraps the data keys: the key file's keyring (keys.py)."""

    @property
    def current_key_id(self) -> str: ...

    def encrypt(self, data: bytes, *, aad: bytes) -> str: ...

    def decrypt(self, token: str, *, aad: bytes) -> bytes: ...

PREFIX = "p-"  # ids of people's keys; the key file's ids start with "k"
_CACHE = 4096  # unwrapped keys kept in memory, by id (least recently used go first)
_KNOWN = 100_000  # pseudonyms remembered as having a key; past that the memory starts again

_SCHEMA = """
CREATE TABLE IF NOT EXISTS people_keys (
    id TEXT PRIMARY KEY,
    pseudonym TEXT UNIQUE,
    wrapped TEXT NOT NULL,
    created_at TEXT NOT NULL,
    doomed_at TEXT
)
"""


def _now() -> str:
    return datetime.now(UTC).isoformat()


class KeyStore:
    """People's data keys in a SQLite file, wrapped by `keyring` (the key file's keys)."""

    def __init__(self, path: str | os.PathLike[str], keyring: Wrapper) -> None:
        self.path = str(path)
        self._keyring = keyring
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._known: set[str] = set()  # people whose key this process made or read (see `known`)
        self.created = self.path == ":memory:" or _create_private(Path(self.path))
        try:
            self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                                         check_same_thread=False)
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")  # a key is durable before a value uses it
            self._conn.execute("PRAGMA secure_delete=ON")  # a destroyed key is overwritten, not freed
            self._conn.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise KeyFileError(f"{self.path}: cannot open the key store: {exc}") from None

    def __repr__(self) -> str:
        return f"KeyStore({self.path!r})"

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._cache.clear()

    # --- use ----------------------------------------------------------------------------------

    def key_for(self, pseudonym: str) -> tuple[str, bytes]:
        """The person's current data key (id, key), created if they have none."""
        with self._lock:
            row = self._conn.execute("SELECT id, wrapped FROM people_keys WHERE pseudonym = ?",
                                     (pseudonym,)).fetchone()
            if row is None:
                self._insert_new(pseudonym)
                row = self._conn.execute("SELECT id, wrapped FROM people_keys WHERE pseudonym = ?",
                                         (pseudonym,)).fetchone()
            self._seen(pseudonym)
            return row[0], self._unwrap(row[0], row[1])

    def create_many(self, pseudonyms: Collection[str]) -> None:
        """Data keys for these people, those who have none, in one transaction: one sync to disk
        for the lot (the webhook's group commit hands over every new person of a batch at once)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for pseudonym in pseudonyms:
                    self._insert_new(pseudonym)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            for pseudonym in pseudonyms:
                self._seen(pseudonym)

    def _insert_new(self, pseudonym: str) -> None:
        """A new data key for `pseudonym` (the caller holds the lock). Another process may create
        one at the same moment: the first stays, both use it."""
        key_id = PREFIX + secrets.token_hex(12)
        wrapped = self._keyring.encrypt(secrets.token_bytes(32), aad=_aad(key_id))
        self._conn.execute(
            "INSERT INTO people_keys (id, pseudonym, wrapped, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (pseudonym) DO NOTHING", (key_id, pseudonym, wrapped, _now()))

    def known(self, pseudonym: str) -> bool:
        """Whether this process has seen the person's key, without the lock or the file: a hint
        for the event loop (a key another process doomed since is made again by `key_for`)."""
        return pseudonym in self._known

    def _seen(self, pseudonym: str) -> None:
        if len(self._known) >= _KNOWN:
            self._known.clear()
        self._known.add(pseudonym)

    def has(self, pseudonym: str) -> bool:
        with self._lock:
            found = self._conn.execute("SELECT 1 FROM people_keys WHERE pseudonym = ?", (pseudonym,)).fetchone()
            return found is not None

    def key(self, key_id: str) -> bytes | None:
        """The data key `key_id`, or None if it was destroyed (or never existed here)."""
        with self._lock:
            cached = self._cache.get(key_id)
            if cached is not None:
                self._cache.move_to_end(key_id)
                return cached
            row = self._conn.execute("SELECT wrapped FROM people_keys WHERE id = ?", (key_id,)).fetchone()
            return None if row is None else self._unwrap(key_id, row[0])

    def _unwrap(self, key_id: str, wrapped: str) -> bytes:
        key = self._cache.get(key_id)
        if key is None:
            key = self._keyring.decrypt(wrapped, aad=_aad(key_id))
            self._cache[key_id] = key
            if len(self._cache) > _CACHE:
                self._cache.popitem(last=False)
        return key

    # --- erasure ------------------------------------------------------------------------------

    def doom(self, pseudonym: str) -> int:
        """Detach the person's key from them, to be destroyed by `destroy_doomed`; their next
        value gets a new key. Returns 1 if they had a key, else 0."""
        with self._lock:
            self._known.discard(pseudonym)
            cursor = self._conn.execute(
                "UPDATE people_keys SET pseudonym = NULL, doomed_at = ? WHERE pseudonym = ?",
                (_now(), pseudonym))
            return cursor.rowcount

    def people(self, *, created_before: datetime, after: str = "", limit: int = 500) -> list[str]:
        """Pseudonyms with a live key made before `created_before`, in order, after `after`."""
        with self._lock:
            return [r[0] for r in self._conn.execute(
                "SELECT pseudonym FROM people_keys WHERE pseudonym IS NOT NULL AND pseudonym > ? "
                "AND created_at < ? ORDER BY pseudonym LIMIT ?",
                (after, created_before.astimezone(UTC).isoformat(), limit)).fetchall()]

    def doom_many(self, pseudonyms: list[str]) -> dict[str, str]:
        """`doom` each; returns {pseudonym: key id} of the keys doomed (to `spare` if need be)."""
        doomed = {}
        with self._lock:
            for p in pseudonyms:
                self._known.discard(p)
                row = self._conn.execute("SELECT id FROM people_keys WHERE pseudonym = ?", (p,)).fetchone()
                if row is not None:
                    self._conn.execute("UPDATE people_keys SET pseudonym = NULL, doomed_at = ? WHERE id = ?",
                                       (_now(), row[0]))
                    doomed[p] = row[0]
        return doomed

    def spare(self, pseudonym: str, key_id: str) -> None:
        """Undo `doom`: the person turned out to have a value under the key after all (a write
        raced the retention pass). If they have a new key meanwhile, the old stays doomed."""
        with self._lock:
            self._conn.execute(
                "UPDATE people_keys SET pseudonym = ?, doomed_at = NULL WHERE id = ? AND NOT EXISTS "
                "(SELECT 1 FROM people_keys WHERE pseudonym = ?)", (pseudonym, key_id, pseudonym))

    def destroy_doomed(self) -> int:
        """Destroy every doomed key (and forget it in this process); returns how many."""
        with self._lock:
            ids = [r[0] for r in self._conn.execute(
                "SELECT id FROM people_keys WHERE doomed_at IS NOT NULL").fetchall()]
            if not ids:
                return 0
            self._conn.execute("DELETE FROM people_keys WHERE doomed_at IS NOT NULL")
            for key_id in ids:
                self._cache.pop(key_id, None)
            # Overwrite the freed pages and fold the WAL in, so the wrapped keys leave the file.
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return len(ids)

    # --- the key file's rotation ----------------------------------------------------------------

    def rewrap(self) -> int:
        """Wrap every data key under the key file's current key; returns how many changed.

        Run after `tsunagu db rotate-key` once every server runs with the new key file, so that
        an old key of the key file can one day be retired."""
        current = self._keyring.current_key_id
        changed = 0
        with self._lock:
            rows = self._conn.execute("SELECT id, wrapped FROM people_keys").fetchall()
            for key_id, wrapped in rows:
                if wrapped.partition(":")[0] == current:
                    continue
                key = self._keyring.decrypt(wrapped, aad=_aad(key_id))
                self._conn.execute("UPDATE people_keys SET wrapped = ? WHERE id = ?",
                                   (self._keyring.encrypt(key, aad=_aad(key_id)), key_id))
                changed += 1
        return changed

    def counts(self) -> dict[str, int]:
        with self._lock:
            live, doomed = self._conn.execute(
                "SELECT COUNT(*) - COUNT(doomed_at), COUNT(doomed_at) FROM people_keys").fetchone()
        return {"people_keys": int(live), "people_keys_doomed": int(doomed)}


def _aad(key_id: str) -> bytes:
    return f"person_key|{key_id}".encode()


def _create_private(path: Path) -> bool:
    """Create the file with mode 0600 if it does not exist (SQLite would use the umask); True if
    it was created now. A missing folder is made too (mode 0700)."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot create the key store: {exc.strerror or exc}") from None
    os.close(fd)
    return True


def default_path(key_file: str | os.PathLike[str]) -> Path:
    """Where the key store lives unless set: next to the key file (`tsunagu.key` ->
    `tsunagu.keystore`)."""
    return Path(key_file).with_suffix(".keystore")
