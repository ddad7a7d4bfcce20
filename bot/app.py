"""create_app(settings): the aiohttp application — routes, and the services behind them.

The routes are fixed when the app is made (a channel whose credentials are absent is not
mounted, and the log says so once); the services are opened when it starts, by the one
composition root (bot/services.py), held under one typed key, and closed when it stops. Route
handlers reach their channel through that key; no channel imports this module.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from .clock import Clock, utcnow
from .keys import SERVICES, SETTINGS
from .services import Services, open_services
from .settings import Settings
from .web import mount as web_mount
from .webdesk import mount as webdesk_mount

__all__ = ["SERVICES", "SETTINGS", "create_app", "services_of", "utcnow"]


def services_of(request: web.Request) -> Services:
    return request.app[SERVICES]


def create_app(settings: Settings, *, clock: Clock = utcnow) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings

    async def services(app: web.Application) -> AsyncIterator[None]:
        async with open_services(settings, clock) as opened:
            app[SERVICES] = opened
            yield

    app.cleanup_ctx.append(services)
    app.on_shutdown.append(_close_sockets)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    if settings.line_enabled:
        app.router.add_post("/webhooks/line", line_webhook)
    if settings.slack_enabled:
        app.router.add_post("/slack/events", slack_events)
    # The web chat and the web desk need no credentials: always mounted.
    app.router.add_routes(web_mount.routes(lambda request: services_of(request).web_chat))
    app.router.add_routes(webdesk_mount.routes(lambda request: services_of(request).webdesk))
    return app


async def _close_sockets(app: web.Application) -> None:
    """Shutdown: close the chat sockets first, so the server does not wait for them."""
    if SERVICES in app:
        await app[SERVICES].web_chat.drop()


async def line_webhook(request: web.Request) -> web.StreamResponse:
    line = services_of(request).line
    if line is None:  # pragma: no cover - the route exists only when LINE is configured
        raise web.HTTPNotFound()
    return await line.handle(request)


async def slack_events(request: web.Request) -> web.StreamResponse:
    slack = services_of(request).slack
    if slack is None:  # pragma: no cover - the route exists only when Slack is configured
        raise web.HTTPNotFound()
    return await slack.adapter.handle(request)


async def healthz(request: web.Request) -> web.Response:
    try:
        counts = await services_of(request).store.counts()
    except Exception as exc:
        return web.json_response({"status": "unavailable", "error": type(exc).__name__}, status=503)
    return web.json_response({"status": "ok", **counts})


async def metrics_view(request: web.Request) -> web.Response:
    services = services_of(request)
    with contextlib.suppress(Exception):
        services.metrics.outbox_pending.set((await services.store.counts()).get("outbox_pending", 0))
    return web.Response(body=services.metrics.render(), content_type="text/plain", charset="utf-8")
