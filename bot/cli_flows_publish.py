"""`tsunagu flows publish | history | rollback`: versions in the database, which servers follow.

A running server takes a newly published version within a few seconds (it checks the database
and its flow folder), without a restart; a conversation in progress stays on its version.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from flows import FlowError, load_flow
from flows.loader import load_flows
from storage import FlowVersionStore, open_database

from .clock import utcnow
from .publish import flow_files
from .settings import Settings

T = TypeVar("T")


def add_to(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    publish = sub.add_parser(
        "publish",
        help="validate flow files and make them the current versions",
        description="Validate flow files and publish them; nothing is published if any has an error. "
        "Without PATH: the files of TSUNAGU_FLOWS_DIR, or the bundled intake.",
    )
    publish.add_argument("paths", nargs="*", metavar="PATH", help="flow file(s)")
    publish.set_defaults(run=run_publish)

    history = sub.add_parser("history", help="list the published versions of the flows")
    history.add_argument("--flow", metavar="ID", help="only this flow (e.g. intake)")
    history.set_defaults(run=run_history)

    rollback = sub.add_parser(
        "rollback",
        help="make an earlier published version current again",
        description="Republish an earlier version (a prefix of its hash is enough). With "
        "TSUNAGU_FLOWS_DIR set, the flow's file is rewritten with that version so it stays current.",
    )
    rollback.add_argument("version", metavar="VERSION")
    rollback.add_argument("--flow", metavar="ID", default="intake", help="flow id (default intake)")
    rollback.set_defaults(run=run_rollback)


def _store_call(coro_factory: Callable[[FlowVersionStore], Awaitable[T]]) -> T:
    async def main() -> T:
        db = await open_database(Settings.from_env().database_url)
        try:
            return await coro_factory(FlowVersionStore(db))
        finally:
            await db.close()

    return asyncio.run(main())


def run_publish(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    paths = [Path(p) for p in args.paths] or flow_files(settings.flows_dir)
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(2, "No such file", str(path))
    flows, problems = load_flows(paths)
    for problem in problems:
        print(problem)
    if any(p.severity == "error" for p in problems):
        print("nothing published: fix the errors above first")
        return 1

    async def publish(store: FlowVersionStore) -> list[str]:
        lines = []
        for flow, source in flows:
            before = (await store.current()).get(flow.id)
            changed = await store.publish(flow_id=flow.id, version=flow.version, source=source, now=utcnow())
            lines.append(
                f"published {flow.id} {flow.version}" + (f" (was {before})" if before else "")
                if changed
                else f"{flow.id} {flow.version} is already current"
            )
        return lines

    for line in _store_call(publish):
        print(line)
    return 0


def run_history(args: argparse.Namespace) -> int:
    rows = _store_call(lambda store: store.history(args.flow))
    if not rows:
        print("no published versions yet (the server publishes its flows when it starts)")
        return 0
    print(f"{'':2}{'flow':<12}{'version':<18}{'published (UTC)':<22}first published (UTC)")
    for r in rows:
        mark = "* " if r.current else "  "
        print(
            f"{mark}{r.flow_id:<12}{r.version:<18}{r.published_at:%Y-%m-%d %H:%M:%S}   "
            f"{r.first_published_at:%Y-%m-%d %H:%M:%S}"
        )
    print("* current: new conversations start on it")
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    settings = Settings.from_env()

    async def rollback(store: FlowVersionStore) -> tuple[str, str]:
        matches = await store.find(args.flow, args.version)
        if not matches:
            raise FlowError(
                f"no published version of {args.flow!r} starts with {args.version!r} (see: tsunagu flows history)"
            )
        if len(matches) > 1:
            raise FlowError(f"{args.version!r} matches several versions of {args.flow!r}: {', '.join(sorted(matches))}")
        source = await store.source(args.flow, matches[0]) or ""
        await store.publish(flow_id=args.flow, version=matches[0], source=source, now=utcnow())
        return matches[0], source

    version, source = _store_call(rollback)
    print(f"{args.flow} is at version {version} again")
    if settings.flows_dir is not None:
        for path in flow_files(settings.flows_dir):
            try:
                same_flow = load_flow(path).id == args.flow
            except FlowError:
                same_flow = False
            if same_flow:
                path.write_bytes(source.encode("utf-8"))
                print(f"rewrote {path} with that version, so servers keep it")
                break
    return 0
