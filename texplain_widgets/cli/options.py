"""The options several commands share (``--model``, ``--sentences``, ``--seed``, ``--device``),
argument types, and how the command line prints a warning."""

from __future__ import annotations

import argparse
import sys

from ..errors import InputError
from ..model_names import DEMO_NAMES


def device(name: str):
    """A torch device from ``--device``; ``auto`` is the GPU when there is one, else the CPU."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(name)
    except RuntimeError as err:
        raise InputError(f"--device {name!r}: {err}") from err
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"--device {name}: no CUDA GPU is available here")
    return chosen


def positive_int(text: str) -> int:
    """An ``argparse`` type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A ``warnings.showwarning`` for the command line: ``texplain: warning: ...`` on stderr."""
    print(f"texplain: warning: {message}", file=file or sys.stderr)


def count(parser, flag: str, default: int, what: str, metavar: str = "N") -> None:
    """A positive integer option; its help says ``what`` it counts and ends with the default."""
    parser.add_argument(
        flag,
        type=positive_int,
        default=default,
        metavar=metavar,
        help=f"{what} (default %(default)s)",
    )


def shared(*, model=False, sentences: tuple[int, str] | None = None, seed: str = "", device=False):
    """A parent parser of the options commands share: ``--model``, ``--sentences`` (its default
    and what the sentences are for), ``--seed`` (what it seeds) and ``--device``."""
    parent = argparse.ArgumentParser(add_help=False)
    if model:
        names = ", ".join(DEMO_NAMES)
        parent.add_argument(
            "--model", required=True, metavar="DIR", help=f"a saved TExplain folder, or {names}"
        )
    if sentences:
        count(parent, "--sentences", *sentences)
    if seed:
        parent.add_argument("--seed", type=int, default=0, metavar="S", help=f"{seed} (default %(default)s)")
    if device:
        text = "cpu, cuda, cuda:N or auto (the GPU if any; default)"
        parent.add_argument("--device", default="auto", metavar="DEVICE", help=text)
    return parent


def command(commands, name: str, run, summary: str, *parents) -> argparse.ArgumentParser:
    """The subparser of one command that calls ``run``; its description is ``run``'s docstring."""
    sub = commands.add_parser(name, help=summary, description=run.__doc__, parents=parents)
    sub.set_defaults(command=run)
    return sub
