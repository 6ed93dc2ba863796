"""The ``texplain`` command: parse the arguments, run one command, print errors as one line.

Heavy libraries (torch, transformers, timm) are imported inside the commands, so that
``texplain --help`` answers at once. Each command is a module of this package with a function
of the parsed arguments and an ``add_parser(commands)`` that declares its subparser (see
:data:`COMMANDS`); options several commands share are declared once, in :mod:`.options`.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from ..errors import TExplainError
from . import demo, explain, inspect, mitigate, options, reference, reliance, run, saliency, slices, train


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for any TExplainError)."""
    args = parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = options.print_warning
            return args.command(args)
    except TExplainError as err:
        print(f"texplain: error: {err}", file=sys.stderr)
        return 2


#: One module per command, each adding its subparser; a new command adds its own here.
COMMANDS = (explain, train, inspect, saliency, demo, run, reference, slices, reliance, mitigate)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="texplain",
        description="Explain a frozen image classifier with the words a frozen language model "
        "says about its features.",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add.add_parser(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())
