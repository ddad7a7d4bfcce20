"""YAML mistakes in plain words: what a coordinator did, and where, instead of the parser's terms.

The parser says "expected <block end>, but found '<block sequence start>'"; a coordinator needs
"this line is indented more than the one above". `explain` looks at the parser's complaint and at
the lines around it, and says which of the usual mistakes it is (indentation, a colon or a quote in
an unquoted text, a Tab, an unclosed quote or bracket, a field written twice), with the line and
column to fix.

flows/ and routing/ import nothing from each other; both read YAML written by hand, so this small
pure package is theirs to share (it imports only the YAML parser's error types).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ruamel.yaml.error import MarkedYAMLError, YAMLError

_DUPLICATE = re.compile(r'found duplicate key "([^"]*)"')
_QUOTED_VALUE = re.compile(r"""^\s*(?:-\s+)?(?:[^\s"'#][^:#]*:\s+)?(["'])""")
_SAME_COLUMN = "lines that belong together start at the same column; use spaces, never the Tab key"


@dataclass(frozen=True)
class PlainYamlError:
    line: int  # 1-based
    column: int  # 1-based
    message: str


def explain(exc: YAMLError, text: str) -> PlainYamlError:
    """The parser's exception as a place and a sentence a coordinator can act on."""
    if not isinstance(exc, MarkedYAMLError):
        return PlainYamlError(1, 1, f"this is not valid YAML ({' '.join(str(exc).split())})")
    problem = " ".join(str(exc.problem or "").split())
    context = " ".join(str(exc.context or "").split())
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    start = exc.context_mark
    start_at = (start.line + 1, start.column + 1) if start is not None else None
    lines = text.splitlines()
    opened = None if "'\\t'" in problem else _open_quote(lines, max(line, start_at[0] if start_at else 0))
    if opened is not None:
        # A quote left open runs on over the next lines, and the parser trips somewhere later.
        return PlainYamlError(opened[0], opened[1], "this quote is never closed on its line; add the same "
                              "quote mark at the end of the text")
    message = _message(problem, context, line, column, start_at, lines)
    if problem.startswith("found unexpected end of stream") and start_at is not None:
        line, column = start_at  # point at the quote that was opened, not at the end of the file
    elif message.startswith("this line is indented"):
        column = _indent(lines, line) or column  # point at where the line's text starts
    return PlainYamlError(line, column, message)


def _open_quote(lines: list[str], upto: int) -> tuple[int, int] | None:
    """(line, column) of the last value before line `upto` that opens a quote and does not close it
    on its own line."""
    for number in range(min(upto, len(lines)), max(0, upto - 60), -1):
        body = lines[number - 1]
        found = _QUOTED_VALUE.match(body)
        if found is None:
            continue
        quote, rest = found.group(1), body[found.end():]
        closed = rest.replace('\\"', "") if quote == '"' else rest.replace("''", "")
        if quote not in closed:
            return number, found.start(1) + 1
    return None


def _indent(lines: list[str], line: int) -> int | None:
    """The column (1-based) where the text of a line starts; None for a blank or comment line."""
    if not 1 <= line <= len(lines):
        return None
    body = lines[line - 1]
    stripped = body.lstrip(" ")
    if not stripped or stripped.startswith("#"):
        return None
    return len(body) - len(stripped) + 1


def _above(lines: list[str], line: int) -> tuple[int, int] | None:
    """(line, column) of the nearest line above with text on it."""
    for number in range(line - 1, 0, -1):
        column = _indent(lines, number)
        if column is not None:
            return number, column
    return None


def _message(problem: str, context: str, line: int, column: int, start: tuple[int, int] | None,
             lines: list[str]) -> str:
    here = _indent(lines, line)
    above = _above(lines, line)
    if "'\\t'" in problem or "\t" in problem:
        return "this line has a Tab character; YAML needs spaces here: replace the Tab with spaces"
    if problem.startswith("found unexpected end of stream") and "quoted" in context:
        return "this quote is never closed; add the same quote mark at the end of the text"
    if problem.startswith("found duplicate key"):
        found = _DUPLICATE.search(problem)
        first = f" (first on line {start[0]})" if start else ""
        name = f"'{found.group(1)}'" if found else "a field"
        return f"the field {name} is written twice in the same place{first}; keep one of them"
    if problem.startswith("found undefined alias") or "'*'" in problem or "'&'" in problem:
        return "a text that starts with * or & must be in double quotes, like \"*note\""
    if "cannot start any token" in problem:
        char = problem.split("'")[1] if problem.count("'") >= 2 else "this character"
        return f"a text cannot start with {char} unless it is in double quotes, like \"{char}…\""
    if problem.startswith("expected ',' or '}'") or problem.startswith("expected ',' or ']'"):
        bracket = "{ … }" if "}" in problem else "[ … ]"
        where = f" on line {start[0]}" if start else ""
        return (f"the {bracket} opened{where} is not closed where expected: close it on the same line, and put "
                "any text with ': ' or ',' inside it in double quotes")
    if problem.startswith("mapping values are not allowed"):
        before = lines[line - 1][:column - 1] if 1 <= line <= len(lines) else ""
        if ": " not in before and here is not None and above is not None and here > above[1]:
            return (f"this line is indented more than the one above (column {here}, line {above[0]} starts at "
                    f"column {above[1]}), so it reads as part of that line's text; {_SAME_COLUMN}")
        return ("this text has ': ' (colon and space) in it, which YAML reads as a new field; put the whole "
                "text in double quotes, like \"Note: free\"")
    if problem.startswith("could not find expected ':'"):
        return ("this line is not a 'name: value' field where one was expected; check its indentation and "
                "that the lines of a |- text are indented further than their field")
    if problem.startswith("expected <block end>"):
        before = lines[line - 1][:column - 1] if 1 <= line <= len(lines) else ""
        if "'<scalar>'" in problem and ("'" in before or '"' in before):
            return ("there is more after a text in quotes; if the text has a quote mark in it, write the whole "
                    "text in double quotes (\"it's\"), or double the quote inside single quotes ('it''s')")
        if here is not None and above is not None:
            if here > above[1]:
                return (f"this line is indented more than the one above (column {here}, line {above[0]} "
                        f"starts at column {above[1]}); {_SAME_COLUMN}")
            if here < above[1]:
                block = f", but it does not line up with line {start[0]} (column {start[1]}) either" \
                    if start is not None and start[1] != here else ""
                return (f"this line is indented less than the one above (column {here}, line {above[0]} "
                        f"starts at column {above[1]}){block}; {_SAME_COLUMN}")
            if "'-'" in problem or "sequence" in problem:
                return ("a list item ('- ') among fields (name: value) at the same indentation; indent the list "
                        "under the field it belongs to")
        return f"this line does not line up with the lines above it; {_SAME_COLUMN}"
    what = problem or context or "not valid YAML"
    return f"this is not valid YAML ({what}); check the indentation and the quotes on this line"
