"""The periodic passes, each one plain call, each run by one instance at a time.

The desk's sweep (overflow, partners that opened, queue positions, follow-ups) and retention
(finished rows and web chat lines past the retention period) take a lease in the database
before they run (WorkQueue.take_pass), so with any number of worker processes each runs once per
period. The lease is a row rather than a PostgreSQL advisory lock because a pass spans several
transactions, and because SQLite has none. Timers (reminders, expiry) are not a pass: workers
claim due sessions with their batches (storage/work.py).
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from storage import Store, WebMailbox, erasure
from storage.erasure import Retention
from storage.work import WorkQueue

from ..clock import Clock
from ..desk import Desk

log = logging.getLogger(__name__)


class Passes:
    def __init__(self, *, queue: WorkQueue, store: Store, mailbox: WebMailbox, desk: Desk, clock: Clock,
                 retention: Retention, desk_every: float, retention_every: float = 3600.0) -> None:
        self.queue = queue
        self.store = store
        self.mailbox = mailbox
        self.desk = desk
        self.clock = clock
        self.retention = retention
        self.desk_every = desk_every
        self.retention_every = retention_every
        self.owner = secrets.token_hex(8)  # this instance, in the leases

    async def _mine(self, name: str, every: float) -> bool:
        # A little shorter than the period, so that the holder's next turn finds it free.
        hold = timedelta(seconds=every * 0.9)
        return await self.queue.take_pass(name, owner=self.owner, now=self.clock(), hold=hold)

    async def sweep(self) -> bool:
        """The desk's periodic pass, if it is this instance's turn."""
        if not await self._mine("desk", self.desk_every):
            return False
        await self.desk.run_once(self.clock())
        return True

    async def purge(self, *, force: bool = False) -> int:
        """Every kind of record goes once past its retention period (storage/erasure.py, the
        settings `retention_*`); -1 if another instance has this period's turn."""
        if not force and not await self._mine("retention", self.retention_every):
            return -1
        counts = await erasure.purge(self.queue.database, self.store, self.mailbox, self.queue.keyring,
                                     self.retention, now=self.clock())
        if any(counts.values()):
            log.info("retention: %s", ", ".join(f"{name} {n}" for name, n in counts.items() if n))
        return sum(counts.values())
