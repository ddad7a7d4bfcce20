"""Keys: AES-GCM data keys by id (so they rotate) and one HMAC key for pseudonyms.

The key file is JSON, mode 0600:

    {"format": 1, "current": "k2-5e0c1a",
     "data_keys": {"k1-9f3b07": "<urlsafe b64 of 32 bytes>", "k2-5e0c1a": "..."},
     "pseudonym_key": "<urlsafe b64 of 32 bytes>"}

Rotation adds a data key and makes it current; old keys stay so old rows still decrypt. The
pseudonym key never rotates: a new one would turn every person into a stranger.

An encrypted value is the text `"<key id>:" + urlsafe_b64(nonce + ciphertext)`. Every caller passes
associated data naming the row and purpose, so a ciphertext copied into another row fails to decrypt.

A person's values are encrypted under their own data key when the keyring has a key store
(keystore.py, `attach`) and the caller names the person (`encrypt(..., person=pseudonym)`): the
key id is then the person's key's (`p-…`), and erasing the person destroys it. Values written
before there was a key store keep their key file ids and still decrypt.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.errors import ErasedValue, KeyFileError, TamperedValue, UnknownKeyId
from storage.keystore import PREFIX, KeyStore

_FORMAT = 1
_NONCE = 12
_KEY_BYTES = 32


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii"))


class Keyring:
    """The data keys and the pseudonym key, in memory. Never printed: its repr shows key ids only."""

    def __init__(self, *, data_keys: Mapping[str, bytes], current: str, pseudonym_key: bytes) -> None:
        if current not in data_keys:
            raise KeyFileError(f"current key id {current!r} is not among the data keys")
        for key_id, key in data_keys.items():
            if not key_id or ":" in key_id or "|" in key_id or key_id.startswith(PREFIX) \
                    or len(key) != _KEY_BYTES:
                raise KeyFileError(
                    f"data key {key_id!r} must be {_KEY_BYTES} bytes, its id without ':' or '|'")
        if len(pseudonym_key) < _KEY_BYTES:
            raise KeyFileError(f"pseudonym key must be at least {_KEY_BYTES} bytes")
        self._keys = dict(data_keys)
        self._aead = {key_id: AESGCM(key) for key_id, key in self._keys.items()}
        self._current = current
        self._pseudonym_key = pseudonym_key
        self._people: KeyStore | None = None
        # New people's data keys waiting for the next write, and the task writing them.
        self._making: tuple[set[str], asyncio.Future[None]] | None = None
        self._maker: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"Keyring(current={self._current!r}, key_ids={sorted(self._keys)!r})"

    @property
    def current_key_id(self) -> str:
        return self._current

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    @property
    def people(self) -> KeyStore | None:
        """The key store of people's data keys, if attached."""
        return self._people

    def attach(self, path: str | os.PathLike[str]) -> KeyStore:
        """Open (or create) the key store at `path`: from now on a value given a `person` is
        encrypted under that person's data key. Returns the store (close it when done)."""
        self._people = KeyStore(path, self)
        return self._people

    async def prepare(self, people: Iterable[str | None]) -> None:
        """Make the data keys these people lack, in a thread: a new key is written durably (an
        fsync), which a server's event loop should not wait for (the web chat, a webhook). Calls
        made while keys are being written share the next write (one fsync for many people, as the
        inbox's group commit does)."""
        if self._people is None:
            return
        store = self._people
        # Who this process has not seen with a key goes to the thread: its INSERT keeps a key that
        # exists, and the event loop never waits for the store's lock (held through a write's sync).
        missing = {p for p in people if p and not store.known(p)}
        if not missing:
            return
        loop = asyncio.get_running_loop()
        if self._making is None or self._making[1].get_loop() is not loop:
            self._making = (set(), loop.create_future())
        batch, done = self._making
        batch.update(missing)
        if self._maker is None or self._maker.done() or self._maker.get_loop() is not loop:
            self._maker = loop.create_task(self._make_keys(store))
        await asyncio.shield(done)

    async def _make_keys(self, store: KeyStore) -> None:
        while self._making is not None:
            batch, done = self._making
            self._making = None
            try:
                await asyncio.to_thread(store.create_many, sorted(batch))
            except Exception as exc:
                done.set_exception(exc)
            else:
                done.set_result(None)

    def forget(self, pseudonym: str) -> None:
        """Erasure, first step: the person's data key is detached (doomed); their next value
        gets a new key. `destroy_doomed` (after the erasure committed) destroys it."""
        if self._people is not None:
            self._people.doom(pseudonym)

    def destroy_doomed(self) -> int:
        return 0 if self._people is None else self._people.destroy_doomed()

    # --- creation and files -------------------------------------------------------------------

    @classmethod
    def generate(cls) -> Keyring:
        """A fresh keyring in memory (tests, and the first start)."""
        key_id = _new_key_id(1)
        return cls(data_keys={key_id: AESGCM.generate_key(bit_length=256)}, current=key_id,
                   pseudonym_key=secrets.token_bytes(_KEY_BYTES))

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str]) -> tuple[Keyring, bool]:
        """Load the key file, or create it (mode 0600) if absent. Returns (keyring, created)."""
        path = Path(path)
        keyring = cls.generate()
        try:
            _write_new(path, keyring._to_json())
        except FileExistsError:
            return cls.load(path), False
        except OSError as exc:
            raise KeyFileError(f"{path}: cannot create key file: {exc.strerror or exc}") from None
        return keyring, True

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Keyring:
        """Load an existing key file, refusing one that others can read or that is malformed."""
        path = Path(path)
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise KeyFileError(f"{path}: cannot open key file: {exc.strerror or exc}") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise KeyFileError(f"{path}: key file is not a regular file")
            mode = stat.S_IMODE(info.st_mode)
            if mode & 0o077:
                raise KeyFileError(
                    f"{path}: key file is accessible by group or others (mode {mode:04o}); "
                    f"run: chmod 600 {path}"
                )
            with os.fdopen(fd, "rb", closefd=False) as handle:
                raw = handle.read()
        except OSError as exc:
            raise KeyFileError(f"{path}: cannot read key file: {exc.strerror or exc}") from None
        finally:
            os.close(fd)
        return cls._from_json(raw, path=path)

    @classmethod
    def rotate(cls, path: str | os.PathLike[str]) -> str:
        """Add a new data key to the key file and make it current; return its id.

        Old keys are kept. The file is replaced atomically, so a crash leaves the old or the new
        file, never half of one. Running processes keep their keys until they reload the file.
        """
        path = Path(path)
        old = cls.load(path)
        numbers = [int(n) for n in (k[1:].split("-")[0] for k in old._keys) if n.isdigit()]
        new_id = _new_key_id(max(numbers, default=0) + 1)
        keys = dict(old._keys)
        keys[new_id] = AESGCM.generate_key(bit_length=256)
        new = cls(data_keys=keys, current=new_id, pseudonym_key=old._pseudonym_key)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            _write_new(tmp, new._to_json())
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise KeyFileError(f"{path}: cannot rewrite key file: {exc.strerror or exc}") from None
        return new_id

    def _to_json(self) -> bytes:
        doc = {
            "format": _FORMAT,
            "current": self._current,
            "data_keys": {k: _b64e(v) for k, v in self._keys.items()},
            "pseudonym_key": _b64e(self._pseudonym_key),
        }
        return (json.dumps(doc, indent=2) + "\n").encode("ascii")

    @classmethod
    def _from_json(cls, raw: bytes, *, path: Path) -> Keyring:
        try:
            doc = json.loads(raw)
            if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
                raise ValueError("unknown format")
            keys = {str(k): _b64d(v) for k, v in dict(doc["data_keys"]).items()}
            return cls(data_keys=keys, current=str(doc["current"]),
                       pseudonym_key=_b64d(doc["pseudonym_key"]))
        except KeyFileError as exc:
            raise KeyFileError(f"{path}: malformed key file: {exc}") from None
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
            # Deliberately no detail: a JSON error message can quote the file's bytes.
            raise KeyFileError(
                f"{path}: malformed key file (expected JSON with format, current, data_keys, "
                "pseudonym_key)"
            ) from None

    # --- use ----------------------------------------------------------------------------------

    def pseudonym(self, channel: str, platform_user_id: str) -> str:
        """The stable, unlinkable name of a person: hex HMAC-SHA256 of "channel:platform id"."""
        message = f"{channel}:{platform_user_id}".encode()
        return hmac.new(self._pseudonym_key, message, hashlib.sha256).hexdigest()

    def encrypt(self, data: bytes, *, aad: bytes, person: str | None = None) -> str:
        """Encrypt under the current key, or the data key of `person` if a key store is attached;
        `aad` binds the value to its row and purpose."""
        nonce = secrets.token_bytes(_NONCE)
        if person and self._people is not None:
            key_id, key = self._people.key_for(person)
            sealed = AESGCM(key).encrypt(nonce, bytes(data), aad)
            return f"{key_id}:{_b64e(nonce + sealed)}"
        sealed = self._aead[self._current].encrypt(nonce, bytes(data), aad)
        return f"{self._current}:{_b64e(nonce + sealed)}"

    def decrypt(self, token: str, *, aad: bytes) -> bytes:
        """Decrypt a value made by `encrypt` under any key this keyring still holds."""
        key_id, sep, body = token.partition(":")
        if not sep:
            raise TamperedValue("stored value is not an encrypted token")
        if key_id.startswith(PREFIX):
            key = self._people.key(key_id) if self._people is not None else None
            if key is None:
                raise ErasedValue("stored value belongs to a person whose data key was destroyed "
                                  "(erased), or the key store is not the one it was written with")
            aead = AESGCM(key)
        else:
            found = self._aead.get(key_id)
            if found is None:
                raise UnknownKeyId(f"stored value uses key id {key_id!r}, which the key file does not hold")
            aead = found
        try:
            blob = _b64d(body)
        except (ValueError, binascii.Error):
            raise TamperedValue("stored value is not valid base64") from None
        if len(blob) < _NONCE + 16:
            raise TamperedValue("stored value is too short")
        try:
            return aead.decrypt(blob[:_NONCE], blob[_NONCE:], aad)
        except InvalidTag:
            raise TamperedValue("stored value failed authentication (altered or moved)") from None


def _new_key_id(number: int) -> str:
    """`k<n>-<random>`: the number orders rotations; the random part keeps key ids of different
    key files apart, so a value read with the wrong key file says "unknown key", not "tampered"."""
    return f"k{number}-{secrets.token_hex(3)}"


def _write_new(path: Path, content: bytes) -> None:
    """Create `path` exclusively with mode 0600 and write it durably."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask can only remove bits, but be explicit
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)
