"""python -m storage.migrations revision "what changed": a draft revision from the models' changes."""

from __future__ import annotations

import argparse
import asyncio

from storage.migrate import new_revision


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m storage.migrations",
                                     description="developer tools for the schema's migrations")
    actions = parser.add_subparsers(dest="action", required=True)
    revision = actions.add_parser("revision", help="write a draft revision from the models' changes")
    revision.add_argument("message")
    args = parser.parse_args()
    print(asyncio.run(new_revision(args.message)))


if __name__ == "__main__":
    main()
