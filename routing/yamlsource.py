"""Reading YAML with line and column numbers, so that every complaint points at the place a
coordinator must edit; YAML mistakes themselves are said in plain words (routing/yamlplain.py).

Values are read by a fast parser (yaml-rs, YAML 1.2 like ruamel's default): a directory of a
thousand partners reads in a tenth of a second instead of the fifteen that ruamel's round-trip
loader takes. Line numbers cost that much more and are needed only to report a problem, so they
are found afterwards, by ruamel, only when a problem is reported (`Positions`). Whatever the fast
parser refuses, or reads differently from ruamel (several documents in one file), is read by
ruamel alone, so a syntax error is reported exactly as before.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from plainyaml import explain
from routing.errors import DirectoryError, Problem

_fast: Any
try:  # the fast path; without it everything still works, at ruamel's speed
    import yaml_rs as _fast
except ImportError:  # pragma: no cover - yaml-rs is a dependency
    _fast = None

_DOCUMENT_MARK = re.compile(r"^(---|\.\.\.)(?=\s|$)", re.MULTILINE)
_LAZY: Any = object()  # a Node line not looked up yet
Key = str | int  # one step of a path: a mapping key or a sequence index


def parse_yaml(text: str, source: str) -> Any:
    """The document's values: plain dicts, lists and scalars (as ruamel would read them)."""
    if _fast is not None and _single_document(text):
        try:
            # Dates stay text: yaml-rs would also read a quoted "2026-12-31" as a date, which ruamel
            # (rightly) does not; the loader reads ISO dates from text either way.
            value = _fast.loads(text, parse_datetime=False)
        except Exception:  # noqa: BLE001 - whatever it refuses, ruamel reads or explains below
            pass
        else:
            return _merge_keys(value) if "<<" in text else value
    return _ruamel(text, source)


def _ruamel(text: str, source: str) -> Any:
    yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except YAMLError as exc:
        plain = explain(exc, text)
        raise DirectoryError([Problem(source, plain.line, "", plain.message, plain.column)]) from None


# An unquoted time as the value of a field (`from: 18:00`, also in flow style `{from: 9:00, ...}`).
_UNQUOTED_TIME = re.compile(r"(?<![\w\"'])(?P<key>[A-Za-z_]+)\s*:\s+(?P<time>\d{1,2}:\d{2})(?=\s*(?:[,}\]#]|$))",
                            re.MULTILINE)


def unquoted_times(text: str) -> list[tuple[int, int, str, str]]:
    """(line, column, field, time) of each time written without quotes. YAML 1.2 (this reader)
    takes 18:00 as text, but YAML 1.1 tools read it as the number 1080: quotes make it a time for
    every reader. Found in the text, so that no slow parse is needed to know what was quoted."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        content = line.split("#", 1)[0] if "#" in line else line
        for match in _UNQUOTED_TIME.finditer(content):
            found.append((number, match.start("time") + 1, match.group("key"), match.group("time")))
    return found


def quote_time(time: str) -> str:
    return f"write times in quotes, like \"{time}\" (without quotes some YAML readers take {time} for a number)"


def _single_document(text: str) -> bool:
    """No document marker but perhaps a leading '---' (yaml-rs returns several documents as a list,
    which a one-document list would be mistaken for; ruamel refuses them, as it should)."""
    marks = list(_DOCUMENT_MARK.finditer(text))
    if not marks:
        return True
    if len(marks) > 1 or marks[0].group(1) == "...":
        return False
    before = text[: marks[0].start()]
    return all(not line.strip() or line.lstrip().startswith("#") for line in before.splitlines())


def _merge_keys(value: Any) -> Any:
    """YAML merge keys (`<<: *defaults`), which ruamel applies and yaml-rs leaves as a key: keys
    written in the mapping win, then the merged mappings in order."""
    if isinstance(value, list):
        for item in value:
            _merge_keys(item)
    elif isinstance(value, dict):
        for item in list(value.values()):
            _merge_keys(item)
        merged = value.pop("<<", None)
        if merged is not None:
            for source in merged if isinstance(merged, list) else [merged]:
                if isinstance(source, dict):
                    for key, item in source.items():
                        value.setdefault(key, item)
    return value


def block_item_lines(text: str, key: str) -> list[int] | None:
    """The first line of each item of the top-level block sequence `key:`, found by reading lines
    (no parse): where each partner starts, for messages, without paying for positions. None when
    the sequence is not written as a block (then ask `Positions`)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(rf"{re.escape(key)}\s*:\s*(#.*)?$", line)), None)
    if start is None:
        return None
    found: list[int] = []
    indent: int | None = None
    for number, line in enumerate(lines[start + 1:], start + 2):
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        column = len(line) - len(stripped)
        if column == 0 and not stripped.startswith("-"):
            break  # the next top-level key
        if indent is None:
            if not stripped.startswith("-"):
                return None
            indent = column
        if column == indent and (stripped == "-" or stripped.startswith("- ")):
            found.append(number)
        elif column < indent:
            return None
    return found


