"""The values that cross between storage and the bot: small, frozen, decrypted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class NewEvent:
    """An event as received, before it has an inbox id. `payload` is the raw event (JSON bytes)."""

    channel: str
    event_id: str
    pseudonym: str | None
    payload: bytes
    received_at: datetime


@dataclass(frozen=True)
class InboxItem:
    id: int
    channel: str
    event_id: str
    pseudonym: str | None
    payload: bytes
    received_at: datetime
    attempts: int = 0  # failed tries before this one


@dataclass(frozen=True)
class Outgoing:
    """A message the worker wants delivered; `payload` is the platform message(s) as bytes."""

    channel: str
    payload: bytes
    reply_token: str | None = None
    reply_token_expires_at: datetime | None = None


@dataclass(frozen=True)
class OutboxItem:
    id: int
    pseudonym: str
    channel: str
    payload: bytes
    reply_token: str | None
    reply_token_expires_at: datetime | None
    retry_key: str
    attempts: int  # this attempt's number, once claimed
    claim: str | None = None  # the sender's claim (see Store.claim_outbox)
    reply_tried: bool = False  # the reply token was handed to the platform in an earlier attempt


@dataclass(frozen=True)
class StoredSession:
    state: dict[str, Any]
    version: int
    wake_at: datetime | None
