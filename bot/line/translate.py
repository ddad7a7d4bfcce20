"""Translation between line-bot-sdk v3 types and Tsunagu's own values, both directions.

Kept to pure functions, as slack-bolt keeps its adapters: the dispatcher never sees an SDK type,
and the SDK never sees a flow message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from linebot.v3.messaging import MessageAction, QuickReply, QuickReplyItem, TextMessage
from linebot.v3.webhooks import (
    AudioMessageContent,
    FileMessageContent,
    FollowEvent,
    GroupSource,
    ImageMessageContent,
    JoinEvent,
    LocationMessageContent,
    MemberJoinedEvent,
    MessageEvent,
    PostbackEvent,
    RoomSource,
    StickerMessageContent,
    TextMessageContent,
    UnfollowEvent,
    UserSource,
    VideoMessageContent,
)

from flows.messages import Message

from ..events import Inbound, Kind, SourceKind

CHANNEL = "line"
MAX_MESSAGES_PER_CALL = 5
MAX_QUICK_REPLY_ITEMS = 13
MAX_LABEL_CHARS = 20
MAX_TEXT_CHARS = 5000
# Edge limits of one webhook event (LINE's own are far inside them): ids fit their columns on both
# databases, timestamps are dates a computer can hold, nesting is shallow.
MAX_EVENT_ID_CHARS = 128  # inbox.event_id
MAX_ID_CHARS = 128  # user, group, room ids and reply tokens (LINE's are 33 and 32 characters)
MAX_DEPTH = 16  # LINE's deepest event nests 5 levels
MIN_TIMESTAMP_MS = 0
MAX_TIMESTAMP_MS = 4_102_444_800_000  # 2100-01-01
_ID = re.compile(r"[!-{}~]+")  # printable ASCII without space or "|" (which separates associated data)
_SURROGATE = re.compile(r"[\ud800-\udfff]")

_MEDIA = {
    StickerMessageContent: "sticker",
    ImageMessageContent: "image",
    VideoMessageContent: "video",
    AudioMessageContent: "audio",
    FileMessageContent: "file",
    LocationMessageContent: "location",
}


class NotAWebhookEvent(ValueError):
    """An event without the fields every LINE webhook event carries."""


class BadEvent(ValueError):
    """One event of a delivery that no LINE server would send; `reason` is safe to log (no content)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def clean_text(text: str) -> str:
    """`text` with lone surrogates (JSON can carry them, UTF-8 cannot) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def _depth(value: object) -> int:
    """How deeply `value` nests lists and objects, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                return level
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _ok_id(value: object, *, limit: int = MAX_ID_CHARS) -> bool:
    return isinstance(value, str) and len(value) <= limit and bool(_ID.fullmatch(value))


