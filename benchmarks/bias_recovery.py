"""Does TExplain find the planted shortcut? The demo's biased and balanced classifiers, explained.

    python benchmarks/bias_recovery.py [--per-group 50] [--sentences 64] [--dtype bfloat16]

For each classifier, explains --per-group test images of each group (kite or balloon, on grass
or brick; the test split is balanced) and prints, per group: the classifier's accuracy, (a) the
share of sentences naming the image's true background and (b) its true object; then (c) the
words most associated with each predicted class (log-odds with an informative Dirichlet prior).
What should show: for the biased classifier, background words among its classes' top words,
and the object named less reliably on the minority groups than by the balanced classifier.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch

from texplain_widgets.analysis import naming_share, rank_words
from texplain_widgets.demo import MODELS, load
from texplain_widgets.demo.world import BACKGROUND_WORDS, BACKGROUNDS, OBJECT_WORDS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-group", type=int, default=50)
    parser.add_argument("--sentences", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    args = parser.parse_args()

    demo = load(dtype=getattr(torch, args.dtype))
    world = demo.test
    picked = np.concatenate([np.flatnonzero(world.groups == g)[: args.per_group] for g in range(4)])
    images = [world.images[i] for i in picked]
    groups = [world.group_names[world.groups[i]] for i in picked]
    print(
        f"{len(picked)} test images ({args.per_group} per group), {args.sentences} sentences each, {args.dtype}\n"
    )

    rows, rankings = [], {}
    for name in MODELS:
        start = time.perf_counter()
        explanations = demo[name].explain(
            images, args.sentences, max_new_tokens=args.max_new_tokens, seed=args.seed
        )
        seconds = time.perf_counter() - start
        for i, explanation, group in zip(picked, explanations, groups):
            cls, background = world.classes[world.labels[i]], BACKGROUNDS[world.backgrounds[i]]
            rows.append(
                {
                    "classifier": name,
                    "group": group,
                    "correct": explanation.predicted_class == world.labels[i],
                    "names background": naming_share(explanation, BACKGROUND_WORDS[background]),
                    "names object": naming_share(explanation, OBJECT_WORDS[cls]),
                    "names other background": naming_share(explanation, BACKGROUND_WORDS[_other(background)]),
                }
            )
        predicted = [f"predicted {e.class_name}" for e in explanations]
        rankings[name] = rank_words(explanations, predicted, top=5)
        print(f"{name}: {len(explanations) * args.sentences} sentences in {seconds:.0f} s")

    table = pd.DataFrame(rows).groupby(["classifier", "group"], sort=False).mean()
    with pd.option_context("display.float_format", "{:.0%}".format, "display.width", 120):
        print(
            "\n(a), (b): mean share of sentences naming ... (accuracy = classifier's accuracy on these images)"
        )
        print(table.rename(columns={"correct": "accuracy"}).to_string())
        for name, ranking in rankings.items():
            print(f"\n(c) {name} classifier: top words per predicted class")
            for group, words in ranking.groupby("group", sort=True):
                listed = ", ".join(
                    f"{w} (z {z:.1f}, {s:.0%})" for w, z, s in words[["word", "z", "share"]].values
                )
                print(f"  {group:<18} {listed}")


def _other(background: str) -> str:
    return next(b for b in BACKGROUNDS if b != background)


if __name__ == "__main__":
    main()
