"""Reading YAML with line numbers, so that every complaint points at the line a coordinator must edit."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from routing.errors import DirectoryError, Problem


def parse_yaml(text: str, source: str) -> Any:
    yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = " ".join(str(exc.problem or exc.context or "not valid YAML").split())
        raise DirectoryError([Problem(source, line, "", f"YAML syntax: {message}")]) from None
    except YAMLError as exc:
        raise DirectoryError([Problem(source, None, "", f"YAML: {' '.join(str(exc).split())}")]) from None


class Node:
    """A value with its path ("organizations[2].hours[0].to") and line, for readable problems."""

    def __init__(self, value: Any, path: str, line: int | None, report: Reporter) -> None:
        self.value, self.path, self.line, self.report = value, path, line, report

    def problem(self, message: str) -> None:
        self.report.add(self.line, self.path, message)

    def child(self, key: str) -> Node | None:
        """The mapping entry `key`, or None when absent."""
        if not isinstance(self.value, dict) or key not in self.value:
            return None
        line = self.line
        if isinstance(self.value, CommentedMap):
            try:
                line = self.value.lc.value(key)[0] + 1
            except (KeyError, TypeError, AttributeError):
                line = self.value.lc.key(key)[0] + 1
        return Node(self.value[key], f"{self.path}.{key}" if self.path else key, line, self.report)

    def items(self) -> Iterator[Node]:
        """Entries of a sequence, each with its own line."""
        for i, item in enumerate(self.value):
            line = self.line
            if isinstance(self.value, CommentedSeq):
                try:
                    line = self.value.lc.item(i)[0] + 1
                except (KeyError, TypeError, AttributeError):
                    pass
            if isinstance(item, CommentedMap) and item.lc.line is not None:
                line = item.lc.line + 1
            yield Node(item, f"{self.path}[{i}]", line, self.report)

    def check_keys(self, allowed: tuple[str, ...]) -> bool:
        """Complain about unknown keys (typos such as `topic:` would otherwise be silently ignored)."""
        if not isinstance(self.value, dict):
            self.problem(f"expected a mapping, got {describe(self.value)}")
            return False
        for key in self.value:
            if key not in allowed:
                line = self.line
                if isinstance(self.value, CommentedMap):
                    line = self.value.lc.key(key)[0] + 1
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                path = f"{self.path}.{key}" if self.path else str(key)
                self.report.add(line, path, f"unknown field '{key}'{hint}")
        return True


class Reporter:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def add(self, line: int | None, field: str, message: str) -> None:
        self.problems.append(Problem(self.source, line, field, message))

    def raise_if_any(self) -> None:
        if self.problems:
            raise DirectoryError(sorted(self.problems, key=lambda p: (p.line or 0)))


def describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f'"{value}"'
    return f"{value!r} ({type(value).__name__})"
