"""Slack supervisors from the directory (issue 11, item 5): a partner's `supervisors` (Slack user
ids) may take over a colleague's case with the card's button; another counselor may not. Real
slack-sdk client against the fake Slack API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import SERVICES, create_app
from bot.desk import Actor
from tests.bot.conftest import event, settings_for
from tests.desk.conftest import DIRECTORY
from tests.slack.conftest import SIGNING_SECRET, SlackService
from tests.slack.test_scenario import PERSON, cards, intake, pushed, settle

WITH_SUPERVISORS = DIRECTORY.replace("desk: {slack_channel: C0ALPHA}",
                                     "desk: {slack_channel: C0ALPHA, supervisors: [U0KEN]}").replace(
                                     "desk: {slack_channel: C0BETA}", "desk: {slack_channel: C0BETA, supervisors: [U0KEN]}")


@pytest.fixture
async def service(tmp_path, fake_line, fake_slack, clock):
    directory = tmp_path / "directory.yaml"
    directory.write_text(WITH_SUPERVISORS, encoding="utf-8")
    settings = settings_for(tmp_path, fake_line.url, slack_signing_secret=SIGNING_SECRET,
                            slack_bot_token=fake_slack.token, slack_api_base_url=fake_slack.api_url,
                            directory=directory, desk_poll_seconds=0.05)
    client = TestClient(TestServer(create_app(settings, clock=clock)))
    await client.start_server()
    yield SlackService(client=client, line=fake_line, clock=clock, db_path=tmp_path / "tsunagu.db", slack=fake_slack)
    await client.close()


async def test_a_supervisor_in_the_directory_takes_over_and_a_colleague_cannot(service):
    slack = service.slack
    now = service.clock()
    for org in ("alpha", "beta"):
        await service.desk.go_on_duty(Actor(id="U0HANA", name="はな", org_id=org, front="slack"), now=now,
                                      until=now + timedelta(hours=8))
    await intake(service)
    await settle(service, until=lambda: len(cards(slack)) == 1)
    channel = cards(slack)[0]["channel"]
    ts = [k for (ch, k) in slack._messages if ch == channel][0]
    await service.press("tsunagu_accept", "1", user="U0HANA", channel=channel, message_ts=ts)
    await settle(service, until=lambda: any("はな" in t for t in pushed(service)))
    await service.press("tsunagu_takeover", "1", user="U0YUKI", channel=channel, message_ts=ts)
    await settle(service, until=lambda: bool(slack.of("chat.postEphemeral", user="U0YUKI")))
    cases = service.desk.cases
    case_id = (await cases.card(1)).case_id
    assert (await cases.case(case_id)).counselor_id == "U0HANA", "a counselor who is not a supervisor cannot"
    await service.press("tsunagu_takeover", "1", user="U0KEN", channel=channel, message_ts=ts)
    await settle(service, until=lambda: any("Ken" in t for t in pushed(service)))
    assert (await cases.case(case_id)).counselor_id == "U0KEN"
    await service.send(event(user=PERSON, text="ありがとう"))
    await settle(service)
    entries = await service.client.server.app[SERVICES].audit.entries()
    assert [(e.action, e.actor, e.detail.split(",")[0]) for e in entries if e.action == "take_over"] == [
        ("take_over", "U0YUKI", "refused:not_supervisor"), ("take_over", "U0KEN", "ok")]

