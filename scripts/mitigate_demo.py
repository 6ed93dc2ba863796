"""Mitigate the demo's biased classifier with the package, from the words of a validation run.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/mitigate_demo.py --run runs/demo-val [--words grass,brick]
    .venv/bin/python scripts/mitigate_demo.py --reference      # the demo's object-mask reference too

The biased classifier (shipped in the package) explains the demo world's validation split
(400 balanced images, 16 sentences each, into --run, resumed if there) and the images' use of
the --words makes the pseudo-groups (label x word); the true groups are never used to fix,
only to score and for the DFR reference rows. Every row is scored on the balanced test split
(1000 images): average and worst group with 95% Wilson intervals, and the seconds it took.

- ``reweight (pseudo-groups)``: texplain_widgets.mitigation's reweight on the validation split,
  C chosen on a held-out half by the worst pseudo-group;
- ``reweight (true groups, val)`` the same with the true groups; ``reweight (true groups,
  train)``: on the 3000 training images, C chosen on the validation split (DFR's reference,
  and the timing on 3000 images);
- ``mask (words)`` / ``control``: fine-tuning on --mask-on images with the words' region
  masked / unmasked; ``--methods ...,gradcam`` adds ``mask (GradCAM)``, the region without words.

``--reference`` adds the demo's object-mask version (texplain_widgets.demo.mitigation: GradCAM's
region outside the object, known from the world, replaced by background; 76.0% worst group at
q = 0.9, 24.4% for its control, see that module's docstring).
"""

from __future__ import annotations

import argparse
import time

import torch

