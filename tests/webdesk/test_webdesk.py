"""The web desk's HTTP API: accounts, sessions, CSRF, organizations kept apart, and the desk's
actions (accept, chat, notes, release, transfer, close) through the same Desk as Slack."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.app import SERVICES
from bot.desk import Actor
from storage import open_database
from storage.cases import NewCard
from storage.desk_users import DeskUserError, DeskUsers, csrf_token, hash_password, verify_password
from tests.fakes.clock import START
from tests.webdesk.conftest import PASSWORD, intake


def test_passwords_are_scrypt_hashes_with_their_parameters_and_a_salt():
    one, two = hash_password("s3cret-pass", n=2**10), hash_password("s3cret-pass", n=2**10)
    assert one.startswith("scrypt$1024$8$1$") and one != two  # random salt
    assert verify_password("s3cret-pass", one) and not verify_password("s3cret-pasS", one)
    assert not verify_password("s3cret-pass", "garbage")


async def test_add_user_refuses_duplicates_and_short_passwords(tmp_path):
    db = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'u.db'}")
    users = DeskUsers(db, scrypt_n=2**10)
    await users.add("hikari", "あおい", PASSWORD, now=START)
    with pytest.raises(DeskUserError):
        await users.add("hikari", "あおい", PASSWORD, now=START)
    with pytest.raises(DeskUserError):
        await users.add("hikari", "短い", "short", now=START)
    await users.add("hoshi", "あおい", PASSWORD, now=START)  # the same name at another partner
    assert [(u.org_id, u.name) for u in await users.users()] == [("hikari", "あおい"), ("hoshi", "あおい")]
    await db.close()


async def test_sign_in_sets_an_httponly_strict_cookie_and_wrong_passwords_are_refused(counselors):
    c = counselors()
    assert (await c.get("/desk/api/me")).status == 401
    wrong = await c.sign_in("hikari", "あおい", "not the password")
    assert wrong.status == 401
    assert (await c.sign_in("nowhere", "あおい")).status == 401
    ok = await c.sign_in("hikari", "あおい")
    assert ok.status == 200
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/desk" in cookie
    me = await (await c.get("/desk/api/me")).json()
    assert me["name"] == "あおい" and me["org"] == "hikari" and me["org_name"] == "ひかり相談室"
    assert (await c.post("/desk/api/signout")).status == 200
    assert (await c.get("/desk/api/me")).status == 401


async def test_sign_in_backs_off_per_account_and_address_instead_of_locking_out(counselors, desk_service):
    c = counselors()
    for _ in range(3):  # the first failures of a pair cost nothing
        assert (await c.sign_in("hikari", "あおい", "wrong password!")).status == 401
    refused = await c.sign_in("hikari", "あおい")  # then even the right password waits its turn
    assert refused.status == 429 and refused.headers["Retry-After"] == "2"
    desk_service.clock.advance(seconds=2)
    assert (await c.sign_in("hikari", "あおい", "wrong password!")).status == 401
    assert (await c.sign_in("hikari", "あおい")).headers["Retry-After"] == "4"  # doubling
    desk_service.clock.advance(seconds=4)
    assert (await c.sign_in("hikari", "あおい")).status == 200
    assert (await c.sign_in("hoshi", "そら")).status == 200  # another account from here: its own pair


async def test_forged_and_expired_sessions_are_refused(counselors, desk_service):
    c = counselors()
    assert (await c.sign_in("hikari", "あおい")).status == 200
    assert (await c.get("/desk/api/cases")).status == 200
    forged = counselors()
    forged.session.cookie_jar.update_cookies(
        {"tsunagu_desk": "A" * 43}, response_url=desk_service.client.make_url("/desk")
    )
    assert (await forged.get("/desk/api/cases")).status == 401
    assert (await forged.get("/desk/api/me")).status == 401
    desk_service.clock.advance(hours=8, seconds=1)
    assert (await c.get("/desk/api/cases")).status == 401


async def test_a_post_without_the_csrf_token_or_from_another_origin_is_refused(counselors, desk_service):
    _, case = await intake(desk_service)
    owner = case.org_id
    c = counselors()
    assert (await c.sign_in(owner, "あおい" if owner == "hikari" else "そら")).status == 200
    assert (await c.post(f"/desk/api/cases/{case.id}/accept", csrf=False)).status == 403
    c.csrf = csrf_token("another session")
    assert (await c.post(f"/desk/api/cases/{case.id}/accept")).status == 403
    c.csrf = c.me["csrf"]
    cross = await c.session.post(c.base + f"/desk/api/cases/{case.id}/accept", json={},
                                 headers={"X-CSRF-Token": c.csrf, "Origin": "https://evil.example"})
    assert cross.status == 403
    assert (await desk_service.app[SERVICES].desk.cases.case(case.id)).status == "queued"
    assert (await c.post(f"/desk/api/cases/{case.id}/accept")).status == 200
    assert (await desk_service.app[SERVICES].desk.cases.case(case.id)).status == "active"


async def test_another_organizations_counselor_cannot_see_or_act_on_the_case(counselors, desk_service):
    _, case = await intake(desk_service)
    other = "hoshi" if case.org_id == "hikari" else "hikari"
    outsider = counselors()
    assert (await outsider.sign_in(other, "そら" if other == "hoshi" else "あおい")).status == 200
    listed = await outsider.queue()
    assert (listed["queued"], listed["active"]) == ([], [])
    assert (await outsider.get(f"/desk/api/cases/{case.id}")).status == 404
    for action, body in (("accept", {}), ("say", {"text": "hi"}), ("note", {"text": "x"}),
                         ("close", {"outcome": "resolved"}), ("release", {}), ("transfer", {"to": other})):
        assert (await outsider.post(f"/desk/api/cases/{case.id}/{action}", body)).status == 404, action
    assert (await outsider.get("/desk/api/cases/999999")).status == 404
    assert (await desk_service.app[SERVICES].desk.cases.case(case.id)).status == "queued"


async def test_accept_chat_note_and_close_with_html_kept_as_text(counselors, desk_service):
    chat, case = await intake(desk_service)
    org = case.org_id
    names = {"hikari": "あおい", "hoshi": "そら"}
    c = counselors()
    assert (await c.sign_in(org, names[org])).status == 200
    queue = await c.queue()
    assert [q["id"] for q in queue["queued"]] == [case.id]
    assert queue["queued"][0]["topics"] and queue["queued"][0]["answers"]
    assert (await c.post(f"/desk/api/cases/{case.id}/accept")).status == 200
    await chat.until(lambda f: f["type"] == "line" and any(names[org] in m["text"] for m in f.get("messages", [])))
    html = '<img src=x onerror="alert(1)">こんにちは'
    assert (await c.post(f"/desk/api/cases/{case.id}/say", {"text": html, "id": "msg-0001abcd"})).status == 200
    # the same client id twice is relayed once (a retried POST)
    assert (await c.post(f"/desk/api/cases/{case.id}/say", {"text": html, "id": "msg-0001abcd"})).status == 200
    assert (await c.post(f"/desk/api/cases/{case.id}/note", {"text": "内部メモ: 要フォロー"})).status == 200
    await chat.until(lambda f: f["type"] == "line" and any(m["text"] == html for m in f.get("messages", [])))
    await chat.acked(await chat.say("<b>ありがとう</b>"))
    await desk_service.settle()
    view = await (await c.get(f"/desk/api/cases/{case.id}")).json()
    froms = [(m["from"], m["text"]) for m in view["messages"]]
    assert ("counselor", html) in froms and froms.count(("counselor", html)) == 1
    assert ("note", "内部メモ: 要フォロー") in froms and ("person", "<b>ありがとう</b>") in froms
    await desk_service.settle()
    assert not any("要フォロー" in m["text"] for f in chat.lines for m in f["messages"]), "a note is never relayed"
    assert (await c.post(f"/desk/api/cases/{case.id}/close", {"outcome": "nonsense"})).status == 400
    assert (await c.post(f"/desk/api/cases/{case.id}/close", {"outcome": "resolved"})).status == 200
    assert (await desk_service.app[SERVICES].desk.cases.case(case.id)).outcome == "resolved"
    assert (await c.get(f"/desk/api/cases/{case.id}")).status == 404  # closed: off the desk


async def test_only_the_owner_closes_and_release_and_transfer_work(counselors, desk_service):
    _, case = await intake(desk_service)
    org = case.org_id
    other = "hoshi" if org == "hikari" else "hikari"
    users = {"hikari": ["あおい", "みどり"], "hoshi": ["そら"]}
    a = counselors()
    assert (await a.sign_in(org, users[org][0])).status == 200
    assert (await a.post(f"/desk/api/cases/{case.id}/accept")).status == 200
    if len(users[org]) > 1:
        b = counselors()
        assert (await b.sign_in(org, users[org][1])).status == 200
        assert (await b.post(f"/desk/api/cases/{case.id}/close", {"outcome": "resolved"})).status == 409
    assert (await a.post(f"/desk/api/cases/{case.id}/release")).status == 200
    assert (await desk_service.app[SERVICES].desk.cases.case(case.id)).status == "queued"
    assert (await a.post(f"/desk/api/cases/{case.id}/accept")).status == 200
    view = await (await a.get(f"/desk/api/cases/{case.id}")).json()
    assert [t["id"] for t in view["transfer_to"]] == [other]
    assert (await a.post(f"/desk/api/cases/{case.id}/transfer", {"to": other})).status == 200
    assert (await a.get(f"/desk/api/cases/{case.id}")).status == 404
    there = counselors()
    assert (await there.sign_in(other, users[other][0])).status == 200
    assert [q["id"] for q in (await there.queue())["queued"]] == [case.id]


async def test_a_web_counselor_and_another_race_to_accept_and_exactly_one_wins(counselors, desk_service):
    _, case = await intake(desk_service)
    users = {"hikari": ["あおい", "みどり"], "hoshi": ["そら", "そら"]}[case.org_id]  # two browsers
    a, b = counselors(), counselors()
    assert (await a.sign_in(case.org_id, users[0])).status == 200
    assert (await b.sign_in(case.org_id, users[1])).status == 200
    card = (await desk_service.app[SERVICES].desk.cases.cards(case.id))[-1]
    results = await asyncio.gather(
        a.post(f"/desk/api/cases/{case.id}/accept"),
        b.post(f"/desk/api/cases/{case.id}/accept"),
        desk_service.app[SERVICES].desk.accept(
            card.id, actor=Actor(id="U-SLACK", name="スラック", org_id=case.org_id, front="slack"), now=START),
    )
    web_wins = [r.status for r in results[:2]].count(200)
    assert web_wins + results[2].ok == 1
    final = await desk_service.app[SERVICES].desk.cases.case(case.id)
    assert final.status == "active" and final.counselor_name in (*users, "スラック")


async def test_the_queue_is_ordered_by_priority_then_waiting_time(counselors, desk_service):
    cases = desk_service.app[SERVICES].desk.cases
    now = desk_service.clock()
    opened = {}
    for name, priority, minutes_ago in (
        ("calm-new", 0, 1),
        ("calm-old", 0, 20),
        ("urgent", 100, 0),
        ("calm-mid", 0, 5),
    ):
        opened[name] = await cases.open_case(
            pseudonym=name.ljust(64, "x"), channel="web", answers={"topics": ["loneliness"]}, urgent=priority > 0,
            language="ja", share_consent=True, priority=priority, risk_words=[], org_id="hikari",
            candidates=["hikari"], card=NewCard(org_id="hikari", slack_channel=""),
            now=now - timedelta(minutes=minutes_ago))
    c = counselors()
    assert (await c.sign_in("hikari", "あおい")).status == 200
    order = [q["id"] for q in (await c.queue())["queued"]]
    assert order == [opened[n].id for n in ("urgent", "calm-old", "calm-mid", "calm-new")]
    view = await (await c.get(f"/desk/api/cases/{opened['urgent'].id}")).json()
    assert view["case"]["urgent"] is True and view["case"]["status"] == "queued"


async def test_a_colleague_can_read_and_note_but_not_speak_for_or_end_anothers_case(counselors, desk_service):
    """The same rules as on Slack, from the desk: a colleague's say, close, release and transfer
    are refused (409), the person hears nothing from them, and their note is kept."""
    _, case = await intake(desk_service)
    if case.org_id != "hikari":  # both hikari accounts are needed: move the case there first
        moved = await desk_service.app[SERVICES].desk.cases.transition(
            case.id, expect_status=("queued",), values={"org_id": "hikari"},
            new_card=NewCard(org_id="hikari", slack_channel=""), now=START)
        case = moved
    owner, colleague = counselors(), counselors()
    assert (await owner.sign_in("hikari", "あおい")).status == 200
    assert (await colleague.sign_in("hikari", "みどり")).status == 200
    assert (await owner.post(f"/desk/api/cases/{case.id}/accept")).status == 200
    said = await colleague.post(f"/desk/api/cases/{case.id}/say", {"text": "代わりに話します", "id": "colleague-1"})
    assert said.status == 409 and (await said.json())["error"] == "not_yours"
    for action, body in (("close", {"outcome": "resolved"}), ("release", {}), ("transfer", {"to": "hoshi"})):
        response = await colleague.post(f"/desk/api/cases/{case.id}/{action}", body)
        assert response.status == 409, action
    assert (await colleague.post(f"/desk/api/cases/{case.id}/note", {"text": "見守り中", "id": "note-0001"})).status == 200
    view = await (await colleague.get(f"/desk/api/cases/{case.id}")).json()
    assert view["transfer_to"] == [] and ["note", "見守り中"] in [[m["from"], m["text"]] for m in view["messages"]]
    await desk_service.settle()
    lines = await desk_service.app[SERVICES].web_mailbox.since(case.pseudonym, 0)
    assert lines and not any("代わりに話します".encode() in line.payload for line in lines)
    final = await desk_service.app[SERVICES].desk.cases.case(case.id)
    assert final.status == "active" and final.counselor_name == "あおい"
