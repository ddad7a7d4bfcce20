"""Mounting Slack on the app: the Web API client on one shared aiohttp session, the senders for
the desk and for people on Slack, and POST /slack/events. The Desk itself is built by create_app
(bot/app.py), for Slack and the web desk alike.

Called by create_app only when SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN are both set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from storage.cases import CaseStore

from ..app import DESK
from .adapter import SlackAdapter
from .sender import SlackDeskSender, SlackPersonSender
from .translate import DESK as DESK_CHANNEL
from .translate import PERSON

__all__ = ["DESK", "SLACK", "SLACK_CLIENT", "mount"]

SLACK = web.AppKey("slack", SlackAdapter)
SLACK_CLIENT = web.AppKey("slack_client", AsyncWebClient)


def mount(app: web.Application) -> None:
    async def context(app: web.Application) -> AsyncIterator[None]:
        async for _ in _slack(app):
            yield

    app.cleanup_ctx.append(context)
    app.router.add_post("/slack/events", slack_events)


async def _slack(app: web.Application) -> AsyncIterator[None]:
    from ..app import CLOCK, DATABASE, DISPATCHER, HANDLERS, KEYRING, METRICS, SENDERS, SETTINGS, STORE

    settings, clock = app[SETTINGS], app[CLOCK]
    session = aiohttp.ClientSession()
    client = AsyncWebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_base_url, session=session,
        retry_handlers=[AsyncConnectionErrorRetryHandler(), AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    cases = CaseStore(app[DATABASE], app[KEYRING])
    desk = app[DESK]  # built by create_app before this context (bot/app.py _desk)
    app[SLACK_CLIENT] = client
    app[SENDERS][DESK_CHANNEL] = SlackDeskSender(client, cases, clock=clock)
    app[SENDERS][PERSON] = SlackPersonSender(client)
    adapter = SlackAdapter(
        client=client, signing_secret=settings.slack_signing_secret or "", store=app[STORE], keyring=app[KEYRING],
        desk=desk, metrics=app[METRICS], clock=clock, submit=lambda items: app[DISPATCHER].submit(items),
        nickname=settings.counselor_nickname,
    )
    app[SLACK] = adapter
    app[HANDLERS][DESK_CHANNEL] = adapter.handle_item
    try:
        yield
    finally:
        await session.close()


async def slack_events(request: web.Request) -> web.Response:
    return await request.app[SLACK].handle(request)
