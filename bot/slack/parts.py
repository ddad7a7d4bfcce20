"""Slack's parts of a running service, opened together: the Web API client on one shared aiohttp
session, the adapter for POST /slack/events, the desk events' handler, and the two senders.

Opened by the composition root (bot/services.py) only when SLACK_SIGNING_SECRET and
SLACK_BOT_TOKEN are both set, so a deployment without Slack never imports slack_bolt.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from storage import Keyring

from ..desk import Desk
from ..metrics import Metrics
from ..receive import Receiver
from ..settings import Settings
from .adapter import SlackAdapter
from .desk_events import SlackDeskEvents
from .duty import SlackDuty
from .sender import SlackDeskSender, SlackPersonSender
from .translate import DESK, PERSON


@dataclass(frozen=True)
class SlackParts:
    client: AsyncWebClient
    adapter: SlackAdapter
    events: SlackDeskEvents
    desk_sender: SlackDeskSender
    person_sender: SlackPersonSender
    person_channel: str = PERSON  # the outbox and inbox channel of people on Slack
    desk_channel: str = DESK  # the inbox channel of counselors' threads and buttons


@contextlib.asynccontextmanager
async def open_slack(settings: Settings, *, desk: Desk, receiver: Receiver, keyring: Keyring,
                     metrics: Metrics, clock: Callable[[], datetime]) -> AsyncIterator[SlackParts]:
    session = aiohttp.ClientSession()
    try:
        client = AsyncWebClient(
            token=settings.slack_bot_token, base_url=settings.slack_api_base_url, session=session,
            timeout=10,  # well inside the outbox lease (bot/work/pump.py)
            retry_handlers=[AsyncConnectionErrorRetryHandler(), AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
        )
        yield SlackParts(
            client=client,
            adapter=SlackAdapter(client=client, signing_secret=settings.slack_signing_secret or "",
                                 receiver=receiver, keyring=keyring, metrics=metrics, clock=clock,
                                 nickname=settings.counselor_nickname, duty=SlackDuty(desk=desk, clock=clock)),
            events=SlackDeskEvents(client=client, desk=desk, clock=clock, nickname=settings.counselor_nickname),
            desk_sender=SlackDeskSender(client, desk.cases, clock=clock),
            person_sender=SlackPersonSender(client),
        )
    finally:
        await session.close()
