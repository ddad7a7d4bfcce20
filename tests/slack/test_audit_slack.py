"""The audit trail from Slack (issue 11, item 4): a button and a thread reply are recorded inside
the work batch that handles them (the trail's transaction is the batch's), with the counselor's
Slack id, the partner of the channel and the front end; the chain verifies."""

from __future__ import annotations

from datetime import timedelta

from bot.app import SERVICES
from bot.desk import Actor
from tests.slack.conftest import thread_message
from tests.slack.test_scenario import cards, intake, pushed, settle


async def test_slack_actions_are_in_the_audit_trail(service):
    slack = service.slack
    now = service.clock()
    for org, user in (("alpha", "U0HANA"), ("beta", "U0YUKI")):
        await service.desk.go_on_duty(Actor(id=user, name="x", org_id=org, front="slack"), now=now,
                                      until=now + timedelta(hours=8))
    await intake(service)
    await settle(service, until=lambda: len(cards(slack)) == 1)
    channel = cards(slack)[0]["channel"]
    org = "alpha" if channel == "C0ALPHA" else "beta"
    user = "U0HANA" if org == "alpha" else "U0YUKI"
    ts = [k for (ch, k) in slack._messages if ch == channel][0]
    await service.press("tsunagu_accept", "1", user=user, channel=channel, message_ts=ts)
    await service.slack_event(thread_message(channel, ts, user, "だいじょうぶですか"))
    await settle(service, until=lambda: "だいじょうぶですか" in pushed(service))
    audit = service.client.server.app[SERVICES].audit
    entries = await audit.entries()
    assert [(e.action, e.actor, e.org_id, e.front) for e in entries] == [
        ("accept", user, org, "slack"), ("say", user, org, "slack")]
    assert "だいじょうぶ" not in str(entries)
    assert await audit.verify() == (2, None)
