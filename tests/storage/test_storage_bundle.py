"""open_storage: the key file and the database opened once, each store built once on them."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage import KeyFileError, NewEvent, SchemaOutOfDate, migrate, open_storage
from tests.backends import Backend

T0 = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)


async def test_open_storage_creates_the_key_then_reads_what_it_wrote(backend: Backend, tmp_path: Path) -> None:
    key = tmp_path / "tsunagu.key"
    await migrate.upgrade(backend.url, search_path=backend.search_path)
    first = await open_storage(backend.url, key, search_path=backend.search_path)
    try:
        assert first.key_created and os.stat(key).st_mode & 0o777 == 0o600
        await first.store.accept_events([NewEvent("line", "e1", "p1", b"payload", T0)])
        seq = await first.mailbox.append("p1", b"line", key="k1", now=T0)
        await first.flow_versions.publish(flow_id="intake", version="v1", source="x", now=T0)
        await first.desk_users.add("alpha", "Aki", "long enough password", now=T0)
    finally:
        await first.close()

    again = await open_storage(backend.url, key, search_path=backend.search_path)
    try:
        assert not again.key_created and again.keyring.key_ids == first.keyring.key_ids
        assert [e.payload for e in await again.store.pending_events()] == [b"payload"]
        assert [m.seq for m in await again.mailbox.since("p1", 0)] == [seq]
        assert await again.flow_versions.current() == {"intake": "v1"}
        assert [u.name for u in await again.desk_users.users()] == ["Aki"]
        assert await again.cases.open_cards("alpha") == []
        with pytest.raises(AttributeError):
            again.store = first.store  # type: ignore[misc]  # the bundle is frozen
    finally:
        await again.close()


async def test_open_storage_applies_the_schema_policy(backend: Backend, tmp_path: Path) -> None:
    with pytest.raises(SchemaOutOfDate):
        await open_storage(backend.url, tmp_path / "k", schema="check", search_path=backend.search_path)
    opened = await open_storage(backend.url, tmp_path / "k", schema="upgrade", search_path=backend.search_path)
    await opened.close()
    assert (await migrate.status(backend.url, search_path=backend.search_path)).up_to_date


async def test_an_unsafe_key_file_is_refused_before_the_database_is_touched(tmp_path: Path) -> None:
    key = tmp_path / "tsunagu.key"
    key.write_text("{}")
    key.chmod(0o644)
    with pytest.raises(KeyFileError, match="accessible by group or others"):
        await open_storage(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", key)
    assert not (tmp_path / "db.sqlite").exists()


async def test_a_missing_key_store_is_refused_rather_than_replaced(backend: Backend, tmp_path: Path) -> None:
    """Started without its key store (a lost file, a wrong TSUNAGU_KEY_STORE), the service would
    find every person's values unreadable: it says so in one line instead."""
    key = tmp_path / "tsunagu.key"
    await migrate.upgrade(backend.url, search_path=backend.search_path)
    first = await open_storage(backend.url, key, search_path=backend.search_path)
    await first.store.remember_address(channel="line", pseudonym="p1", platform_user_id="U1", now=T0)
    await first.close()
    with pytest.raises(KeyFileError) as caught:
        await open_storage(backend.url, key, key_store=tmp_path / "elsewhere.keystore",
                           search_path=backend.search_path)
    assert "no key store here" in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "elsewhere.keystore").exists()
    again = await open_storage(backend.url, key, search_path=backend.search_path)
    try:
        assert await again.store.address_of("p1") == ("line", "U1")
    finally:
        await again.close()
