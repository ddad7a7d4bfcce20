"""The web chat's routes: GET /chat, GET /chat/ws, GET /chat/privacy (what is kept, how long), the
static files.

Always mounted: the web chat needs no account anywhere, so `tsunagu serve` on its defaults is a
working service. The page is plain HTML, CSS and JavaScript from bot/static (no build step, no
request to anyone else), sent with a Content-Security-Policy that allows nothing but this origin.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from .privacy import page as privacy_page
from .socket import WebChat

STATIC = Path(__file__).resolve().parent.parent / "static"

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


def routes(chat: Callable[[web.Request], WebChat]) -> list[web.AbstractRouteDef]:
    """The chat's routes; `chat(request)` finds the app's WebChat (built when the app starts)."""

    async def socket(request: web.Request) -> web.StreamResponse:
        return await chat(request).handle(request)

    async def privacy(request: web.Request) -> web.StreamResponse:
        return web.Response(text=privacy_page(chat(request).retention), content_type="text/html",
                            headers=PAGE_HEADERS)

    return [
        web.get("/chat", chat_page),
        web.get("/chat/privacy", privacy),
        web.get("/chat/ws", socket),
        web.static("/static/", STATIC, append_version=False),
    ]


async def chat_page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "chat.html", headers=PAGE_HEADERS)
