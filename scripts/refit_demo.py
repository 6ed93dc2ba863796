"""Re-fit the demo's translator after ``mask`` changed the biased classifier's features.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/refit_demo.py --run runs/demo-val --steps 100

``mask`` (the words' region, --q, on the validation split, as in README's table) fine-tunes the
whole classifier, so the old translator no longer fits its features. This makes
``model.with_classifier(masked, refit=True)`` (a copy of the old translator) and fine-tunes it
with ``fit`` on the demo's caption split (the one the demo translators were trained on,
``demo.split("captions")``), holding out the validation split's captions for the val loss and
the report card. It prints the val loss on the new features before the fit (the old translator,
copied) and after, the card, and the old translator's card on its own features beside it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from texplain_widgets.demo import split
from texplain_widgets.mitigation import mitigate
from texplain_widgets.model.classifier import FrozenClassifier
from texplain_widgets.model.report_card import format_report_card
from texplain_widgets.model.train import TrainConfig, _Captions, compute_features


def val_loss(model, pairs, config) -> float:
    """The mean caption loss of ``model``'s translator on ``pairs`` (its classifier's features)."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(config.bf16)):
        return _Captions(model, compute_features(model.classifier, pairs), config).mean_loss()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="runs/demo-val", help="the biased classifier's validation run")
    parser.add_argument("--words", default="grass,brick")
    parser.add_argument("--method", choices=("mask", "control"), default="mask")
    parser.add_argument("--q", type=float, default=0.2, help="mask's share of each map's top pixels")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--out", default="build/refit-demo", help="the masked classifier and re-fitted model")
    parser.add_argument(
        "--masked", metavar="DIR", help="a classifier masked before (OUT/masked): no mask again"
    )
    parser.add_argument(
        "--bf16",
        action="store_true",
        help="bfloat16 autocast for the LM (only where the CPU has it natively)",
    )
    parser.add_argument(
        "--val-images", type=int, metavar="N", help="the first N validation images (a quick check)"
    )
    parser.add_argument(
        "--captions", type=int, metavar="N", help="the first N training captions (a quick check)"
    )
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from texplain_widgets.model_names import resolve_model

    model = resolve_model("demo")
    val, test, captions = split("val"), split("test"), split("captions")
    if args.val_images:
        val = val.subset(range(min(args.val_images, len(val))))
    if args.captions:
        captions = captions.subset(range(min(args.captions, len(captions))))
    out = Path(args.out)
    if args.masked:
        new, table, mask_seconds = FrozenClassifier.from_pretrained(args.masked), None, None
    else:
        options = (
            {"words": args.words.split(","), "run": args.run, "q": args.q} if args.method == "mask" else {}
        )
        masked = mitigate(model, val, method=args.method, test=test, **options)
        print(masked, flush=True)
        masked.save_pretrained(out / "masked")
        new, table, mask_seconds = masked.classifier, masked.table.to_dict(orient="records"), masked.seconds

    config = TrainConfig(
        steps=args.steps,
        batch_size=48,
        learning_rate=args.lr,
        eval_every=max(1, args.steps // 4),
        checkpoint_every=args.steps,
        bf16=args.bf16,
    )
    val_pairs = list(val.to_pairs())
    refit = model.with_classifier(new, refit=True)
    before = {"old translator, old features": val_loss(model, val_pairs, config)}
    before["old translator copied, new features"] = val_loss(refit, val_pairs, config)
    print(", ".join(f"val loss of the {k}: {v:.3f}" for k, v in before.items()), flush=True)
    start = time.perf_counter()
    history = refit.fit(list(captions.to_pairs()), val_pairs, config=config, progress=False)
    seconds = time.perf_counter() - start
    refit.save_pretrained(out / "refit", save_classifier=False)
    curve = ", ".join(f"{r['step']}: {r['val_loss']:.3f}" for r in history if "val_loss" in r)
    print(f"re-fitted in {seconds:.0f} s ({len(history)} steps); val loss by step: {curve}")
    print("the re-fitted translator's", format_report_card(refit.report_card))
    print("the old translator's (its own features)", format_report_card(model.report_card))
    record = {
        "settings": vars(args),
        "mask": table,
        "mask_seconds": mask_seconds,
        "val_loss_before": before,
        "history": history,
        "fit_seconds": seconds,
        "report_card": refit.report_card,
    }
    (out / "refit.json").write_text(json.dumps(record, indent=2, default=str))
    return record


if __name__ == "__main__":
    main()