def check_event(raw: object) -> dict[str, Any]:
    """The raw event if its shape is one LINE sends; raises BadEvent naming what is wrong.

    Checked before the SDK sees it, so that nothing a sender controls (a huge or negative
    timestamp, a number where a token belongs, an id longer than its column) reaches a place
    where it could raise later, after the delivery was acknowledged.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str) or len(raw["type"]) > 64:
        raise BadEvent("no-type")
    if _depth(raw) > MAX_DEPTH:
        raise BadEvent("too-deep")
    if not _ok_id(raw.get("webhookEventId"), limit=MAX_EVENT_ID_CHARS):
        raise BadEvent("bad-event-id")
    stamp = raw.get("timestamp")
    if not isinstance(stamp, int) or isinstance(stamp, bool) or not MIN_TIMESTAMP_MS <= stamp <= MAX_TIMESTAMP_MS:
        raise BadEvent("bad-timestamp")
    if raw.get("replyToken") is not None and not _ok_id(raw["replyToken"]):
        raise BadEvent("bad-reply-token")
    source = raw.get("source")
    if source is not None:
        if not isinstance(source, dict):
            raise BadEvent("bad-source")
        for key in ("userId", "groupId", "roomId"):
            if source.get(key) is not None and not _ok_id(source[key]):
                raise BadEvent("bad-source")
    for key in ("mode", "deliveryContext", "message", "postback"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str if key == "mode" else dict):
            raise BadEvent(f"bad-{key.lower()}")
    for holder, key in (("message", "text"), ("postback", "data")):
        value = (raw.get(holder) or {}).get(key)
        if value is not None and (not isinstance(value, str) or len(value) > MAX_TEXT_CHARS):
            raise BadEvent("bad-text")
    return raw


def to_inbound(event: object) -> Inbound | None:
    """One SDK webhook event as an `Inbound`; None for events with no source to answer."""
    event_id = getattr(event, "webhook_event_id", None)
    timestamp = getattr(event, "timestamp", None)
    if not isinstance(event_id, str) or not event_id or not isinstance(timestamp, int):
        raise NotAWebhookEvent("event without webhookEventId or timestamp")
    source, address = _source(getattr(event, "source", None))
    mode = getattr(event, "mode", None)
    context = getattr(event, "delivery_context", None)
    kind, text, media = _content(event)
    return Inbound(
        channel=CHANNEL,
        event_id=event_id,
        kind=kind,
        source=source,
        address=address or "",
        occurred_at=datetime.fromtimestamp(timestamp / 1000, tz=UTC),
        text=clean_text(text) if text is not None else None,
        media=media,
        reply_token=getattr(event, "reply_token", None) or None,
        standby=str(getattr(mode, "value", mode)) == "standby",
        redelivery=bool(getattr(context, "is_redelivery", False)),
    )


def unparsed_message(raw: dict[str, Any]) -> Inbound | None:
    """A message event the SDK could not type (a new message kind, a field it does not know).

    Answered like media: a person who sent something is never silently ignored.
    """
    if raw.get("type") != "message":
        return None
    source = raw.get("source") or {}
    kind = source.get("type")
    if kind not in ("user", "group", "room") or not isinstance(raw.get("timestamp"), int):
        return None
    address = source.get({"user": "userId", "group": "groupId", "room": "roomId"}[kind])
    event_id = raw.get("webhookEventId")
    if not isinstance(event_id, str) or not event_id:
        raise NotAWebhookEvent("event without webhookEventId")
    return Inbound(
        channel=CHANNEL,
        event_id=event_id,
        kind="message",
        source=kind,
        address=address or "",
        occurred_at=datetime.fromtimestamp(raw["timestamp"] / 1000, tz=UTC),
        media="other",
        reply_token=raw.get("replyToken") or None,
        standby=raw.get("mode") == "standby",
        redelivery=bool((raw.get("deliveryContext") or {}).get("isRedelivery")),
    )


def _source(source: object) -> tuple[SourceKind, str | None]:
    if isinstance(source, GroupSource):
        return "group", source.group_id
    if isinstance(source, RoomSource):
        return "room", source.room_id
    if isinstance(source, UserSource):
        return "user", source.user_id
    return "user", None


def _content(event: object) -> tuple[Kind, str | None, str | None]:
    if isinstance(event, MessageEvent):
        message = event.message
        if isinstance(message, TextMessageContent):
            return "message", message.text, None
        return "message", None, _MEDIA.get(type(message), "other")
    if isinstance(event, PostbackEvent):
        return "message", event.postback.data, None
    if isinstance(event, FollowEvent):
        return "follow", None, None
    if isinstance(event, UnfollowEvent):
        return "unfollow", None, None
    if isinstance(event, (JoinEvent, MemberJoinedEvent)):
        return "join", None, None
    return "other", None, None


Wire = dict[str, Any]  # a message as it goes on the wire (JSON)


class _WireTextMessage(TextMessage):  # type: ignore[misc]  # the SDK ships no type information
    """A TextMessage that serialises once.

    The SDK's generated models rebuild their JSON on every call (pydantic's dict() over the
    whole tree, then each child's to_dict() again): for a question with 13 quick-reply buttons
    that is several milliseconds, more than everything else a turn costs. The same questions go
    to everyone, so each distinct message is validated by the SDK model once, serialised once,
    and reused.
    """

    def dict(self, **kwargs: object) -> Wire:
        wire: Wire = self.__dict__["_wire"]
        return wire

    def to_dict(self) -> Wire:
        wire: Wire = self.__dict__["_wire"]
        return wire


@lru_cache(maxsize=4096)
def _message(text: str, labels: tuple[str, ...]) -> TextMessage:
    quick_reply = None
    if labels:
        quick_reply = QuickReply(
            items=[QuickReplyItem(action=MessageAction(label=label[:MAX_LABEL_CHARS], text=label)) for label in labels]
        )
    wire = TextMessage(text=text, quickReply=quick_reply).to_dict()
    message = _WireTextMessage(text=text, quickReply=quick_reply)
    object.__setattr__(message, "__dict__", {**message.__dict__, "_wire": wire})
    return message


def to_line_messages(messages: Sequence[Message]) -> list[TextMessage]:
    """Flow and desk messages as LINE text messages.

    Choices become quick-reply buttons that send their label as text, so that a typed label and
    a tapped button are the same answer. Limits are enforced here as a last guard; the flow
    checks keep coordinators inside them in the first place.
    """
    return [
        _message((m.text or " ")[:MAX_TEXT_CHARS], tuple(c.label for c in m.choices[:MAX_QUICK_REPLY_ITEMS]))
        for m in messages
    ]
