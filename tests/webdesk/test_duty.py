"""The web desk's on-duty switch as a counselor's browser uses it: POST /desk/api/duty, kept on by
the queue's poll while the page is open, ended by signing out or by a page left closed."""

from __future__ import annotations

from datetime import timedelta

from bot.app import SERVICES
from bot.desk.duty import WEB_DUTY_IDLE


async def counts(service) -> dict[str, int]:
    services = service.app[SERVICES]
    return await services.desk.parts.presence.counts(service.clock())


async def test_the_switch_puts_the_counselor_on_and_off_duty(counselors, desk_service):
    c = counselors()
    assert (await c.sign_in("hoshi", "そら")).status == 200
    assert c.me["duty"] == {"on": False, "since": None, "until": None}
    on = await c.post("/desk/api/duty", {"on": True})
    assert on.status == 200 and (await on.json())["duty"]["on"] is True
    assert (await counts(desk_service))["hoshi"] == 2  # the fixture's colleague, and そら
    assert (await c.queue())["duty"]["on"] is True
    off = await c.post("/desk/api/duty", {"on": False})
    assert (await off.json())["duty"]["on"] is False
    assert (await counts(desk_service))["hoshi"] == 1


async def test_the_poll_keeps_duty_while_the_page_is_open_and_a_closed_page_ends_it(counselors, desk_service):
    c = counselors()
    await c.sign_in("hoshi", "そら")
    await c.post("/desk/api/duty", {"on": True})
    for _ in range(3):  # the page polls: duty goes on past its first end
        desk_service.clock.advance(seconds=WEB_DUTY_IDLE.total_seconds() - 30)
        assert (await c.queue())["duty"]["on"] is True
    desk_service.clock.advance(seconds=(WEB_DUTY_IDLE + timedelta(seconds=1)).total_seconds())
    assert (await counts(desk_service))["hoshi"] == 1  # the tab was closed: only the colleague
    assert (await c.queue())["duty"]["on"] is False  # and coming back does not switch it on again


async def test_signing_out_ends_duty(counselors, desk_service):
    c = counselors()
    await c.sign_in("hoshi", "そら")
    await c.post("/desk/api/duty", {"on": True})
    assert (await c.post("/desk/api/signout")).status == 200
    assert (await counts(desk_service))["hoshi"] == 1


async def test_a_bad_body_a_missing_token_or_no_session_is_refused(counselors, desk_service):
    c = counselors()
    assert (await c.post("/desk/api/duty", {"on": True})).status in (401, 403)  # not signed in
    await c.sign_in("hoshi", "そら")
    for body in ({}, {"on": "yes"}, {"on": 1}, {"on": None}):
        response = await c.post("/desk/api/duty", body)
        assert response.status == 400, body
        assert "on or off duty" in (await response.json())["message"]
    assert (await c.post("/desk/api/duty", {"on": True}, csrf=False)).status == 403
    assert (await counts(desk_service))["hoshi"] == 1
