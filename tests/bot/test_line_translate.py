"""Flow messages as LINE messages: the SDK's own serialisation, limits kept, built once."""

from __future__ import annotations

from linebot.v3.messaging import (
    AsyncApiClient,
    Configuration,
    MessageAction,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    TextMessage,
)

from bot.line.translate import to_line_messages
from flows.messages import Choice, Message


async def test_cached_messages_serialise_exactly_like_plain_sdk_messages():
    client = AsyncApiClient(Configuration(host="http://127.0.0.1:9", access_token="t"))
    try:
        labels = [f"選択肢{i}" for i in range(3)]
        ours = to_line_messages([Message("質問です", tuple(Choice(x, x) for x in labels))])
        plain = [
            TextMessage(
                text="質問です",
                quickReply=QuickReply(items=[QuickReplyItem(action=MessageAction(label=x, text=x)) for x in labels]),
            )
        ]
        assert client.sanitize_for_serialization(
            ReplyMessageRequest(replyToken="t", messages=ours)
        ) == client.sanitize_for_serialization(ReplyMessageRequest(replyToken="t", messages=plain))
    finally:
        await client.close()


def test_same_message_is_built_once_and_different_ones_are_not_confused():
    a1 = to_line_messages([Message("A", (Choice("はい", "yes"),))])[0]
    a2 = to_line_messages([Message("A", (Choice("はい", "yes"),))])[0]
    b = to_line_messages([Message("A", (Choice("いいえ", "no"),))])[0]
    assert a1 is a2
    assert b.to_dict()["quickReply"]["items"][0]["action"]["label"] == "いいえ"


def test_line_limits_are_kept_as_a_last_guard():
    [message] = to_line_messages(
        [Message("x" * 6000, tuple(Choice(f"とても長いラベルの選択肢その{i}です", str(i)) for i in range(20)))]
    )
    wire = message.to_dict()
    assert len(wire["text"]) == 5000
    items = wire["quickReply"]["items"]
    assert len(items) == 13
    assert all(len(i["action"]["label"]) <= 20 for i in items)
    assert items[0]["action"]["text"] == "とても長いラベルの選択肢その0です"  # the full label is still what it sends
