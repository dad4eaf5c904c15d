"""The ``enttag`` command: ``enttag predict ...`` and ``enttag journal ...``."""

from __future__ import annotations

import argparse
import sys

from enttag import journal, predict
from enttag.errors import EnttagError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="enttag", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (predict, journal):
        sub = commands.add_parser(
            module.NAME,
            help=module.HELP,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except EnttagError as e:
        print(f"enttag {args.command}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
