"""``texplain saliency IMAGE --model DIR|demo --method M --out map.png [--word W]``: a map as a PNG."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ..errors import InputError
from ..model_names import resolve_model
from . import options


def saliency(args: argparse.Namespace) -> int:
    """Draw a saliency map of the classifier over the image (of a word, with --word) as a PNG."""
    from ..attribution.drawing import overlay, to_png_bytes
    from ..attribution.maps import saliency_map
    from ..attribution.word_maps import word_saliency
    from ..data.images import load_image

    load_image(args.image)  # fail on a bad file before the slow model load
    model = resolve_model(args.model).to(options.device(args.device))
    saved = model.display.get("method_options", {}).get(args.method, {})  # the saved defaults
    if args.word is None:
        result = saliency_map(model.classifier, args.image, args.method, target=args.target, **saved)
        names = model.classifier.class_names
        what = f"class {result.target}" + (f" ({names[result.target]})" if names else "")
    else:
        explanation = model.explain(args.image, args.sentences, seed=args.seed)
        result = word_saliency(model, args.image, explanation, args.word, method=args.method, **saved)
        what = f"the word {result.word!r}"
    try:
        Path(args.out).write_bytes(to_png_bytes(overlay(args.image, result.heatmap)))
    except OSError as err:
        raise InputError(f"{args.out}: cannot write the map ({err.strerror})") from err
    print(f"{args.out}: {result.method} map of {what}")
    return 0


class _Methods(Sequence):
    """The names of ``attribution.maps.METHODS`` as argparse choices, imported when a value is
    checked or the help shown (the registry imports torch; ``texplain --help`` does not)."""

    def __getitem__(self, index):
        from ..attribution.maps import METHODS

        return METHODS[index]

    def __len__(self) -> int:
        from ..attribution.maps import METHODS

        return len(METHODS)


def add_parser(commands) -> None:
    sentences = (128, "sentences sampled to find --word's contexts")
    shared = options.shared(model=True, sentences=sentences, seed="sampling seed", device=True)
    sa = options.command(commands, "saliency", saliency, "draw a saliency map over an image", shared)
    sa.add_argument("image", metavar="IMAGE", help="image file")
    text = "%(choices)s (default %(default)s, with the model's saved options for it)"
    sa.add_argument("--method", default="gradcam", choices=_Methods(), metavar="METHOD", help=text)
    sa.add_argument("--out", required=True, metavar="FILE.png", help="where the overlay is written")
    about = sa.add_mutually_exclusive_group()
    about.add_argument("--target", type=int, metavar="N", help="class explained (default: the predicted one)")
    text = "explain this word of the image's sampled sentences instead"
    about.add_argument("--word", metavar="WORD", help=text)
