"""Are the words grounded where they should be? Word maps, deletion and word deletion on the demo.

    python benchmarks/word_grounding.py [--n 20] [--sentences 64] [--layer layer3] [--threads 2]

For --n test images of the demo world (balanced over the four groups) and each demo TExplain
(biased and balanced classifier), explains each image (--sentences sentences), then:

- for the object word ("kite" / "balloon", the true object) and the background word (the most
  frequent word of BACKGROUND_WORDS[true background] in the image's sentences), the share of
  the word-grounded GradCAM map's mass inside the world's object mask (the object covers
  about 2% of the image: that is the share of a map that ignores it);
- the deletion AUC (probability of the predicted class) of the classifier's GradCAM map, next
  to that of a random map (lower is better);
- the word-deletion test for the background word: the share of sentences that say it, before
  and after deleting the top --q of its map, and after deleting random regions of the same area.

An image whose sentences never say a word counts only for the other word. GradCAM reads
--layer of the classifier: at 64 pixels resnet10t's last stage (layer4) is a 2 x 2 grid,
layer3 is 4 x 4.

Measured (--n 20, --dtype bfloat16, 1 thread on a busy 2-core CPU, 336 s + 385 s), means over
the 20 images; objects cover 2.1% of the image:

                                     biased  balanced
    object word: mass on object       8.6%     8.4%    (18 / 20 images say the object)
    background word: mass on object   3.7%     5.1%
    class GradCAM: mass on object     3.8%    12.1%
    deletion AUC, GradCAM / random   0.906 / 0.928   0.619 / 0.804
    background word's share of sentences, before / after deleting its map's top 20% / random 20%
                                     74.2 / 75.8 / 74.7%   35.9 / 23.0 / 36.6%

Word maps put four times the chance share on the object for the object word, less for the
background word. The biased classifier's own GradCAM ignores the object and deletes barely
better than random, and deleting a fifth of the background does not stop its TExplain saying
"grass"/"brick" (the cue fills the frame); for the balanced classifier both tests pass.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch

from texplain_widgets.attribution.faithfulness import (
    deletion,
    random_map,
    word_deletion,
)
from texplain_widgets.attribution.maps import saliency_map
from texplain_widgets.attribution.word_maps import word_saliency
from texplain_widgets.demo.world import BACKGROUND_WORDS, BACKGROUNDS

COLUMNS = {
    "object word: mass on object": "object_word_on_object",
    "background word: mass on object": "background_word_on_object",
    "class map: mass on object": "class_map_on_object",
    "object area": "object_area",
    "deletion AUC, GradCAM": "auc_gradcam",
    "deletion AUC, random": "auc_random",
    "bg word share before": "before",
    "after deleting its region": "after",
    "after deleting random": "random",
}

COUNTED = {  # measures that exist only for images whose sentences say the word
    "object word: mass on object": "  images saying the object",
    "background word: mass on object": "  images saying the background",
}


def balanced_indices(world, n: int) -> np.ndarray:
    """The first n // 4 test images of each group, in group order."""
    return np.concatenate([np.flatnonzero(world.groups == g)[: n // 4] for g in range(4)])


def measure(texplain, world, indices, args) -> pd.DataFrame:
    """One row per image: the measures of the module docstring (NaN where a word is missing)."""
    images = [world.images[i] for i in indices]
    sampling = {"max_new_tokens": args.max_new_tokens}
    explanations = texplain.explain(images, args.sentences, seed=args.seed, **sampling)
    rows = []
    for i, image, explanation in zip(indices, images, explanations):
        mask = world.masks[i]
        background = BACKGROUNDS[world.backgrounds[i]]
        words = explanation.words.set_index("word")["count"]
        said = [w for w in words.index if w in BACKGROUND_WORDS[background]]
        background_word = said[0] if said else None  # the table is sorted by frequency
        object_word = world.classes[world.labels[i]]
        row = {
            "group": world.group_names[world.groups[i]],
            "correct": explanation.predicted_class == world.labels[i],
            "object_area": mask.mean(),
        }
        for key, word in (("object_word", object_word), ("background_word", background_word)):
            row[f"{key}_on_object"] = np.nan
            if word is not None and word in words.index:
                heatmap = word_saliency(
                    texplain, image, explanation, word, method="gradcam", layer=args.layer
                ).heatmap
                row[f"{key}_on_object"] = on_object(heatmap, mask)
                if key == "background_word":
                    row |= word_deletion(
                        texplain,
                        image,
                        word,
                        heatmap,
                        q=args.q,
                        n_sentences=args.sentences,
                        seed=args.seed,
                        trials=args.trials,
                        **sampling,
                    )
        class_map = saliency_map(texplain.classifier, image, "gradcam", layer=args.layer).heatmap
        row["class_map_on_object"] = on_object(class_map, mask)
        row["auc_gradcam"] = deletion(texplain.classifier, image, class_map).auc
        row["auc_random"] = deletion(texplain.classifier, image, random_map(mask.shape, seed=int(i))).auc
        rows.append(row)
    return pd.DataFrame(rows)


def on_object(heatmap: np.ndarray, mask: np.ndarray) -> float:
    """Share of the map's mass inside the object mask (NaN for an all-zero map)."""
    total = float(heatmap.sum())
    return float(heatmap[mask].sum()) / total if total > 0 else np.nan


def summary(results: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Means over the images, one column per classifier, with the number of images counted."""
    table = {}
    for name, rows in results.items():
        column = {"images": len(rows), "accuracy": rows["correct"].mean()}
        for label, key in COLUMNS.items():
            values = rows[key] if key in rows else pd.Series(dtype=float)
            column[label] = values.mean()
            if label in COUNTED:
                column[COUNTED[label]] = values.notna().sum()
        table[name] = column
    return pd.DataFrame(table)


def main() -> None:
    from texplain_widgets.demo import MODELS, load
    from texplain_widgets.model.precision import native_bf16

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="test images, balanced over the groups")
    parser.add_argument("--sentences", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--layer", default="layer3", help="GradCAM layer of the classifier")
    parser.add_argument("--q", type=float, default=0.2, help="share of pixels the word-deletion test removes")
    parser.add_argument("--trials", type=int, default=3, help="random regions per word-deletion test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument(
        "--dtype",
        default="float32",
        choices=["float32", "bfloat16", "auto"],
        help="auto: bfloat16 where the CPU runs it natively (native_bf16), else float32",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.dtype == "auto":
        args.dtype = "bfloat16" if native_bf16("cpu") else "float32"

    demo = load(dtype=getattr(torch, args.dtype))
    indices = balanced_indices(demo.test, args.n)
    results = {}
    for name in MODELS:
        start = time.perf_counter()
        results[name] = measure(demo[name], demo.test, indices, args)
        print(f"{name}: {len(indices)} images in {time.perf_counter() - start:.0f} s", flush=True)
    print(
        f"\n{len(indices)} test images ({len(indices) // 4} per group), {args.sentences} sentences of at most "
        f"{args.max_new_tokens} tokens, GradCAM at {args.layer}, word deletion q = {args.q} "
        f"({args.trials} random regions), {args.dtype}, {args.threads} threads"
    )
    with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 120):
        print(summary(results).to_string())
        print("\nper group, share of map mass on the object (object word / background word):")
        for name, rows in results.items():
            grouped = rows.groupby("group", sort=False)[
                ["object_word_on_object", "background_word_on_object"]
            ].mean()
            print(f"{name}:\n{grouped.to_string()}")


if __name__ == "__main__":
    main()
