"""Reminders and expiry through the running service: a worker claims a session whose wake time has
come with its batch (storage/work.py), runs the flow's tick, and the sender pushes (the reply
token is long spent)."""

from __future__ import annotations

from bot.app import SERVICES
from tests.bot.conftest import event


async def test_a_silent_person_is_reminded_once_then_the_conversation_closes(service):
    services = service.client.server.app[SERVICES]
    await service.send(event(user="Uquiet", text="こんにちは"))
    await service.settle()
    pseudonym = services.keyring.pseudonym("line", "Uquiet")
    assert not await services.worker.queue.waiting(service.clock()), "nothing is due yet"

    service.clock.advance(minutes=31)
    assert await services.worker.queue.waiting(service.clock()), "the reminder is due"
    await service.settle()
    [reminder] = [c for c in service.line.calls if c.kind == "push"]
    assert reminder.target == "Uquiet" and reminder.texts
    assert (await services.store.load_session(pseudonym)) is not None

    service.clock.advance(minutes=10)
    await service.settle()
    assert len([c for c in service.line.calls if c.kind == "push"]) == 1, "reminded once"

    service.clock.advance(hours=2)
    await service.settle()
    pushes = [c for c in service.line.calls if c.kind == "push"]
    assert len(pushes) == 2 and pushes[1].texts != reminder.texts
    assert await services.store.load_session(pseudonym) is None, "an ended conversation is not kept"
    assert not await services.worker.queue.waiting(service.clock())
