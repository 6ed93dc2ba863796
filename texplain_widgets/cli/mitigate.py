"""``texplain mitigate``: fix a classifier's shortcut from words or groups, save it, print the table."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from ..errors import InputError
from . import options

SOURCE = "a folder of class subfolders, a CSV of image,label[,group], or demo:train, demo:val, demo:test"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``mitigate`` command to the ``texplain`` parser's subparsers."""
    parser = subparsers.add_parser(
        "mitigate",
        help="fix a classifier's shortcut (reweight, mask, control) and save it",
        description="Retrain the last layer with the groups weighted equally (reweight), or fine-tune with "
        "the words' region masked (mask) or unmasked (control); print the before/after table (worst "
        "group with 95%% intervals) and save the new classifier and mitigation.json in --out.",
    )
    parser.set_defaults(command=run)
    add = parser.add_argument
    add("--model", required=True, metavar="DIR", help="a saved TExplain or classifier folder, or 'demo'")
    add("--train", required=True, metavar="SRC", help=f"the images the fix trains on: {SOURCE}")
    add("--val", metavar="SRC", help="the images reweight selects C on (default: half of --train)")
    add("--test", metavar="SRC", help="the images the table is scored on (their groups column: true groups)")
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--words", metavar="A,B", help="pseudo-groups label x these words (needs --run)")
    how.add_argument("--groups", metavar="CSV", help="a CSV of image,group (image: path, name or id)")
    add("--run", metavar="DIR", help="the run over --train whose words make the pseudo-groups (texplain run)")
    add("--val-run", metavar="DIR", help="the run over --val, for --words with --val")
    add("--method", choices=("reweight", "mask", "control"), default="reweight", help="(default reweight)")
    add("--out", required=True, metavar="DIR", help="where the new classifier is saved")
    add(
        "--epochs",
        type=options.positive_int,
        metavar="N",
        help="mask/control: fine-tuning epochs (default 3)",
    )
    add("--q", type=float, metavar="Q", help="mask: the share of each map's top pixels masked (default 0.9)")
    add("--seed", type=int, default=0, metavar="S", help="(default 0)")
    return parser


def run(args: argparse.Namespace) -> int:
    """Mitigate, print the table and the note on the words, save into ``args.out``."""
    from ..mitigation.core import mitigate

    if args.method == "reweight" and not (args.words or args.groups):
        raise InputError("reweight needs --words (with --run) or --groups")
    if args.words and not args.run:
        raise InputError(
            "--words needs --run DIR, a run over the --train images: texplain run SRC --model M --out DIR"
        )
    options = {k: getattr(args, k) for k in ("epochs", "q") if getattr(args, k) is not None}
    groups = _groups_csv(Path(args.groups)) if args.groups else None
    result = mitigate(
        _model(args.model),
        args.train,
        args.val,
        method=args.method,
        words=args.words.split(",") if args.words else None,
        groups=groups,
        val_groups=groups if args.val else None,
        run=args.run,
        val_run=args.val_run,
        test=args.test,
        seed=args.seed,
        progress=True,
        **options,
    )
    out = result.save_pretrained(args.out)
    result.table.to_csv(out / "table.csv", index=False)
    print(result)
    print(f"saved to {out} (table.csv, mitigation.json)")
    return 0


def _model(name: str):
    directory = Path(name)
    config = directory / "config.json"
    if config.is_file() and '"translator"' not in config.read_text():
        from ..model.classifier import FrozenClassifier

        return FrozenClassifier.from_pretrained(directory)
    from ..model_names import resolve_model

    return resolve_model(name)


def _groups_csv(path: Path) -> dict:
    """{image as written, its resolved path: group} from a CSV of image,group."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as err:
        raise InputError(f"{path}: cannot read the groups CSV ({err})") from err
    if not rows or not {"image", "group"} <= set(rows[0]):
        raise InputError(f"{path}: needs a header row image,group and one row per image")
    groups = {}
    for row in rows:
        image = (row["image"] or "").strip()
        groups[image] = row["group"]
        groups[str((path.parent / image).resolve())] = row["group"]
    return groups
