"""`tsunagu work`: the work role on its own — claims events and timers from the database, runs
the turns, delivers the outbox, runs the periodic passes. Any number may run against one
PostgreSQL database; `tsunagu serve` starts one beside itself unless told `--no-worker`.

SIGTERM (or Ctrl-C) stops taking new work; what is in hand is finished within
TSUNAGU_SHUTDOWN_GRACE_SECONDS, and the process exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from . import logs
from .settings import Settings

if TYPE_CHECKING:
    from .services import Services


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("work", help="run a worker: turns, deliveries and periodic passes")
    parser.add_argument("--config", type=Path, help="TOML settings file (environment variables win)")
    parser.add_argument("--health-port", type=int, default=None, metavar="PORT",
                        help="answer GET /healthz and /metrics on 127.0.0.1:PORT (a supervisor's liveness "
                             "check; else TSUNAGU_WORKER_METRICS_LISTEN, if set)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env(config_file=args.config)
    logs.setup(settings.log_level)
    asyncio.run(_work(settings, health_port=args.health_port))
    return 0


def _address(listen: str) -> tuple[str, int] | None:
    """("127.0.0.1", 9109) from "127.0.0.1:9109"; None for ""."""
    if not listen:
        return None
    host, _, port = listen.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise SystemExit(f"tsunagu work: TSUNAGU_WORKER_METRICS_LISTEN must be HOST:PORT, not {listen[:60]!r}")
    return host or "127.0.0.1", int(port)


def worker_app(services: Services) -> web.Application:
    """A worker's own small HTTP side: GET /healthz (can it reach the database) and GET /metrics
    (what this process counted: turns, deliveries, handoffs, unmet demand, who is on duty). It
    listens on loopback or a private address only; like the web's metrics_listen, whoever reaches
    it may read it."""
    async def healthz(request: web.Request) -> web.Response:
        try:
            await services.store.counts()
        except Exception as exc:
            return web.json_response({"status": "unavailable", "error": type(exc).__name__}, status=503)
        return web.json_response({"status": "ok", "role": "work"})

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=await services.metrics_text(), content_type="text/plain", charset="utf-8")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


async def _work(settings: Settings, *, health_port: int | None) -> None:
    from .clock import utcnow
    from .services import open_services
    from .supervise import worker_link_from_env
    from .work.wake import PipeLink

    links = []
    fds = worker_link_from_env()
    if fds is not None:
        read_fd, write_fd = fds
        links.append(lambda bus: PipeLink(bus, read_fd=read_fd, write_fd=write_fd))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with open_services(settings, utcnow, web=False, work=True, links=links) as services:
        runner = None
        listen = ("127.0.0.1", health_port) if health_port is not None else _address(settings.worker_metrics_listen)
        if listen is not None:
            runner = web.AppRunner(worker_app(services), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, *listen).start()
            logging.getLogger(__name__).info("worker health and metrics on http://%s:%s", *listen)
        logging.getLogger(__name__).info("worker running")
        await stop.wait()
        logging.getLogger(__name__).info("stopping: finishing what is in hand")
        if runner is not None:
            await runner.cleanup()
