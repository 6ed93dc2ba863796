"""``texplain reliance RUN_DIR --model DIR|demo --word W``: does the classifier rely on what W names?"""

from __future__ import annotations

import argparse
import json
import sys
import time

from ..runs.region_masking import FILLS
from ..runs.reliance import TRIALS, Q
from . import options


def add_parser(subparsers) -> None:
    """Add the ``reliance`` command to the ``texplain`` parser's subparsers."""
    parser = subparsers.add_parser(
        "reliance",
        help="mask a word's region in its images: does the prediction drop more than for random regions?",
        description="For the images of a stored run that use --word (or --images), mask the region of "
        "the word's word-grounded map and measure the drop of the predicted class's probability, "
        "against random regions of the same area (the control) and the class map's region. The "
        "results are stored in RUN_DIR/reliance and reused; Ctrl-C keeps what was measured.",
    )
    parser.set_defaults(command=reliance)
    parser.add_argument("run", metavar="RUN_DIR", help="a run directory (texplain run ... --out RUN_DIR)")
    parser.add_argument(
        "--model",
        required=True,
        metavar="DIR",
        help="the run's model: a TExplain folder, or demo / demo:balanced; or a folder texplain mitigate "
        "--method reweight saved from it (the same features)",
    )
    parser.add_argument("--word", required=True, metavar="W", help="the word, e.g. grass")
    parser.add_argument("--images", metavar="ID,ID", help="these image ids instead of the word's images")
    parser.add_argument(
        "--max-images", type=options.positive_int, metavar="N", help="at most N of them (drawn with --seed)"
    )
    parser.add_argument(
        "--q", type=float, default=Q, metavar="Q", help=f"share of the map's weight masked (default {Q})"
    )
    parser.add_argument(
        "--region",
        choices=("pixels", "weight"),
        default="pixels",
        help="q is a share of the image's pixels (default) or of the word map's weight",
    )
    parser.add_argument(
        "--fill", choices=FILLS, default="model_mean", help="what fills a masked region (default model_mean)"
    )
    parser.add_argument(
        "--trials",
        type=options.positive_int,
        default=TRIALS,
        metavar="N",
        help=f"random regions per image (default {TRIALS})",
    )
    parser.add_argument(
        "--seed", type=int, default=0, metavar="S", help="random regions and --max-images (default 0)"
    )
    parser.add_argument(
        "--device", default="auto", metavar="DEVICE", help="cpu, cuda, cuda:N or auto (default)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object: summary, settings, timings"
    )


def reliance(args: argparse.Namespace) -> int:
    """Run ``texplain reliance``; returns the exit code (130 when interrupted, what was measured kept)."""
    from ..errors import InputError
    from ..model_names import resolve_model
    from ..runs.explanation_set import ExplanationSet

    runs = ExplanationSet.open(args.run)
    try:
        images = [int(i) for i in args.images.split(",") if i.strip()] if args.images else None
    except ValueError as err:
        raise InputError(f"--images takes image ids separated by commas, e.g. 3,17,42 ({err})") from err
    model = resolve_model(args.model).to(options.device(args.device))
    start = time.perf_counter()
    try:
        result = runs.reliance(
            args.word, model, images=images, q=args.q, fill=args.fill, region=args.region, trials=args.trials,
            max_images=args.max_images, seed=args.seed, progress=not args.json,
        )  # fmt: skip
    except KeyboardInterrupt:
        print(f"\ninterrupted: what was measured is kept in {args.run}/reliance; run the same command to go on", file=sys.stderr)  # fmt: skip
        return 130
    seconds = time.perf_counter() - start
    if args.json:
        print(json.dumps({"summary": result.summary, "settings": result.settings, "path": str(result.path), "timings": result.timings, "seconds": seconds}, indent=2, default=float))  # fmt: skip
        return 0
    print(result)
    spent = sum(result.timings.values())
    if spent:
        parts = ", ".join(f"{name} {value:.1f} s" for name, value in result.timings.items())
        print(f"measured in {seconds:.1f} s ({parts})")
    print(f"stored in {result.path} (reused by the next call with the same settings)")
    return 0
