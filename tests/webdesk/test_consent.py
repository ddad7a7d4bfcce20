"""Consent on record (issue 11): the version of the terms a person accepted, and when, is kept
with their case; a change of the terms' wording is a new version, asked at the next conversation."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.app import SERVICES
from bot.work.consent import accepted, stamp, terms_version
from flows import Flow
from flows.model import Ask, Text
from tests.fakes.clock import START
from tests.webdesk.conftest import intake


def _reworded(flow: Flow) -> Flow:
    steps = tuple(replace(s, text=Text.of(ja="新しい規約です。", en="New terms.")) if isinstance(s, Ask)
                  and s.save_as == "agreed" else s for s in flow.steps)
    return replace(flow, steps=steps, _index={})


def test_the_version_follows_the_wording_of_the_terms_alone(desk_service):
    flows = desk_service.app[SERVICES].work.flows
    intake_flow = flows.current("intake")
    version = terms_version(intake_flow)
    assert version is not None and version.startswith("t-") and len(version) == 18
    assert terms_version(_reworded(intake_flow)) != version
    other = replace(intake_flow, steps=tuple(replace(s, text=Text.of(ja="別の質問", en="Another question"))
                                             if s.id == "topics" else s for s in intake_flow.steps), _index={})
    assert terms_version(other) == version  # another question's wording is not the terms


async def test_the_case_keeps_the_terms_accepted_and_when(desk_service, counselors):
    staff = {}
    for org, name in (("hikari", "あおい"), ("hoshi", "そら")):  # on duty: routing offers them cases
        c = staff[org] = counselors()
        assert (await c.sign_in(org, name)).status == 200
        assert (await c.post("/desk/api/duty", {"on": True})).status == 200
    accepted_at = desk_service.clock()
    _chat, case = await intake(desk_service)
    flows = desk_service.app[SERVICES].work.flows
    stored = await desk_service.app[SERVICES].desk.cases.case(case.id)
    assert stored is not None
    assert stored.terms_version == terms_version(flows.current("intake"))
    assert stored.terms_accepted_at == accepted_at == START
    summary = await (await staff[case.org_id].get("/desk/api/cases")).json()
    shown = [x for x in summary["queued"] + summary["active"] if x["id"] == case.id]
    assert shown, "the partner that holds the case lists it"
    assert shown[0]["terms"] == {"version": stored.terms_version, "accepted_at": accepted_at.isoformat()}


def test_an_older_acceptance_is_not_carried_over_to_new_terms(desk_service):
    flow = desk_service.app[SERVICES].work.flows.current("intake")
    agreed = {"answers": {"agreed": True}}
    first = stamp(agreed, None, flow, START)
    assert accepted(first) == (terms_version(flow), START)
    later = START + timedelta(minutes=5)
    assert accepted(stamp(agreed, first, flow, later)) == (terms_version(flow), START)  # the same terms
    new = _reworded(flow)
    assert accepted(stamp(agreed, first, new, later)) == (terms_version(new), later)  # asked and agreed again
    assert accepted(stamp({"answers": {"agreed": False}}, first, flow, later)) is None
