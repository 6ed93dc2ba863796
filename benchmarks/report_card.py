"""The demo translators' report cards, and how often they name the wrong background.

    python benchmarks/report_card.py [--images 400] [--sentences 8] [--seed 0] [--json PATH]

For demo:biased and demo:balanced, on the held-out val split of the demo world (400 images,
100 per group, their captions and classes; the translators never trained on it), samples
--sentences sentences per image from the classifier's features (``held_out_sentences``, as
``explain`` samples) and prints:

- the report card (``measure_report_card``: recall, precision, per class), with the training
  history of ``--build``/translator-NAME.json when scripts/build_demo.py left one there;
- per group (object x background): recall, precision and the **wrong-background rate**, the
  mean over images of the share of their sentences that use a word of the other background
  (``BACKGROUND_WORDS``: "wall"/"brick" for an image on grass, "grass"/"lawn"/"field"/"grassy"
  for one in front of bricks).

--images takes the first N/4 images of each group. ``--json PATH`` saves every figure.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from texplain_widgets.demo import MODELS, load, split
from texplain_widgets.demo.world import BACKGROUND_WORDS, BACKGROUNDS
from texplain_widgets.model.report_card import held_out_sentences, measure_report_card, score_sentences
from texplain_widgets.model.train import CachedFeatures, compute_features
from texplain_widgets.words import sentence_words


def wrong_background_share(sentences: list[str], background: str) -> float:
    """The share of ``sentences`` that use a word of a background other than ``background``."""
    wrong = set().union(*(words for name, words in BACKGROUND_WORDS.items() if name != background))
    if not sentences:
        return 0.0
    return sum(bool(wrong.intersection(sentence_words(s))) for s in sentences) / len(sentences)


def measure(model, world, picked, args) -> dict:
    start = time.perf_counter()
    images = world.subset(picked)
    features = compute_features(model.classifier, images.to_pairs()).features
    labels = [images.classes[label] for label in images.labels]
    sentences = held_out_sentences(model, features, n_sentences=args.sentences, seed=args.seed)
    history_file = Path(args.build) / f"translator-{args.name}.json"
    history = json.loads(history_file.read_text())["history"] if history_file.is_file() else []
    card = measure_report_card(
        model,
        CachedFeatures(features, images.captions, labels),
        history,
        n_sentences=args.sentences,
        seed=args.seed,
        sentences=sentences,
    )
    backgrounds = [BACKGROUNDS[b] for b in images.backgrounds]
    groups = [images.group_names[g] for g in images.groups]
    wrong = [wrong_background_share(texts, b) for texts, b in zip(sentences, backgrounds)]
    by_group = score_sentences(images.captions, sentences, groups)["per_class"]
    for name, row in by_group.items():
        row["wrong_background"] = round(float(np.mean([w for w, g in zip(wrong, groups) if g == name])), 4)
    return {
        "report_card": card,
        "wrong_background": round(float(np.mean(wrong)), 4),
        "per_group": {name: by_group[name] for name in images.group_names if name in by_group},
        "seconds": round(time.perf_counter() - start, 1),
    }


def print_result(name: str, result: dict) -> None:
    card = result["report_card"]
    print(
        f"\n== demo:{name}: recall {card['recall']:.1%}, recall_any {card['recall_any']:.1%}, "
        f"precision {card['precision']:.1%} on {card['n_captions']} held-out captions; "
        f"wrong background {result['wrong_background']:.1%} ({result['seconds']:.0f} s)"
    )
    if card["final_val_loss"] is not None:
        print(f"   final val loss {card['final_val_loss']:.3f}, train loss {card['final_train_loss']:.3f}")
    print(f"   {'group / class':<14} {'images':>6} {'recall':>7} {'precision':>9} {'wrong background':>16}")
    for group, row in result["per_group"].items():
        print(
            f"   {group:<14} {row['n_captions']:>6} {row['recall']:>7.1%} {row['precision']:>9.1%} "
            f"{row['wrong_background']:>16.1%}"
        )
    for cls, row in card["per_class"].items():
        print(f"   {cls:<14} {row['n_captions']:>6} {row['recall']:>7.1%} {row['precision']:>9.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--images", type=int, default=400, help="held-out images, N/4 per group (default 400)"
    )
    parser.add_argument("--sentences", type=int, default=8, help="sentences per image (default 8)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--build", default="build/demo", help="where build_demo.py left translator-NAME.json")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--json", metavar="PATH", help="save the figures as JSON")
    args = parser.parse_args()

    world = split("val")
    per_group = max(1, args.images // 4)
    picked = np.concatenate([np.flatnonzero(world.groups == g)[:per_group] for g in range(4)])
    demo = load(args.models, dtype=getattr(torch, args.dtype))
    print(
        f"{len(picked)} held-out val images ({per_group} per group), {args.sentences} sentences each, "
        f"seed {args.seed}, {args.dtype}"
    )
    results = {}
    for name in args.models:
        args.name = name
        results[name] = measure(demo[name], world, picked, args)
        print_result(name, results[name])
    if args.json:
        settings = {k: getattr(args, k) for k in ("images", "sentences", "seed", "dtype")}
        Path(args.json).write_text(json.dumps({"settings": settings, "models": results}, indent=2))
        print(f"\nsaved to {args.json}")


if __name__ == "__main__":
    main()
