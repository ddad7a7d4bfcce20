"""The payload of an outbox row to a person: one JSON format, written and read only here.

    [{"text": "...", "choices": [{"label": "...", "value": "..."}]}, ...]

The dispatcher (flow replies) and the desk (what a change of a case tells the person) write it;
the senders (LINE, Slack, web chat) read it back. Rows written by one release may be delivered by
the next, so a change to this format has to keep reading what earlier releases wrote: the bytes
written here are exactly those of the code this module replaced, and decoding is as lenient as
the senders were (a missing text or value reads as "").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from flows.messages import Choice, Message
from storage.errors import StorageError


class PayloadError(StorageError):
    """An outbox payload is not a list of messages. The message never quotes the payload."""


def encode_messages(messages: Sequence[Message]) -> bytes:
    """One row's payload: the messages in order, choices with the message they belong to."""
    return json.dumps(
        [{"text": m.text, "choices": [{"label": c.label, "value": c.value} for c in m.choices]}
         for m in messages],
        ensure_ascii=False,
    ).encode()


def encode_batches(messages: Sequence[Message], *, per_row: int) -> list[bytes]:
    """Payloads of at most `per_row` messages each (LINE takes 5 per call), in order."""
    if per_row < 1:
        raise ValueError("per_row must be at least 1")
    return [encode_messages(messages[start:start + per_row]) for start in range(0, len(messages), per_row)]


def decode_messages(payload: bytes) -> list[Message]:
    """The messages of one row's payload. Raises PayloadError if it is not in the format above."""
    try:
        items = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise PayloadError("outbox payload is not JSON") from None
    if not isinstance(items, list):
        raise PayloadError("outbox payload is not a list of messages")
    return [_message(item, index) for index, item in enumerate(items)]


def _message(item: Any, index: int) -> Message:
    if not isinstance(item, dict):
        raise PayloadError(f"outbox message {index} is not an object")
    text = item.get("text") or ""
    choices = item.get("choices") or []
    if not isinstance(text, str) or not isinstance(choices, list):
        raise PayloadError(f"outbox message {index} has a text or choices of the wrong type")
    parsed = []
    for choice in choices:
        if not isinstance(choice, dict) or not isinstance(choice.get("label"), str):
            raise PayloadError(f"outbox message {index} has a choice without a label")
        parsed.append(Choice(label=choice["label"], value=str(choice.get("value") or "")))
    return Message(text=text, choices=tuple(parsed))
