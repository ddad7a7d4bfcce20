"""Keeps the running server's flows in step with the flow files and the database, without a restart.

The database is where versions are published: each version's source and when it was published,
and which one is current. Files change it (at start, on SIGHUP, when the folder's files change),
and so do `tsunagu flows publish` and `rollback` from another process; every server process
follows the database. An invalid edit is logged and never replaces a working version, and every
version stays held in memory so a conversation continues on the version it started with.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from flows import FlowError, FlowValidationError, Problem, bundled_path, parse_flow
from flows.loader import load_flows
from flows.versions import FlowVersions
from storage import FlowVersionStore

log = logging.getLogger(__name__)


def flow_files(flows_dir: Path | None) -> list[Path]:
    """The flow files a server publishes: the folder's, or the bundled intake."""
    if flows_dir is None:
        return [bundled_path("intake")]
    return sorted(p for p in flows_dir.glob("*.y*ml") if p.is_file())


class FlowPublisher:
    def __init__(
        self,
        *,
        versions: FlowVersions,
        store: FlowVersionStore,
        flows_dir: Path | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.versions = versions
        self.store = store
        self.flows_dir = flows_dir
        self.clock = clock
        self._stamps: dict[Path, float] = {}

    async def start(self) -> None:
        """Hold every version ever published, publish the files, then follow the database."""
        for info in await self.store.history():
            await self._hold(info.flow_id, info.version)
        await self.reload()
        await self.sync()
        if not self.versions.versions("intake"):
            raise FlowError("no valid flow with id 'intake' is published; check the flow files")

    async def reload(self) -> list[Problem]:
        """Publish every valid flow file whose content changed; log the problems of the others."""
        paths = flow_files(self.flows_dir)
        self._stamps = {p: p.stat().st_mtime for p in paths}
        flows, problems = load_flows(paths)
        for problem in problems:
            log.log(logging.ERROR if problem.severity == "error" else logging.WARNING, "flow: %s", problem)
        for flow, source in flows:
            if await self.store.publish(flow_id=flow.id, version=flow.version, source=source, now=self.clock()):
                log.info("published flow %s version %s", flow.id, flow.version)
            self.versions.publish(flow)
        return problems

    async def sync(self) -> None:
        """Take the current versions from the database (another process may have published)."""
        for flow_id, version in (await self.store.current()).items():
            if self.versions.current_version(flow_id) != version and await self._hold(flow_id, version):
                self.versions.publish(self.versions.get(flow_id, version))
                log.info("flow %s now at version %s", flow_id, version)

    async def _hold(self, flow_id: str, version: str) -> bool:
        if version in self.versions.versions(flow_id):
            return True
        source = await self.store.source(flow_id, version)
        if source is None:
            return False
        try:
            flow = parse_flow(source, source=f"{flow_id}@{version}")
        except FlowValidationError as exc:  # valid when published; a newer engine may disagree
            log.error("stored flow %s version %s no longer validates: %s", flow_id, version, exc.problems[0])
            return False
        if flow.version != version:
            log.error("stored flow %s version %s hashes to %s; not used", flow_id, version, flow.version)
            return False
        self.versions.hold(flow)
        return True

    def files_changed(self) -> bool:
        try:
            paths = flow_files(self.flows_dir)
            return {p: p.stat().st_mtime for p in paths} != self._stamps
        except OSError:
            return True

    async def refresh(self) -> None:
        """Follow file edits and other processes' publications (called every few seconds)."""
        if self.files_changed():
            await self.reload()
        await self.sync()
