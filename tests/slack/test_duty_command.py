"""`/tsunagu on|off` through the real Bolt app: a signed slash command to /slack/events, Slack's
form body, the answer in the HTTP response (ephemeral); and routing follows who is on duty."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from tests.slack.test_scenario import INTAKE, cards, intake, pushed, settle


def command_body(text: str, *, user: str, channel: str) -> bytes:
    return urlencode({
        "token": "legacy", "team_id": "T0TEST", "team_domain": "tsunagu-test", "channel_id": channel,
        "channel_name": "desk", "user_id": user, "user_name": user.lower(), "command": "/tsunagu", "text": text,
        "api_app_id": "A0TSUNAGU", "response_url": "https://hooks.slack.test/commands/1",
        "trigger_id": "1.2.abc"}).encode()


async def command(service, text: str, *, user: str = "U0HANA", channel: str = "C0ALPHA", **sign) -> dict:
    response = await service.slack_post(command_body(text, user=user, channel=channel),
                                        content_type="application/x-www-form-urlencoded", **sign)
    assert response.status == 200, await response.text()
    return json.loads(await response.text())


async def test_on_off_and_status_answer_only_the_counselor(service):
    status = await command(service, "")
    assert status["response_type"] == "ephemeral" and status["text"].startswith("休止中です")
    on = await command(service, "on 4")
    assert on["text"].startswith("対応中になりました") and "until" in on["text"]
    assert (await command(service, ""))["text"].startswith("対応中です")
    off = await command(service, "off")
    assert off["text"].startswith("休止にしました") and "off duty" in off["text"]


async def test_a_shift_ends_by_itself(service):
    await command(service, "on 1")
    service.clock.advance(minutes=61)
    assert (await command(service, ""))["text"].startswith("休止中です")


async def test_wrong_words_get_the_usage_and_other_channels_are_refused(service):
    for text in ("on 99", "on zero", "maybe", "off now"):
        assert (await command(service, text))["text"].startswith("使い方"), text
    assert "desk channel" in (await command(service, "on", channel="C0RANDOM"))["text"]


async def test_an_unsigned_command_is_refused(service):
    response = await service.slack_post(command_body("on", user="U0HANA", channel="C0ALPHA"),
                                        content_type="application/x-www-form-urlencoded",
                                        secret="not-the-secret")
    assert response.status == 401


async def test_a_case_reaches_only_a_partner_somebody_is_on_duty_for(service):
    # The fixture's counselor goes off duty everywhere; then nobody is watching any channel.
    for channel in ("C0ALPHA", "C0BETA"):
        await command(service, "off", user="U0ONDUTY", channel=channel)
    person = "U4af4980629bb"
    await intake(service, user=person)
    await settle(service, until=lambda: any("いまは" in t or "相談を受けられる" in t for t in pushed(service, person)))
    assert cards(service.slack) == []

    # はな goes on duty at beta: the waiting case goes there at once, and so does the next one.
    await command(service, "on", channel="C0BETA")
    await settle(service, until=lambda: len(cards(service.slack)) == 1)
    await intake(service, user="U4af4980629cc", answers=INTAKE)
    await settle(service, until=lambda: len(cards(service.slack)) == 2)
    assert [c["channel"] for c in cards(service.slack)] == ["C0BETA", "C0BETA"]
