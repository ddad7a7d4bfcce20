"""The whole path against the fake LINE and Slack APIs: a LINE person's intake, the card, Accept,
relay both ways, Transfer, Accept at the second partner, Close, follow-up; duplicates; races."""

from __future__ import annotations

import asyncio

from bot.app import SERVICES
from tests.bot.conftest import event
from tests.slack.conftest import dm, event_body, thread_message

PERSON = "U4af4980629aa"
INTAKE = ["こんにちは", "はい", "孤独・孤立", "これで全部", "4", "関東", "東京都", "千代田区", "いいえ", "日本語",
          "いいえ、どこでもいい", "はい"]


async def intake(service, user: str = PERSON, answers=INTAKE) -> None:
    for text in answers:
        await service.send(event(user=user, text=text))
        await service.settle()


def pushed(service, user: str = PERSON) -> list[str]:
    return [t for call in service.line.calls if call.target == user or call.kind == "reply" for t in call.texts]


async def settle(service, *, until=lambda: True, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        await service.settle()
        if until():
            return
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.02)


def cards(slack):
    return [c for c in slack.of("chat.postMessage") if c["blocks"] and not c["thread_ts"]]


async def test_full_scenario(service):
    slack = service.slack
    await intake(service)
    await settle(service, until=lambda: len(cards(slack)) == 1)
    [card] = cards(slack)
    first_channel = card["channel"]
    assert first_channel in ("C0ALPHA", "C0BETA")
    card_ts = slack.of("chat.postMessage", channel=first_channel)[0]  # the card's ts comes from Slack
    ts = slack.message(first_channel, [k for (ch, k) in slack._messages if ch == first_channel][0])["ts"]
    header = card["blocks"][0]["text"]["text"]
    assert header.startswith("相談者 ") and PERSON not in str(card.args)
    assert any(e.get("action_id") == "tsunagu_accept" for b in card["blocks"] if b["type"] == "actions"
               for e in b["elements"])
    assert any("1番目" in t for t in pushed(service))
    del card_ts

    # Accept: the person is told the counselor's nickname; the card shows who took it.
    await service.press("tsunagu_accept", "1", user="U0HANA", channel=first_channel, message_ts=ts)
    await settle(service, until=lambda: any("はな" in t for t in pushed(service)))
    assert "はな" in str(slack.message(first_channel, ts)["blocks"])

    # Relay both ways; a sticker shows as 「スタンプ」; a // note stays in Slack.
    await service.send(event(user=PERSON, text="聞いてほしいことがあります"))
    await service.send(
        event(
            user=PERSON,
            message={
                "id": "900",
                "type": "sticker",
                "packageId": "1",
                "stickerId": "1",
                "stickerResourceType": "STATIC",
                "quoteToken": "q",
            },
        )
    )
    await settle(service, until=lambda: len(slack.of("chat.postMessage", thread_ts=ts)) >= 3)
    thread = [c["text"] for c in slack.of("chat.postMessage", thread_ts=ts)]
    assert any(t.endswith(": 聞いてほしいことがあります") and t.startswith(header) for t in thread)
    assert any(t.endswith(": 「スタンプ」") for t in thread)
    reply = event_body(thread_message(first_channel, ts, "U0HANA", "どうしましたか？"), event_id="Ev0REPLY1")
    await service.slack_post(reply)
    await service.slack_post(reply, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    await service.slack_event(thread_message(first_channel, ts, "U0HANA", "// 要フォロー"))
    await settle(service, until=lambda: "どうしましたか？" in pushed(service))  # every event handled by now
    assert pushed(service).count("どうしましたか？") == 1
    assert not any("要フォロー" in t for t in pushed(service))

    # Transfer to the other partner, then Accept there.
    await service.press("tsunagu_transfer", "1", user="U0HANA", channel=first_channel, message_ts=ts)
    await settle(service, until=lambda: bool(slack.of("chat.postEphemeral", user="U0HANA")))
    other = "beta" if first_channel == "C0ALPHA" else "alpha"
    other_channel = {"alpha": "C0ALPHA", "beta": "C0BETA"}[other]
    await service.press("tsunagu_transfer", f"1|{other}", user="U0HANA", channel=first_channel, message_ts=ts)
    await settle(service, until=lambda: len(cards(slack)) == 2)
    second = cards(slack)[1]
    assert second["channel"] == other_channel
    assert any("別の団体" in t for t in pushed(service))
    ts2 = [k for (ch, k) in slack._messages if ch == other_channel][0]
    await service.press("tsunagu_accept", "2", user="U0YUKI", channel=other_channel, message_ts=ts2)
    await settle(service, until=lambda: any("ゆき" in t for t in pushed(service)))

    # Close with a check-in offered after 3 days; the person agrees; the bot asks; yes -> same partner.
    await service.press("tsunagu_close", "2|resolved|3", user="U0YUKI", channel=other_channel, message_ts=ts2)
    await settle(service, until=lambda: any("3日後に" in t for t in pushed(service)))
    assert any("相談を終了しました" in t for t in pushed(service))
    await service.send(event(user=PERSON, text="はい"))
    await settle(service, until=lambda: any("3日後にご連絡" in t for t in pushed(service)))
    service.clock.advance(days=3, minutes=1)
    await settle(service, until=lambda: any("また相談員と話したい" in t for t in pushed(service)))
    await service.send(event(user=PERSON, text="はい"))
    await settle(service, until=lambda: len(cards(slack)) == 3)
    assert cards(slack)[2]["channel"] == other_channel


async def test_two_accepts_at_once_give_one_owner(service):
    slack = service.slack
    await intake(service)
    await settle(service, until=lambda: len(cards(slack)) == 1)
    channel = cards(slack)[0]["channel"]
    ts = [k for (ch, k) in slack._messages if ch == channel][0]
    await asyncio.gather(
        service.press("tsunagu_accept", "1", user="U0HANA", channel=channel, message_ts=ts),
        service.press("tsunagu_accept", "1", user="U0YUKI", channel=channel, message_ts=ts),
        service.press("tsunagu_accept", "1", user="U0KEN", channel=channel, message_ts=ts),
    )
    await settle(service, until=lambda: len(slack.of("chat.postEphemeral")) == 2)
    joined = [t for t in pushed(service) if "が入りました" in t]
    assert len(joined) == 1
    notices = [c["text"] for c in slack.of("chat.postEphemeral")]
    assert all("対応しています" in n for n in notices)


async def test_slack_dm_person_goes_through_the_same_intake_and_relay(service):
    slack = service.slack
    # A counselor writing to the bot by DM is a person seeking help, like anyone else.
    for text in INTAKE:
        await service.slack_event(dm("U0HANA", text))
        await service.settle()
    await settle(service, until=lambda: len(cards(slack)) == 1)
    dms = [c["text"] for c in slack.of("chat.postMessage", channel="D0PERSON")]
    assert any("つなぐ" in t for t in dms) and any("1番目" in t for t in dms)
    card = cards(slack)[0]
    assert "U0HANA" not in str(card.args)
    ts = [k for (ch, k) in slack._messages if ch == card["channel"]][0]
    await service.press("tsunagu_accept", "1", user="U0YUKI", channel=card["channel"], message_ts=ts)
    await service.slack_event(dm("U0HANA", None, files=[{"id": "F1", "mimetype": "image/png"}]))
    await settle(
        service, until=lambda: any(c["text"].endswith("「画像」") for c in slack.of("chat.postMessage", thread_ts=ts))
    )
    await service.slack_event(dm("U0HANA", "ひみつのはなしです"))
    await settle(
        service,
        until=lambda: any(c["text"].endswith("ひみつのはなしです") for c in slack.of("chat.postMessage", thread_ts=ts)),
    )
    # The person's Slack ids and words never reach the database file in the clear.
    raw = b"".join(p.read_bytes() for p in service.db_path.parent.glob("tsunagu.db*"))
    for secret in ("U0HANA", "D0PERSON", "ひみつのはなし"):
        assert secret.encode() not in raw, secret


async def test_bad_signature_and_old_timestamp_are_refused(service):
    raw = event_body(dm("U0X", "こんにちは"))
    response = await service.slack_post(raw, secret="wrong-secret")
    assert response.status == 401
    response = await service.slack_post(raw, at=1_000_000_000)  # far outside the 5-minute window
    assert response.status == 401
    assert (await service.client.server.app[SERVICES].store.counts())["inbox_pending"] == 0


async def test_slack_429_is_retried_after_retry_after(service):
    slack = service.slack
    slack.fail(429, method="chat.postMessage", headers={"Retry-After": "0"})
    await intake(service)
    await settle(service, until=lambda: len(cards(slack)) == 1)


async def test_a_person_who_blocks_the_account_ends_the_case_and_the_counselor_is_told(service):
    slack = service.slack
    await intake(service)
    await settle(service, until=lambda: len(cards(slack)) == 1)
    channel = cards(slack)[0]["channel"]
    ts = [k for (ch, k) in slack._messages if ch == channel][0]
    await service.press("tsunagu_accept", "1", user="U0HANA", channel=channel, message_ts=ts)
    await settle(service, until=lambda: any("はな" in t for t in pushed(service)))

    await service.send(event("unfollow", user=PERSON))
    await settle(service, until=lambda: any("相談者が相談を終了しました" in c["text"]
                                            for c in slack.of("chat.postMessage", thread_ts=ts)))
    sent_before = len(service.line.calls)
    await service.slack_event(thread_message(channel, ts, "U0HANA", "まだいますか？"))
    await service.settle()  # the thread reply has been handled and whatever it sent, delivered
    assert len(service.line.calls) == sent_before, "nothing is relayed to a person who left"


async def test_only_the_counselor_with_the_case_speaks_for_it_or_ends_it(service):
    """A colleague in the same desk channel may not write to another counselor's person, nor close,
    release or transfer their case; a // note is fine (the rules live in the desk, not in Slack)."""
    slack = service.slack
    await intake(service)
    await settle(service, until=lambda: len(cards(slack)) == 1)
    channel = cards(slack)[0]["channel"]
    ts = [k for (ch, k) in slack._messages if ch == channel][0]
    await service.press("tsunagu_accept", "1", user="U0HANA", channel=channel, message_ts=ts)
    await settle(service, until=lambda: any("はな" in t for t in pushed(service)))

    await service.slack_event(thread_message(channel, ts, "U0YUKI", "ゆきが代わりに答えます"))
    for action in ("tsunagu_close", "tsunagu_release", "tsunagu_transfer"):
        value = "1|resolved|0" if action == "tsunagu_close" else "1|beta" if action == "tsunagu_transfer" else "1"
        await service.press(action, value, user="U0YUKI", channel=channel, message_ts=ts)
    await service.slack_event(thread_message(channel, ts, "U0YUKI", "// 様子を見ています"))
    await settle(service, until=lambda: len(slack.of("chat.postEphemeral", user="U0YUKI")) >= 4)
    notices = [c["text"] for c in slack.of("chat.postEphemeral", user="U0YUKI")]
    assert all("担当の相談員だけ" in n for n in notices), notices
    assert not any("ゆきが代わりに" in t for t in pushed(service))
    case = await service.desk.cases.latest_case(service.client.server.app[SERVICES].keyring.pseudonym("line", PERSON))
    assert case.status == "active" and case.counselor_name == "はな"
    assert ("note", "// 様子を見ています") in [(m.direction, m.text) for m in await service.desk.cases.messages(case.id)]
