"""The session as the host stores it: every session stored so far reads back, a malformed one is refused."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta

import pytest

from flows import FlowError, Session, load_bundled
from flows.engine import Input, resume, start, tick
from flows.session import Pending

from .helpers import T0, mini

# Written by the engine before sessions were typed (run on the bundled intake), byte for byte.
PICKING = (
    '{"flow_id": "intake", "version": "53232326e50d9212", "step": "topics", "answers": {"agreed": true}, '
    '"language": "ja", "status": "active", "started_at": "2026-01-05T13:00:00+00:00", '
    '"last_activity": "2026-01-05T13:01:00+00:00", "reminded": false, '
    '"pending": {"picked": ["suicide"], "page": 1}, "wake_at": "2026-01-05T13:31:00+00:00"}'
)
REMINDED = (
    '{"flow_id": "intake", "version": "53232326e50d9212", "step": "age_band", '
    '"answers": {"agreed": true, "topics": ["suicide"]}, "language": "ja", "status": "active", '
    '"started_at": "2026-01-05T13:00:00+00:00", "last_activity": "2026-01-05T13:03:00+00:00", "reminded": true, '
    '"pending": {"picked": [], "page": 0}, "wake_at": "2026-01-05T15:03:00+00:00"}'
)
HANDED_OFF = (
    '{"flow_id": "intake", "version": "53232326e50d9212", "step": "connect", "answers": {"agreed": true, '
    '"topics": ["suicide"], "age_band": "30s", "prefecture": null, "danger": "yes", "urgent": true, '
    '"language": "ja", "avoid_own_area": false, "share_consent": true}, "language": "ja", "status": "handoff", '
    '"started_at": "2026-01-05T13:00:00+00:00", "last_activity": "2026-01-05T13:50:00+00:00", "reminded": false, '
    '"pending": null, "wake_at": null}'
)


@pytest.mark.parametrize("stored", [PICKING, REMINDED, HANDED_OFF], ids=["picking", "reminded", "handoff"])
def test_a_stored_session_reads_and_writes_back_the_same_json(stored: str) -> None:
    data = json.loads(stored)
    assert Session.from_json(data).to_json() == data


def test_a_stored_session_continues_where_it_stopped() -> None:
    flow = load_bundled()
    session = Session.from_json(dict(json.loads(PICKING), version=flow.version))
    assert session.pending == Pending(picked=("suicide",), page=1) and session.wake_at == T0 + timedelta(minutes=31)
    turn = resume(flow, session, Input(text="1"), now=T0 + timedelta(minutes=2))  # first on page two
    assert turn.messages[-1].text.startswith("選んだもの：死にたい気持ち、性のあり方")
    done = resume(flow, turn.session, Input(text="これで全部"), now=T0 + timedelta(minutes=3))
    assert done.session.answers["topics"] == ("suicide", "lgbtq")
    assert done.session.to_json()["answers"] == {"agreed": True, "topics": ["suicide", "lgbtq"]}


def test_a_handed_off_session_keeps_its_answers_as_json() -> None:
    session = Session.from_json(json.loads(HANDED_OFF))
    assert session.status == "handoff" and session.answers["urgent"] is True
    answers = session.answers_json()
    assert answers["topics"] == ["suicide"]
    answers["topics"].append("money")  # a copy: the session does not change
    assert session.answers["topics"] == ("suicide",)


def test_keys_the_engine_always_allowed_to_be_missing_take_their_defaults() -> None:
    data = json.loads(PICKING)
    del data["reminded"], data["pending"], data["wake_at"]
    session = Session.from_json(data)
    assert (session.reminded, session.pending, session.wake_at) == (False, None, None)


def _broken(**changes: object) -> dict[str, object]:
    data: dict[str, object] = json.loads(PICKING)
    for key, value in changes.items():
        if value is ...:
            del data[key]
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (["not", "an", "object"], "JSON object"),
        (_broken(flow_id=...), "no 'flow_id'"),
        (_broken(step=3), "'step' must be a text"),
        (_broken(status="paused"), "'status' must be one of active, handoff, ended"),
        (_broken(last_activity="yesterday"), "'last_activity' is not a time"),
        (_broken(started_at="2026-01-05T13:00:00"), "'started_at' has no time zone"),
        (_broken(answers=["agreed"]), "'answers' must be an object"),
        (_broken(answers={"agreed": {1, 2}}), "answer 'agreed' is not JSON data"),
        (_broken(pending=[]), "'pending' must be an object or null"),
        (_broken(pending={"picked": "suicide"}), "'pending.picked' must be a list of texts"),
        (_broken(pending={"picked": [], "page": True}), "'pending.page' must be a whole number"),
        (_broken(reminded="yes"), "'reminded' must be true or false"),
        (_broken(end_reason="bored"), "'end_reason' must be one of completed, stopped, expired"),
    ],
)
def test_a_malformed_session_is_refused_with_a_flow_error(data: object, says: str) -> None:
    with pytest.raises(FlowError, match=says):
        Session.from_json(data)


def test_ended_is_a_new_session_that_waits_for_nothing() -> None:
    flow = mini()
    session = start(flow, now=T0).session
    ended = session.ended("stopped")
    assert (ended.status, ended.end_reason, ended.pending, ended.wake_at) == ("ended", "stopped", None, None)
    assert session.status == "active" and session.wake_at is not None
    assert Session.from_json(ended.to_json()) == ended
    assert tick(flow, ended, now=T0 + timedelta(days=1)).messages == ()


def test_answers_are_frozen_all_the_way_down() -> None:
    session = Session.from_json(_broken(answers={"where": {"region": "kanto", "tags": ["a", "b"]}}))
    where = session.answers["where"]
    assert isinstance(where, Mapping) and not isinstance(where, dict) and where["tags"] == ("a", "b")
    with pytest.raises(TypeError):
        where["region"] = "kinki"
    assert session.answers_json()["where"] == {"region": "kanto", "tags": ["a", "b"]}
