"""Delivery to LINE: reply while fresh, push with a retry key after, retries, nothing lost."""

from __future__ import annotations

from bot.app import SERVICES
from bot.line.sender import LineSender
from storage import OutboxItem
from tests.bot.conftest import event


async def test_stale_reply_token_falls_back_to_push_with_retry_key(service):
    service.clock.advance(seconds=120)  # the event is two minutes old when processed
    await service.send(event(text="こんにちは", user="Ustale"))
    await service.settle()
    [call] = service.line.calls
    assert call.kind == "push" and call.target == "Ustale"
    assert call.retry_key and len(call.retry_key) == 36


async def test_used_reply_token_is_pushed_instead(service):
    await service.send(event(text="こんにちは", user="Ua", reply_token="shared"))
    await service.settle()
    await service.send(event(text="1", user="Ua", reply_token="shared"))  # LINE refuses the reused token
    await service.settle()
    assert [c.kind for c in service.line.calls] == ["reply", "push"]


async def test_messages_written_while_line_is_down_arrive_when_it_is_back(service):
    service.line.fail(500, times=3)
    service.line.fail(503, times=2)
    await service.send(event(text="こんにちは", user="Udown"))
    for _ in range(10):
        await service.settle()
        if service.line.calls:
            break
        service.clock.advance(seconds=40)  # past each backoff
    assert len(service.line.refused) == 5
    [call] = service.line.calls
    assert "無料" in "\n".join(call.texts)


async def test_429_is_retried_after_retry_after(service):
    service.line.fail(429, times=1, headers={"Retry-After": "30"})
    await service.send(event(text="こんにちは", user="U429"))
    await service.settle()
    assert service.line.calls == []
    service.clock.advance(seconds=29)
    await service.settle()
    assert service.line.calls == []
    service.clock.advance(seconds=2)
    await service.settle()
    assert len(service.line.calls) == 1


async def test_other_4xx_is_not_retried(service):
    service.clock.advance(seconds=120)
    service.line.fail(403, times=5, kind="push")
    await service.send(event(text="こんにちは", user="U403"))
    await service.settle()
    service.clock.advance(seconds=600)
    await service.settle()
    assert service.line.refused == [("push", 403)]
    assert (await service.client.server.app[SERVICES].store.counts())["outbox_pending"] == 0


async def test_push_already_accepted_under_its_retry_key_counts_as_sent(service, fake_line):
    service.clock.advance(seconds=120)
    await service.send(event(text="こんにちは", user="U409"))
    await service.settle()
    [call] = fake_line.calls
    # A second delivery of the same row (as after a lost response) is answered 409 by LINE.
    sender = LineSender(service.client.server.app[SERVICES].line_api, clock=service.clock)
    item = OutboxItem(
        id=0, pseudonym="p", channel="line", payload=b'[{"text": "x", "choices": []}]', reply_token=None,
        reply_token_expires_at=None, retry_key=call.retry_key, attempts=1,
    )
    result = await sender.send(item, "U409")
    assert type(result).__name__ == "Sent"
    assert len(fake_line.calls) == 1


async def test_pending_events_are_processed_after_a_restart(tmp_path, fake_line, clock):
    """An event acknowledged just before a crash is answered when the service comes back."""
    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import SERVICES, create_app
    from bot.events import Inbound
    from storage import NewEvent
    from tests.bot.conftest import START, Service, settings_for

    settings = settings_for(tmp_path, fake_line.url)
    app = create_app(settings, clock=clock)
    client = TestClient(TestServer(app))
    await client.start_server()
    inbound = Inbound(
        channel="line", event_id="01CRASHED", kind="message", source="user", address="Ucrash",
        occurred_at=START, text="こんにちは", reply_token="rt-crash",
    )
    pseudonym = app[SERVICES].keyring.pseudonym("line", "Ucrash")
    await app[SERVICES].store.accept_events(
        [
            NewEvent(
                channel="line", event_id="01CRASHED", pseudonym=pseudonym, payload=inbound.to_bytes(), received_at=START
            )
        ]
    )
    await client.close()  # the process stops before processing it
    assert fake_line.calls == []

    client = TestClient(TestServer(create_app(settings, clock=clock)))
    await client.start_server()
    try:
        await Service(client=client, line=fake_line, clock=clock, db_path=tmp_path / "tsunagu.db").settle()
    finally:
        await client.close()
    assert [c.target for c in fake_line.calls] == ["rt-crash"]
