"""The problem collector: every problem found in one flow file, at its place, in file order.

Reading goes on after an error so that one run shows a coordinator every problem at once; the
builder and the checks both write here, and the loader hands the result on as `Problem`s.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from .errors import Problem
from .model import Pos


class Report:
    """The problems of the file `source`, as they are found."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def error(self, pos: Pos, step: str | None, message: str) -> None:
        self.problems.append(Problem(self.source, pos.line, pos.column, step, message, "error"))

    def warning(self, pos: Pos, step: str | None, message: str) -> None:
        self.problems.append(Problem(self.source, pos.line, pos.column, step, message, "warning"))

    def sorted(self) -> list[Problem]:
        """Each problem once (two checks may find the same one), in the order of the file."""
        unique = list(dict.fromkeys(self.problems))
        return sorted(unique, key=lambda p: (p.line, p.column))


def did_you_mean(word: str, options: Sequence[str]) -> str:
    """' (did you mean 'x'?)' for the closest of `options` to a misspelt `word`, or ''."""
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def a_or_an(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind
