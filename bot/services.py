"""The composition root: every service of a running Tsunagu, built once, in one place, in order.

`open_services(settings, clock)` opens storage, the flows (kept current from files and the
database), the directory and the desk, the senders and the outbox pump, the dispatcher, the one
receive path, the channels, and the repeating passes; it closes them in reverse. Each part is
handed exactly what it needs as arguments: no part looks anything up in the app, and no channel
imports this module or the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApi, Configuration

from flows.versions import FlowVersions
from routing import Directory, example_directory_path, load_directory, load_hotlines
from storage import Keyring, Store, WebMailbox, open_storage
from storage.db import Database
from storage.desk_users import DeskUsers

from .clock import Clock
from .desk import Desk, DeskPort, NullDesk, RiskLexicon
from .desk import notices as desk_notices
from .line import translate as line_translate
from .line.sender import LineSender
from .line.webhook import LineWebhook
from .metrics import Metrics
from .publish import FlowPublisher
from .receive import Receiver
from .settings import Settings
from .web import translate as web_translate
from .web.sender import WebSender
from .web.socket import WebChat
from .webdesk.mount import create_demo_user, on_embedded_defaults
from .webdesk.views import WebDeskApi
from .work.desk_notices import DeskNoticeSender
from .work.dispatch import ChannelSpec, Dispatcher
from .work.passes import Passes
from .work.pump import OutboxPump
from .work.sending import ChannelSender
from .work.timers import running

if TYPE_CHECKING:  # only a Slack deployment imports slack_bolt (see _slack)
    from .slack.parts import SlackParts

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What the routes and the tests reach; built by `open_services`."""

    settings: Settings
    clock: Clock
    metrics: Metrics
    keyring: Keyring
    database: Database
    store: Store
    flows: FlowVersions
    publisher: FlowPublisher
    directory: Directory
    desk: Desk
    port: DeskPort  # the desk, or NullDesk while nobody could answer a handoff
    users: DeskUsers
    pump: OutboxPump
    dispatcher: Dispatcher
    receiver: Receiver
    web_chat: WebChat
    web_mailbox: WebMailbox
    webdesk: WebDeskApi
    line: LineWebhook | None = None
    line_api: AsyncMessagingApi | None = None
    slack: SlackParts | None = None
    passes: Passes = field(init=False)


