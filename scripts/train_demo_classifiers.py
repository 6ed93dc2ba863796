"""Train the demo's biased and balanced classifiers on the kite/balloon world and save them.

    .venv/bin/python scripts/train_demo_classifiers.py --out build/demo

Builds the splits of DEMO_WORLD with ``demo.split`` (train with p_spurious = 0.95 for the
biased classifier and 0.5 for the balanced one; the same balanced val/test splits for both),
trains both with
DEMO_TRAINING on the CPU, prints average, worst-group and per-group test accuracy, and writes
``biased.safetensors`` and ``balanced.safetensors`` (float16 weights, lossless: training
rounds them to fp16 precision) plus ``metrics.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

from texplain_widgets.demo import split
from texplain_widgets.demo.classifiers import (
    DEMO_TRAINING,
    DEMO_WORLD,
    evaluate,
    train_classifier,
)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="build/demo", help="output folder (default build/demo)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--epochs", type=int, default=DEMO_TRAINING["epochs"])
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    w = DEMO_WORLD
    training = {k: v for k, v in DEMO_TRAINING.items() if k != "seed"} | {"epochs": args.epochs}
    results = {}
    val, test = split("val"), split("test")
    for name, p, train_split in (
        ("biased", w["p_biased"], "train"),
        ("balanced", w["p_balanced"], "train_balanced"),
    ):
        start = time.perf_counter()
        train = split(train_split)  # demo.split: DEMO_WORLD's sizes and seeds
        generated = time.perf_counter() - start
        classifier = train_classifier(
            train, seed=DEMO_TRAINING["seed"], progress=not args.no_progress, **training
        )
        metrics = {"test": evaluate(classifier, test), "val": evaluate(classifier, val)}
        metrics |= {
            "p_spurious": p,
            "train_seconds": round(classifier.training_seconds, 1),
            "generate_seconds": round(generated, 1),
        }
        results[name] = metrics
        state = {
            k: (v.half() if v.is_floating_point() else v).contiguous()
            for k, v in classifier.model.state_dict().items()
        }
        metadata = {
            "arch": training["arch"],
            "size": str(w["size"]),
            "class_names": json.dumps(list(classifier.class_names)),
            "p_spurious": str(p),
        }
        save_file(state, str(out / f"{name}.safetensors"), metadata=metadata)

    groups = list(results["biased"]["test"]["group_accuracy"])
    header = (
        f"{'classifier':<10} {'p':>5} {'average':>8} {'worst':>7} "
        + " ".join(f"{g:>14}" for g in groups)
        + f" {'train s':>8}"
    )
    print(
        f"\ntest accuracy ({w['n_test']} balanced images), {training['arch']}, "
        f"{args.epochs} epochs, {w['n_train']} training images"
    )
    print(header)
    for name, m in results.items():
        t = m["test"]
        print(
            f"{name:<10} {m['p_spurious']:>5} {t['accuracy']:>8.1%} {t['worst_group_accuracy']:>7.1%} "
            + " ".join(f"{t['group_accuracy'][g]:>14.1%}" for g in groups)
            + f" {m['train_seconds']:>8.0f}"
        )
    settings = {
        "world": {k: (repr(v) if k == "style" else v) for k, v in w.items()},
        "training": DEMO_TRAINING | training,
    }
    (out / "metrics.json").write_text(json.dumps({"settings": settings, "results": results}, indent=2))
    print(f"\nsaved {', '.join(str(out / f'{n}.safetensors') for n in results)} and metrics.json")


if __name__ == "__main__":
    main()
