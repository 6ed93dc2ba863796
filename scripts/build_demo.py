"""Build the demo's shipped models: two classifiers, their features, two translators, the package.

    .venv/bin/python scripts/build_demo.py all [--device cuda]

Stages (each reads what the one before wrote to --build, default build/demo):
  classifiers  train the biased (p = 0.95) and balanced (p = 0.5) classifiers on the world
               (scripts/train_demo_classifiers.py; CPU, a few minutes)
  features     Z of the translators' caption split (demo.split("captions"): balanced groups, its own seed,
               so the translator learns no shortcut) and of the val split, for both classifiers
  translators  train one translator per classifier into the frozen SmolLM2-135M from the
               cached features (TRANSLATOR and TRAINING settings: until the val loss stops
               falling; resumable, each in --build/translator-NAME/; run one process per model
               with --models NAME to use both cores)
  package      measure each translator's report card (val split) and language-prior reference
               (caption split features), save both TExplains, fp16, with demo.DISPLAY in their
               config.json, into texplain_widgets/demo/weights/ and print the cards
  runs         both demo classifiers over the test split into texplain_widgets/demo/runs/
               (64 sentences per image, seed 0: what `texplain run demo --model demo` writes)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from texplain_widgets.demo import DISPLAY, WEIGHTS, split
from texplain_widgets.demo.classifiers import load_classifier
from texplain_widgets.model.language import FrozenLanguageModel
from texplain_widgets.model.texplain import TExplain
from texplain_widgets.model.train import CachedFeatures, TrainConfig, compute_features, fit
from texplain_widgets.model.translator import Translator, TranslatorConfig

MODELS = ("biased", "balanced")
REPORT_SENTENCES = 8  # sentences per val image for the report card
TRANSLATOR = {"prefix_length": 10, "hidden_dim": 512}
# Up to 600 steps x 48 captions (7 epochs of the caption split), stopping once 4 evaluations
# (200 steps) bring no new best val loss; bf16 autocast (native on this project's EPYC).
TRAINING = TrainConfig(
    steps=600,
    batch_size=48,
    learning_rate=1e-3,
    eval_every=50,
    checkpoint_every=50,
    bf16=True,
    patience=4,
)


def classifiers(build: Path, args) -> None:
    from train_demo_classifiers import main as train_both

    train_both(["--out", str(build)])


def demo_classifier(build: Path, name: str):
    """The classifier ``name``: the one the classifiers stage trained, else the shipped one."""
    built = build / f"{name}.safetensors"
    return load_classifier(built if built.is_file() else WEIGHTS / name / "classifier.safetensors")


def features(build: Path, args) -> None:
    caption_world, val_world = split("captions"), split("val")
    captions = {
        "train": caption_world.captions,
        "val": val_world.captions,
        "val_labels": [val_world.classes[label] for label in val_world.labels],
    }
    tensors = {}
    for name in MODELS:
        classifier = demo_classifier(build, name)
        for part, split_world in (("train", caption_world), ("val", val_world)):
            tensors[f"{name}.{part}"] = compute_features(classifier, split_world.to_pairs()).features.half()
    save_file(tensors, build / "features.safetensors")
    (build / "captions.json").write_text(json.dumps(captions))
    print(
        f"features of {len(caption_world)} caption and {len(val_world)} val images -> {build / 'features.safetensors'}"
    )


def translators(build: Path, args) -> None:
    device = torch.device(args.device)
    lm = FrozenLanguageModel.from_pretrained("smollm2").to(device)
    cached = load_file(build / "features.safetensors")
    captions = json.loads((build / "captions.json").read_text())
    for name in args.models:
        train = CachedFeatures(cached[f"{name}.train"].float(), captions["train"])
        val = CachedFeatures(cached[f"{name}.val"].float(), captions["val"], captions.get("val_labels"))
        torch.manual_seed(TRAINING.seed)
        translator = Translator(TranslatorConfig(train.features.shape[1], lm.embed_dim, **TRANSLATOR))
        model = TExplain(demo_classifier(build, name), lm, translator, display=DISPLAY)
        start = time.perf_counter()
        config = TrainConfig(**{**vars(TRAINING), "steps": args.steps})
        directory = build / f"translator-{name}"
        history = fit(model, train, val, config=config, checkpoint_dir=directory, progress=args.progress)
        seconds = time.perf_counter() - start
        report = {
            "settings": {**TRANSLATOR, **vars(config)},
            "seconds_this_call": round(seconds, 1),
            "history": history,
        }
        (build / f"translator-{name}.json").write_text(json.dumps(report, indent=2))
        val = ", ".join(f"{r['step']}: {r['val_loss']:.3f}" for r in history if "val_loss" in r)
        print(f"{name}: {history[-1]['step']} steps ({seconds:.0f} s this call), val loss {val}", flush=True)


def package(build: Path, args) -> None:
    """Each trained translator with its report card (on the val split) and its language-prior
    reference (from the caption split's features), saved fp16 into the package."""
    from texplain_widgets.model.report_card import format_report_card, held_out_sentences, measure_report_card

    lm = FrozenLanguageModel.from_pretrained("smollm2")
    cached = load_file(build / "features.safetensors")
    captions = json.loads((build / "captions.json").read_text())
    metrics_file = build / "metrics.json"
    metrics = json.loads(metrics_file.read_text())["results"] if metrics_file.is_file() else {}
    for name in args.models:
        directory = build / f"translator-{name}"
        model = TExplain.from_pretrained(directory, language_model=lm)
        model.display = DISPLAY  # GradCAM on layer3
        history = json.loads((directory / "trainer_state.json").read_text())["history"]
        val = CachedFeatures(cached[f"{name}.val"].float(), captions["val"], captions["val_labels"])
        start = time.perf_counter()
        sentences = held_out_sentences(model, val.features, n_sentences=REPORT_SENTENCES)
        model.report_card = measure_report_card(
            model, val, history, n_sentences=REPORT_SENTENCES, sentences=sentences
        )
        wrong = wrong_background(sentences)
        (build / f"card-{name}.json").write_text(json.dumps({**model.report_card, **wrong}, indent=2))
        model.compute_reference(cached[f"{name}.train"].float())
        model.save_pretrained(WEIGHTS / name, dtype=torch.float16)
        test = metrics.get(name, {}).get("test")
        if test:
            print(
                f"{name}: test accuracy {test['accuracy']:.1%}, worst group "
                f"{test['worst_group_accuracy']:.1%} ({test['worst_group']})"
            )
        print(f"{name} ({time.perf_counter() - start:.0f} s for the card and the reference):")
        print(format_report_card(model.report_card))
        groups = ", ".join(
            f"{group} {share:.1%}" for group, share in wrong["wrong_background_by_group"].items()
        )
        print(f"  wrong background: {wrong['wrong_background']:.1%} of sentences ({groups})")
    size = sum(f.stat().st_size for f in WEIGHTS.rglob("*") if f.is_file())
    print(f"saved to {WEIGHTS} ({size / 1e6:.1f} MB)")


def wrong_background(sentences: list[list[str]]) -> dict:
    """How often the val images' sentences name the other background (as benchmarks/report_card.py)."""
    from texplain_widgets.demo.world import BACKGROUND_WORDS, BACKGROUNDS
    from texplain_widgets.words import sentence_words

    world = split("val")
    shares: dict[str, list[float]] = {}
    for texts, background, group in zip(sentences, world.backgrounds, world.groups):
        other = set().union(*(w for b, w in BACKGROUND_WORDS.items() if b != BACKGROUNDS[background]))
        share = sum(bool(other.intersection(sentence_words(t))) for t in texts) / len(texts)
        shares.setdefault(world.group_names[group], []).append(share)
    every = [share for group in shares.values() for share in group]
    return {
        "wrong_background": round(sum(every) / len(every), 4),
        "wrong_background_by_group": {g: round(sum(v) / len(v), 4) for g, v in shares.items()},
    }


def runs(build: Path, args) -> None:
    from texplain_widgets import explain_dataset

    for name in MODELS:
        print(
            explain_dataset(
                f"demo:{name}", "demo", WEIGHTS.parent / "runs" / name, device=args.device
            ).summary()
        )


STAGES = {
    "classifiers": classifiers,
    "features": features,
    "translators": translators,
    "package": package,
    "runs": runs,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=[*STAGES, "all"])
    parser.add_argument("--build", default="build/demo")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=MODELS, help="translators to train")
    parser.add_argument(
        "--steps", type=int, default=TRAINING.steps, help="translator steps (for a smoke test)"
    )
    args = parser.parse_args()
    build = Path(args.build)
    build.mkdir(parents=True, exist_ok=True)
    for stage in STAGES if args.stage == "all" else [args.stage]:
        print(f"== {stage}")
        STAGES[stage](build, args)


if __name__ == "__main__":
    main()
