"""The `tsunagu` console script: one entry point, one sub-command module per area.

Each module listed in COMMANDS exposes `register(subparsers)`, which adds its parser and sets
`run=<callable(args) -> int>` as a default. Errors a person can fix are raised as the package's
root exception (or OSError for files) and printed here as one line, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS = ("bot.cli_serve", "bot.cli_work", "bot.cli_flows", "bot.cli_routing", "bot.cli_db", "bot.cli_desk",
            "bot.cli_stats", "bot.cli_export", "bot.cli_audit")


class CliError(Exception):
    """An error the person at the terminal can fix; printed as one line."""


def _expected_errors() -> tuple[type[BaseException], ...]:
    kinds: list[type[BaseException]] = [CliError, OSError]
    for module, name in (
        ("flows", "FlowError"),
        ("routing", "RoutingError"),
        ("storage", "StorageError"),
        ("bot", "BotError"),
    ):
        kind = getattr(importlib.import_module(module), name, None)
        if isinstance(kind, type):
            kinds.append(kind)
    return tuple(kinds)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tsunagu", description="Tsunagu consultation intake bot")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except _expected_errors() as exc:
        print(f"tsunagu: error: {_one_line(exc)}", file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
