"""Real Slack payloads (from bolt-python's tests, in ../shared/fixtures/slack/, never copied into
the repo), signed and posted to /slack/events: what becomes a person's message and what does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.app import SERVICES

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "slack"
pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"Slack fixtures not present at {FIXTURES}")


def load(name: str, event_id: str) -> bytes:
    data = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    data["event_id"] = event_id  # the fixtures share "Ev111"
    return json.dumps(data).encode()


async def _inbox(service) -> int:
    counts = await service.client.server.app[SERVICES].store.counts()
    return counts.get("inbox_total", counts["inbox_pending"])


async def test_url_verification_answers_the_challenge(service):
    raw = (FIXTURES / "url_verification.json").read_bytes()
    response = await service.slack_post(raw)
    assert response.status == 200
    assert json.loads(raw)["challenge"] in await response.text()


@pytest.mark.parametrize("name", ["message_im_top_level.json", "message_im_in_thread.json"])
async def test_a_direct_message_starts_the_intake(service, name):
    response = await service.slack_post(load(name, f"Ev-{name}"))
    assert response.status == 200
    await service.settle()
    channel = json.loads((FIXTURES / name).read_text())["event"]["channel"]
    [greeting] = service.slack.of("chat.postMessage", channel=channel)
    assert "つなぐ" in greeting["text"]


@pytest.mark.parametrize("name", ["bot_message_event_payload.json", "classic_bot_message_event_payload.json",
                                  "message_bot_im_thread.json", "message_channel.json", "app_mention.json"])
async def test_bot_messages_and_channel_chatter_are_not_people(service, name):
    response = await service.slack_post(load(name, f"Ev-{name}"))
    assert response.status in (200, 404)  # 404: bolt has no listener for that event type
    await service.settle()
    assert not service.slack.of("chat.postMessage")


async def test_a_signed_button_press_in_slack_form_encoding_passes_verification(service):
    raw = (FIXTURES / "block_actions_button.form-urlencoded.txt").read_bytes().strip()
    response = await service.slack_post(raw, content_type="application/x-www-form-urlencoded")
    assert response.status != 401