from texplain_widgets.demo import split
from texplain_widgets.mitigation import mitigate, pseudo_groups
from texplain_widgets.words.trust import wilson_interval


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="runs/demo-val", help="the validation run (made or resumed here)")
    parser.add_argument("--words", default="grass,brick", help="the words of the pseudo-groups")
    parser.add_argument("--sentences", type=int, default=16, help="sentences per image of the run")
    parser.add_argument("--methods", default="reweight,true,mask,control", help="rows to compute")
    parser.add_argument("--mask-on", choices=("val", "train"), default="val", help="mask/control's images")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--q", type=float, default=0.9)
    parser.add_argument("--fill", choices=("mean", "image"), default="mean", help="what masked pixels become")
    parser.add_argument("--layer", help="the classifier layer of the masks' maps (default: the last stage)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    parser.add_argument("--reference", action="store_true", help="also the demo's object-mask version")
    parser.add_argument(
        "--val-images", type=int, metavar="N", help="the first N validation images (a quick check)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from texplain_widgets import ExplanationSet, explain_dataset
    from texplain_widgets.model_names import resolve_model

    model = resolve_model("demo")
    val, test, words = split("val"), split("test"), args.words.split(",")
    if args.val_images:
        val = val.subset(range(min(args.val_images, len(val))))
    methods, truth = args.methods.split(","), {i: val.group_names[g] for i, g in enumerate(val.groups)}
    run = groups = None
    if "reweight" in methods or "mask" in methods:  # the words' rows need the validation run
        start = time.perf_counter()
        run = explain_dataset(
            "demo", val, args.run, n_sentences=args.sentences, workers=args.threads, progress=False
        )
        print(f"{run.summary()} ({time.perf_counter() - start:.0f} s)")
        run = ExplanationSet.open(args.run)
        groups = pseudo_groups(run, words)
        print(_crosstab(groups, truth))

    rows = {}
    fine = {"epochs": args.epochs, "q": args.q, "fill": args.fill, "layer": args.layer}
    on = val if args.mask_on == "val" else split("train")
    if "reweight" in methods:
        rows["reweight (pseudo-groups)"] = mitigate(model, val, method="reweight", groups=groups, test=test)
    if "true" in methods:
        rows["reweight (true groups, val)"] = mitigate(model, val, method="reweight", groups=truth, test=test)
        train = split("train")
        train_truth = {i: train.group_names[g] for i, g in enumerate(train.groups)}
        rows["reweight (true groups, train)"] = mitigate(
            model, train, val, method="reweight", groups=train_truth, val_groups=truth, test=test
        )
    if "mask" in methods:
        rows[f"mask (words, {args.mask_on})"] = mitigate(
            model, on, method="mask", words=words, run=run, test=test, progress=True, **fine
        )
    if "gradcam" in methods:
        rows[f"mask (GradCAM, {args.mask_on})"] = mitigate(
            model.classifier, on, method="mask", test=test, progress=True, **fine
        )
    if "control" in methods:
        rows[f"control ({args.mask_on})"] = mitigate(
            model, on, method="control", test=test, progress=True, epochs=args.epochs
        )
    if args.reference:
        rows.update(_reference(model.classifier, test, args.epochs))
    return _print(rows, test)


def _reference(biased, test, epochs) -> dict:
    """The demo's object-mask version (q = 0.9) and its control, scored like the rest."""
    from texplain_widgets.demo.classifiers import evaluate
    from texplain_widgets.demo.mitigation import fine_tune

    train, out = split("train"), {}
    for name, q in (("object mask (demo reference, q=0.9)", 0.9), ("its control (q=0)", 0.0)):
        tuned = fine_tune(biased, train, q=q, epochs=epochs)
        out[name] = (evaluate(tuned, test), tuned.training_seconds)
    return out


def _print(rows: dict, test) -> dict:
    """One line per row: average and worst group on the test split, with intervals, and seconds."""
    first = next(r for r in rows.values() if r is not None and not isinstance(r, tuple))
    table = first.table[first.table["split"] == "test"].set_index("measure")
    worst_before = table[table.index.str.startswith("worst true group before")].iloc[0]
    lines, figures = {}, {}
    lines["before"] = (
        table.loc["average", "before"],
        len(test),
        worst_before["before"],
        worst_before["n"],
        worst_before.name,
        None,
    )
    for name, result in rows.items():
        if isinstance(result, tuple):  # the demo's reference: evaluate()'s dict and seconds
            scored, seconds = result
            group = scored["worst_group"]
            lines[name] = (
                scored["accuracy"],
                len(test),
                scored["worst_group_accuracy"],
                scored["group_counts"][group],
                group,
                seconds,
            )
        elif result is not None:
            table = result.table[result.table["split"] == "test"].set_index("measure")
            worst = table[table.index.str.startswith("worst true group after")].iloc[0]
            lines[name] = (
                table.loc["average", "after"],
                len(test),
                worst["after"],
                worst["n"],
                worst.name,
                result.seconds,
            )
    print(f"\nbalanced test split ({len(test)} images); accuracy [95% Wilson interval]")
    print(f"{'':<36} {'average':<22} {'worst group':<36} {'seconds':>7}")
    for name, (average, n, worst, n_worst, group, seconds) in lines.items():
        group = group.split("(")[-1].rstrip(")")
        cell = f"{_cell(worst, n_worst)} {group}"
        print(
            f"{name:<36} {_cell(average, n):<22} {cell:<36} {'' if seconds is None else f'{seconds:.0f}':>7}"
        )
        figures[name] = {"average": float(average), "worst": float(worst), "seconds": seconds}
    return figures


def _cell(accuracy, n) -> str:
    low, high = wilson_interval(round(accuracy * n), n)
    return f"{accuracy:5.1%} [{float(low):.1%}, {float(high):.1%}]"


def _crosstab(groups, truth) -> str:
    import pandas as pd

    frame = pd.DataFrame({"pseudo-group": groups, "true group": pd.Series(truth)})
    return "pseudo-groups (rows) against the true groups (columns), images of the run:\n" + str(
        pd.crosstab(frame["pseudo-group"], frame["true group"])
    )


if __name__ == "__main__":
    main()
