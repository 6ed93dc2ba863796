"""``texplain explain IMAGE_OR_FOLDER... --model DIR|demo``: each image's prediction and top words."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..model_names import resolve_model
from . import options
from .tables import print_explanation


def explain(args: argparse.Namespace) -> int:
    """Explain each image: its prediction and the words its sampled sentences use most."""
    from tqdm import tqdm

    paths = image_paths(args.images)
    device = options.device(args.device)
    model = resolve_model(args.model).to(device)
    with tqdm(total=len(paths) * args.sentences, unit="sentence", disable=None, leave=False) as bar:
        explanations = model.explain(
            [str(path) for path in paths],
            args.sentences,
            top_p=args.top_p,
            temperature=args.temperature,
            max_new_tokens=args.max_new_tokens,
            seed=args.seed,
            on_batch=lambda done, _total, _sentences: bar.update(done - bar.n),
        )
    if args.json:
        print(json.dumps([e.to_dict() for e in explanations], indent=2))
    else:
        for path, explanation in zip(paths, explanations):
            print_explanation(str(path), explanation, args.top)
            print()
    return 0


def image_paths(names: list[str]) -> list[Path]:
    """Image files of the command's arguments (folders expand to their images), each checked to load."""
    from ..data.images import list_images, load_image

    paths = []
    for name in names:
        path = Path(name)
        paths.extend(list_images(path) if path.is_dir() else [path])
    for path in paths:
        load_image(path)  # fail on a bad file before the slow model load
    return paths


def add_parser(commands) -> None:
    shared = options.shared(
        model=True, sentences=(128, "sentences sampled per image"), seed="sampling seed", device=True
    )
    ex = options.command(commands, "explain", explain, "explain images with a saved model", shared)
    ex.add_argument("images", nargs="+", metavar="IMAGE", help="image file, or folder of images")
    ex.add_argument(
        "--top-p", type=float, default=0.9, metavar="P", help="nucleus sampling mass (default 0.9)"
    )
    ex.add_argument(
        "--temperature", type=float, default=1.0, metavar="T", help="sampling temperature (default 1.0)"
    )
    options.count(ex, "--max-new-tokens", 20, "tokens per sentence at most")
    ex.add_argument(
        "--top",
        type=options.positive_int,
        default=10,
        metavar="N",
        help="words shown per image (default 10; --json gives all)",
    )
    text = "print one JSON list: per image its prediction, sentences and word table"
    ex.add_argument("--json", action="store_true", help=text)
