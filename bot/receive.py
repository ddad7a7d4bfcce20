"""The one way in for every channel: accepted events are stored in the inbox (durable before the
platform is answered), counted, and handed to the work side.

LINE's webhook, Slack's events and buttons, and the web chat's socket each translate their
platform's events into `NewEvent`s and call `receive`; none of them stores, counts or schedules
on its own. A redelivered event is stored once and handed on once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from storage import InboxItem, NewEvent, Store

from .metrics import Metrics

Wake = Callable[[Sequence[InboxItem]], None]


class Receiver:
    def __init__(self, *, store: Store, metrics: Metrics, wake: Wake) -> None:
        self.store = store
        self.metrics = metrics
        self.wake = wake

    async def receive(self, events: Sequence[NewEvent]) -> list[InboxItem]:
        """Store `events` (one transaction, shared with concurrent callers); return the new ones.

        Raises what the store raises: the caller answers "not stored" (LINE: 503, so it
        redelivers; the web chat: an error frame, so the page resends).
        """
        if not events:
            return []
        stored = await self.store.accept_events(events)
        fresh = Counter(item.channel for item in stored)
        for channel, offered in Counter(e.channel for e in events).items():
            self.metrics.events_received.labels(channel).inc(fresh[channel])
            self.metrics.events_duplicate.labels(channel).inc(offered - fresh[channel])
        if stored:
            self.wake(stored)
        return stored
