"""What a channel's sender answers for one outbox row, and the interface every sender has.

A sender (LINE, Slack, the web mailbox) tries one delivery and says how it went; the pump
(pump.py) records it and decides when to try again. Senders never touch the outbox themselves.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from storage import OutboxItem

MAX_BACKOFF = timedelta(minutes=5)


@dataclass(frozen=True)
class Sent:
    method: str  # "reply", "push", ...


@dataclass(frozen=True)
class Retry:
    reason: str  # a short code, never text from the platform or the person
    reply_token_spent: bool = False
    after: timedelta | None = None  # None: exponential backoff; timedelta(0): at once


@dataclass(frozen=True)
class Refused:
    reason: str


Result = Sent | Retry | Refused


class ChannelSender(Protocol):
    async def send(self, item: OutboxItem, address: str | None) -> Result: ...


def backoff(attempts: int) -> timedelta:
    seconds = min(MAX_BACKOFF.total_seconds(), 2.0 ** min(attempts, 12))
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))
