"""``texplain reference DIR --images FOLDER``: compute a saved model's reference word distribution.

Writes ``DIR/reference.json`` (see :mod:`texplain_widgets.model.reference`), so that old
checkpoints, saved before references, get lift and above_prior columns in every word table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from . import options


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``reference`` command to the ``texplain`` parser's subparsers."""
    parser = subparsers.add_parser(
        "reference",
        help="compute a saved model's reference word distribution (DIR/reference.json)",
        description="Sample sentences from the translator applied to the features of images in --images "
        "(what the model says about any image of the set) and write their word table to "
        "DIR/reference.json; explanations of the model then show each word's lift.",
    )
    parser.set_defaults(command=run)
    parser.add_argument("model", metavar="DIR", help="a folder saved by TExplain.save_pretrained")
    text = (
        "the reference set: a folder of images (subfolders too), e.g. the training or validation "
        "images; --vectors of them are drawn (seeded) and loaded, unreadable ones skipped"
    )
    parser.add_argument("--images", required=True, metavar="FOLDER", help=text)
    for flag, default, what in (
        ("--vectors", 128, "images of the set, each a feature vector"),
        ("--sentences", 8, "sentences per vector"),
    ):
        parser.add_argument(
            flag,
            type=options.positive_int,
            default=default,
            metavar="N",
            help=f"{what} (default %(default)s)",
        )
    parser.add_argument(
        "--seed", type=int, default=0, metavar="S", help="drawing and sampling seed (default 0)"
    )
    parser.add_argument(
        "--method",
        choices=["images", "shuffled"],
        default="images",
        help="the set's images (default) or coordinate-shuffled features, for comparison",
    )
    parser.add_argument(
        "--device", default="auto", metavar="DEVICE", help="cpu, cuda, cuda:N or auto (default)"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Compute the reference of the model in ``args.model`` and save it there."""
    from ..data.images import list_images
    from ..errors import InputError
    from ..model.texplain import TExplain

    directory, folder = Path(args.model), Path(args.images)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder of images")
    paths = list_images(folder, recursive=True)
    images, unreadable = draw_images(paths, args.vectors, args.seed)
    skipped = f"; skipped {len(unreadable)} unreadable, e.g. {unreadable[0]}" if unreadable else ""
    if len(images) < 2:
        raise InputError(
            f"{folder}: the reference set needs at least 2 readable images, found {len(images)}{skipped}"
        )
    model = TExplain.from_pretrained(directory).to(options.device(args.device))
    start = time.perf_counter()
    reference = model.compute_reference(
        images,
        n_vectors=args.vectors,
        sentences_per_vector=args.sentences,
        seed=args.seed,
        method=args.method,
    )
    path = reference.save(directory)
    top = ", ".join(f"{w} {s:.0%}" for w, s in reference.words[["word", "share"]].head(8).values)
    print(
        f"{path}: {reference.n_sentences} sentences from {len(images)} of the {len(paths)} images "
        f"in {folder} in {time.perf_counter() - start:.0f} s"
    )
    if unreadable:
        print(f"  skipped {len(unreadable)} unreadable images (others drawn instead), e.g. {unreadable[0]}")
    print(f"  the prior's words: {top}")
    return 0


def draw_images(paths: list[Path], wanted: int, seed: int) -> tuple[list, list[str]]:
    """Up to ``wanted`` images loaded from ``paths`` in a seeded random order, and why each
    unreadable one drawn was skipped (the next one drawn takes its place).

    Only the images used are loaded; all of them when the folder holds ``wanted`` or fewer.
    """
    import numpy as np

    from ..data.images import load_image
    from ..errors import InputError

    images, unreadable = [], []
    for index in np.random.default_rng(seed).permutation(len(paths)):
        if len(images) == wanted:
            break
        try:
            images.append(load_image(paths[index]))
        except InputError as err:
            unreadable.append(str(err))
    return images, unreadable
