"""The flows package's exceptions and the Problem value that validation reports.

One root (`FlowError`) so that the CLI and the host can catch every expected failure of this
package in one place; typed subclasses so that callers never parse message strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or doubtful) in a flow file, at the place a coordinator must edit."""

    file: str
    line: int
    column: int
    step: str | None
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}: "
        step = f"step '{self.step}': " if self.step is not None else ""
        label = "warning: " if self.severity == "warning" else ""
        return f"{where}{step}{label}{self.message}"

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "step": self.step,
            "message": self.message,
            "severity": self.severity,
        }


class FlowError(Exception):
    """Root of every expected failure in the flows package."""


class FlowValidationError(FlowError):
    """A flow file has at least one error; `.problems` holds errors and warnings in file order."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")


class SessionClosed(FlowError):
    """`resume` was called on a session that already handed off or ended; the host decides what next."""


class SessionMismatch(FlowError):
    """The session was started on another flow or another version of it.

    A conversation stays on the version it started with, so the host must keep that version and
    pass it back; this error catches a host that passes the newest one instead.
    """
