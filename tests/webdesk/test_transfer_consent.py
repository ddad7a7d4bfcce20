"""A transfer shows the receiving partner only what the person agreed to share (issue 11, item 3).

Through the web desk's API, as counselors use it: the partner a case is transferred to reads the
messages exchanged since its own card, earlier ones only with the person's consent, and never the
first partner's internal notes; the card's summary shows the topics only without consent."""

from __future__ import annotations

from bot.app import SERVICES
from tests.web.conftest import INTAKE

from .conftest import Counselor

NAMES = {"hikari": "あおい", "hoshi": "そら"}


async def _on_duty(counselors, org: str) -> Counselor:
    c = counselors()
    assert (await c.sign_in(org, NAMES[org])).status == 200
    assert (await c.post("/desk/api/duty", {"on": True})).status == 200
    return c


async def _transferred(counselors, desk_service, *, consent: bool):
    """A case talked about at its first partner (a message each way and a note), then transferred;
    returns (the person's chat, the case, first partner's counselor, the second's)."""
    first_c, second_c = await _on_duty(counselors, "hikari"), await _on_duty(counselors, "hoshi")
    chat = await desk_service.open()
    await chat.until(lambda f: f["type"] == "line" and f["from"] == "bot")
    for answer in [*INTAKE[:-1], "はい" if consent else "いいえ"]:
        sent = await chat.say(answer)
        await chat.acked(sent)
        await chat.bot_line_after(chat.last_seq)
    await desk_service.settle()
    case = (await desk_service.app[SERVICES].desk.cases.queued())[-1]
    a, b = (first_c, second_c) if case.org_id == "hikari" else (second_c, first_c)
    other = "hoshi" if case.org_id == "hikari" else "hikari"
    assert (await a.post(f"/desk/api/cases/{case.id}/accept")).status == 200
    await chat.acked(await chat.say("家のことで誰にも言えない秘密があります"))
    await desk_service.settle()
    assert (await a.post(f"/desk/api/cases/{case.id}/say", {"text": "話してくれてありがとう"})).status == 200
    assert (await a.post(f"/desk/api/cases/{case.id}/note", {"text": "内部メモ: 父親の件"})).status == 200
    assert (await a.post(f"/desk/api/cases/{case.id}/transfer", {"to": other})).status == 200
    await desk_service.settle()
    return chat, case, a, b


def _texts(view: dict) -> list[str]:
    return [m["text"] for m in view["messages"]]


async def test_without_consent_the_new_partner_sees_nothing_from_before_its_card(counselors, desk_service):
    chat, case, a, b = await _transferred(counselors, desk_service, consent=False)
    listed = (await b.queue())["queued"]
    assert [q["id"] for q in listed] == [case.id]
    summary = listed[0]
    assert summary["full"] is False and summary["answers"] == []
    assert "19" not in summary["age_band"] and "東京" not in summary["prefecture"]  # no answer but topics
    view = await (await b.get(f"/desk/api/cases/{case.id}")).json()
    assert view["messages"] == [], _texts(view)
    # What is said after the card reached it, it reads; never what came before.
    assert (await b.post(f"/desk/api/cases/{case.id}/accept")).status == 200
    await chat.acked(await chat.say("新しい団体さん、よろしく"))
    await desk_service.settle()
    view = await (await b.get(f"/desk/api/cases/{case.id}")).json()
    assert _texts(view) == ["新しい団体さん、よろしく"]
    assert "東京" not in str(view["case"]) and "19〜29" not in str(view["case"])


async def test_with_consent_the_new_partner_reads_the_conversation_but_never_the_notes(counselors, desk_service):
    chat, case, a, b = await _transferred(counselors, desk_service, consent=True)
    view = await (await b.get(f"/desk/api/cases/{case.id}")).json()
    assert view["case"]["full"] is True
    texts = _texts(view)
    assert "家のことで誰にも言えない秘密があります" in texts and "話してくれてありがとう" in texts
    assert not any("内部メモ" in t for t in texts), "a note never leaves the partner that wrote it"
    # The new partner's own note is its own; the first partner no longer reads the case at all.
    assert (await b.post(f"/desk/api/cases/{case.id}/note", {"text": "受け入れメモ"})).status == 200
    view = await (await b.get(f"/desk/api/cases/{case.id}")).json()
    assert [m["text"] for m in view["messages"] if m["from"] == "note"] == ["受け入れメモ"]
    assert (await a.get(f"/desk/api/cases/{case.id}")).status == 404
