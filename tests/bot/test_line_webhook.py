"""POST /webhooks/line: what LINE and a person see for good and bad input."""

from __future__ import annotations

import json

from bot.app import SERVICES
from tests.bot.conftest import METRICS_AUTH, START, body, event, sign


async def _stored(service) -> int:
    counts = await service.client.server.app[SERVICES].store.counts()
    return counts["inbox_total"]


async def test_missing_signature_is_401_and_nothing_is_stored(service):
    response = await service.post(body(event()), signature=None)
    assert response.status == 401
    assert await _stored(service) == 0


async def test_wrong_signature_is_401(service):
    raw = body(event())
    response = await service.post(raw, signature=sign(raw, "another-secret"))
    assert response.status == 401
    assert await _stored(service) == 0


async def test_signature_is_checked_over_the_raw_bytes(service):
    raw = body(event())
    reformatted = json.dumps(json.loads(raw), indent=2).encode()  # same JSON, other bytes
    response = await service.post(reformatted, signature=sign(raw))
    assert response.status == 401


async def test_body_over_one_mebibyte_is_413(service):
    raw = body(event(text="あ" * 400_000))
    assert len(raw) > 1024 * 1024
    response = await service.post(raw)
    assert response.status == 413
    assert await _stored(service) == 0


async def test_signed_body_that_is_not_a_webhook_is_400(service):
    for raw in (
        b"not json at all",
        b'{"foo": 1}',
        b'{"events": {"a": 1}}',
        b'{"events": [{"no": "type"}]}',
        b"\xff\xfe",
    ):
        response = await service.post(raw)
        assert response.status == 400, raw
    assert await _stored(service) == 0


async def test_empty_events_list_is_200(service):
    response = await service.post(b'{"destination": "Ubot0000", "events": []}')
    assert response.status == 200


async def test_first_message_gets_the_greeting_with_terms_by_reply(service):
    await service.send(event(text="話を聞いてほしい", reply_token="rt-1"))
    await service.settle()
    [call] = service.line.calls
    assert call.kind == "reply" and call.target == "rt-1"
    text = "\n".join(call.texts)
    assert "無料" in text and "秘密" in text
    assert call.messages[-1]["quickReply"]["items"], "the terms question offers buttons"


async def test_redelivered_event_is_processed_once(service):
    first = event(text="こんにちは", event_id="01REDELIVERED000000000000")
    again = dict(first, deliveryContext={"isRedelivery": True}, replyToken="another-token")
    await service.send(first)
    await service.send(again)
    await service.send(first, again)
    await service.settle()
    assert len(service.line.calls) == 1
    assert await _stored(service) == 1


async def test_standby_events_are_stored_but_never_answered(service):
    await service.send(event(text="こんにちは", mode="standby"))
    await service.settle()
    assert service.line.calls == []
    assert await _stored(service) == 1


async def test_group_gets_one_short_line_and_nothing_else(service):
    group = {"type": "group", "groupId": "Cgroup0001", "userId": "U4af4980629"}
    await service.send(event(text="相談したい", source=group))
    await service.send(event(text="もしもし", source=group))
    await service.settle()
    [call] = service.line.calls
    assert len(call.messages) == 1 and "1対1" in call.texts[0]
    assert "quickReply" not in call.messages[0] or not call.messages[0].get("quickReply")


async def test_sticker_during_a_question_is_a_gentle_reprompt(service):
    await service.send(event(text="こんにちは"))
    await service.settle()
    question = service.line.calls[-1].messages[-1]
    await service.send(
        event(
            message={
                "id": "9",
                "type": "sticker",
                "quoteToken": "q9",
                "packageId": "1",
                "stickerId": "1",
                "stickerResourceType": "STATIC",
            }
        )
    )
    await service.settle()
    reprompt = service.line.calls[-1]
    assert "スタンプ" in "\n".join(reprompt.texts)
    assert reprompt.messages[-1].get("quickReply") == question.get("quickReply")


async def test_image_content_is_never_downloaded(service):
    await service.send(event(text="こんにちは"))
    await service.send(
        event(message={"id": "10", "type": "image", "quoteToken": "q10", "contentProvider": {"type": "line"}})
    )
    await service.settle()
    assert [c.kind for c in service.line.calls] == ["reply", "reply"]
    assert not [r for r in service.line.refused if "content" in str(r[0])]


async def test_unfollow_ends_the_open_session(service):
    store = service.client.server.app[SERVICES].store
    await service.send(event(text="こんにちは", user="Uleaving"))
    await service.settle()
    assert (await store.counts())["sessions"] == 1
    await service.send(event("unfollow", user="Uleaving"))
    await service.settle()
    assert (await store.counts())["sessions"] == 0


async def test_events_of_one_person_are_answered_in_order(service):
    events = [event(text="こんにちは", user="Uorder", at=START)] + [
        event(text=str(i % 2 + 1), user="Uorder", at=START) for i in range(6)
    ]
    await service.send(*events)
    await service.settle()
    tokens = [c.target for c in service.line.calls]
    assert tokens == [e["replyToken"] for e in events]


async def test_healthz_and_metrics(service):
    await service.send(event())
    await service.post(body(event()), signature="bad")
    await service.settle()
    health = await service.client.get("/healthz")
    assert health.status == 200 and await health.json() == {"status": "ok"}  # nothing more in public
    assert (await service.client.get("/metrics")).status == 401
    assert (await service.client.get("/healthz/details")).status == 401
    details = await (await service.client.get("/healthz/details", headers=METRICS_AUTH)).json()
    assert details["status"] == "ok" and details["counts"]["inbox_total"] == 1
    text = await (await service.client.get("/metrics", headers=METRICS_AUTH)).text()
    assert 'tsunagu_events_received_total{channel="line"} 1.0' in text
    assert 'tsunagu_events_rejected_total{channel="line",reason="bad-signature"} 1.0' in text
    assert 'tsunagu_replies_sent_total{channel="line",method="reply"} 1.0' in text
    assert "tsunagu_processing_seconds_bucket" in text


async def test_a_message_the_sdk_cannot_type_is_still_answered(service):
    await service.send(event(text="こんにちは", user="Unew"))
    await service.send(event(user="Unew", message={"id": "11", "type": "hologram", "quoteToken": "q"}))
    await service.settle()
    assert len(service.line.calls) == 2
    assert "スタンプ" in "\n".join(service.line.calls[-1].texts)
