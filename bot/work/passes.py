"""The work side's repeating passes, each one plain call: timers (reminders and expiry) and
retention. The composition root runs them every few seconds or hourly (timers.py); tests and
`tsunagu db purge` call them directly."""

from __future__ import annotations

import logging
from datetime import timedelta

from storage import Store, WebMailbox

from ..clock import Clock
from .dispatch import Dispatcher

log = logging.getLogger(__name__)


class Passes:
    def __init__(self, *, store: Store, mailbox: WebMailbox, dispatcher: Dispatcher, clock: Clock,
                 retention: timedelta) -> None:
        self.store = store
        self.mailbox = mailbox
        self.dispatcher = dispatcher
        self.clock = clock
        self.retention = retention

    async def timers(self) -> int:
        """Sessions whose wake time has come (a reminder, the end) get a tick, in their person's order."""
        due = await self.store.due_sessions(self.clock())
        for pseudonym in due:
            self.dispatcher.submit_tick(pseudonym)
        return len(due)

    async def purge(self) -> int:
        """Finished inbox and outbox rows, and web chat lines, go once older than the retention period."""
        before = self.clock() - self.retention
        deleted = await self.store.purge_finished(before=before)
        lines = await self.mailbox.purge(before=before)
        if deleted or lines:
            log.info("retention: deleted %d finished rows and %d web chat lines", deleted, lines)
        return deleted + lines
