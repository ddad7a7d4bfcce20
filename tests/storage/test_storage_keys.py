"""The key file and the keyring: creation, refusal of unsafe files, rotation, encryption, pseudonyms."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from storage import KeyFileError, Keyring, StorageError, TamperedValue, UnknownKeyId


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _key_material(path: Path) -> list[str]:
    doc = json.loads(path.read_text())
    return [*doc["data_keys"].values(), doc["pseudonym_key"]]


def test_key_file_is_created_0600_and_then_loaded(tmp_path: Path) -> None:
    path = tmp_path / "tsunagu.key"
    old_umask = os.umask(0)  # even with a permissive umask
    try:
        keys, created = Keyring.load_or_create(path)
    finally:
        os.umask(old_umask)
    assert created and _mode(path) == 0o600
    again, created_again = Keyring.load_or_create(path)
    assert not created_again
    assert again.current_key_id == keys.current_key_id
    assert again.pseudonym("line", "U1") == keys.pseudonym("line", "U1")
    assert again.decrypt(keys.encrypt(b"x", aad=b"a"), aad=b"a") == b"x"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "tsunagu.key"
    Keyring.load_or_create(path)
    path.chmod(mode)
    with pytest.raises(KeyFileError) as caught:
        Keyring.load_or_create(path)
    message = str(caught.value)
    assert str(path) in message and f"{mode:04o}" in message and "chmod 600" in message
    assert "\n" not in message
    assert not [k for k in _key_material(path) if k in message]


@pytest.mark.parametrize("content", [
    b"", b"not json", b"[]", b'{"format": 1}',
    b'{"format": 1, "current": "k1", "data_keys": {"k1": "c2hvcnQ="}, "pseudonym_key": "c2hvcnQ="}',
    b'{"format": 2, "current": "k1", "data_keys": {}, "pseudonym_key": ""}',
], ids=["empty", "text", "list", "fields", "short-keys", "format"])
def test_malformed_key_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "tsunagu.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, content)
    os.close(fd)
    with pytest.raises(KeyFileError, match="malformed key file") as caught:
        Keyring.load_or_create(path)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == content  # never overwritten


def test_current_key_missing_from_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tsunagu.key"
    Keyring.load_or_create(path)
    doc = json.loads(path.read_text())
    doc["current"] = "k9-000000"
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyFileError, match="k9-000000") as caught:
        Keyring.load(path)
    assert not [k for k in _key_material(path) if k in str(caught.value)]


def test_key_file_that_cannot_be_read_or_created(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="not a regular file"):
        Keyring.load_or_create(tmp_path)  # a directory
    with pytest.raises(KeyFileError, match="cannot create"):
        Keyring.load_or_create(tmp_path / "missing-dir" / "tsunagu.key")
    assert issubclass(KeyFileError, StorageError)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of their mode")
def test_unreadable_key_file(tmp_path: Path) -> None:
    path = tmp_path / "tsunagu.key"
    Keyring.load_or_create(path)
    path.chmod(0o200)
    with pytest.raises(KeyFileError, match="cannot open"):
        Keyring.load_or_create(path)


def test_rotate_keeps_old_keys_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "tsunagu.key"
    first, _ = Keyring.load_or_create(path)
    old_token = first.encrypt(b"old", aad=b"row-1")
    second_id = Keyring.rotate(path)
    third_id = Keyring.rotate(path)
    assert second_id.startswith("k2-") and third_id.startswith("k3-")
    assert _mode(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tsunagu.key"]  # no temp files left
    latest = Keyring.load(path)
    assert latest.current_key_id == third_id
    assert latest.decrypt(old_token, aad=b"row-1") == b"old"
    new_token = latest.encrypt(b"new", aad=b"row-2")
    assert new_token.startswith(third_id + ":")
    with pytest.raises(UnknownKeyId):
        first.decrypt(new_token, aad=b"row-2")


def test_rotate_refuses_an_unsafe_file(tmp_path: Path) -> None:
    path = tmp_path / "tsunagu.key"
    Keyring.load_or_create(path)
    path.chmod(0o644)
    before = path.read_bytes()
    with pytest.raises(KeyFileError):
        Keyring.rotate(path)
    assert path.read_bytes() == before


def test_encryption_is_bound_to_its_associated_data() -> None:
    keys = Keyring.generate()
    token = keys.encrypt("相談内容".encode(), aad=b"inbox|line|e1|p")
    assert "相談内容".encode() not in token.encode()
    assert keys.encrypt(b"same", aad=b"a") != keys.encrypt(b"same", aad=b"a")  # fresh nonces
    assert keys.decrypt(token, aad=b"inbox|line|e1|p").decode() == "相談内容"
    with pytest.raises(TamperedValue):
        keys.decrypt(token, aad=b"inbox|line|e2|p")
    key_id, body = token.split(":")
    for bad in (f"{key_id}:{body[:-4]}AAAA", f"{key_id}:!!!", f"{key_id}:AAAA", "no-key-id"):
        with pytest.raises(TamperedValue):
            keys.decrypt(bad, aad=b"inbox|line|e1|p")
    with pytest.raises(UnknownKeyId):
        Keyring.generate().decrypt(token, aad=b"inbox|line|e1|p")


def test_pseudonyms_are_stable_per_key_and_channel() -> None:
    keys = Keyring.generate()
    p = keys.pseudonym("line", "U123")
    assert len(p) == 64 and int(p, 16) >= 0
    assert p == keys.pseudonym("line", "U123")
    assert p != keys.pseudonym("slack", "U123")
    assert p != keys.pseudonym("line", "U124")
    assert p != Keyring.generate().pseudonym("line", "U123")
    assert "U123" not in p


def test_repr_shows_no_key_material(tmp_path: Path) -> None:
    path = tmp_path / "tsunagu.key"
    keys, _ = Keyring.load_or_create(path)
    shown = repr(keys) + str(keys)
    assert keys.current_key_id in shown
    assert not [k for k in _key_material(path) if k in shown]
