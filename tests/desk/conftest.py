"""Desk tests: a CaseStore on SQLite and PostgreSQL (the storage tests' backends), a small
directory of always-open Slack partners, and an injected clock."""

from __future__ import annotations

import pytest

from bot.desk import Actor, Desk, RiskLexicon
from flows.engine import Handoff
from routing import load_hotlines, parse_directory
from storage.cases import CaseStore
from tests.fakes.clock import START, Clock  # noqa: F401  (re-exported for the desk tests)

DIRECTORY = """\
timezone: Asia/Tokyo
organizations:
  - id: alpha
    name: アルファ相談室
    topics: [loneliness, suicide, family, other]
    regions: [all]
    languages: [ja, en]
    out_of_area: true
    capacity: 2
    desk: {slack_channel: C0ALPHA}
    hours: [{days: daily, from: "00:00", to: "24:00"}]
    response_minutes: 5
  - id: beta
    name: ベータよりそい
    topics: [loneliness, suicide, other]
    regions: [all]
    languages: [ja, en]
    out_of_area: true
    capacity: 3
    desk: {slack_channel: C0BETA}
    hours: [{days: daily, from: "00:00", to: "24:00"}]
"""

MORNING_ONLY = """\
timezone: Asia/Tokyo
organizations:
  - id: asa
    name: あさの窓
    topics: [loneliness, suicide, other]
    regions: [all]
    languages: [ja]
    out_of_area: true
    capacity: 2
    desk: {slack_channel: C0ASA}
    hours: [{days: daily, from: "09:00", to: "12:00"}]
"""


def make_desk(cases: CaseStore, clock: Clock, directory: str = DIRECTORY) -> Desk:
    return Desk(cases=cases, directory=parse_directory(directory), hotlines=load_hotlines(),
                lexicon=RiskLexicon.load(), clock=clock)


@pytest.fixture
def desk(cases, clock) -> Desk:
    return make_desk(cases, clock)


def handoff(*, topics=("loneliness",), urgent=False, share_consent=True, language="ja", **more) -> Handoff:
    answers = {"agreed": True, "topics": list(topics), "age_band": "19_29", "prefecture": "13",
               "danger": "yes" if urgent else "no", "urgent": urgent, "language": language,
               "avoid_own_area": False, "share_consent": share_consent, **more}
    return Handoff(answers=answers, urgent=urgent, language=language)


def actor(org_id: str, id: str = "U1", name: str = "はな", *, supervisor: bool = False) -> Actor:
    """A Slack counselor of partner `org_id`."""
    return Actor(id=id, name=name, org_id=org_id, front="slack", supervisor=supervisor)
