"""Reminders and expiry through the running service: the timers pass finds a session whose wake
time has come, the dispatcher gives it a tick in the person's order, and the sender pushes
(the reply token is long spent)."""

from __future__ import annotations

from bot.app import SERVICES
from tests.bot.conftest import event


async def test_a_silent_person_is_reminded_once_then_the_conversation_closes(service):
    services = service.client.server.app[SERVICES]
    await service.send(event(user="Uquiet", text="こんにちは"))
    await service.settle()
    pseudonym = services.keyring.pseudonym("line", "Uquiet")
    assert await services.passes.timers() == 0, "nothing is due yet"

    service.clock.advance(minutes=31)
    assert await services.passes.timers() == 1
    await service.settle()
    [reminder] = [c for c in service.line.calls if c.kind == "push"]
    assert reminder.target == "Uquiet" and reminder.texts
    assert (await services.store.load_session(pseudonym)) is not None

    service.clock.advance(minutes=10)
    assert await services.passes.timers() == 0, "reminded once"

    service.clock.advance(hours=2)
    assert await services.passes.timers() == 1
    await service.settle()
    pushes = [c for c in service.line.calls if c.kind == "push"]
    assert len(pushes) == 2 and pushes[1].texts != reminder.texts
    assert await services.store.load_session(pseudonym) is None, "an ended conversation is not kept"
    assert await services.passes.timers() == 0
