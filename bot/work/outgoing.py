"""A turn's messages as outbox rows: batched per platform call, the first row carrying the reply
token while it is fresh."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from flows.messages import Message
from storage import Outgoing
from storage.codec import encode_messages

from ..events import Inbound


@dataclass(frozen=True)
class ChannelSpec:
    """What the work side must know of a channel to shape its outgoing rows."""

    batch_size: int  # messages per platform call (LINE: 5)
    reply_ttl: timedelta | None  # how long a reply token stays usable; None: no reply tokens


DEFAULT_SPEC = ChannelSpec(batch_size=5, reply_ttl=None)


def outgoing_rows(channel: str, messages: Sequence[Message], inbound: Inbound | None, *,
                  channels: Mapping[str, ChannelSpec]) -> list[Outgoing]:
    spec = channels.get(channel) or DEFAULT_SPEC
    rows: list[Outgoing] = []
    for start in range(0, len(messages), spec.batch_size):
        token = expires = None
        if start == 0 and inbound and inbound.reply_token and spec.reply_ttl:
            token, expires = inbound.reply_token, inbound.occurred_at + spec.reply_ttl
        payload = encode_messages(messages[start:start + spec.batch_size])
        rows.append(Outgoing(channel=channel, payload=payload, reply_token=token, reply_token_expires_at=expires))
    return rows
