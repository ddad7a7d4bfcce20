"""create_app(settings): the one factory that assembles the service.

Resources that open and close (keys and database, the LINE client, the background workers) are
`cleanup_ctx` generators, in that order, so they close in reverse. A channel whose credentials
are absent is not mounted, and the log says so once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

from aiohttp import web
from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApi, Configuration

from flows.versions import FlowVersions
from routing import example_directory_path, load_directory, load_hotlines
from storage import CaseStore, Database, FlowVersionStore, Keyring, Store, open_database

from .delivery import ChannelSender, OutboxPump
from .desk import Desk, RiskLexicon
from .dispatch import ChannelSpec, Dispatcher, HandoffSink, LoggingHandoff
from .line import translate as line_translate
from .line.sender import LineSender
from .line.webhook import LineWebhook
from .metrics import Metrics
from .periodic import running
from .publish import FlowPublisher
from .settings import Settings
from .web import mount as web_mount
from .web import translate as web_translate
from .webdesk import mount as webdesk_mount

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Callable)
METRICS = web.AppKey("metrics", Metrics)
KEYRING = web.AppKey("keyring", Keyring)
DATABASE = web.AppKey("database", Database)
STORE = web.AppKey("store", Store)
FLOWS = web.AppKey("flows", FlowVersions)
PUBLISHER = web.AppKey("publisher", FlowPublisher)
LINE_API = web.AppKey("line_api", AsyncMessagingApi)
SENDERS = web.AppKey("senders", dict)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
OUTBOX = web.AppKey("outbox", OutboxPump)
LINE_WEBHOOK = web.AppKey("line_webhook", LineWebhook)
HANDOFF = web.AppKey("handoff", object)
HANDLERS = web.AppKey("handlers", dict)  # inbox channel -> handler of events that are not people
DESK = web.AppKey("desk", Desk)
EXPLICIT_HANDOFF = web.AppKey("explicit_handoff", bool)


def utcnow() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: Settings, *, clock: Clock = utcnow, handoff: HandoffSink | None = None
) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[METRICS] = metrics = Metrics()
    app[SENDERS] = {}
    app[HANDOFF] = handoff or LoggingHandoff(metrics)
    app[EXPLICIT_HANDOFF] = handoff is not None
    app.cleanup_ctx.append(_storage)
    app.cleanup_ctx.append(_flows)
    app.cleanup_ctx.append(_desk)  # one desk for both front ends: Slack and the web desk
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    if settings.line_enabled:
        app.cleanup_ctx.append(_line)
        app.router.add_post("/webhooks/line", line_webhook)
    else:
        log.info("LINE not mounted: LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN are not both set")
    web_mount.mount(app)  # the web chat needs no credentials: always mounted
    webdesk_mount.mount(app)  # nor does the web desk for counselors
    app[HANDLERS] = {}
    if settings.slack_enabled:
        from .slack import mount as slack_mount  # only a Slack deployment loads slack_bolt

        slack_mount.mount(app)
    else:
        log.info("Slack not mounted: SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN are not both set")
    app.cleanup_ctx.append(_workers)
    return app


async def _storage(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    keyring, created = Keyring.load_or_create(settings.key_file)
    if created:
        log.warning(
            "created a new key file at %s: back it up and keep it apart from the database; "
            "without it the stored conversations cannot be read",
            settings.key_file,
        )
    app[KEYRING] = keyring
    app[DATABASE] = database = await open_database(settings.database_url)
    app[STORE] = Store(database, keyring)
    try:
        yield
    finally:
        await database.close()


async def _flows(app: web.Application) -> AsyncIterator[None]:
    """Flows from the files and the database; kept current on SIGHUP and when files change."""
    settings = app[SETTINGS]
    app[FLOWS] = versions = FlowVersions()
    app[PUBLISHER] = publisher = FlowPublisher(
        versions=versions, store=FlowVersionStore(app[DATABASE]), flows_dir=settings.flows_dir, clock=app[CLOCK]
    )
    await publisher.start()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # no signals off the main thread
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(publisher.reload()))
    watcher = asyncio.create_task(publisher.watch(settings.flows_poll_seconds), name="flows")
    try:
        yield
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGHUP)


async def _desk(app: web.Application) -> AsyncIterator[None]:
    """The counselor desk, built whether or not Slack is mounted: partners with `desk: {web: true}`
    take cases on /desk, those with a Slack channel on Slack; the periodic pass runs here.

    It takes the handoffs once someone can answer them: Slack is mounted, or the web desk has a
    counselor account (on the embedded defaults a demo one is created). Otherwise handoffs are
    only counted, as before there was a desk, rather than queued where nobody can sign in."""
    settings = app[SETTINGS]

    def wake() -> None:
        if OUTBOX in app:
            app[OUTBOX].wake()

    desk = Desk(
        cases=CaseStore(app[DATABASE], app[KEYRING]),
        directory=load_directory(settings.directory or example_directory_path()),
        hotlines=load_hotlines(), lexicon=RiskLexicon.load(settings.risk_words_file), clock=app[CLOCK],
        wake_sender=wake, metrics=app[METRICS],
    )
    app[DESK] = desk
    staffed = await webdesk_mount.prepare(app)
    if not app[EXPLICIT_HANDOFF]:
        if settings.slack_enabled or staffed:
            app[HANDOFF] = desk
        else:
            log.info("desk not taking handoffs: no Slack and no web desk user (tsunagu desk add-user ORG NAME)")
    task = asyncio.create_task(desk.run(settings.desk_poll_seconds), name="desk")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _line(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    config = Configuration(host=settings.line_api_base_url, access_token=settings.line_channel_access_token)
    config.connection_pool_maxsize = settings.line_pool_size
    client = AsyncApiClient(config)
    app[LINE_API] = api = AsyncMessagingApi(client)
    app[SENDERS]["line"] = LineSender(api, clock=app[CLOCK])
    try:
        yield
    finally:
        await client.close()


async def _workers(app: web.Application) -> AsyncIterator[None]:
    settings, store, metrics, clock = app[SETTINGS], app[STORE], app[METRICS], app[CLOCK]
    senders: dict[str, ChannelSender] = app[SENDERS]
    pump = OutboxPump(
        store=store, senders=senders, metrics=metrics, clock=clock, poll_seconds=settings.sender_poll_seconds
    )
    dispatcher = Dispatcher(
        store=store,
        keyring=app[KEYRING],
        flows=app[FLOWS],
        metrics=metrics,
        clock=clock,
        channels={
            "line": ChannelSpec(
                batch_size=line_translate.MAX_MESSAGES_PER_CALL,
                reply_ttl=timedelta(seconds=settings.reply_token_ttl_seconds),
            ),
            web_translate.CHANNEL: ChannelSpec(batch_size=web_translate.BATCH, reply_ttl=None),
        },
        handoff=app[HANDOFF],
        wake_sender=pump.wake,
        handlers=app[HANDLERS],
    )
    app[OUTBOX], app[DISPATCHER] = pump, dispatcher
    if settings.line_enabled:
        app[LINE_WEBHOOK] = LineWebhook(
            channel_secret=settings.line_channel_secret or "",
            store=store,
            keyring=app[KEYRING],
            metrics=metrics,
            clock=clock,
            submit=dispatcher.submit,
            max_body_bytes=settings.max_body_bytes,
        )
    dispatcher.submit(await store.pending_events())  # what was acknowledged before a restart
    keep = timedelta(days=settings.retention_days)

    async def timers() -> None:
        """Reminders and expiry: sessions whose wake time has come get a tick, in their person's order."""
        for pseudonym in await store.due_sessions(clock()):
            dispatcher.submit_tick(pseudonym)

    async def retention() -> None:
        """Finished inbox and outbox rows are deleted once older than the retention period."""
        if deleted := await store.purge_finished(before=clock() - keep):
            log.info("retention: deleted %d finished rows", deleted)

    outbox = asyncio.create_task(pump.run(), name="outbox")
    try:
        async with running(("timers", settings.timer_poll_seconds, timers), ("retention", 3600.0, retention)):
            yield
    finally:
        outbox.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await outbox
        await dispatcher.close()
        await pump.close()


async def line_webhook(request: web.Request) -> web.Response:
    return await request.app[LINE_WEBHOOK].handle(request)


async def healthz(request: web.Request) -> web.Response:
    try:
        counts = await request.app[STORE].counts()
    except Exception as exc:
        return web.json_response({"status": "unavailable", "error": type(exc).__name__}, status=503)
    return web.json_response({"status": "ok", **counts})


async def metrics_view(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    with contextlib.suppress(Exception):
        metrics.outbox_pending.set((await request.app[STORE].counts()).get("outbox_pending", 0))
    return web.Response(body=metrics.render(), content_type="text/plain", charset="utf-8")
