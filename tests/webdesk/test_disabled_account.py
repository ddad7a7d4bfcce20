"""A disabled web desk account (issue 11, item 5): its open session stops working at once, and it
cannot sign in again until enabled; revoking sessions signs a counselor out everywhere."""

from __future__ import annotations

from bot.app import SERVICES

from .conftest import PASSWORD


async def test_a_disabled_counselor_is_signed_out_and_cannot_sign_in(counselors, desk_service):
    users = desk_service.app[SERVICES].users
    c, elsewhere = counselors(), counselors()
    assert (await c.sign_in("hikari", "あおい")).status == 200
    assert (await elsewhere.sign_in("hikari", "あおい")).status == 200
    assert (await c.get("/desk/api/me")).status == 200
    await users.revoke_sessions("hikari", "あおい")
    assert (await c.get("/desk/api/me")).status == 401 and (await elsewhere.get("/desk/api/me")).status == 401
    assert (await c.sign_in("hikari", "あおい")).status == 200
    _, ended = await users.set_disabled("hikari", "あおい", True, now=desk_service.clock())
    assert ended == 1
    assert (await c.get("/desk/api/cases")).status == 401
    assert (await c.sign_in("hikari", "あおい", PASSWORD)).status == 401
    await users.set_disabled("hikari", "あおい", False, now=desk_service.clock())
    assert (await c.sign_in("hikari", "あおい", PASSWORD)).status == 200
