"""The "web" ChannelSender: an outbox row becomes the person's next mailbox line, then a wake-up.

Appending is keyed by the row's retry key, so if the pump delivers a row again (its bookkeeping
failed after the append) the person still sees it once. The browser need not be connected:
the line waits in the mailbox until the page catches up, so a web delivery is done ("Sent")
once the line is stored. The sender usually runs in a worker process; `told(pseudonym)` wakes
whichever web process holds the person's socket (bot/work/wake.py), which then pushes the line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from storage import OutboxItem, WebMailbox

from ..work.sending import Result, Sent
from . import translate as T


class WebSender:
    def __init__(self, mailbox: WebMailbox, *, told: Callable[[str], None], clock: Callable[[], datetime]) -> None:
        self.mailbox = mailbox
        self.told = told
        self.clock = clock

    async def send(self, item: OutboxItem, address: str | None) -> Result:
        now = self.clock()
        await self.mailbox.append(item.pseudonym, T.bot_line(item.payload, now=now), key=item.retry_key, now=now)
        self.told(item.pseudonym)
        return Sent("mailbox")
