"""`tsunagu serve`: run the service on its settings (embedded defaults when nothing is set)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("serve", help="run the service")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    parser.add_argument("--config", type=Path, help="TOML settings file (environment variables win)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from aiohttp import web

    from .app import create_app

    settings = Settings.from_env(config_file=args.config)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not settings.key_file.exists():
        print(
            f"WARNING: no key file at {settings.key_file}; a new one will be created. "
            "Back it up and keep it apart from the database: without it stored conversations cannot be read.",
            file=sys.stderr,
        )
    base = f"http://{args.host}:{args.port}"
    print(f"Tsunagu on {base}  (database {settings.database_url})", file=sys.stderr)
    print(f"  web chat for people: {base}/chat", file=sys.stderr)
    print(f"  web desk for counselors: {base}/desk  (tsunagu desk add-user ORG NAME)", file=sys.stderr)
    if settings.line_enabled:
        print(f"  LINE webhook: {base}/webhooks/line", file=sys.stderr)
    if settings.slack_enabled:
        print(f"  Slack events and interactivity: {base}/slack/events", file=sys.stderr)
    print(f"  health: {base}/healthz   metrics: {base}/metrics", file=sys.stderr)
    web.run_app(create_app(settings), host=args.host, port=args.port, print=None)
    return 0
