"""``python -m net COMMAND``: the package's command line; ``demo`` is its one command."""

from __future__ import annotations

import argparse
import sys

from . import demo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m net")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    demo.add_arguments(
        commands.add_parser("demo", help="run the event-bus demo", description=demo.DESCRIPTION)
    )
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
