"""The flows the running service knows: the newest valid version of each, and older ones still in use.

A conversation stays on the version it started with (the version is the file's content hash),
so every version loaded since start-up is kept until the process ends.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flows import Flow, FlowError, FlowValidationError, load_bundled, load_flow

log = logging.getLogger(__name__)


class FlowLibrary:
    def __init__(self, flows_dir: Path | None = None) -> None:
        self.flows_dir = flows_dir
        self._current: dict[str, Flow] = {}
        self._versions: dict[tuple[str, str], Flow] = {}

    def load(self) -> list[str]:
        """(Re)load every flow file; an invalid file keeps the version already loaded.

        Returns the validation problems as lines, for the log and the CLI.
        """
        problems: list[str] = []
        if self.flows_dir is None:
            self.add(load_bundled("intake"))
            return problems
        paths = sorted(self.flows_dir.glob("*.yaml")) + sorted(self.flows_dir.glob("*.yml"))
        for path in paths:
            try:
                self.add(load_flow(path))
            except FlowValidationError as exc:
                problems.extend(str(exc).splitlines())
        if not self._current:
            raise FlowError(f"{self.flows_dir}: no valid flow file found")
        return problems

    def add(self, flow: Flow) -> None:
        self._versions[(flow.id, flow.version)] = flow
        self._current[flow.id] = flow

    def current(self, flow_id: str = "intake") -> Flow:
        return self._current[flow_id]

    def get(self, flow_id: str, version: str) -> Flow | None:
        return self._versions.get((flow_id, version))

    def for_session(self, state: dict) -> Flow:
        """The flow a stored session runs on: its own version when still known, else the newest."""
        flow_id = str(state.get("flow_id") or "intake")
        flow = self.get(flow_id, str(state.get("version")))
        if flow is None:
            log.warning("flow %s version %s no longer loaded; continuing on the newest", flow_id, state.get("version"))
            flow = self.current(flow_id)
        return flow
