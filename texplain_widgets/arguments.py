"""Argument types shared by the command lines (``texplain ...`` and ``texplain run``), and how
they print a warning."""

from __future__ import annotations

import argparse
import sys

from .errors import InputError


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
