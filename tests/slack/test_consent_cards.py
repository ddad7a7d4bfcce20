"""On Slack, the same rules as on the web desk (issue 11, item 3): a card at a partner the person
was not routed to (an overflow's, a transfer's) shows the topics only without the person's consent,
and its thread carries nothing said before it, nor the first partner's notes. Real slack-sdk
client against the fake Slack API."""

from __future__ import annotations

from datetime import timedelta

from bot.desk import Actor
from tests.bot.conftest import event
from tests.slack.conftest import thread_message
from tests.slack.test_scenario import INTAKE, PERSON, cards, intake, settle

CHANNELS = {"alpha": "C0ALPHA", "beta": "C0BETA"}
NO_CONSENT = [*INTAKE[:-1], "いいえ"]


async def _on_duty(service) -> None:
    now = service.clock()
    for org, user, name in (("alpha", "U0HANA", "はな"), ("beta", "U0YUKI", "ゆき")):
        actor = Actor(id=user, name=name, org_id=org, front="slack")
        await service.desk.go_on_duty(actor, now=now, until=now + timedelta(hours=8))


def _card_text(call) -> str:
    return str(call["blocks"])


async def test_an_overflow_card_without_consent_shows_the_topics_only(service):
    slack = service.slack
    await _on_duty(service)
    await intake(service, answers=NO_CONSENT)
    await settle(service, until=lambda: len(cards(slack)) == 1)
    first = cards(slack)[0]
    assert "12歳以下" in _card_text(first) and "東京都" in _card_text(first)  # the partner it was routed to
    service.clock.advance(minutes=31)  # nobody accepts: it overflows to the other partner
    await settle(service, until=lambda: len(cards(slack)) == 2, timeout=10)
    second = cards(slack)[1]
    assert second["channel"] != first["channel"]
    assert "孤独" in _card_text(second)  # the topics, to know what it is about
    assert "12歳以下" not in _card_text(second) and "東京都" not in _card_text(second)
    assert "共有に同意していない" in _card_text(second)


async def test_a_transfer_card_and_its_thread_show_nothing_from_before_it(service):
    slack = service.slack
    await _on_duty(service)
    await intake(service, answers=NO_CONSENT)
    await settle(service, until=lambda: len(cards(slack)) == 1)
    first_channel = cards(slack)[0]["channel"]
    ts = [k for (ch, k) in slack._messages if ch == first_channel][0]
    user = "U0HANA" if first_channel == "C0ALPHA" else "U0YUKI"
    await service.press("tsunagu_accept", "1", user=user, channel=first_channel, message_ts=ts)
    await service.send(event(user=PERSON, text="誰にも言えない秘密の話"))
    await service.slack_event(thread_message(first_channel, ts, user, "// 父親の件、要注意"))
    await settle(service, until=lambda: len(slack.of("chat.postMessage", thread_ts=ts)) >= 2)
    other = "beta" if first_channel == "C0ALPHA" else "alpha"
    await service.press("tsunagu_transfer", f"1|{other}", user=user, channel=first_channel, message_ts=ts)
    await settle(service, until=lambda: len(cards(slack)) == 2)
    second = cards(slack)[1]
    assert second["channel"] == CHANNELS[other]
    assert "12歳以下" not in _card_text(second) and "東京都" not in _card_text(second)
    ts2 = [k for (ch, k) in slack._messages if ch == CHANNELS[other]][0]
    await service.send(event(user=PERSON, text="はじめまして"))
    await settle(service, until=lambda: len(slack.of("chat.postMessage", thread_ts=ts2)) >= 1)
    posted = str([c.args for c in slack.calls if c.args.get("channel") == CHANNELS[other]])
    assert "秘密の話" not in posted and "父親" not in posted, "nothing from before the new card"
    assert "はじめまして" in posted
