"""The composition root: every service of a running Tsunagu, built once, in one place, in order.

`open_services(settings, clock, web=..., work=...)` opens storage, the desk, the wake-up bus and,
for the two roles a process may have:

- web (`tsunagu serve`): the one receive path and the channels that take events in (LINE's
  webhook, Slack's events, the web chat's sockets), and the web desk's API;
- work (`tsunagu work`, or in-process in tests): the flows (kept current from files and the
  database), the worker that claims batches from the database, the outbox pump and its senders,
  and the periodic passes;

and closes them in reverse. Each part is handed exactly what it needs: no part looks anything up
in the app, and no channel imports this module or the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApi, Configuration

from flows.versions import FlowVersions
from routing import Directory, example_directory_path, load_directory, load_hotlines
from storage import FlowVersionStore, Keyring, Store, WebMailbox, open_storage
from storage.audit import AuditLog
from storage.db import Database
from storage.desk_users import DeskUsers
from storage.work import WorkQueue

from .clock import Clock
from .desk import Desk, NullDesk, RiskLexicon
from .desk import notices as desk_notices
from .desk.port import StaffedDesk, Staffing
from .line import translate as line_translate
from .line.sender import LineSender
from .line.webhook import LineWebhook
from .metrics import Metrics
from .publish import FlowPublisher
from .receive import Receiver
from .settings import Settings
from .web import translate as web_translate
from .web.limits import chat_limits
from .web.sender import WebSender
from .web.socket import WebChat
from .webdesk.mount import create_demo_user, on_embedded_defaults
from .webdesk.views import WebDeskApi
from .work.desk_notices import DeskNoticeSender
from .work.outgoing import ChannelSpec
from .work.passes import Passes
from .work.pump import OutboxPump
from .work.sending import ChannelSender
from .work.timers import running
from .work.turn import Conversation
from .work.wake import Bus, Link, PostgresLink
from .work.worker import Worker

if TYPE_CHECKING:  # only a Slack deployment imports slack_bolt (see open_slack)
    from .slack.parts import SlackParts

log = logging.getLogger(__name__)

LinkFactory = Callable[[Bus], Link]


@dataclass
class WorkParts:
    """The work role: what claims and delivers."""

    flows: FlowVersions
    publisher: FlowPublisher
    port: StaffedDesk  # the desk, or NullDesk while nobody could answer a handoff
    worker: Worker
    pump: OutboxPump
    passes: Passes


@dataclass
class Services:
    """What the routes and the tests reach; built by `open_services`."""

    settings: Settings
    clock: Clock
    metrics: Metrics
    keyring: Keyring
    database: Database
    store: Store
    bus: Bus
    directory: Directory
    desk: Desk
    users: DeskUsers
    web_mailbox: WebMailbox
    receiver: Receiver
    web_chat: WebChat
    webdesk: WebDeskApi
    audit: AuditLog | None = None
    work: WorkParts | None = None
    line: LineWebhook | None = None
    line_api: AsyncMessagingApi | None = None
    slack: SlackParts | None = None

    async def metrics_text(self) -> bytes:
        """This process's Prometheus text, the outbox's size read now (the counters still answer
        when the database does not): the web's /metrics and a worker's own."""
        with contextlib.suppress(Exception):
            self.metrics.outbox_pending.set((await self.store.counts()).get("outbox_pending", 0))
        return self.metrics.render()

    # The work role's parts, for tests and tools that run both roles in one process.
    @property
    def worker(self) -> Worker:
        return self._work.worker

    @property
    def pump(self) -> OutboxPump:
        return self._work.pump

    @property
    def passes(self) -> Passes:
        return self._work.passes

    @property
    def flows(self) -> FlowVersions:
        return self._work.flows

    @property
    def publisher(self) -> FlowPublisher:
        return self._work.publisher

    @property
    def port(self) -> StaffedDesk:
        return self._work.port

    @property
    def _work(self) -> WorkParts:
        if self.work is None:
            raise RuntimeError("this process has no work role (tsunagu work runs it)")
        return self.work


@contextlib.asynccontextmanager
async def open_services(settings: Settings, clock: Clock, *, web: bool = True, work: bool = True,
                        links: Sequence[LinkFactory] = ()) -> AsyncIterator[Services]:
    async with contextlib.AsyncExitStack() as stack:
        metrics = Metrics()
        # A process that takes events in commits durably before it acknowledges them; a worker
        # alone need not wait for the disk: what it loses in a power cut is redone (see open_database).
        retention = settings.retention()
        storage = await open_storage(settings.database_url, settings.key_file, key_store=settings.key_store,
                                     durable_commits=web, erase_on_close=not retention.cases)
        stack.push_async_callback(storage.close)
        if storage.key_created:
            log.warning("no key file was at %s, so a new one was created: back it up and keep it apart from the "
                        "database; without it the stored conversations cannot be read", settings.key_file)
        keyring, database, store, cases = storage.keyring, storage.database, storage.store, storage.cases

        bus = Bus()
        stack.push_async_callback(bus.close)
        for make in links:
            bus.link(make(bus))
        if database.dialect != "sqlite":
            bus.link(PostgresLink(bus, dsn=database.asyncpg_dsn(), channel=settings.wake_channel))

        directory = load_directory(settings.directory or example_directory_path())
        users = storage.desk_users
        audit = AuditLog(database)
        desk = Desk(cases=cases, directory=directory, hotlines=load_hotlines(),
                    lexicon=RiskLexicon.load(settings.risk_words_file), clock=clock, metrics=metrics,
                    wake_sender=lambda: bus.notify("outbox"), web_accounts=users.org_ids,
                    retention=retention.cases, demand=storage.demand,
                    presence=storage.presence, audit=audit)
        if web and on_embedded_defaults(settings) and await users.count() == 0:
            await create_demo_user(users, directory, now=clock(), presence=storage.presence)

        receiver = Receiver(store=store, metrics=metrics, wake=lambda _items: bus.notify("inbox"))
        mailbox = storage.mailbox
        web_chat = WebChat(receiver=receiver, keyring=keyring, mailbox=mailbox, metrics=metrics, clock=clock,
                           language_of=_language_of(store), limits=chat_limits(settings), retention=retention)
        stack.push_async_callback(web_chat.close)
        bus.on("mailbox", web_chat.push)
        services = Services(
            settings=settings, clock=clock, metrics=metrics, keyring=keyring, database=database, store=store,
            bus=bus, directory=directory, desk=desk, users=users, web_mailbox=mailbox, receiver=receiver,
            web_chat=web_chat, webdesk=WebDeskApi(desk=desk, users=users, clock=clock, public_url=settings.public_url,
                                                    audit=audit),
            audit=audit,
        )

        senders: dict[str, ChannelSender] = {}
        slack_sender: ChannelSender | None = None
        if settings.line_enabled:
            services.line_api = await stack.enter_async_context(_line_api(settings))
            senders[line_translate.CHANNEL] = LineSender(services.line_api, clock=clock)
            services.line = LineWebhook(channel_secret=settings.line_channel_secret or "", receiver=receiver,
                                        keyring=keyring, metrics=metrics, clock=clock,
                                        max_body_bytes=settings.max_body_bytes)
        elif web:
            log.info("LINE not mounted: LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN are not both set")
        if settings.slack_enabled:
            from .slack.parts import open_slack

            slack = services.slack = await stack.enter_async_context(open_slack(
                settings, desk=desk, receiver=receiver, keyring=keyring, metrics=metrics, clock=clock))
            slack_sender = slack.desk_sender
            senders[slack.person_channel] = slack.person_sender
        elif web:
            log.info("Slack not mounted: SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN are not both set")

        if web:  # chats opened and never written in (idempotent: any web instance may do it)
            await stack.enter_async_context(running(("web-silent", 600.0, web_chat.sweep)))
        if work:
            senders[web_translate.CHANNEL] = WebSender(mailbox, told=lambda p: bus.notify("mailbox", p), clock=clock)
            senders[desk_notices.CHANNEL] = senders[desk_notices.LEGACY_CHANNEL] = DeskNoticeSender(
                cases, slack=slack_sender)
            services.work = await _work(stack, settings, clock, services, storage.flow_versions, senders)
        yield services
        if services.work is not None:  # stop taking work; finish what is in flight
            await services.work.worker.finish(settings.shutdown_grace_seconds)
            await services.work.pump.close(settings.shutdown_grace_seconds)


async def _work(stack: contextlib.AsyncExitStack, settings: Settings, clock: Clock, services: Services,
                flow_versions: FlowVersionStore, senders: dict[str, ChannelSender]) -> WorkParts:
    """The work role: flows, the worker, the pump and the passes, running until the stack closes."""
    flows = FlowVersions()
    publisher = FlowPublisher(versions=flows, store=flow_versions, flows_dir=settings.flows_dir, clock=clock)
    await publisher.start()
    stack.enter_context(_on_sighup(publisher))

    metrics, bus, desk = services.metrics, services.bus, services.desk
    port = StaffedDesk(desk, NullDesk(metrics), staffing=Staffing(lambda: _staffed(settings, services.users)))
    if not await port.staffing.staffed():
        log.info("desk not taking handoffs yet: no Slack and no web desk user "
                 "(tsunagu desk add-user ORG NAME; the running service sees it within seconds)")
    retention = settings.retention()
    queue = WorkQueue(services.database, services.keyring, erase_on_close=not retention.cases)
    conversation = Conversation(flows=flows, clock=clock, channels={
        line_translate.CHANNEL: ChannelSpec(batch_size=line_translate.MAX_MESSAGES_PER_CALL,
                                            reply_ttl=timedelta(seconds=settings.reply_token_ttl_seconds)),
        web_translate.CHANNEL: ChannelSpec(batch_size=web_translate.BATCH, reply_ttl=None),
    })
    worker = Worker(queue=queue, conversation=conversation, desk=port, metrics=metrics, clock=clock, bus=bus,
                    batch_size=settings.work_batch_size, poll_seconds=settings.work_poll_seconds)
    if services.slack is not None:
        worker.handlers[services.slack.desk_channel] = services.slack.events.handle_item
    pump = OutboxPump(store=services.store, senders=senders, metrics=metrics, clock=clock, bus=bus,
                      poll_seconds=settings.sender_poll_seconds, lease=timedelta(seconds=settings.send_lease_seconds))
    passes = Passes(queue=queue, store=services.store, mailbox=services.web_mailbox, desk=desk, clock=clock,
                    retention=retention, desk_every=settings.desk_poll_seconds)

    stack.push_async_callback(pump.close)
    await stack.enter_async_context(_task(pump.run(), "outbox"))
    await stack.enter_async_context(_task(worker.run(), "worker"))
    await stack.enter_async_context(running(
        ("flows", settings.flows_poll_seconds, publisher.refresh),
        ("desk", settings.desk_poll_seconds, passes.sweep),
        ("retention", 3600.0, passes.purge),
    ))
    return WorkParts(flows=flows, publisher=publisher, port=port, worker=worker, pump=pump, passes=passes)


async def _staffed(settings: Settings, users: DeskUsers) -> bool:
    return settings.slack_enabled or await users.count() > 0


def _language_of(store: Store) -> Callable[[str], Awaitable[str | None]]:
    """A person's conversation language, as their stored session says (None without one)."""

    async def language_of(pseudonym: str) -> str | None:
        stored = await store.load_session(pseudonym)
        language = stored.state.get("language") if stored is not None else None
        return language if isinstance(language, str) else None

    return language_of


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
