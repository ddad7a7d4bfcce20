"""Signed but hostile LINE deliveries: each bad event is skipped and counted, never a 5xx, and the
good events beside it are stored and answered (issue 12)."""

from __future__ import annotations

import json

import pytest

from bot.app import SERVICES
from tests.bot.conftest import body, event


def _raw(*events: dict) -> bytes:
    """A body with \\uXXXX escapes, so lone surrogates can be sent as LINE would escape them."""
    return json.dumps({"destination": "Ubot0000", "events": list(events)}).encode()


def _bad(**fields: object) -> dict:
    bad = event(user="Uhostile")
    bad.update(fields)
    return bad


def _nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


BAD_EVENTS = {
    "timestamp-huge": _bad(timestamp=10**20),
    "timestamp-negative": _bad(timestamp=-10**18),
    "timestamp-float": _bad(timestamp=1.5e300),
    "timestamp-text": _bad(timestamp="yesterday"),
    "timestamp-bool": _bad(timestamp=True),
    "reply-token-number": _bad(replyToken=12345),
    "reply-token-object": _bad(replyToken={"a": 1}),
    "event-id-129": _bad(webhookEventId="E" * 129),
    "event-id-empty": _bad(webhookEventId=""),
    "event-id-number": _bad(webhookEventId=7),
    "event-id-nul": _bad(webhookEventId="E\x00E"),
    "user-id-long": _bad(source={"type": "user", "userId": "U" * 5000}),
    "source-list": _bad(source=["user"]),
    "text-number": _bad(message={"id": "1", "type": "text", "text": 5}),
    "text-too-long": _bad(message={"id": "1", "type": "text", "text": "あ" * 5001}),
    "message-list": _bad(message=[1, 2]),
    "delivery-context-text": _bad(deliveryContext="yes"),
    "deep": _bad(message={"id": "1", "type": "text", "text": "x", "emojis": [_nested(200)]}),
    "no-type": {"webhookEventId": "E1", "timestamp": 1},
    "not-an-object": ["message"],
}


@pytest.mark.parametrize("name", sorted(BAD_EVENTS))
async def test_a_bad_event_is_skipped_and_the_good_one_beside_it_is_answered(service, name):
    good = event(user="Ugood", text="こんにちは")
    response = await service.post(_raw(BAD_EVENTS[name], good))
    assert response.status == 200, (name, response.status, await response.text())
    await service.settle()
    counts = await service.client.server.app[SERVICES].store.counts()
    assert counts["inbox_total"] == 1, name  # the good event only
    assert len(service.line.calls) == 1 and service.line.calls[0].kind == "reply"
    metrics = service.client.server.app[SERVICES].metrics.render().decode()
    assert 'tsunagu_events_rejected_total{channel="line",reason="bad-event"} 1.0' in metrics


async def test_a_delivery_of_only_bad_events_is_400_and_stores_nothing(service):
    response = await service.post(_raw(BAD_EVENTS["timestamp-huge"], BAD_EVENTS["reply-token-number"]))
    assert response.status == 400
    assert (await service.client.server.app[SERVICES].store.counts())["inbox_total"] == 0


async def test_a_lone_surrogate_in_a_text_is_replaced_and_answered(service):
    # json.dumps escapes the lone surrogate as \ud800, as a JSON sender may; UTF-8 cannot hold it.
    response = await service.post(_raw(event(user="Usur", text="たすけて\ud800")))
    assert response.status == 200
    await service.settle()
    assert len(service.line.calls) == 1


async def test_nesting_past_the_json_parser_is_400_not_500(service):
    raw = b'{"events": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"
    response = await service.post(raw)
    assert response.status == 400


async def test_good_deliveries_still_work_after_hostile_ones(service):
    for bad in BAD_EVENTS.values():
        await service.post(_raw(bad))
    await service.send(event(user="Uafter"))
    await service.settle()
    assert len(service.line.calls) == 1
    assert body  # the ordinary builder still works for ordinary bodies
