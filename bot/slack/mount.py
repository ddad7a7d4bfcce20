"""Mounting Slack on the app: the desk, the Web API client on one shared aiohttp session, the
senders for the desk and for people on Slack, and POST /slack/events.

Called by create_app only when SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN are both set.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from routing import example_directory_path, load_directory, load_hotlines
from storage.cases import CaseStore

from ..desk import Desk, RiskLexicon
from .adapter import SlackAdapter
from .sender import SlackDeskSender, SlackPersonSender
from .translate import DESK as DESK_CHANNEL
from .translate import PERSON

DESK = web.AppKey("desk", Desk)
SLACK = web.AppKey("slack", SlackAdapter)
SLACK_CLIENT = web.AppKey("slack_client", AsyncWebClient)


def mount(app: web.Application, *, explicit_handoff: bool) -> None:
    async def context(app: web.Application) -> AsyncIterator[None]:
        async for _ in _slack(app, explicit_handoff=explicit_handoff):
            yield

    app.cleanup_ctx.append(context)
    app.router.add_post("/slack/events", slack_events)


async def _slack(app: web.Application, *, explicit_handoff: bool) -> AsyncIterator[None]:
    from ..app import CLOCK, DATABASE, DISPATCHER, HANDLERS, HANDOFF, KEYRING, METRICS, OUTBOX, SENDERS, SETTINGS, STORE

    settings, clock = app[SETTINGS], app[CLOCK]
    session = aiohttp.ClientSession()
    client = AsyncWebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_base_url, session=session,
        retry_handlers=[AsyncConnectionErrorRetryHandler(), AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    cases = CaseStore(app[DATABASE], app[KEYRING])

    def wake() -> None:
        if OUTBOX in app:
            app[OUTBOX].wake()

    desk = Desk(
        cases=cases, directory=load_directory(settings.directory or example_directory_path()),
        hotlines=load_hotlines(), lexicon=RiskLexicon.load(settings.risk_words_file), clock=clock, wake_sender=wake,
    )
    app[DESK], app[SLACK_CLIENT] = desk, client
    if not explicit_handoff:
        app[HANDOFF] = desk
    app[SENDERS][DESK_CHANNEL] = SlackDeskSender(client, cases, clock=clock)
    app[SENDERS][PERSON] = SlackPersonSender(client)
    adapter = SlackAdapter(
        client=client, signing_secret=settings.slack_signing_secret or "", store=app[STORE], keyring=app[KEYRING],
        desk=desk, metrics=app[METRICS], clock=clock, submit=lambda items: app[DISPATCHER].submit(items),
        nickname=settings.counselor_nickname,
    )
    app[SLACK] = adapter
    app[HANDLERS][DESK_CHANNEL] = adapter.handle_item
    task = asyncio.create_task(desk.run(settings.desk_poll_seconds), name="desk")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await session.close()


async def slack_events(request: web.Request) -> web.Response:
    return await request.app[SLACK].handle(request)