@contextlib.asynccontextmanager
async def open_services(settings: Settings, clock: Clock) -> AsyncIterator[Services]:
    async with contextlib.AsyncExitStack() as stack:
        metrics = Metrics()
        storage = await open_storage(settings.database_url, settings.key_file)
        stack.push_async_callback(storage.close)
        if storage.key_created:
            log.warning("created a new key file at %s: back it up and keep it apart from the database; "
                        "without it the stored conversations cannot be read", settings.key_file)
        keyring, database, store, cases = storage.keyring, storage.database, storage.store, storage.cases

        flows = FlowVersions()
        publisher = FlowPublisher(versions=flows, store=storage.flow_versions, flows_dir=settings.flows_dir,
                                  clock=clock)
        await publisher.start()
        stack.enter_context(_on_sighup(publisher))

        directory = load_directory(settings.directory or example_directory_path())
        desk = Desk(cases=cases, directory=directory, hotlines=load_hotlines(),
                    lexicon=RiskLexicon.load(settings.risk_words_file), clock=clock, metrics=metrics)
        users = storage.desk_users
        staffed = await users.count() > 0
        if not staffed and on_embedded_defaults(settings):
            staffed = await create_demo_user(users, directory, now=clock()) is not None
        port: DeskPort = desk
        if not (settings.slack_enabled or staffed):
            port = NullDesk(metrics)
            log.info("desk not taking handoffs: no Slack and no web desk user (tsunagu desk add-user ORG NAME)")

        senders: dict[str, ChannelSender] = {}
        pump = OutboxPump(store=store, senders=senders, metrics=metrics, clock=clock,
                          poll_seconds=settings.sender_poll_seconds)
        desk.set_wake(pump.wake)
        dispatcher = Dispatcher(
            store=store, flows=flows, metrics=metrics, clock=clock, desk=port,
            channels={
                line_translate.CHANNEL: ChannelSpec(batch_size=line_translate.MAX_MESSAGES_PER_CALL,
                                                    reply_ttl=timedelta(seconds=settings.reply_token_ttl_seconds)),
                web_translate.CHANNEL: ChannelSpec(batch_size=web_translate.BATCH, reply_ttl=None),
            },
            wake_sender=pump.wake,
        )
        stack.push_async_callback(dispatcher.close)
        receiver = Receiver(store=store, metrics=metrics, wake=dispatcher.submit)

        mailbox = storage.mailbox
        web_chat = WebChat(receiver=receiver, keyring=keyring, mailbox=mailbox, metrics=metrics, clock=clock)
        stack.push_async_callback(web_chat.close)
        senders[web_translate.CHANNEL] = WebSender(mailbox, web_chat, clock=clock)

        services = Services(
            settings=settings, clock=clock, metrics=metrics, keyring=keyring, database=database, store=store,
            flows=flows, publisher=publisher, directory=directory, desk=desk, port=port, users=users, pump=pump,
            dispatcher=dispatcher, receiver=receiver, web_chat=web_chat, web_mailbox=mailbox,
            webdesk=WebDeskApi(desk=desk, users=users, clock=clock),
        )
        slack_sender: ChannelSender | None = None
        if settings.line_enabled:
            services.line_api = await stack.enter_async_context(_line_api(settings))
            senders[line_translate.CHANNEL] = LineSender(services.line_api, clock=clock)
            services.line = LineWebhook(channel_secret=settings.line_channel_secret or "", receiver=receiver,
                                        keyring=keyring, metrics=metrics, clock=clock,
                                        max_body_bytes=settings.max_body_bytes)
        else:
            log.info("LINE not mounted: LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN are not both set")
        if settings.slack_enabled:
            from .slack.parts import open_slack

            slack = services.slack = await stack.enter_async_context(open_slack(
                settings, desk=desk, store=store, receiver=receiver, keyring=keyring, metrics=metrics, clock=clock))
            slack_sender = slack.desk_sender
            senders[slack.person_channel] = slack.person_sender
            dispatcher.handlers[slack.desk_channel] = slack.events.handle_item
        else:
            log.info("Slack not mounted: SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN are not both set")
        notices = DeskNoticeSender(cases, slack=slack_sender)
        senders[desk_notices.CHANNEL] = senders[desk_notices.LEGACY_CHANNEL] = notices

        services.passes = Passes(store=store, mailbox=mailbox, dispatcher=dispatcher, clock=clock,
                                 retention=timedelta(days=settings.retention_days))

        dispatcher.submit(await store.pending_events())  # what was acknowledged before a restart
        stack.push_async_callback(pump.close)
        await stack.enter_async_context(_task(pump.run(), "outbox"))
        await stack.enter_async_context(running(
            ("flows", settings.flows_poll_seconds, publisher.refresh),
            ("desk", settings.desk_poll_seconds, desk.run_once),
            ("timers", settings.timer_poll_seconds, services.passes.timers),
            ("retention", 3600.0, services.passes.purge),
        ))
        yield services


@contextlib.asynccontextmanager
async def _task(work: Coroutine[object, object, None], name: str) -> AsyncIterator[asyncio.Task[None]]:
    """A background task for the duration of the block, cancelled (and awaited) at its end."""
    task = asyncio.get_running_loop().create_task(work, name=name)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.contextmanager
def _on_sighup(publisher: FlowPublisher) -> Iterator[None]:
    """SIGHUP re-reads the flow folder at once (where signals can be handled: the main thread)."""
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[object]] = set()

    def reload() -> None:
        task = loop.create_task(publisher.reload())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGHUP, reload)
    try:
        yield
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGHUP)


@contextlib.asynccontextmanager
async def _line_api(settings: Settings) -> AsyncIterator[AsyncMessagingApi]:
    config = Configuration(host=settings.line_api_base_url, access_token=settings.line_channel_access_token)
    config.connection_pool_maxsize = settings.line_pool_size
    client = AsyncApiClient(config)
    try:
        yield AsyncMessagingApi(client)
    finally:
        await client.close()
