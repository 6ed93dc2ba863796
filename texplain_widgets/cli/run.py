"""``texplain run SOURCE --model DIR|demo --out DIR``: explain a whole dataset into a run store."""

from __future__ import annotations

import argparse
import sys

from . import options


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``run`` command to the ``texplain`` parser's subparsers."""
    parser = subparsers.add_parser(
        "run",
        help="explain a whole dataset into a resumable run directory",
        description="Explain every image of SOURCE and store the sentences, predictions and word "
        "counts as Parquet shards in --out; rerun the same command to resume. Read the run with "
        "texplain_widgets.ExplanationSet.open(OUT).",
    )
    parser.set_defaults(command=run)
    parser.add_argument(
        "source",
        metavar="SOURCE",
        help="a folder (subfolders name the classes), a CSV of image[,label][,group], or 'demo' "
        "(the demo's test split)",
    )
    parser.add_argument(
        "--model", required=True, metavar="DIR", help="a saved TExplain folder, or 'demo' / 'demo:balanced'"
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="the run directory (resumed if it exists)"
    )
    parser.add_argument("--labels", metavar="CSV", help="image,label[,group] for a folder's images")
    parser.add_argument(
        "--sentences",
        type=options.positive_int,
        default=64,
        metavar="N",
        help="sentences per image (default 64)",
    )
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="sampling seed (default 0)")
    parser.add_argument("--top-p", type=float, default=0.9, metavar="P", help="nucleus mass (default 0.9)")
    parser.add_argument("--temperature", type=float, default=1.0, metavar="T", help="(default 1.0)")
    parser.add_argument(
        "--max-new-tokens",
        type=options.positive_int,
        default=20,
        metavar="N",
        help="tokens per sentence (default 20)",
    )
    parser.add_argument("--engine", choices=("local", "ray"), default="local", help="where the work runs")
    parser.add_argument(
        "--workers",
        type=options.positive_int,
        metavar="N",
        help="Ray actors (default: one per GPU, else one); local engine: torch threads",
    )
    parser.add_argument(
        "--address", metavar="ADDR", help="Ray cluster address, e.g. auto (default: a local Ray)"
    )
    parser.add_argument(
        "--chunk-size",
        type=options.positive_int,
        default=32,
        metavar="N",
        help="images per shard (default 32)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a run with other settings in --out")
    parser.add_argument(
        "--device", default="auto", metavar="DEVICE", help="local engine: cpu, cuda, cuda:N or auto (default)"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``texplain run``; returns the exit code (130 when interrupted, the run resumable)."""
    from ..errors import InputError
    from ..runs.engine import explain_dataset

    if args.address is not None and args.engine != "ray":
        raise InputError("--address goes with --engine ray")
    device = options.device(args.device) if args.engine == "local" else None
    try:
        runs = explain_dataset(
            args.model,
            args.source,
            args.out,
            n_sentences=args.sentences,
            top_p=args.top_p,
            temperature=args.temperature,
            max_new_tokens=args.max_new_tokens,
            seed=args.seed,
            engine=args.engine,
            workers=args.workers,
            labels=args.labels,
            overwrite=args.overwrite,
            address=args.address,
            chunk_size=args.chunk_size,
            device=device,
        )
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: what is stored in {args.out} is kept; run the same command to resume",
            file=sys.stderr,
        )
        return 130
    print(runs.summary())
    failures = runs.failures
    for path, error in zip(failures["path"].head(5), failures["error"].head(5)):
        print(f"  failed: {error}" if path is None or path in error else f"  failed: {path}: {error}")
    if len(failures) > 5:
        print(f"  ... and {len(failures) - 5} more")
    print(f"read it with: texplain_widgets.ExplanationSet.open({args.out!r})")
    return 0
