"""create_app(settings): the aiohttp application — routes, and the services behind them.

The routes are fixed when the app is made (a channel whose credentials are absent is not
mounted, and the log says so once); the services are opened when it starts, by the one
composition root (bot/services.py), held under one typed key, and closed when it stops. Route
handlers reach their channel through that key; no channel imports this module.

Around every route: the client address and scheme from a trusted proxy (bot/proxy.py), a time
limit on reading a body, and a storage failure answered 503 with a clear message instead of 500.
`/healthz` says only ok or not; `/metrics` and `/healthz/details` answer only with the metrics
token, or on the separate metrics address (bot/serving.py).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from aiohttp import web
from aiohttp.typedefs import Middleware
from sqlalchemy.exc import DBAPIError

from storage import InvalidEvent, StorageError

from . import logs
from .clock import Clock, utcnow
from .keys import SERVICES, SETTINGS
from .proxy import forwarded_middleware
from .services import LinkFactory, Services, open_services
from .settings import Settings
from .web import mount as web_mount
from .webdesk import mount as webdesk_mount

__all__ = ["SERVICES", "SETTINGS", "create_app", "services_of", "utcnow"]

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNAVAILABLE = ("ただいま記録できません。しばらくしてからもう一度お試しください。"
               " / Storage is unavailable right now: please try again shortly.")


def services_of(request: web.Request) -> Services:
    return request.app[SERVICES]


def create_app(settings: Settings, *, clock: Clock = utcnow, work: bool = True,
               links: Sequence[LinkFactory] = ()) -> web.Application:
    """The app; with `work` the work role runs in this process too (tests, tools); `tsunagu serve`
    runs it in a worker process of its own instead (bot/supervise.py), linked by `links`."""
    logs.install()  # whatever configured logging: no log line identifies a person (bot/logs.py)
    middlewares: list[Middleware] = [m for m in (forwarded_middleware(settings.trusted_proxies),) if m is not None]
    middlewares += [_body_deadline(settings.body_timeout_seconds, settings.max_body_bytes), _storage_errors]
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=middlewares)
    app[SETTINGS] = settings

    async def services(app: web.Application) -> AsyncIterator[None]:
        async with open_services(settings, clock, web=True, work=work, links=links) as opened:
            app[SERVICES] = opened
            yield

    app.cleanup_ctx.append(services)
    app.on_shutdown.append(_close_sockets)
    app.router.add_get("/", front_page)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/healthz/details", health_details)
    app.router.add_get("/metrics", metrics_view)
    if settings.line_enabled:
        app.router.add_post("/webhooks/line", line_webhook)
    if settings.slack_enabled:
        app.router.add_post("/slack/events", slack_events)
    # The web chat and the web desk need no credentials: always mounted.
    app.router.add_routes(web_mount.routes(lambda request: services_of(request).web_chat))
    app.router.add_routes(webdesk_mount.routes(lambda request: services_of(request).webdesk))
    return app


def _body_deadline(seconds: float, max_bytes: int) -> Middleware:
    """Read a request's body within `seconds` (408 otherwise), before its handler runs: a client
    that trickles a body holds a connection for that long at most. The body is kept, so the
    handler's own read returns it at once."""

    @web.middleware
    async def deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.can_read_body and (request.content_length or 0) <= max_bytes:
            try:
                async with asyncio.timeout(seconds):
                    await request.read()
            except TimeoutError:
                return web.Response(status=408, text="request body too slow", headers={"Connection": "close"})
        return await handler(request)

    return deadline


@web.middleware
async def _storage_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A database that cannot be read or written: 503 with a message a person can act on."""
    try:
        return await handler(request)
    except InvalidEvent:
        return web.json_response({"error": "invalid", "message": "invalid request"}, status=400)
    except (DBAPIError, StorageError, OSError) as exc:
        if isinstance(exc, ConnectionResetError):  # the client went away: nobody to answer
            raise
        log.error("storage unavailable on %s: %s", request.path, type(exc).__name__)
        return web.json_response({"error": "storage-unavailable", "message": UNAVAILABLE}, status=503,
                                 headers={"Retry-After": "30"})


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


async def front_page(request: web.Request) -> web.StreamResponse:
    """`/`: the way to the chat, and at its foot the desk link for counselors."""
    return web.FileResponse(web_mount.STATIC / "index.html", headers=web_mount.PAGE_HEADERS)


async def _checks(services: Services) -> tuple[bool, dict[str, object]]:
    """Each health check: the database file is the one opened, the last write succeeded, a read
    works now."""
    checks: dict[str, object] = {}
    try:
        services.database.check_identity()
        checks["database_file"] = "ok"
    except StorageError:
        checks["database_file"] = "removed or replaced"
    checks["last_write"] = "ok" if services.database.write_failure is None else services.database.write_failure
    try:
        checks["counts"] = await services.store.counts()
    except Exception as exc:
        checks["counts"] = type(exc).__name__
    ok = (checks["database_file"] == "ok" and checks["last_write"] == "ok"
          and isinstance(checks["counts"], dict))
    return ok, checks


async def healthz(request: web.Request) -> web.Response:
    """Public: ok or not, nothing more (the volumes behind it are /healthz/details)."""
    ok, _ = await _checks(services_of(request))
    return web.json_response({"status": "ok" if ok else "unavailable"}, status=200 if ok else 503)


def _may_see_details(request: web.Request) -> web.Response | None:
    """None if the request may read metrics and health details; else the answer it gets."""
    settings = request.app[SETTINGS]
    if settings.metrics_listen and _on_metrics_listen(request, settings.metrics_listen):
        return None
    if settings.metrics_token:
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {settings.metrics_token}".encode()):
            return None
        return web.Response(status=401, text="metrics token needed", headers={"WWW-Authenticate": "Bearer"})
    return web.Response(status=404, text="not here: set TSUNAGU_METRICS_TOKEN or TSUNAGU_METRICS_LISTEN")


def _on_metrics_listen(request: web.Request, listen: str) -> bool:
    sock = request.transport.get_extra_info("sockname") if request.transport else None
    if not isinstance(sock, tuple) or len(sock) < 2:
        return False
    host, _, port = listen.rpartition(":")
    return str(sock[1]) == port and host.strip("[]") in (sock[0], "0.0.0.0", "::", "")


async def health_details(request: web.Request) -> web.Response:
    refused = _may_see_details(request)
    if refused is not None:
        return refused
    ok, checks = await _checks(services_of(request))
    return web.json_response({"status": "ok" if ok else "unavailable", **checks}, status=200 if ok else 503)


async def metrics_view(request: web.Request) -> web.Response:
    refused = _may_see_details(request)
    if refused is not None:
        return refused
    return web.Response(body=await services_of(request).metrics_text(), content_type="text/plain",
                        charset="utf-8")
