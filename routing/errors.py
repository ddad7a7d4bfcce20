"""Errors of the routing package: one root, typed subclasses for what a coordinator can fix."""

from __future__ import annotations

from dataclasses import dataclass


class RoutingError(Exception):
    """Root of every expected routing failure."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a directory or hotlines file, pointing at the line to edit."""

    file: str
    line: int | None
    field: str
    message: str
    column: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        if self.line is not None and self.column is not None:
            where += f":{self.column}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class DirectoryError(RoutingError):
    """A directory (or hotlines) file that cannot be used; carries every problem found, not just the first,
    so that a coordinator fixes the file in one pass."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
