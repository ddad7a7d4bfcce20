"""One caller's bad event never fails another caller's events in the same group commit (issue 12),
on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

import storage.store
from storage import InvalidEvent, NewEvent

T0 = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)


def _event(event_id: str, n: int) -> NewEvent:
    return NewEvent(channel="web", event_id=event_id, pseudonym=f"p{n}", payload=b"{}", received_at=T0)


async def _crowd(store, bad_ids: list[str]) -> tuple[list, list]:
    good = [store.accept_events([_event(f"good-{n}", n)]) for n in range(150)]
    bad = [store.accept_events([_event(i, n)]) for n, i in enumerate(bad_ids)]
    calls = [*good, *bad]
    # interleave, as concurrent requests arrive
    order = [calls[i] for i in sorted(range(len(calls)), key=lambda i: (i * 7919) % len(calls))]
    results = await asyncio.gather(*order, return_exceptions=True)
    by_call = dict(zip(map(id, order), results, strict=True))
    return [by_call[id(c)] for c in good], [by_call[id(c)] for c in bad]


@pytest.mark.parametrize("bad_id", ["E" * 129, "E\x00E", ""])
async def test_events_the_inbox_cannot_hold_fail_their_own_caller_only(store, bad_id):
    good, bad = await _crowd(store, [bad_id] * 30)
    assert all(isinstance(r, list) and len(r) == 1 for r in good), [r for r in good if not isinstance(r, list)][:1]
    assert all(isinstance(r, InvalidEvent) for r in bad)
    assert (await store.counts())["inbox_total"] == 150


async def test_a_row_the_database_refuses_in_a_shared_insert_fails_its_caller_only(store, backend, monkeypatch):
    """Past the checks (as if one were missing), PostgreSQL refuses a 129-character id inside the
    one INSERT shared by every waiting caller: each call is then written alone."""
    monkeypatch.setattr(storage.store, "_check", lambda event: None)
    good, bad = await _crowd(store, [f"{'E' * 128}{n}" for n in range(30)])
    assert all(isinstance(r, list) and len(r) == 1 for r in good)
    if backend.name == "postgresql":
        assert all(isinstance(r, Exception) for r in bad)
    assert (await store.counts())["inbox_total"] == 150 + (30 if backend.name == "sqlite" else 0)


async def test_silent_chats_are_found_on_both_databases(db, keyring):
    from datetime import timedelta

    from storage import WebMailbox

    box = WebMailbox(db, keyring)
    quiet, talker = "a" * 64, "b" * 64
    await box.append(quiet, b"{}", key="3f0c8a52-0000-4000-8000-000000000001", now=T0)
    await box.append(talker, b"{}", key="3f0c8a52-0000-4000-8000-000000000002", now=T0)
    await box.append(talker, b"{}", key=f"{talker[:24]}.c0001abcdef", now=T0)
    assert await box.silent(before=T0) == []
    assert await box.silent(before=T0 + timedelta(hours=1)) == [quiet]
