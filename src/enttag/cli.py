"""The ``enttag`` command: one argparse tree, one error handler.

Subcommands: ``predict`` (tag text), ``export`` (ONNX for fast tagging), ``sweep``,
``gather`` and ``compare`` (the DVC-experiment grid, on one machine or several),
``journal`` (EXPERIMENTS.md) and
``plots-template`` (offline ``dvc plots``).
Each lives in its own module as ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import sys

from enttag.errors import guarded
from enttag.experiments import journal, plots_template, sweep
from enttag.tagging import export, predict

COMMANDS = {
    "predict": (predict.add_arguments, predict.run, predict.HELP, predict.__doc__),
    "export": (export.add_arguments, export.run, export.HELP, export.__doc__),
    "sweep": (sweep.add_arguments, sweep.run, sweep.HELP, sweep.__doc__),
    "gather": (sweep.add_gather_arguments, sweep.run_gather, sweep.GATHER_HELP, None),
    "compare": (sweep.add_compare_arguments, sweep.run_compare, sweep.COMPARE_HELP, None),
    "journal": (journal.add_arguments, journal.run, journal.HELP, journal.__doc__),
    "plots-template": (
        plots_template.add_arguments,
        plots_template.run,
        plots_template.HELP,
        plots_template.__doc__,
    ),
}
PASS_THROUGH = {"compare"}  # unknown arguments go on to ``dvc exp show``


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="enttag", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (add_arguments, run, help_text, doc) in COMMANDS.items():
        sub = commands.add_parser(
            name,
            help=help_text,
            description=doc or help_text,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        add_arguments(sub)
        sub.set_defaults(run=run)
    return top


def main(argv: list[str] | None = None) -> int:
    top = parser()
    args, unknown = top.parse_known_args(argv)
    if unknown and args.command not in PASS_THROUGH:
        top.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.extra_args = unknown
    return guarded(f"enttag {args.command}", lambda: args.run(args))


if __name__ == "__main__":
    sys.exit(main())
