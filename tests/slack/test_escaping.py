"""Slack markup both ways (issue 12): a person's `<!channel>` or `<url|text>` reaches the desk as
text, never as a notification or a masked link; a counselor's mention reaches the person as a
nickname, never a Slack member id, and a link as its text and address."""

from __future__ import annotations

import pytest

from bot.app import SERVICES
from bot.slack.markup import escape, plain
from tests.bot.conftest import event
from tests.slack.conftest import thread_message
from tests.slack.test_scenario import PERSON, cards, intake, pushed, settle


async def _names(user: str) -> str:
    return {"U0HANA": "はな"}.get(user, "相談員")


def test_escape_is_slacks_three_characters():
    assert escape("<!channel> & <https://evil.example|bank>") == "&lt;!channel&gt; &amp; &lt;https://evil.example|bank&gt;"


async def test_plain_turns_slack_markup_into_what_a_person_should_read():
    cases = {
        "<@U0HANA> です": "@はな です",
        "<@U0XYZ|someone> より": "@相談員 より",
        "<!here> 全員": " 全員",
        "<!subteam^S1|@team> へ": " へ",
        "<#C0ABC|general> で": "#general で",
        "<https://example.org/help|こちら> を": "こちら (https://example.org/help) を",
        "<https://example.org>": "https://example.org",
        "<mailto:a@example.org|a@example.org>": "a@example.org",
        "1 &lt; 2 &amp;&amp; 3 &gt; 2": "1 < 2 && 3 > 2",
    }
    for given, wanted in cases.items():
        assert await plain(given, name_of=_names) == wanted, given


async def test_markup_both_ways_over_the_fake_slack(service):
    slack = service.slack
    await intake(service)
    await settle(service, until=lambda: len(cards(slack)) == 1)
    [card] = cards(slack)
    channel = card["channel"]
    ts = slack.message(channel, [k for (ch, k) in slack._messages if ch == channel][0])["ts"]
    await service.press("tsunagu_accept", "1", user="U0HANA", channel=channel, message_ts=ts)
    await settle(service, until=lambda: any("はな" in t for t in pushed(service)))

    await service.send(event(user=PERSON, text="<!channel> <https://evil.example|銀行> & more"))
    await settle(service, until=lambda: any("more" in c["text"] for c in slack.of("chat.postMessage", thread_ts=ts)))
    [relayed] = [c["text"] for c in slack.of("chat.postMessage", thread_ts=ts) if "more" in c["text"]]
    assert relayed.endswith(": &lt;!channel&gt; &lt;https://evil.example|銀行&gt; &amp; more")

    await service.slack_event(thread_message(channel, ts, "U0HANA", "<@U0HANA> です。<https://example.org/a|案内> &amp; 連絡先"))
    await settle(service, until=lambda: any("案内" in t for t in pushed(service)))
    [said] = [t for t in pushed(service) if "案内" in t]
    assert said == "@はな です。案内 (https://example.org/a) & 連絡先"
    assert "U0HANA" not in said


@pytest.mark.parametrize("value", ["\ud800", "\x00", "99999999999999999999"])
async def test_a_button_value_no_button_has_is_skipped_not_500(service, value):
    """Found by the long fuzz profile: they failed while being stored."""
    import json as _json
    from urllib.parse import urlencode

    from tests.slack.conftest import signed_headers

    payload = {"type": "block_actions", "token": "legacy", "trigger_id": "1.2.abc", "user": {"id": "U0HANA"},
               "team": {"id": "T0TEST"}, "channel": {"id": "C0ALPHA"},
               "actions": [{"action_id": "tsunagu_accept", "value": "\ud800", "action_ts": "1800000000.000001"}]}
    raw = urlencode({"payload": _json.dumps(payload)}).encode()
    response = await service.slack_post(raw, content_type="application/x-www-form-urlencoded")
    assert response.status == 200
    await service.settle()
    counts = await service.client.server.app[SERVICES].store.counts()
    assert counts["inbox_pending"] == 0 and counts.get("inbox_failed", 0) == 0
    assert signed_headers  # the same signing as every Slack test
