"""The storage package's exceptions: one root, typed subclasses for the failures callers expect."""

from __future__ import annotations


class StorageError(Exception):
    """Root of everything `storage` raises on purpose."""


class InvalidEvent(StorageError, ValueError):
    """An event that cannot be stored as given (an id longer than its column, a NUL character).

    Raised to that caller only, before anything is written: other callers' events in the same
    group commit are stored as usual."""


class ConcurrentUpdate(StorageError):
    """Someone else changed (or created) the session since it was loaded; reload and retry."""


class KeyFileError(StorageError):
    """The key file is missing, unsafe (group/world readable), unreadable or malformed.

    The message names the path and what is wrong, never any key material.
    """


class DecryptError(StorageError):
    """A stored value could not be decrypted. The message never carries plaintext or key bytes."""


class UnknownKeyId(DecryptError):
    """The value was encrypted under a key id the key file no longer holds."""


class ErasedValue(DecryptError):
    """The value was encrypted under a person's data key that is no longer in the key store:
    the person erased their data (or the key store is not the one the value was written with)."""


class TamperedValue(DecryptError):
    """Authentication failed: the ciphertext was altered or moved to another row or purpose."""


class UnsupportedDatabase(StorageError):
    """The database URL names a backend other than SQLite or PostgreSQL."""


class DatabaseError(StorageError):
    """The database could not be opened, or refused a schema change (a missing directory, a wrong
    password, no permission to create tables). The message is the driver's first line, which
    names objects and users but never row values: statements run with hidden parameters."""

    @classmethod
    def of(cls, doing: str, exc: BaseException) -> DatabaseError:
        cause = getattr(exc, "orig", None) or exc
        first = (str(cause).strip().splitlines() or [""])[0][:200]
        return cls(f"{doing}: {type(cause).__name__}{': ' + first if first else ''}")
