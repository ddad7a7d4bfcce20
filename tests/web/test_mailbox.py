"""The web mailbox on SQLite and PostgreSQL: numbered per person without gaps, keyed, encrypted."""

from __future__ import annotations

from datetime import UTC, datetime

from storage import WebMailbox

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


async def test_lines_are_numbered_per_person_and_read_after_a_seq(db, keyring):
    box = WebMailbox(db, keyring)
    assert await box.append("p1", b"one", key="k1", now=NOW) == 1
    assert await box.append("p2", b"other", key="k2", now=NOW) == 1
    assert await box.append("p1", b"two", key="k3", now=NOW) == 2
    assert await box.append("p1", b"three", key="k4", now=NOW) == 3
    assert [(i.seq, i.payload) for i in await box.since("p1", 1)] == [(2, b"two"), (3, b"three")]
    assert [i.payload for i in await box.since("p1", 0, limit=1)] == [b"one"]
    assert await box.last_seq("p1") == 3 and await box.last_seq("nobody") == 0


async def test_an_append_retried_with_the_same_key_is_stored_once(db, keyring):
    box = WebMailbox(db, keyring)
    assert await box.append("p1", b"hello", key="retry-1", now=NOW) == 1
    assert await box.append("p1", b"hello", key="retry-1", now=NOW) == 1
    assert len(await box.since("p1", 0)) == 1


async def test_payloads_are_encrypted_and_forget_deletes_them(backend, db, keyring):
    box = WebMailbox(db, keyring)
    await box.append("p1", "誰にも言えないこと".encode(), key="k1", now=NOW)
    assert "誰にも言えないこと".encode() not in await backend.raw_bytes()
    assert await box.forget("p1") == 1
    assert await box.since("p1", 0) == []


async def test_purge_deletes_only_lines_older_than_the_cut(db, keyring):
    from datetime import timedelta

    box = WebMailbox(db, keyring)
    await box.append("p1", b"old", key="k1", now=NOW - timedelta(days=40))
    await box.append("p1", b"new", key="k2", now=NOW)
    assert await box.purge(before=NOW - timedelta(days=30)) == 1
    assert [(i.seq, i.payload) for i in await box.since("p1", 0)] == [(2, b"new")]
