"""Read flow files into `Flow`s, or say exactly what is wrong and where: the public reading API.

The people who edit these files are coordinators, not programmers: every problem names the file,
line, column and step, and says how to fix it, and one run shows every problem at once. Here:
finding and reading the files, YAML parsing and the cache; the model is built in `build` (top
level) and `build_steps`, the checks that need the whole flow run in `checks`, and the problems
are collected in `report`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from importlib import resources
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from plainyaml import explain

from . import checks
from .build import build
from .errors import FlowError, FlowValidationError, Problem
from .model import Flow, Pos
from .report import Report


def bundled_path(name: str = "intake") -> Path:
    """The path of a flow shipped inside the package (flows/scripts/<name>.yaml)."""
    path = Path(str(resources.files("flows") / "scripts" / f"{name}.yaml"))
    if not path.is_file():
        raise FlowError(f"no bundled flow named {name!r}")
    return path


def load_bundled(name: str = "intake") -> Flow:
    return load_flow(bundled_path(name))


def load_flow(path: str | Path) -> Flow:
    """Load and validate a flow file; raises OSError if unreadable, FlowValidationError if wrong."""
    path = Path(path)
    data = path.read_bytes()
    return parse_bytes(data, source=str(path))


def load_flows(paths: list[Path]) -> tuple[list[tuple[Flow, str]], list[Problem]]:
    """The valid flows among `paths`, each with its source text, and every problem (errors of the
    invalid files, warnings of the valid ones). Hosts publish the first and log the second."""
    flows: list[tuple[Flow, str]] = []
    problems: list[Problem] = []
    for path in paths:
        data = Path(path).read_bytes()
        try:
            flow = parse_bytes(data, source=str(path))
        except FlowValidationError as exc:
            problems += exc.problems
            continue
        problems += flow.warnings
        flows.append((flow, data.decode("utf-8")))
    return flows, problems


def parse_flow(text: str, *, source: str) -> Flow:
    return parse_bytes(text.encode("utf-8"), source=source)


def parse_bytes(data: bytes, *, source: str) -> Flow:
    """Parse raw file bytes; the version is the hash of exactly these bytes."""
    flow, problems = analyse(data, source=source)
    if flow is None or any(p.severity == "error" for p in problems):
        raise FlowValidationError(problems)
    return flow


_CACHE: dict[tuple[str, str], tuple[Flow | None, tuple[Problem, ...]]] = {}
_CACHE_SIZE = 64


def analyse(data: bytes, *, source: str) -> tuple[Flow | None, list[Problem]]:
    """Every problem in a file, and the flow if it could be built (even with errors).

    Results are remembered by content hash: YAML parsing with positions is slow (a few hundred ms
    for the intake), flows are immutable values, and the same bytes always give the same answer.
    """
    key = (source, hashlib.sha256(data).hexdigest())
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        flow, problems = _analyse(data, source=source)
        _CACHE[key] = (flow, tuple(problems))
    cached_flow, cached_problems = _CACHE[key]
    return cached_flow, list(cached_problems)


def _analyse(data: bytes, *, source: str) -> tuple[Flow | None, list[Problem]]:
    report = Report(source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        report.error(Pos(1, 1), None, f"the file is not UTF-8 text (byte {exc.start}); save it as UTF-8")
        return None, report.sorted()
    yaml = YAML(typ="rt")
    try:
        root = yaml.load(text)
    except YAMLError as exc:
        plain = explain(exc, text)
        report.error(Pos(plain.line, plain.column), None, plain.message)
        return None, report.sorted()
    if not isinstance(root, CommentedMap):
        report.error(Pos(1, 1), None, "a flow file must start with fields such as 'version:', 'id:' and 'steps:'")
        return None, report.sorted()
    built = build(root, report, version=hashlib.sha256(data).hexdigest()[:16], source=source)
    flow = built.flow
    if flow is not None:
        checks.run(flow, report, broken_ids=built.broken_ids)
        flow = dataclasses.replace(flow, warnings=tuple(p for p in report.sorted() if p.severity == "warning"))
    return flow, report.sorted()
