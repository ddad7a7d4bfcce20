"""Every counselor action is in the audit trail (issue 11, item 4), from the desk core both front
ends call: who, for which partner, on which front end, which case, allowed or not; never a text."""

from __future__ import annotations

from bot.desk import Actor, Desk, RiskLexicon
from routing import load_hotlines, parse_directory
from storage.audit import AuditLog
from tests.desk.conftest import DIRECTORY, actor, handoff
from tests.desk.test_desk import P1


async def test_the_actions_on_a_case_are_recorded_without_content(cases, clock):
    audit = AuditLog(cases.db)
    desk = Desk(cases=cases, directory=parse_directory(DIRECTORY), hotlines=load_hotlines(),
                lexicon=RiskLexicon.load(), clock=clock, audit=audit)
    await desk.handoff(pseudonym=P1, channel="line", handoff=handoff(share_consent=False), now=clock())
    case = await cases.latest_case(P1)
    [card] = await cases.cards(case.id)
    owner = actor(card.org_id, "U-OWNER", "はな")
    colleague = Actor(id="web:7", name="ゆき", org_id=card.org_id, front="web")
    other = "beta" if card.org_id == "alpha" else "alpha"
    assert (await desk.accept(card.id, actor=owner, now=clock())).ok
    assert (await desk.say(card.id, actor=owner, text="話してくれてありがとう", source_key="s1", now=clock())).ok
    assert not (await desk.say(card.id, actor=colleague, text="代わりに", source_key="s2", now=clock())).ok
    assert (await desk.note(card.id, actor=colleague, text="父親の件", source_key="s3", now=clock())).ok
    assert await desk.view(colleague, card.id) is not None
    assert await desk.view(actor(other, "U-OUT"), card.id) is None
    assert (await desk.transfer(card.id, actor=owner, to_org=other, now=clock())).ok
    new_card = (await cases.cards(case.id))[-1]
    there = actor(other, "U-THERE", "そら")
    assert (await desk.accept(new_card.id, actor=there, now=clock())).ok
    assert (await desk.release(new_card.id, actor=there, now=clock())).ok
    assert (await desk.accept(new_card.id, actor=there, now=clock())).ok
    assert (await desk.close(new_card.id, actor=there, outcome="resolved", now=clock())).ok

    entries = await audit.entries()
    assert [(e.action, e.actor, e.org_id, e.front, e.detail.split(",")[0]) for e in entries] == [
        ("accept", "U-OWNER", card.org_id, "slack", "ok"),
        ("say", "U-OWNER", card.org_id, "slack", "ok"),
        ("say", "web:7", card.org_id, "web", "refused:not_yours"),
        ("note", "web:7", card.org_id, "web", "ok"),
        ("view", "web:7", card.org_id, "web", "ok"),
        ("view", "U-OUT", other, "slack", "refused:unknown"),
        ("transfer", "U-OWNER", card.org_id, "slack", "ok"),
        ("accept", "U-THERE", other, "slack", "ok"),
        ("release", "U-THERE", other, "slack", "ok"),
        ("accept", "U-THERE", other, "slack", "ok"),
        ("close", "U-THERE", other, "slack", "ok"),
    ]
    assert {e.case_id for e in entries if e.detail.startswith("ok")} == {case.id}
    assert entries[5].case_id is None, "a refused look at another partner's case says nothing of it"
    assert f"to={other}" in entries[6].detail and "outcome=resolved" in entries[-1].detail
    kept = " ".join(str(e) for e in entries)
    assert not any(word in kept for word in ("ありがとう", "代わりに", "父親", P1))
    assert await audit.verify() == (len(entries), None)
