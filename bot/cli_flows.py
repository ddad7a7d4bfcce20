"""`tsunagu flows …`: check, try out and draw intake flow scripts (for coordinators).

validate  every check, one `file:line:column: step 'id': message` line each; exit 1 on any error
simulate  run the real engine in the terminal, or replay an answers file as a transcript
graph     the flow as a Mermaid or Graphviz diagram
publish   validate and make files the current versions (servers follow within seconds)
history   the published versions
rollback  make an earlier version current again
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

from flows import Flow, FlowError, FlowValidationError, load_flow
from flows.engine import Input, resume, start, tick
from flows.errors import SessionClosed
from flows.graph import FORMATS, render
from flows.loader import analyse, bundled_path
from flows.transcript import DEFAULT_START, STEP_TIME, parse_line, render_turn, run_script

FLOW_SUFFIXES = (".yaml", ".yml")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("flows", help="check, try out and draw intake flow scripts",
                                   description="Check, try out and draw intake flow scripts.")
    sub = parser.add_subparsers(dest="flows_command", required=True, metavar="ACTION")

    validate = sub.add_parser("validate", help="check flow files and say exactly what is wrong and where",
                              description="Check flow files (or every .yaml file in folders). Exit 1 if any "
                              "file has an error; warnings are shown but do not fail.")
    validate.add_argument("paths", nargs="+", metavar="PATH", help="flow file or folder")
    validate.add_argument("--json", action="store_true", help="print the result as JSON for tools")
    validate.set_defaults(run=run_validate)

    simulate = sub.add_parser("simulate", help="try a flow in the terminal with the real engine",
                              description="Run a flow in the terminal. Type a choice number, the label or "
                              "your own text; [sticker] sends a sticker, [wait 40m] lets time pass. Ctrl-D quits.")
    simulate.add_argument("flow", metavar="FLOW", help="flow file, or the name of a bundled flow (intake)")
    simulate.add_argument("--lang", help="start in this language (default: the flow's first language)")
    simulate.add_argument("--answers", metavar="FILE",
                          help="read the inputs from FILE, one per line ('-' for standard input), "
                          "and print the whole transcript")
    simulate.set_defaults(run=run_simulate)

    graph = sub.add_parser("graph", help="draw a flow as a diagram",
                           description="Print a flow as a Mermaid or Graphviz (dot) diagram.")
    graph.add_argument("flow", metavar="FLOW", help="flow file, or the name of a bundled flow (intake)")
    graph.add_argument("--format", choices=FORMATS, default="mermaid", help="diagram format (default mermaid)")
    graph.add_argument("--lang", help="language of the choice labels on the edges")
    graph.set_defaults(run=run_graph)

    from .cli_flows_publish import add_to

    add_to(sub)


# -- validate --------------------------------------------------------------------------------

def flow_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in FLOW_SUFFIXES and p.is_file())
            if not found:
                raise FlowError(f"{raw}: no .yaml flow files in this folder")
            files += found
        elif path.exists():
            files.append(path)
        else:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), raw)
    return files


def run_validate(args: argparse.Namespace) -> int:
    results: list[dict[str, object]] = []
    error_counts: list[int] = []
    warning_counts: list[int] = []
    problems = []
    for path in flow_files(args.paths):
        flow, found = analyse(path.read_bytes(), source=str(path))
        errors = sum(p.severity == "error" for p in found)
        results.append({
            "file": str(path),
            "flow_id": flow.id if flow else None,
            "version": flow.version if flow and not errors else None,
            "errors": errors,
            "warnings": len(found) - errors,
        })
        error_counts.append(errors)
        warning_counts.append(len(found) - errors)
        problems += found
    failed = any(error_counts)
    if args.json:
        print(json.dumps({"ok": not failed, "files": results, "problems": [p.to_json() for p in problems]},
                         ensure_ascii=False, indent=2))
        return 1 if failed else 0
    for problem in problems:
        print(problem)
    for r in results:
        if not r["errors"]:
            note = f", {r['warnings']} warning{'s' * (r['warnings'] != 1)}" if r["warnings"] else ""
            print(f"{r['file']}: ok (flow {r['flow_id']}, version {r['version']}{note})")
    errors = sum(error_counts)
    warnings = sum(warning_counts)
    print(f"{len(results)} file{'s' * (len(results) != 1)} checked: {errors} error{'s' * (errors != 1)}, "
          f"{warnings} warning{'s' * (warnings != 1)}")
    return 1 if failed else 0


# -- simulate and graph ----------------------------------------------------------------------

def resolve_flow(name: str) -> Flow:
    """A flow file path, or the name of a bundled flow when no such file exists."""
    path = Path(name)
    if not path.exists() and path.suffix not in FLOW_SUFFIXES and os.sep not in name:
        try:
            path = bundled_path(name)
        except FlowError:
            pass
    return load_flow(path)


def _load(name: str) -> Flow | None:
    try:
        return resolve_flow(name)
    except FlowValidationError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"tsunagu: error: {name} has errors; fix them first (tsunagu flows validate {name})",
              file=sys.stderr)
        return None


def _language(flow: Flow, lang: str | None) -> str | None:
    if lang is not None and lang not in flow.languages:
        raise FlowError(f"the flow has no language '{lang}'; it has {', '.join(flow.languages)}")
    return lang


def run_simulate(args: argparse.Namespace) -> int:
    flow = _load(args.flow)
    if flow is None:
        return 1
    language = _language(flow, args.lang)
    if args.answers is not None:
        if args.answers == "-":
            lines = sys.stdin.read().splitlines()
        else:
            lines = Path(args.answers).read_text(encoding="utf-8").splitlines()
        sys.stdout.write(run_script(flow, lines, language=language, where=args.answers))
        return 0
    return _interactive(flow, language)


def _interactive(flow: Flow, language: str | None) -> int:
    now = DEFAULT_START
    print(f"# flow {flow.id} (version {flow.version}); type a number or text, [wait 40m] to let time pass, "
          "Ctrl-D to quit")
    turn = start(flow, now=now, language=language)
    print("\n".join(render_turn(turn, before=None)))
    while turn.session.status == "active":
        try:
            line = input("you: ")
        except EOFError:
            print()
            return 0
        try:
            action = parse_line(line)
        except FlowError as exc:
            print(f"({exc})")
            continue
        if action is None:
            continue
        before = turn.session
        if action.kind == "wait":
            now += action.wait or timedelta(0)
            turn = tick(flow, before, now=now)
        else:
            now += STEP_TIME
            try:
                turn = resume(flow, before, Input(text=action.text, media=action.media), now=now)
            except SessionClosed:  # pragma: no cover - the loop stops first
                break
        print("\n".join(render_turn(turn, before=before)))
    return 0


def run_graph(args: argparse.Namespace) -> int:
    flow = _load(args.flow)
    if flow is None:
        return 1
    sys.stdout.write(render(flow, fmt=args.format, language=_language(flow, args.lang)))
    return 0
