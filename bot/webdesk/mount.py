"""Mounting the web desk: GET /desk (the page), its JSON API under /desk/api, and the accounts.

Always mounted, like the web chat: a partner with `desk: {web: true}` needs no other account.
On the embedded defaults (the default SQLite file and the bundled example directory) with no
desk user yet, a demo counselor is created for the first web-desk partner and its password is
printed once, so `tsunagu serve` on a fresh checkout can take a case in a second tab.
"""

from __future__ import annotations

import logging
import secrets
import sys

from aiohttp import web

from storage.desk_users import DeskUsers

from ..settings import Settings
from ..web.mount import PAGE_HEADERS, STATIC
from . import views
from .views import USERS

log = logging.getLogger(__name__)

DEMO_NAME = "demo"
# The desk is never framed by anyone (unlike /chat, which partners embed).
DESK_HEADERS = {**PAGE_HEADERS, "Content-Security-Policy": (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "X-Frame-Options": "DENY"}


def mount(app: web.Application) -> None:
    app.router.add_get("/desk", desk_page)
    app.router.add_post("/desk/api/signin", views.sign_in)
    app.router.add_post("/desk/api/signout", views.sign_out)
    app.router.add_get("/desk/api/me", views.me)
    app.router.add_get("/desk/api/cases", views.queue)
    app.router.add_get("/desk/api/cases/{case_id}", views.case_view)
    app.router.add_post("/desk/api/cases/{case_id}/{action}", views.action)


def on_embedded_defaults(settings: Settings) -> bool:
    defaults = Settings()
    return settings.database_url == defaults.database_url and settings.directory is None


async def prepare(app: web.Application) -> bool:
    """The accounts (and the demo counselor on the embedded defaults); called by create_app's
    desk context once the Desk is built. True if any counselor can sign in."""
    from ..app import CLOCK, DATABASE, DESK, SETTINGS

    users = DeskUsers(app[DATABASE])
    app[USERS] = users
    count = await users.count()
    if on_embedded_defaults(app[SETTINGS]) and count == 0:
        count += bool(await create_demo_user(users, app[DESK].directory, now=app[CLOCK]()))
    return count > 0


async def create_demo_user(users: DeskUsers, directory, *, now) -> tuple[str, str, str] | None:
    """(partner id, name, password) of a new demo counselor at the first web-desk partner."""
    org = next((o for o in directory.organizations if o.desk.web), None)
    if org is None:
        log.info("no partner with desk: {web: true} in the directory: no demo desk user")
        return None
    password = secrets.token_urlsafe(12)
    await users.add(org.id, DEMO_NAME, password, now=now)
    print(
        "\n  web desk for counselors: /desk  (demo counselor created, shown only this once)\n"
        f"    organization: {org.id}\n    name: {DEMO_NAME}\n    password: {password}\n"
        "  more counselors: tsunagu desk add-user ORG NAME\n",
        file=sys.stderr, flush=True,
    )
    return org.id, DEMO_NAME, password


async def desk_page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "desk.html", headers=DESK_HEADERS)
