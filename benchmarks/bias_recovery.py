"""Does TExplain find the planted shortcut? The demo's biased and balanced classifiers, explained.

    python benchmarks/bias_recovery.py [--per-group 50] [--sentences 64] [--dtype bfloat16]
    python benchmarks/bias_recovery.py --runs texplain_widgets/demo/runs

``--runs DIR`` samples nothing: it reads the stored runs DIR/biased and DIR/balanced (what
``texplain run demo --model demo:NAME`` wrote: 100 test images per group, 64 sentences of at most
20 tokens each, seed 0) and prints the same figures from their sentences.

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
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from texplain_widgets.demo import MODELS, load
from texplain_widgets.demo.world import BACKGROUND_WORDS, BACKGROUNDS, OBJECT_WORDS
from texplain_widgets.words.ranking import naming_share, rank_words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-group", type=int, default=50)
    parser.add_argument("--sentences", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--runs", metavar="DIR", help="read the stored runs DIR/biased, DIR/balanced instead")
    args = parser.parse_args()

    rows, rankings = [], {}
    for name in MODELS:
        start = time.perf_counter()
        explanations, truths = stored(Path(args.runs) / name) if args.runs else sampled(name, args)
        seconds = time.perf_counter() - start
        for explanation, (cls, background) in zip(explanations, truths):
            rows.append(
                {
                    "classifier": name,
                    "group": f"{cls}/{background}",
                    "correct": explanation.class_name == cls,
                    "names background": naming_share(explanation, BACKGROUND_WORDS[background]),
                    "names object": naming_share(explanation, OBJECT_WORDS[cls]),
                    "names other background": naming_share(explanation, BACKGROUND_WORDS[_other(background)]),
                }
            )
        predicted = [f"predicted {e.class_name}" for e in explanations]
        rankings[name] = rank_words(explanations, predicted, top=5)
        n_sentences = sum(len(e.sentences) for e in explanations)
        print(f"{name}: {len(explanations)} images, {n_sentences} sentences in {seconds:.0f} s")

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


_DEMO = {}


def sampled(name: str, args):
    """Explanations of --per-group test images of each group, and their (class, background)."""
    if not _DEMO:
        _DEMO["demo"] = load(dtype=getattr(torch, args.dtype))
        world = _DEMO["demo"].test
        picked = np.concatenate([np.flatnonzero(world.groups == g)[: args.per_group] for g in range(4)])
        print(f"{len(picked)} test images ({args.per_group} per group), {args.sentences} sentences each\n")
        _DEMO["picked"] = picked
    demo, picked = _DEMO["demo"], _DEMO["picked"]
    world = demo.test
    images = [world.images[i] for i in picked]
    truths = [(world.classes[world.labels[i]], BACKGROUNDS[world.backgrounds[i]]) for i in picked]
    explanations = demo[name].explain(
        images, args.sentences, max_new_tokens=args.max_new_tokens, seed=args.seed
    )
    return explanations, truths


def stored(directory: Path):
    """A stored run's explanations and their (class, background), from its groups."""
    from texplain_widgets import ExplanationSet

    run = ExplanationSet.open(directory)
    images = run.images
    explanations = [run.explanation(int(i)) for i in images["id"]]
    return explanations, [tuple(group.split("/")) for group in images["group"]]


def _other(background: str) -> str:
    return next(b for b in BACKGROUNDS if b != background)


if __name__ == "__main__":
    main()
