"""The Store contract, run on SQLite and PostgreSQL with the same bodies (see conftest.py)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from storage import (
    ConcurrentUpdate,
    Keyring,
    NewEvent,
    Outgoing,
    Store,
    TamperedValue,
    UnknownKeyId,
)

LEASE = timedelta(seconds=30)  # a sender's hold on the rows it claims
T0 = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)
JST = timezone(timedelta(hours=9))


def event(event_id: str, *, pseudonym: str | None = "p-alice", text: str = "hello",
          at: datetime = T0, channel: str = "line") -> NewEvent:
    body = {"webhookEventId": event_id, "message": {"text": text}}
    return NewEvent(channel=channel, event_id=event_id, pseudonym=pseudonym,
                    payload=json.dumps(body).encode(), received_at=at)


def msg(text: str, *, token: str | None = None, expires: datetime | None = None) -> Outgoing:
    return Outgoing(channel="line", payload=text.encode(), reply_token=token,
                    reply_token_expires_at=expires)


# --- inbox --------------------------------------------------------------------------------------


async def test_duplicates_are_skipped_within_a_batch_and_across_calls(store: Store) -> None:
    first = await store.accept_events([event("e1"), event("e2"), event("e1", text="again")])
    assert [i.event_id for i in first] == ["e1", "e2"]
    assert first[0].payload == event("e1").payload  # the first copy is kept

    second = await store.accept_events([event("e2"), event("e3"), event("e1")])
    assert [i.event_id for i in second] == ["e3"]

    # The same id on another channel is another event.
    third = await store.accept_events([event("e1", channel="slack")])
    assert [(i.channel, i.event_id) for i in third] == [("slack", "e1")]
    assert (await store.counts())["inbox_pending"] == 4


async def test_events_keep_input_order_and_pending_lists_them_oldest_first(store: Store) -> None:
    ids = [f"ev-{n:02d}" for n in (5, 3, 9, 1)]
    accepted = await store.accept_events([event(i, pseudonym=f"p{n}") for n, i in enumerate(ids)])
    assert [i.event_id for i in accepted] == ids
    assert [i.id for i in accepted] == sorted(i.id for i in accepted)

    more = await store.accept_events([event("ev-00", pseudonym=None)])
    pending = await store.pending_events()
    assert [i.event_id for i in pending] == ids + ["ev-00"]
    assert pending[-1].pseudonym is None
    assert pending[0].payload == event(ids[0]).payload
    assert all(i.received_at == T0 and i.received_at.tzinfo is not None for i in pending)

    await store.mark_event_done(accepted[1].id, now=T0)
    await store.mark_event_failed(more[0].id, now=T0, error="FlowError")
    assert [i.event_id for i in await store.pending_events()] == [ids[0], ids[2], ids[3]]
    assert [i.event_id for i in await store.pending_events(limit=2)] == [ids[0], ids[2]]
    counts = await store.counts()
    assert counts["inbox_pending"] == 3 and counts["inbox_failed"] == 1


async def test_empty_batch_is_a_no_op(store: Store) -> None:
    assert await store.accept_events([]) == []


async def test_times_come_back_aware_utc_and_naive_ones_are_refused(store: Store) -> None:
    local = datetime(2026, 4, 1, 12, 30, tzinfo=JST)
    [item] = await store.accept_events([event("e1", at=local)])
    [again] = await store.pending_events()
    assert again.received_at == local and again.received_at.utcoffset() == timedelta(0)
    assert item.received_at == local
    with pytest.raises(ValueError, match="naive"):
        await store.accept_events([event("e2", at=datetime(2026, 4, 1, 12, 30))])
    assert [i.event_id for i in await store.pending_events()] == ["e1"]


# --- sessions and commit_turn ---------------------------------------------------------------------


async def test_session_insert_update_delete(store: Store) -> None:
    assert await store.load_session("p-alice") is None
    wake = T0 + timedelta(minutes=30)
    v1 = await store.commit_turn(pseudonym="p-alice", expected_version=None,
                                 state={"step": "topic", "answers": {"名前": "なし"}}, wake_at=wake,
                                 outgoing=[], inbox_id=None, now=T0)
    assert v1 == 1
    s = await store.load_session("p-alice")
    assert s is not None and s.version == 1 and s.wake_at == wake
    assert s.state == {"step": "topic", "answers": {"名前": "なし"}}

    v2 = await store.commit_turn(pseudonym="p-alice", expected_version=1, state={"step": "age"},
                                 wake_at=None, outgoing=[], inbox_id=None, now=T0)
    assert v2 == 2
    s = await store.load_session("p-alice")
    assert s is not None and (s.state, s.version, s.wake_at) == ({"step": "age"}, 2, None)

    gone = await store.commit_turn(pseudonym="p-alice", expected_version=2, state=None,
                                   wake_at=None, outgoing=[msg("bye")], inbox_id=None, now=T0)
    assert gone is None
    assert await store.load_session("p-alice") is None
    assert [i.payload for i in await store.due_outbox(T0)] == [b"bye"]

    # No session and none wanted: messages only (e.g. "stop" before anything started).
    assert await store.commit_turn(pseudonym="p-bob", expected_version=None, state=None,
                                   wake_at=None, outgoing=[msg("ok")], inbox_id=None, now=T0) is None
    assert await store.load_session("p-bob") is None


async def test_commit_turn_writes_state_outbox_and_inbox_together(store: Store) -> None:
    [item] = await store.accept_events([event("e1")])
    version = await store.commit_turn(
        pseudonym="p-alice", expected_version=None, state={"step": 1}, wake_at=None,
        outgoing=[msg("one"), msg("two"), msg("three")], inbox_id=item.id, now=T0)
    assert version == 1
    assert await store.pending_events() == []
    due = await store.due_outbox(T0)
    assert [i.payload for i in due] == [b"one"]  # the person's oldest first, the rest wait
    assert due[0].attempts == 0 and due[0].channel == "line" and due[0].pseudonym == "p-alice"
    assert (await store.counts())["outbox_pending"] == 3


async def test_version_conflict_writes_nothing(store: Store) -> None:
    await store.commit_turn(pseudonym="p-alice", expected_version=None, state={"n": 1},
                            wake_at=None, outgoing=[], inbox_id=None, now=T0)
    [item] = await store.accept_events([event("e1")])
    with pytest.raises(ConcurrentUpdate):
        await store.commit_turn(pseudonym="p-alice", expected_version=7, state={"n": 2},
                                wake_at=None, outgoing=[msg("lost")], inbox_id=item.id, now=T0)
    with pytest.raises(ConcurrentUpdate):  # deleting a session of another version, likewise
        await store.commit_turn(pseudonym="p-alice", expected_version=7, state=None,
                                wake_at=None, outgoing=[msg("lost")], inbox_id=item.id, now=T0)
    with pytest.raises(ConcurrentUpdate):  # "there was no session" while there is one
        await store.commit_turn(pseudonym="p-alice", expected_version=None, state={"n": 3},
                                wake_at=None, outgoing=[msg("lost")], inbox_id=item.id, now=T0)
    with pytest.raises(ConcurrentUpdate):
        await store.commit_turn(pseudonym="p-alice", expected_version=None, state=None,
                                wake_at=None, outgoing=[msg("lost")], inbox_id=item.id, now=T0)
    s = await store.load_session("p-alice")
    assert s is not None and (s.state, s.version) == ({"n": 1}, 1)
    assert await store.due_outbox(T0) == []
    assert [i.id for i in await store.pending_events()] == [item.id]
    assert (await store.counts())["outbox_pending"] == 0


async def test_failure_midway_rolls_back_the_whole_turn(store: Store) -> None:
    await store.commit_turn(pseudonym="p-alice", expected_version=None, state={"n": 1},
                            wake_at=None, outgoing=[], inbox_id=None, now=T0)
    [item] = await store.accept_events([event("e1")])
    broken = Outgoing(channel=None, payload=b"x")  # type: ignore[arg-type]  # NOT NULL violation
    with pytest.raises(Exception) as caught:
        await store.commit_turn(pseudonym="p-alice", expected_version=1, state={"n": 2},
                                wake_at=None, outgoing=[msg("first"), broken], inbox_id=item.id,
                                now=T0)
    assert not isinstance(caught.value, ConcurrentUpdate)
    s = await store.load_session("p-alice")  # the session update that ran first was undone
    assert s is not None and (s.state, s.version) == ({"n": 1}, 1)
    assert await store.due_outbox(T0) == []
    assert [i.id for i in await store.pending_events()] == [item.id]
    # and the store still works afterwards
    assert await store.commit_turn(pseudonym="p-alice", expected_version=1, state={"n": 2},
                                   wake_at=None, outgoing=[msg("ok")], inbox_id=item.id,
                                   now=T0) == 2


@pytest.mark.parametrize("existing", [False, True], ids=["insert", "update"])
@pytest.mark.parametrize("shared", [False, True], ids=["two-databases", "one-store"])
async def test_two_writers_same_version_exactly_one_wins(backend, keyring: Keyring,
                                                         existing: bool, shared: bool) -> None:
    # Two Database objects: two engines and pools, as two processes would have; or one Store,
    # where both turns land in the same group-committed transaction.
    store_a = Store(await backend.open(), keyring)
    store_b = store_a if shared else Store(await backend.open(), keyring)
    expected = None
    if existing:
        expected = await store_a.commit_turn(pseudonym="p", expected_version=None, state={"w": 0},
                                             wake_at=None, outgoing=[], inbox_id=None, now=T0)
    for round_ in range(3):
        results = await asyncio.gather(
            *(s.commit_turn(pseudonym="p", expected_version=expected, state={"w": name},
                            wake_at=None, outgoing=[msg(f"{name}{round_}")], inbox_id=None, now=T0)
              for name, s in (("a", store_a), ("b", store_b))),
            return_exceptions=True)
        wins = [r for r in results if isinstance(r, int)]
        losses = [r for r in results if isinstance(r, ConcurrentUpdate)]
        assert len(wins) == 1 and len(losses) == 1, results
        winner = "a" if results[0] == wins[0] else "b"
        s = await store_a.load_session("p")
        assert s is not None and s.state == {"w": winner} and s.version == wins[0]
        expected = wins[0]
    assert (await store_a.counts())["outbox_pending"] == 3  # only the winners' messages


async def test_concurrent_turns_fail_alone(store: Store) -> None:
    """Many turns at once share transactions; one that breaks takes no other down with it."""
    items = await store.accept_events([event(f"e{n}", pseudonym=f"p{n}") for n in range(20)])
    broken = Outgoing(channel=None, payload=b"x")  # type: ignore[arg-type]
    results = await asyncio.gather(*(
        store.commit_turn(pseudonym=f"p{n}", expected_version=None, state={"n": n}, wake_at=None,
                          outgoing=[msg(f"m{n}")] + ([broken] if n == 7 else []),
                          inbox_id=items[n].id, now=T0)
        for n in range(20)), return_exceptions=True)
    assert [n for n, r in enumerate(results) if r != 1] == [7]
    assert not isinstance(results[7], ConcurrentUpdate)
    assert await store.load_session("p7") is None
    assert [i.event_id for i in await store.pending_events()] == ["e7"]
    assert len(await store.due_outbox(T0)) == 19


async def test_concurrent_accepts_store_each_event_once(store: Store) -> None:
    """Overlapping webhook deliveries at the same moment: each event is handed out exactly once."""
    calls = [[event(f"e{(start + k) % 30}", pseudonym=f"p{(start + k) % 30}") for k in range(5)]
             for start in range(0, 60, 3)]
    results = await asyncio.gather(*(store.accept_events(c) for c in calls))
    handed_out = [i.event_id for r in results for i in r]
    assert sorted(handed_out) == sorted(f"e{n}" for n in range(30))
    for call, result in zip(calls, results, strict=True):
        order = [e.event_id for e in call]
        assert [i.event_id for i in result] == sorted((i.event_id for i in result), key=order.index)
        assert all(i.payload == event(i.event_id).payload for i in result)
    pending = await store.pending_events()
    assert len(pending) == 30
    by_id = {i.event_id: i.id for r in results for i in r}
    assert {i.event_id: i.id for i in pending} == by_id


async def test_due_sessions(store: Store) -> None:
    for name, wake in (("late", T0 + timedelta(hours=1)), ("soon", T0 + timedelta(minutes=5)),
                       ("now", T0), ("never", None)):
        await store.commit_turn(pseudonym=name, expected_version=None, state={}, wake_at=wake,
                                outgoing=[], inbox_id=None, now=T0)
    assert await store.due_sessions(T0 - timedelta(seconds=1)) == []
    assert await store.due_sessions(T0) == ["now"]
    assert await store.due_sessions(T0 + timedelta(minutes=10)) == ["now", "soon"]
    assert await store.due_sessions(T0 + timedelta(days=1), limit=2) == ["now", "soon"]
    assert await store.due_sessions(T0 + timedelta(days=1)) == ["now", "soon", "late"]


# --- outbox ---------------------------------------------------------------------------------------


async def _say(store: Store, pseudonym: str, *texts: str, now: datetime = T0,
               token: str | None = None) -> None:
    expires = now + timedelta(seconds=50) if token else None
    stored = await store.load_session(pseudonym)
    await store.commit_turn(pseudonym=pseudonym, expected_version=stored.version if stored else None,
                            state={"said": list(texts)}, wake_at=None,
                            outgoing=[msg(t, token=token if i == 0 else None,
                                          expires=expires if i == 0 else None)
                                      for i, t in enumerate(texts)],
                            inbox_id=None, now=now)


async def test_due_outbox_keeps_per_person_order_and_backs_off(store: Store) -> None:
    await _say(store, "alice", "a1", "a2")
    await _say(store, "bob", "b1")
    await _say(store, "alice", "a3")
    assert [i.payload for i in await store.due_outbox(T0)] == [b"a1", b"b1"]
    due = await store.claim_outbox(T0, limit=10, lease=LEASE)
    assert [i.payload for i in due] == [b"a1", b"b1"]
    assert len({i.retry_key for i in due}) == 2 and [i.attempts for i in due] == [1, 1]

    # a1 fails (LINE is down): nothing of alice's is due until its retry time; bob is unaffected.
    a1 = due[0]
    await store.mark_retry(a1, next_attempt_at=T0 + timedelta(seconds=30), error="http-503")
    await store.mark_sent(due[1], now=T0)
    assert await store.claim_outbox(T0 + timedelta(seconds=29), limit=10, lease=LEASE) == []
    [retry] = await store.claim_outbox(T0 + timedelta(seconds=30), limit=10, lease=LEASE)
    assert (retry.id, retry.payload, retry.attempts, retry.retry_key) == (a1.id, b"a1", 2, a1.retry_key)

    await store.mark_retry(retry, next_attempt_at=T0 + timedelta(seconds=90), error="http-429")
    later = T0 + timedelta(minutes=5)
    for expected in (b"a1", b"a2", b"a3"):
        [item] = await store.claim_outbox(later, limit=10, lease=LEASE)
        assert item.payload == expected
        await store.mark_sent(item, now=later)
    assert await store.due_outbox(later) == []
    assert (await store.counts())["outbox_pending"] == 0


async def test_due_outbox_limit_and_future_heads(store: Store) -> None:
    for n in range(5):
        await _say(store, f"p{n}", f"m{n}")
    assert [i.payload for i in await store.due_outbox(T0, limit=3)] == [b"m0", b"m1", b"m2"]
    assert await store.due_outbox(T0 - timedelta(seconds=1)) == []


async def test_reply_token_is_returned_then_cleared_when_spent(store: Store) -> None:
    await _say(store, "alice", "first", "second", token="reply-token-123")
    [item] = await store.claim_outbox(T0, limit=10, lease=LEASE)
    assert item.reply_token == "reply-token-123" and not item.reply_tried
    assert item.reply_token_expires_at == T0 + timedelta(seconds=50)

    await store.mark_retry(item, next_attempt_at=T0, error="http-500")  # token not used yet
    [item] = await store.claim_outbox(T0, limit=10, lease=LEASE)
    assert item.reply_token == "reply-token-123" and item.reply_tried, "handed over by the first attempt"

    await store.mark_retry(item, next_attempt_at=T0, error="http-400", reply_token_spent=True)
    [item] = await store.claim_outbox(T0, limit=10, lease=LEASE)
    assert (item.reply_token, item.reply_token_expires_at, item.attempts) == (None, None, 3)
    await store.mark_sent(item, now=T0)
    [second] = await store.claim_outbox(T0, limit=10, lease=LEASE)
    assert (second.payload, second.reply_token) == (b"second", None)


async def test_undeliverable_message_unblocks_the_next(store: Store) -> None:
    await _say(store, "alice", "a1", "a2")
    [a1] = await store.claim_outbox(T0, limit=10, lease=LEASE)
    await store.mark_undeliverable(a1, now=T0, error="http-400")
    [a2] = await store.claim_outbox(T0, limit=10, lease=LEASE)
    assert a2.payload == b"a2"
    assert (await store.counts())["outbox_undeliverable"] == 1
    # Marking a finished row again does nothing (a late duplicate report from the sender).
    await store.mark_sent(a1, now=T0)
    await store.mark_retry(a1, next_attempt_at=T0, error="x")
    await store.mark_retry(a2, next_attempt_at=T0, error="y")
    assert [i.payload for i in await store.due_outbox(T0)] == [b"a2"]
    assert (await store.counts())["outbox_undeliverable"] == 1


# --- addresses and forgetting ---------------------------------------------------------------------


async def test_address_round_trip_and_upsert(store: Store, keyring: Keyring) -> None:
    uid = "U4af4980629f4e1b2c3d4e5f6a7b8c9d0"
    p = keyring.pseudonym("line", uid)
    assert await store.address_of(p) is None
    await store.remember_address(channel="line", pseudonym=p, platform_user_id=uid, now=T0)
    await store.remember_address(channel="line", pseudonym=p, platform_user_id=uid, now=T0)
    assert await store.address_of(p) == ("line", uid)
    await store.remember_address(channel="slack", pseudonym=p, platform_user_id="W123", now=T0)
    assert await store.address_of(p) == ("slack", "W123")
    assert (await store.counts())["addresses"] == 1


async def test_forget_person(store: Store) -> None:
    await store.remember_address(channel="line", pseudonym="alice", platform_user_id="Ualice", now=T0)
    await store.remember_address(channel="line", pseudonym="bob", platform_user_id="Ubob", now=T0)
    done, pending = await store.accept_events([event("e1", pseudonym="alice"),
                                               event("e2", pseudonym="alice")])
    await _say(store, "alice", "a1", "a2")
    await _say(store, "bob", "b1")
    [a1, b1] = await store.claim_outbox(T0, limit=10, lease=LEASE)
    await store.mark_sent(a1, now=T0)
    await store.mark_retry(b1, next_attempt_at=T0, error="not yet")
    await store.mark_event_done(done.id, now=T0)

    await store.forget_person("alice")
    assert await store.address_of("alice") is None
    assert await store.load_session("alice") is None
    assert [i.payload for i in await store.due_outbox(T0)] == [b"b1"]
    assert [i.id for i in await store.pending_events()] == [pending.id]  # not yet handled: kept
    assert await store.address_of("bob") == ("line", "Ubob")
    counts = await store.counts()
    assert counts["sessions"] == 1 and counts["addresses"] == 1


async def test_forget_person_keeps_its_place_among_concurrent_writes(store: Store) -> None:
    """Writes queued together still take effect in the order they were asked for."""
    await asyncio.gather(
        store.commit_turn(pseudonym="alice", expected_version=None, state={"n": 1}, wake_at=None,
                          outgoing=[msg("before")], inbox_id=None, now=T0),
        store.remember_address(channel="line", pseudonym="alice", platform_user_id="Ua", now=T0),
        store.forget_person("alice"),
        store.commit_turn(pseudonym="bob", expected_version=None, state={"n": 1}, wake_at=None,
                          outgoing=[msg("bob")], inbox_id=None, now=T0),
    )
    assert await store.load_session("alice") is None
    assert await store.address_of("alice") is None
    assert [i.payload for i in await store.due_outbox(T0)] == [b"bob"]

    await asyncio.gather(
        store.forget_person("carol"),
        store.commit_turn(pseudonym="carol", expected_version=None, state={"n": 1}, wake_at=None,
                          outgoing=[msg("after")], inbox_id=None, now=T0),
    )
    assert (await store.load_session("carol")) is not None
    assert [i.payload for i in await store.due_outbox(T0)] == [b"bob", b"after"]


async def test_purge_finished_keeps_pending(store: Store) -> None:
    old, young, waiting = await store.accept_events([
        event("old", at=T0), event("young", at=T0 + timedelta(days=9)), event("waiting", at=T0)])
    await store.mark_event_done(old.id, now=T0)
    await store.mark_event_done(young.id, now=T0)
    await _say(store, "alice", "sent", "queued")
    [sent] = await store.claim_outbox(T0, limit=10, lease=LEASE)
    await store.mark_sent(sent, now=T0)

    assert await store.purge_finished(before=T0 + timedelta(days=7)) == 2  # "old" and "sent"
    assert [i.event_id for i in await store.pending_events()] == ["waiting"]
    assert [i.payload for i in await store.due_outbox(T0)] == [b"queued"]
    # A purged event id is new again, a kept one is still a duplicate.
    assert [i.event_id for i in await store.accept_events([event("young"), event("old")])] == ["old"]


# --- keys, tampering, privacy ---------------------------------------------------------------------


async def test_key_rotation_old_rows_still_decrypt(backend, tmp_path: Path) -> None:
    key_file = tmp_path / "tsunagu.key"
    keys1, created = Keyring.load_or_create(key_file)
    assert created
    db = await backend.open()
    store1 = Store(db, keys1)
    await store1.remember_address(channel="line", pseudonym="alice", platform_user_id="Ualice", now=T0)
    await store1.accept_events([event("e1")])

    new_id = Keyring.rotate(key_file)
    assert new_id.startswith("k2-") and new_id != keys1.current_key_id
    keys2, created = Keyring.load_or_create(key_file)
    assert not created and keys2.current_key_id == new_id
    assert set(keys2.key_ids) == {keys1.current_key_id, new_id}
    assert keys2.pseudonym("line", "Ualice") == keys1.pseudonym("line", "Ualice")
    store2 = Store(db, keys2)
    assert await store2.address_of("alice") == ("line", "Ualice")
    await store2.accept_events([event("e2")])
    assert [i.payload for i in await store2.pending_events()] == [event("e1").payload,
                                                                  event("e2").payload]
    rows = await backend.sql(db, "SELECT event_id, payload_enc FROM inbox ORDER BY id")
    assert [(eid, tok.split(":")[0]) for eid, tok in rows] == [("e1", keys1.current_key_id),
                                                               ("e2", new_id)]

    # A keyring without the old key says which key id is missing, and nothing else.
    with pytest.raises(UnknownKeyId, match=keys1.current_key_id):
        await Store(db, Keyring.generate()).pending_events()


async def test_tampered_ciphertext_is_refused(backend, store: Store, db) -> None:
    await store.remember_address(channel="line", pseudonym="alice", platform_user_id="Ualice", now=T0)
    [(token,)] = await backend.sql(db, "SELECT platform_user_id_enc FROM addresses")
    key_id, body = token.split(":")
    flipped = body[:20] + ("A" if body[20] != "A" else "B") + body[21:]
    await backend.sql(db, "UPDATE addresses SET platform_user_id_enc = :t", t=f"{key_id}:{flipped}")
    with pytest.raises(TamperedValue) as caught:
        await store.address_of("alice")
    assert "Ualice" not in str(caught.value)


async def test_values_swapped_between_rows_are_refused(backend, store: Store, db) -> None:
    await store.accept_events([event("e1", text="first secret"), event("e2", text="second")])
    await store.remember_address(channel="line", pseudonym="alice", platform_user_id="Ualice", now=T0)
    await store.remember_address(channel="line", pseudonym="bob", platform_user_id="Ubob", now=T0)
    await _say(store, "carol", "for carol", token="tok-carol")
    await _say(store, "dave", "for dave")

    # Another person's address, pasted into bob's row.
    await backend.sql(db, "UPDATE addresses SET platform_user_id_enc = (SELECT platform_user_id_enc "
                          "FROM addresses WHERE pseudonym = 'alice') WHERE pseudonym = 'bob'")
    with pytest.raises(TamperedValue):
        await store.address_of("bob")
    # Another event's payload.
    await backend.sql(db, "UPDATE inbox SET payload_enc = (SELECT payload_enc FROM inbox "
                          "WHERE event_id = 'e1') WHERE event_id = 'e2'")
    with pytest.raises(TamperedValue):
        await store.pending_events()
    # A reply token moved into the payload column of the same row (another purpose).
    await backend.sql(db, "UPDATE outbox SET payload_enc = reply_token_enc WHERE pseudonym = 'carol'")
    # Another person's session state.
    await _say(store, "erin", "x")
    await backend.sql(db, "UPDATE sessions SET state_enc = (SELECT state_enc FROM sessions "
                          "WHERE pseudonym = 'dave') WHERE pseudonym = 'erin'")
    with pytest.raises(TamperedValue):
        await store.load_session("erin")
    with pytest.raises(TamperedValue):
        await store.due_outbox(T0)


async def test_nothing_identifying_is_stored_in_the_clear(backend, store: Store, keyring: Keyring,
                                                          db) -> None:
    user_id = "U1234567890abcdef1234567890abcdef"
    text = "家に帰りたくない secret-words-42"
    answer = "東京都 in danger right now"
    token = "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA"
    p = keyring.pseudonym("line", user_id)
    body = json.dumps({"source": {"userId": user_id}, "replyToken": token,
                       "message": {"type": "text", "text": text}}, ensure_ascii=False).encode()
    [item] = await store.accept_events([NewEvent("line", "01HXYZEVENT", p, body, T0)])
    await store.remember_address(channel="line", pseudonym=p, platform_user_id=user_id, now=T0)
    await store.commit_turn(pseudonym=p, expected_version=None,
                            state={"answers": {"region": answer, "said": text}}, wake_at=None,
                            outgoing=[Outgoing("line", f"you said: {text}".encode(), token,
                                               T0 + timedelta(seconds=50))],
                            inbox_id=item.id, now=T0)
    assert await store.address_of(p) == ("line", user_id)  # it is there, only not readable

    raw = await backend.raw_bytes()
    assert p.encode() in raw  # the dump really holds our rows
    needles = [user_id, text, "secret-words-42", "家に帰りたくない", answer, "東京都", token]
    for needle in needles:
        assert needle.encode() not in raw, f"{needle!r} found in the {backend.name} database"
        assert needle.encode("utf-16-le") not in raw
    if backend.sqlite_file is not None:  # and again after everything is checkpointed
        await db.close()
        raw = Path(backend.sqlite_file).read_bytes()
        assert p.encode() in raw
        assert not [n for n in needles if n.encode() in raw]


async def test_a_cancelled_caller_does_not_cancel_the_write_and_close_waits_for_it(
        backend, keyring: Keyring) -> None:
    db = await backend.open()
    store = Store(db, keyring)
    tasks = [asyncio.create_task(store.accept_events([event(f"e{n}")])) for n in range(5)]
    tasks.append(asyncio.create_task(store.commit_turn(
        pseudonym="p", expected_version=None, state={"a": 1}, wake_at=None,
        outgoing=[msg("m")], inbox_id=None, now=T0)))
    await asyncio.sleep(0)  # the writes are queued ...
    for task in tasks:
        task.cancel()  # ... and their callers go away (a client hung up)
    await db.close()
    if backend.sqlite_file is not None:  # look before anything else gets a chance to run
        with sqlite3.connect(backend.sqlite_file) as raw:
            assert raw.execute("SELECT count(*) FROM inbox").fetchone() == (5,)
            assert raw.execute("SELECT count(*) FROM outbox").fetchone() == (1,)
    again = Store(await backend.open(), keyring)
    assert [i.event_id for i in await again.pending_events()] == [f"e{n}" for n in range(5)]
    assert (await again.load_session("p")) is not None