class Positions:
    """Where each value of a document is, read by ruamel the first time a line is asked for."""

    def __init__(self, text: str | None) -> None:
        self._text = text
        self._root: Any = _LAZY

    def _document(self) -> Any:
        if self._root is _LAZY:
            try:
                self._root = YAML(typ="rt").load(self._text) if self._text is not None else None
            except YAMLError:
                self._root = None
        return self._root

    def line(self, keys: tuple[Key, ...], default: int | None) -> int | None:
        """The line of the value at `keys` (a sequence item that is a mapping: its first line)."""
        return self.place(keys, default)[0]

    def place(self, keys: tuple[Key, ...], default: int | None) -> tuple[int | None, int | None]:
        """(line, column) of the value at `keys`; the column None where it cannot be told."""
        node, line, column = self._document(), 1, None
        if node is None:
            return default, None
        for key in keys:
            try:
                if isinstance(node, CommentedMap):
                    where = _place(node.lc, "value", key) or _place(node.lc, "key", key)
                    if where is not None:
                        line, column = where
                    node = node[key]
                elif isinstance(node, CommentedSeq) and isinstance(key, int):
                    where = _place(node.lc, "item", key)
                    if where is not None:
                        line, column = where
                    node = node[key]
                    if isinstance(node, CommentedMap) and node.lc.line is not None:
                        line, column = node.lc.line + 1, node.lc.col + 1
                else:
                    return line, column
            except (KeyError, IndexError, TypeError, AttributeError):
                return line, column
        return line, column

    def key_place(self, keys: tuple[Key, ...], key: Key, default: int | None) -> tuple[int | None, int | None]:
        """(line, column) at which the mapping at `keys` names `key`."""
        node = self._document()
        try:
            for step in keys:
                node = node[step]
            if isinstance(node, CommentedMap):
                where = _place(node.lc, "key", key)
                if where is not None:
                    return where
        except (KeyError, IndexError, TypeError, AttributeError):
            pass
        return default, None


def _place(lc: Any, how: str, key: Any) -> tuple[int, int] | None:
    try:
        line, column = getattr(lc, how)(key)
        return int(line) + 1, int(column) + 1
    except (KeyError, TypeError, AttributeError, IndexError):
        return None


class Node:
    """A value with its path ("organizations[2].hours[0].to") and line, for readable problems.

    A directory has a hundred thousand values, so a node is cheap: its path and line are worked
    out from its parent only when read, which is when a problem is being reported."""

    __slots__ = ("value", "report", "_parent", "_key", "_path", "_line", "_column")

    def __init__(self, value: Any, path: str, line: int | None, report: Reporter) -> None:
        self.value, self.report = value, report
        self._parent: Node | None = None
        self._key: Key = ""
        self._path: str | None = path
        self._line: Any = line
        self._column: int | None = None

    @classmethod
    def _of(cls, value: Any, parent: Node, key: Key) -> Node:
        node = cls.__new__(cls)
        node.value, node.report, node._parent, node._key, node._path, node._line, node._column = (
            value, parent.report, parent, key, None, _LAZY, None)
        return node

    @property
    def path(self) -> str:
        if self._path is None:
            above = self._parent.path if self._parent is not None else ""
            if isinstance(self._key, int):
                self._path = f"{above}[{self._key}]"
            else:
                self._path = f"{above}.{self._key}" if above else self._key
        return self._path

    @property
    def keys(self) -> tuple[Key, ...]:
        """The path as mapping keys and sequence indexes, from the document's root."""
        if self._parent is None:
            return ()
        return (*self._parent.keys, self._key)

    @property
    def line(self) -> int | None:
        if self._line is _LAZY:
            default = self._parent.line if self._parent is not None else None
            self._line, self._column = self.report.positions.place(self.keys, default)
        line: int | None = self._line
        return line

    @property
    def column(self) -> int | None:
        _ = self.line  # looked up together
        return self._column

    def problem(self, message: str) -> None:
        self.report.add(self.line, self.path, message, column=self.column)

    def child(self, key: str) -> Node | None:
        """The mapping entry `key`, or None when absent."""
        value = self.value
        if not isinstance(value, dict) or key not in value:
            return None
        return Node._of(value[key], self, key)

    def items(self) -> Iterator[Node]:
        """Entries of a sequence, each with its own line."""
        for i, item in enumerate(self.value):
            yield Node._of(item, self, i)

    def check_keys(self, allowed: tuple[str, ...] | frozenset[str]) -> bool:
        """Complain about unknown keys (typos such as `topic:` would otherwise be silently ignored)."""
        if not isinstance(self.value, dict):
            self.problem(f"expected a mapping, got {describe(self.value)}")
            return False
        for key in self.value:
            if key not in allowed:
                line, column = self.report.positions.key_place(self.keys, key, self.line)
                close = difflib.get_close_matches(str(key), list(allowed), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                path = f"{self.path}.{key}" if self.path else str(key)
                self.report.add(line, path, f"unknown field '{key}'{hint}", column=column)
        return True


class Reporter:
    def __init__(self, source: str, text: str | None = None) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.positions = Positions(text)
        # Times written without quotes, found in the text: (line, field) -> (column, time). A time
        # field's reader takes its entry (to name the field's full path); the rest are told as found.
        self.unquoted: dict[tuple[int, str], tuple[int, str]] = {
            (line, field): (column, time) for line, column, field, time in unquoted_times(text or "")
        }

    def take_unquoted(self, line: int | None, field: str) -> tuple[int, str] | None:
        """The unquoted time written for `field` on `line`, if any, told once."""
        if not self.unquoted or line is None:
            return None
        return self.unquoted.pop((line, field), None)

    def add_unquoted(self) -> None:
        """Unquoted times no time field took (a time in some other field)."""
        for (line, field), (column, time) in sorted(self.unquoted.items()):
            self.add(line, field, quote_time(time), column=column)
        self.unquoted.clear()

    def add(self, line: int | None, field: str, message: str, *, column: int | None = None) -> None:
        self.problems.append(Problem(self.source, line, field, message, column))

    def raise_if_any(self) -> None:
        if self.problems:
            raise DirectoryError(sorted(self.problems, key=lambda p: (p.line or 0, p.column or 0)))


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
