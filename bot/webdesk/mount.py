"""The web desk's routes, and the demo counselor of the embedded defaults.

Always mounted, like the web chat: a partner with `desk: {web: true}` needs no other account.
On the embedded defaults (the default SQLite file and the bundled example directory) with no
desk user yet, a demo counselor is created for the first web-desk partner and its password is
printed once, so `tsunagu serve` on a fresh checkout can take a case in a second tab.
"""

from __future__ import annotations

import logging
import secrets
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiohttp import web

from routing import Directory
from storage.desk_users import DeskUsers
from storage.presence import Presence

from ..settings import Settings
from ..web.mount import PAGE_HEADERS, STATIC
from .views import WebDeskApi

log = logging.getLogger(__name__)

DEMO_NAME = "demo"
# The desk is never framed by anyone (unlike /chat, which partners embed).
DESK_HEADERS = {**PAGE_HEADERS, "Content-Security-Policy": (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "X-Frame-Options": "DENY"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def routes(api: Callable[[web.Request], WebDeskApi]) -> list[web.AbstractRouteDef]:
    """The desk's routes; `api(request)` finds the app's WebDeskApi (built when the app starts)."""

    def call(name: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            method: Handler = getattr(api(request), name)
            return await method(request)

        return handler

    return [
        web.get("/desk", desk_page),
        web.post("/desk/api/signin", call("sign_in")),
        web.post("/desk/api/signout", call("sign_out")),
        web.get("/desk/api/me", call("me")),
        web.post("/desk/api/duty", call("duty")),
        web.get("/desk/api/cases", call("queue")),
        web.get("/desk/api/history", call("history")),
        web.get("/desk/api/history/{case_id}", call("closed_case")),
        web.get("/desk/api/cases/{case_id}", call("case_view")),
        web.post("/desk/api/cases/{case_id}/{action}", call("action")),
    ]


def on_embedded_defaults(settings: Settings) -> bool:
    defaults = Settings()
    return settings.database_url == defaults.database_url and settings.directory is None


async def create_demo_user(users: DeskUsers, directory: Directory, *, now: datetime,
                           presence: Presence | None = None) -> tuple[str, str, str] | None:
    """(partner id, name, password) of a new demo counselor at the first web-desk partner, on
    duty at once and with no end (so the demo connects at any hour before anyone signs in)."""
    org = next((o for o in directory.organizations if o.desk.web), None)
    if org is None:
        log.info("no partner with desk: {web: true} in the directory: no demo desk user")
        return None
    password = secrets.token_urlsafe(12)
    user = await users.add(org.id, DEMO_NAME, password, now=now)
    if presence is not None:
        await presence.start(f"web:{user.id}", org.id, front="web", now=now, until=None)
    print(
        "\n  web desk for counselors: /desk  (demo counselor created, shown only this once)\n"
        f"    organization: {org.id}\n    name: {DEMO_NAME}\n    password: {password}\n"
        "    on duty now (the desk's switch turns it off)\n"
        "  more counselors: tsunagu desk add-user ORG NAME\n",
        file=sys.stderr, flush=True,
    )
    return org.id, DEMO_NAME, password


async def desk_page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "desk.html", headers=DESK_HEADERS)
