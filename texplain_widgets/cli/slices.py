"""``texplain slices RUN_DIR``: a stored run's error words and word slices, without group labels."""

from __future__ import annotations

import argparse
import json

import pandas as pd

from ..runs.error_words import MIN_IMAGES, MIN_SHARE
from . import options


def add_parser(subparsers) -> None:
    """Add the ``slices`` command to the ``texplain`` parser's subparsers."""
    parser = subparsers.add_parser(
        "slices",
        help="the words a run's misclassified images use, and the accuracy on each word's images",
        description="Print the error words of a stored run (per true label, or per predicted class: "
        "the words its wrong images use more than its right ones, counted in images, with 95% "
        "intervals and BH-corrected p-values) and the slices of the top ones (the images using a "
        "word, or two: accuracy inside vs outside, the gap's interval). Needs labels, not groups.",
    )
    parser.set_defaults(command=slices)
    parser.add_argument("run", metavar="RUN_DIR", help="a run directory (texplain run ... --out RUN_DIR)")
    parser.add_argument(
        "--by",
        choices=("label", "predicted"),
        default="label",
        help="error words within each true label (default), or each predicted class's false "
        "against its true positives",
    )
    parser.add_argument("--words", metavar="A,B", help="slice these words (comma-separated) instead")
    parser.add_argument(
        "--top",
        type=options.positive_int,
        default=10,
        metavar="N",
        help="error words per group and slices per label (default 10)",
    )
    parser.add_argument(
        "--min-share",
        type=float,
        default=MIN_SHARE,
        metavar="S",
        help=f"an image uses a word when this share of its sentences do (default {MIN_SHARE})",
    )
    parser.add_argument(
        "--min-images",
        type=options.positive_int,
        default=MIN_IMAGES,
        metavar="N",
        help=f"images a word or slice needs to be tested (default {MIN_IMAGES})",
    )
    parser.add_argument(
        "--hide-class-words", action="store_true", help="leave out the words that name or go with a class"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object: error_words, slices")


def slices(args: argparse.Namespace) -> int:
    """Run ``texplain slices``; returns the exit code."""
    from ..errors import InputError
    from ..runs.explanation_set import ExplanationSet

    runs = ExplanationSet.open(args.run)
    words = [w.strip() for w in args.words.split(",") if w.strip()] if args.words else None
    if args.words is not None and not words:
        raise InputError("--words needs at least one word, e.g. --words grass,brick")
    options = {"min_share": args.min_share, "min_images": args.min_images}
    errors = runs.error_words(
        args.by, top=None if words else args.top, hide_class_words=args.hide_class_words, **options
    )
    if words:
        errors = errors[errors["word"].isin(runs._lemmas(words))]
        found = runs.slices(words=words, **options)
    else:
        found = runs.slices(by=args.by, top=args.top, hide_class_words=args.hide_class_words, **options)
    found = found.groupby("label", sort=False).head(args.top)
    if args.json:
        print(json.dumps({"run": args.run, "by": args.by, **options, "error_words": _records(errors), "slices": _records(found)}, indent=2))  # fmt: skip
        return 0
    print_error_words(errors, args)
    print()
    print_slices(found, args)
    return 0


def print_error_words(table: pd.DataFrame, args) -> None:
    within = "true label" if args.by == "label" else "predicted class (false vs true positives)"
    print(
        f"Error words of {args.run}, per {within}: an image uses a word when at least "
        f"{args.min_share:.0%} of its sentences do; * a class's own word."
    )
    if table.empty:
        print(
            "  none: no group has both wrong and right images, or no word is used by "
            f"{args.min_images} of its images (--min-images)"
        )
        return
    for group, rows in table.groupby("group", sort=True):
        first = rows.iloc[0]
        print(f"{group}: {first['n_wrong']} wrong, {first['n_right']} right")
        print(f"  {'word':<16} {'wrong':>9} {'right':>9}  {'difference [95% interval]':<26} {'q':>8}")
        for row in rows.itertuples():
            mark = "*" if row.class_word else ""
            print(
                f"  {row.word + mark:<16} {f'{row.n_wrong_with}/{row.n_wrong}':>9} "
                f"{f'{row.n_right_with}/{row.n_right}':>9}  "
                f"{_interval(row.difference, row.difference_low, row.difference_high):<26} {_q(row.q_value):>8}"
            )


def print_slices(table: pd.DataFrame, args) -> None:
    print(
        f"Slices (a label's images using the word, or both words), surest large gaps first, {args.top} per label:"
    )
    if table.empty:
        print(f"  none with {args.min_images} images or more (--min-images)")
        return
    header = f"  {'label':<12} {'slice':<22} {'n':>5}  {'accuracy inside':<20} {'outside':<20} {'gap (outside - inside)':<26}"
    print(header.rstrip())
    for row in table.itertuples():
        inside = f"{row.accuracy:.0%} [{row.accuracy_low:.0%}, {row.accuracy_high:.0%}]"
        outside = f"{row.accuracy_outside:.0%} [{row.outside_low:.0%}, {row.outside_high:.0%}]"
        print(
            f"  {str(row.label):<12} {row.slice:<22} {row.n:>5}  {inside:<20} {outside:<20} "
            f"{_interval(row.gap, row.gap_low, row.gap_high, percent=True)}"
        )


def _interval(value, low, high, percent: bool = False) -> str:
    if percent:
        return f"{value:+.0%} [{low:+.0%}, {high:+.0%}]"
    return f"{value:+.2f} [{low:+.2f}, {high:+.2f}]"


def _q(value: float) -> str:
    return f"{value:.1e}" if value < 0.001 else f"{value:.3f}"


def _records(table: pd.DataFrame) -> list[dict]:
    return json.loads(table.to_json(orient="records"))
