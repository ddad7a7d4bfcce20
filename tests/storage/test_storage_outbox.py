"""One codec for the messages of an outbox row, and one writer of outbox rows for Store and CaseStore."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from flows.engine import Choice, Message
from storage import Keyring, Outgoing, Store, TamperedValue
from storage.cases import CaseStore, Emit
from storage.codec import PayloadError, decode_messages, encode_batches, encode_messages

T0 = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)
YES_NO = (Choice("はい", "yes"), Choice("いいえ", "no"))


def test_encoding_is_the_format_earlier_releases_wrote() -> None:
    # Rows written before this module existed are still in outboxes; the senders read both.
    payload = encode_messages([Message("こんにちは"), Message("続けますか？", YES_NO)])
    assert payload == (
        '[{"text": "こんにちは", "choices": []}, {"text": "続けますか？", "choices": '
        '[{"label": "はい", "value": "yes"}, {"label": "いいえ", "value": "no"}]}]'
    ).encode()
    assert decode_messages(payload) == [Message("こんにちは"), Message("続けますか？", YES_NO)]


def test_batches_hold_at_most_per_row_messages_in_order() -> None:
    messages = [Message(str(n)) for n in range(7)]
    rows = encode_batches(messages, per_row=5)
    assert [[m.text for m in decode_messages(r)] for r in rows] == [["0", "1", "2", "3", "4"], ["5", "6"]]
    assert encode_batches([], per_row=5) == []
    with pytest.raises(ValueError):
        encode_batches(messages, per_row=0)


def test_decoding_is_as_lenient_as_the_senders_were() -> None:
    assert decode_messages(b'[{"text": "a"}, {"choices": [{"label": "x"}]}]') == [
        Message("a"), Message("", (Choice("x", ""),))]


@pytest.mark.parametrize("payload", [
    b"not json secret-word", b'{"text": "secret-word"}', b'["secret-word"]',
    b'[{"text": 3}]', b'[{"text": "a", "choices": [{"value": "secret-word"}]}]', b"\xff\xfe",
])
def test_malformed_payloads_are_refused_in_one_line_without_quoting_them(payload: bytes) -> None:
    with pytest.raises(PayloadError) as caught:
        decode_messages(payload)
    assert "\n" not in str(caught.value) and "secret-word" not in str(caught.value)


async def test_store_and_case_store_write_rows_the_sender_reads(store: Store, db, keyring: Keyring) -> None:
    cases = CaseStore(db, keyring)
    await store.commit_turn(pseudonym="p-alice", expected_version=None, state={"n": 1}, wake_at=None,
                            outgoing=[Outgoing("line", encode_messages([Message("flow reply")]), "tok", T0)],
                            inbox_id=None, now=T0)
    person = tuple(Message(f"desk {n}", YES_NO if n == 6 else ()) for n in range(7))
    case = await cases.open_case(
        pseudonym="p-bob", channel="slack", answers={"topics": ["family"]}, urgent=False, language="ja",
        share_consent=True, priority=0, risk_words=[], org_id=None, candidates=[], card=None,
        build=lambda c: Emit(person=person, desk=({"op": "hello", "card_id": None},)), now=T0)

    due = await store.due_outbox(T0)
    assert [(i.pseudonym, i.channel) for i in due] == [
        ("p-alice", "line"), ("p-bob", "slack"), (f"desk:{case.id}", "desk")]
    assert decode_messages(due[0].payload) == [Message("flow reply")]
    assert due[0].reply_token == "tok"
    assert decode_messages(due[1].payload) == list(person[:5])  # five to a row, as LINE takes them
    assert json.loads(due[2].payload) == {"op": "hello", "card_id": None}
    claimed = await store.claim_outbox(T0, limit=10, lease=timedelta(seconds=30))
    await store.mark_sent(claimed[1], now=T0)
    for other in (claimed[0], claimed[2]):
        await store.mark_retry(other, next_attempt_at=T0, error="not yet")
    [_, second_row, _] = await store.due_outbox(T0)
    assert decode_messages(second_row.payload) == list(person[5:])


async def test_case_store_rows_are_bound_to_their_row_like_the_store_s(backend, store: Store, db,
                                                                      keyring: Keyring) -> None:
    cases = CaseStore(db, keyring)
    for who in ("p-carol", "p-dave"):
        await cases.open_case(
            pseudonym=who, channel="line", answers={}, urgent=False, language="ja", share_consent=False,
            priority=0, risk_words=[], org_id=None, candidates=[], card=None,
            build=lambda c: Emit(person=(Message(f"for {c.pseudonym}"),)), now=T0)
    await backend.sql(db, "UPDATE outbox SET payload_enc = (SELECT payload_enc FROM outbox "
                          "WHERE pseudonym = 'p-carol') WHERE pseudonym = 'p-dave'")
    with pytest.raises(TamperedValue):
        await store.due_outbox(T0)
