"""`tsunagu serve`: run the service on its settings (embedded defaults when nothing is set)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from . import logs
from .settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("serve", help="run the service")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    parser.add_argument("--config", type=Path, help="TOML settings file (environment variables win)")
    parser.add_argument("--no-worker", action="store_true",
                        help="do not start a worker process beside the server (run `tsunagu work` yourself)")
    parser.add_argument("--init", action="store_true",
                        help="create an empty database even though a key file already exists")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from aiohttp import web

    from . import serving
    from .app import create_app
    from .supervise import Pipes, WorkerProcess

    settings = Settings.from_env(config_file=args.config)
    logs.setup(settings.log_level)
    refusal = None if args.init else serving.fresh_database_refusal(settings)
    if refusal is not None:
        print(f"tsunagu serve: {refusal}", file=sys.stderr)
        return 2
    # A missing key file is created, and said so once, by the composition root (bot/services.py).
    base = f"http://{args.host}:{args.port}"
    print(f"Tsunagu on {base}  (database {settings.database_url})", file=sys.stderr)
    print(f"  web chat for people: {base}/chat  (the front page {base}/ leads there)", file=sys.stderr)
    print(f"  web desk for counselors: {base}/desk  (tsunagu desk add-user ORG NAME; no restart needed)",
          file=sys.stderr)
    if settings.line_enabled:
        print(f"  LINE webhook: {base}/webhooks/line", file=sys.stderr)
    if settings.slack_enabled:
        print(f"  Slack events and interactivity: {base}/slack/events", file=sys.stderr)
    print(f"  health: {base}/healthz", file=sys.stderr)
    if settings.metrics_listen:
        print(f"  metrics and health details: http://{settings.metrics_listen}/metrics", file=sys.stderr)
    if settings.worker_metrics_listen and not args.no_worker:
        print(f"  the worker's metrics: http://{settings.worker_metrics_listen}/metrics", file=sys.stderr)
    if args.no_worker:
        app = create_app(settings, work=False)
    else:
        pipes = Pipes()
        app = create_app(settings, work=False, links=[pipes.server_link])
        worker = WorkerProcess(config=args.config, pipes=pipes, grace=settings.shutdown_grace_seconds)

        async def beside(app: web.Application) -> AsyncIterator[None]:
            async with worker.running():
                yield

        app.cleanup_ctx.append(beside)  # after the services: the schema is upgraded before it starts
    serving.run(app, settings, host=args.host, port=args.port)
    return 0
