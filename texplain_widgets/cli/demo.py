"""``texplain demo``: the main job, both demo classifiers on test images of every group."""

from __future__ import annotations

import argparse

from . import options
from .tables import PRIOR_MARK, short_words


def demo(args: argparse.Namespace) -> int:
    """The main job: both demo classifiers explain test images of each group of the world."""
    import numpy as np

    from ..demo import MODELS, load

    shown = args.per_group
    demo = load()
    world = demo.test
    picked = [i for group in range(4) for i in np.flatnonzero(world.groups == group)[:shown]]
    print(
        "The demo world: kites and balloons on grass or brick. In the biased classifier's training "
        "set 95% of kites were on grass and 95% of balloons on brick; the balanced one saw every "
        f"combination equally. {args.sentences} sentences per image, top {args.top} words.\n"
    )
    for name in MODELS:
        explanations = demo[name].explain([world.images[i] for i in picked], args.sentences, seed=args.seed)
        print(f"== {name} classifier")
        for i, explanation in zip(picked, explanations):
            group = world.group_names[world.groups[i]]
            verdict = "right" if explanation.predicted_class == world.labels[i] else "WRONG"
            words = ", ".join(short_words(explanation.words.head(args.top)))
            print(
                f"  {group:<14} -> {explanation.class_name:<8} {explanation.probability:4.0%} {verdict:<5}  {words}"
            )
        print()
    if any(demo[name].reference is not None for name in MODELS):
        print(f"{PRIOR_MARK} after a word: not above the language prior (said about as often about no image)")
    return 0


def add_parser(commands) -> None:
    shared = options.shared(sentences=(64, "sentences per image"), seed="sampling seed")
    de = options.command(commands, "demo", demo, "run the offline demo", shared)
    options.count(de, "--per-group", 2, "test images per group")
    options.count(de, "--top", 6, "words shown per image")
