"""Conformance with real LINE webhook payloads from line-bot-sdk-python's own test suite.

The payloads live in ../shared/fixtures/line/ beside the repository (never copied in); a clone
without that folder skips these tests and says why.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from linebot.v3 import WebhookParser

from bot.app import SERVICES
from bot.line.translate import to_inbound
from bot.line.webhook import signed
from tests.bot.conftest import sign

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "line"
pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"LINE fixtures not present at {FIXTURES}")

# file -> (kind, source, text?, media)
EXPECTED = {
    "message_text_user.json": ("message", "user", "Hello, world", None),
    "message_text_group.json": ("message", "group", "Hello, world", None),
    "message_text_room.json": ("message", "room", "Hello, world", None),
    "message_text_redelivery.json": ("message", "user", None, None),
    "message_image_user.json": ("message", "user", None, "image"),
    "message_image_room.json": ("message", "room", None, "image"),
    "message_sticker.json": ("message", "user", None, "sticker"),
    "follow.json": ("follow", "user", None, None),
    "unfollow.json": ("unfollow", "user", None, None),
    "join.json": ("join", "group", None, None),
    "member_joined.json": ("join", "group", None, None),
    "leave.json": ("other", "group", None, None),
    "postback_date.json": ("message", "user", None, None),
    "postback_datetime.json": ("message", "user", None, None),
    "unsend.json": ("other", "group", None, None),
    "unknown_event_type.json": ("other", "user", None, None),
}


def _events(name: str) -> list:
    raw = (FIXTURES / name).read_text(encoding="utf-8")
    return WebhookParser("channel_secret").parse(raw, sign(raw.encode(), "channel_secret"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_fixture_translates(name):
    [event] = _events(name)
    inbound = to_inbound(event)
    kind, source, text, media = EXPECTED[name]
    assert (inbound.kind, inbound.source, inbound.media) == (kind, source, media)
    if text is not None:
        assert inbound.text == text
    assert inbound.event_id == "testwebhookeventid"
    if name == "message_text_redelivery.json":
        assert inbound.redelivery is True


def test_all_events_webhook_translates_every_event():
    events = _events("all_events_webhook.json")
    assert len(events) == 28
    assert all(to_inbound(e) is not None for e in events)


def test_signature_test_vector_from_the_sdk():
    assert signed("channel_secret", b"bodybodybodybody", "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k=")
    assert not signed("channel_secret", b"bodybodybodybodx", "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k=")


async def test_real_payloads_through_the_webhook(service):
    """Every fixture is accepted; they share one webhookEventId, so only the first is processed."""
    for name in sorted(EXPECTED):
        raw = (FIXTURES / name).read_bytes()
        response = await service.post(raw)
        assert response.status == 200, name
    await service.settle()
    counts = await service.client.server.app[SERVICES].store.counts()
    assert counts["inbox_total"] == 1
    assert (
        json.loads((FIXTURES / "all_events_webhook.json").read_text())["events"][0]["webhookEventId"]
        == "testwebhookeventid"
    )
