"""Mounting the web chat: GET /chat, GET /chat/ws, the static files, and the "web" sender.

Always mounted: the web chat needs no account anywhere, so `tsunagu serve` on its defaults is a
working service. The page is plain HTML, CSS and JavaScript from bot/static (no build step, no
request to anyone else), sent with a Content-Security-Policy that allows nothing but this origin.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from aiohttp import web

from storage import WebMailbox

from ..periodic import running
from .sender import WebSender
from .socket import WebChat
from .translate import CHANNEL

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent.parent / "static"
WEB_CHAT = web.AppKey("web_chat", WebChat)
WEB_MAILBOX = web.AppKey("web_mailbox", WebMailbox)

# frame-ancestors is open on purpose: partners embed /chat in an iframe on their own sites.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def mount(app: web.Application) -> None:
    app.cleanup_ctx.append(_web)
    app.on_shutdown.append(_close_sockets)
    app.router.add_get("/chat", chat_page)
    app.router.add_get("/chat/ws", chat_socket)
    app.router.add_static("/static/", STATIC, append_version=False)


async def _web(app: web.Application) -> AsyncIterator[None]:
    from ..app import CLOCK, DATABASE, DISPATCHER, KEYRING, METRICS, SENDERS, SETTINGS, STORE

    clock = app[CLOCK]
    mailbox = WebMailbox(app[DATABASE], app[KEYRING])
    chat = WebChat(
        store=app[STORE], keyring=app[KEYRING], mailbox=mailbox, metrics=app[METRICS], clock=clock,
        submit=lambda items: app[DISPATCHER].submit(items),
    )
    app[WEB_MAILBOX], app[WEB_CHAT] = mailbox, chat
    app[SENDERS][CHANNEL] = WebSender(mailbox, chat, clock=clock)
    keep = timedelta(days=app[SETTINGS].retention_days)

    async def retention() -> None:
        """Web conversations are deleted line by line once older than the retention period
        (TSUNAGU_RETENTION_DAYS, as for the inbox and outbox)."""
        if deleted := await mailbox.purge(before=clock() - keep):
            log.info("retention: deleted %d web chat lines", deleted)

    try:
        async with running(("web chat retention", 3600.0, retention)):
            yield
    finally:
        await chat.close()


async def _close_sockets(app: web.Application) -> None:
    if WEB_CHAT in app:
        await app[WEB_CHAT].drop()


async def chat_page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "chat.html", headers=PAGE_HEADERS)


async def chat_socket(request: web.Request) -> web.StreamResponse:
    return await request.app[WEB_CHAT].handle(request)
