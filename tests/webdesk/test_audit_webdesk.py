"""The audit trail from the web desk (issue 11, item 4): sign-ins that fail and succeed, a case
viewed, a message sent, signing out; never the name or password typed, never a text."""

from __future__ import annotations

from bot.app import SERVICES

from .conftest import PASSWORD, intake


async def test_sign_ins_views_and_messages_are_recorded(counselors, desk_service):
    c = counselors()
    assert (await c.post("/desk/api/duty", {"on": True})).status == 401
    assert (await c.sign_in("hikari", "あおい", "wrong password typed")).status == 401
    assert (await c.sign_in("hikari", "あおい", PASSWORD)).status == 200
    assert (await c.post("/desk/api/duty", {"on": True})).status == 200
    other = counselors()
    assert (await other.sign_in("hoshi", "そら")).status == 200
    assert (await other.post("/desk/api/duty", {"on": True})).status == 200
    _, case = await intake(desk_service)
    me = c if case.org_id == "hikari" else other
    assert (await me.post(f"/desk/api/cases/{case.id}/accept")).status == 200
    assert (await me.get(f"/desk/api/cases/{case.id}")).status == 200
    assert (await me.post(f"/desk/api/cases/{case.id}/say", {"text": "こんばんは、聞いています"})).status == 200
    assert (await c.post("/desk/api/signout")).status == 200
    audit = desk_service.app[SERVICES].audit
    entries = await audit.entries()
    actions = [(e.action, e.org_id, e.front) for e in entries]
    assert actions[:3] == [("sign_in_failed", "hikari", "web"), ("sign_in", "hikari", "web"),
                           ("sign_in", "hoshi", "web")]
    assert entries[0].actor == "?" and entries[0].detail == "wrong" and entries[1].actor.startswith("web:")
    assert [a for a, _, _ in actions[3:]] == ["accept", "view", "say", "sign_out"]
    assert all(e.case_id == case.id for e in entries[3:6])
    kept = str(entries)
    assert not any(w in kept for w in ("あおい", "wrong password", PASSWORD, "こんばんは"))
    assert await audit.verify() == (len(entries), None)
