"""Several versions of each flow side by side, so a conversation stays on the version it started on.

A flow's version is the hash of its file, so an edit makes a new version and never changes an old
one. The host keeps every version a live session still uses (in memory here, in the database for
history), gives new conversations the newest valid one, and looks sessions up by their pinned
version. An edit that fails validation never replaces the working version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import FlowError, Problem
from .loader import load_flows
from .model import Flow
from .session import Session


class UnknownVersion(FlowError):
    """No flow with that id and version is held (it was never loaded, or was dropped)."""


@dataclass
class FlowVersions:
    """Flows by id and version; `current` is what new conversations start on."""

    _by_version: dict[tuple[str, str], Flow] = field(default_factory=dict)
    _current: dict[str, str] = field(default_factory=dict)

    def publish(self, flow: Flow) -> bool:
        """Make `flow` the current version of its id; True if that changed anything."""
        self._by_version[(flow.id, flow.version)] = flow
        changed = self._current.get(flow.id) != flow.version
        self._current[flow.id] = flow.version
        return changed

    def hold(self, flow: Flow) -> None:
        """Keep `flow` for sessions pinned to it, without making it current."""
        self._by_version.setdefault((flow.id, flow.version), flow)

    def current_version(self, flow_id: str) -> str | None:
        return self._current.get(flow_id)

    def current(self, flow_id: str) -> Flow:
        try:
            return self._by_version[(flow_id, self._current[flow_id])]
        except KeyError:
            raise UnknownVersion(f"no flow {flow_id!r} is published") from None

    def get(self, flow_id: str, version: str) -> Flow:
        try:
            return self._by_version[(flow_id, version)]
        except KeyError:
            raise UnknownVersion(f"flow {flow_id!r} version {version} is not held") from None

    def for_session(self, session: Session) -> Flow:
        """The exact version a session started on."""
        return self.get(session.flow_id, session.version)

    def versions(self, flow_id: str) -> list[str]:
        return [version for (fid, version) in self._by_version if fid == flow_id]

    def drop_unused(self, in_use: set[tuple[str, str]]) -> None:
        """Forget old versions no session uses any more (the current ones are always kept)."""
        keep = in_use | {(fid, v) for fid, v in self._current.items()}
        for key in list(self._by_version):
            if key not in keep:
                del self._by_version[key]

    def load_folder(self, folder: str | Path) -> list[Problem]:
        """(Re)load every .yaml flow in a folder; invalid files keep their old version. Returns problems."""
        flows, problems = load_flows(sorted(Path(folder).glob("*.y*ml")))
        for flow, _source in flows:
            self.publish(flow)
        return problems
