"""The key store: people's data keys apart from the database (crypto-shredding, issue 11)."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from storage import DecryptError, Keyring
from storage.errors import ErasedValue
from storage.keystore import KeyStore, default_path


def _keyring(tmp_path: Path) -> tuple[Keyring, Path]:
    key_file = tmp_path / "tsunagu.key"
    keyring, _ = Keyring.load_or_create(key_file)
    keyring.attach(default_path(key_file))
    return keyring, key_file


def test_a_persons_values_use_their_own_key_others_the_key_files(tmp_path: Path) -> None:
    keyring, key_file = _keyring(tmp_path)
    mine = keyring.encrypt(b"secret", aad=b"a", person="p1")
    theirs = keyring.encrypt(b"other", aad=b"a", person="p2")
    nobodys = keyring.encrypt(b"plain", aad=b"a")
    assert mine.startswith("p-") and theirs.startswith("p-")
    assert mine.partition(":")[0] != theirs.partition(":")[0]
    assert nobodys.partition(":")[0] == keyring.current_key_id
    assert keyring.encrypt(b"again", aad=b"a", person="p1").partition(":")[0] == mine.partition(":")[0]
    assert keyring.decrypt(mine, aad=b"a") == b"secret"
    assert stat.S_IMODE(os.stat(default_path(key_file)).st_mode) == 0o600
    raw = b"".join(Path(str(default_path(key_file)) + s).read_bytes() for s in ("", "-wal")
                   if Path(str(default_path(key_file)) + s).exists())
    assert b"p1" in raw  # pseudonyms are HMACs; the keys themselves are wrapped
    assert keyring.people is not None
    key = keyring.people.key(mine.partition(":")[0])
    assert key is not None and key not in raw


def test_erasure_destroys_the_key_and_a_new_value_gets_a_new_one(tmp_path: Path) -> None:
    keyring, key_file = _keyring(tmp_path)
    old = keyring.encrypt(b"secret", aad=b"a", person="p1")
    keyring.forget("p1")
    assert keyring.decrypt(old, aad=b"a") == b"secret"  # doomed, not yet destroyed
    new = keyring.encrypt(b"after", aad=b"a", person="p1")
    assert new.partition(":")[0] != old.partition(":")[0]
    assert keyring.destroy_doomed() == 1
    with pytest.raises(ErasedValue):
        keyring.decrypt(old, aad=b"a")
    assert keyring.decrypt(new, aad=b"a") == b"after"
    # Another process (a fresh keyring on the same files) reads the same, and not the erased.
    other = Keyring.load(key_file)
    other.attach(default_path(key_file))
    assert other.decrypt(new, aad=b"a") == b"after"
    with pytest.raises(DecryptError):
        other.decrypt(old, aad=b"a")


def test_two_processes_creating_a_key_at_once_agree(tmp_path: Path) -> None:
    first, key_file = _keyring(tmp_path)
    second = Keyring.load(key_file)
    second.attach(default_path(key_file))
    a = first.encrypt(b"x", aad=b"a", person="p1")
    b = second.encrypt(b"y", aad=b"a", person="p1")
    assert a.partition(":")[0] == b.partition(":")[0]
    assert first.decrypt(b, aad=b"a") == b"y" and second.decrypt(a, aad=b"a") == b"x"


def test_rotation_of_the_key_file_keeps_people_keys_readable_and_rewraps_them(tmp_path: Path) -> None:
    keyring, key_file = _keyring(tmp_path)
    token = keyring.encrypt(b"secret", aad=b"a", person="p1")
    old_id = keyring.current_key_id
    new_id = Keyring.rotate(key_file)
    rotated = Keyring.load(key_file)
    store = rotated.attach(default_path(key_file))
    assert rotated.decrypt(token, aad=b"a") == b"secret"  # still wrapped by the old key
    assert store.rewrap() == 1 and store.rewrap() == 0
    wrapped = sqlite3.connect(default_path(key_file)).execute("SELECT wrapped FROM people_keys").fetchone()[0]
    assert wrapped.startswith(new_id + ":") and not wrapped.startswith(old_id)
    fresh = Keyring.load(key_file)
    fresh.attach(default_path(key_file))
    assert fresh.decrypt(token, aad=b"a") == b"secret"


def test_values_written_before_the_key_store_still_read(tmp_path: Path) -> None:
    key_file = tmp_path / "tsunagu.key"
    before, _ = Keyring.load_or_create(key_file)
    old = before.encrypt(b"old", aad=b"a")  # no key store then: under the key file's key
    after = Keyring.load(key_file)
    after.attach(default_path(key_file))
    assert after.decrypt(old, aad=b"a") == b"old"


def test_a_key_store_read_with_another_key_file_says_so(tmp_path: Path) -> None:
    keyring, key_file = _keyring(tmp_path)
    token = keyring.encrypt(b"secret", aad=b"a", person="p1")
    stranger = Keyring.generate()
    stranger.attach(default_path(key_file))
    with pytest.raises(DecryptError):
        stranger.decrypt(token, aad=b"a")


def test_key_store_repr_and_counts_show_no_key(tmp_path: Path) -> None:
    keyring, key_file = _keyring(tmp_path)
    keyring.encrypt(b"x", aad=b"a", person="p1")
    keyring.encrypt(b"x", aad=b"a", person="p2")
    keyring.forget("p2")
    store = keyring.people
    assert isinstance(store, KeyStore)
    assert store.counts() == {"people_keys": 1, "people_keys_doomed": 1}
    assert "p-" not in repr(store)


def test_a_doomed_key_is_spared_if_a_value_raced_the_pass_unless_a_new_key_exists(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    keyring, _ = _keyring(tmp_path)
    token = keyring.encrypt(b"x", aad=b"a", person="p1")
    keyring.encrypt(b"y", aad=b"a", person="p2")
    store = keyring.people
    assert store is not None
    assert store.people(created_before=datetime.now(UTC) + timedelta(seconds=1)) == ["p1", "p2"]
    assert store.people(created_before=datetime.now(UTC) - timedelta(hours=1)) == []  # the grace
    doomed = store.doom_many(["p1", "p2"])
    store.spare("p1", doomed["p1"])
    keyring.encrypt(b"z", aad=b"a", person="p2")  # p2 has a new key meanwhile: the old stays doomed
    store.spare("p2", doomed["p2"])
    assert store.destroy_doomed() == 1
    assert keyring.decrypt(token, aad=b"a") == b"x"


async def test_new_peoples_keys_made_at_once_share_one_write(tmp_path: Path) -> None:
    """The webhook benchmark fell from 945 to 487 events/s when every new person's key was written
    (and synced) alone: calls made while a write is under way now share the next one."""
    import asyncio

    keyring = Keyring.generate()
    store = keyring.attach(tmp_path / "k.keystore")
    writes: list[int] = []
    create_many = store.create_many

    def counted(people):  # type: ignore[no-untyped-def]
        people = list(people)
        writes.append(len(people))
        create_many(people)

    store.create_many = counted  # type: ignore[method-assign]
    await asyncio.gather(*(keyring.prepare([f"person-{n}", None]) for n in range(200)))
    assert sum(writes) == 200 and len(writes) < 20, writes
    assert all(store.has(f"person-{n}") for n in range(200))
    await keyring.prepare(["person-1"])  # nothing new: no write
    assert sum(writes) == 200
    store.close()


async def test_prepare_keeps_a_key_another_process_made_and_remakes_a_doomed_one(tmp_path: Path) -> None:
    """The event loop asks only this process's memory; the thread's INSERT keeps existing keys."""
    path = tmp_path / "k.keystore"
    keyring = Keyring.generate()
    other = keyring.attach(path)
    made_elsewhere = other.key_for("person-a")
    here = keyring.attach(path)  # as another process would open it: it has seen nobody yet
    assert not here.known("person-a")
    await keyring.prepare(["person-a"])
    assert here.key_for("person-a") == made_elsewhere and here.known("person-a")
    assert here.doom("person-a") == 1 and not here.known("person-a")
    await keyring.prepare(["person-a"])
    assert here.key_for("person-a")[0] != made_elsewhere[0]
    here.close()
    other.close()
