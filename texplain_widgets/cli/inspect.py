"""``texplain inspect DIR|demo:NAME``: describe a saved model, its report card and reference."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..model_names import DEMO_NAMES
from . import options


def inspect(args: argparse.Namespace) -> int:
    """Describe a saved TExplain from its config, without loading it: its parts and report card."""
    from ..model.checkpoint import CheckpointConfig, check_weights, read_config
    from ..model.report_card import format_report_card

    directory = _model_directory(args.model)
    config = read_config(directory)
    classifier, lm = config.get("classifier", {}), config.get("language_model", {})
    names = ", ".join(classifier.get("class_names") or []) or f"{classifier.get('num_classes')} classes"
    print(f"{directory}")
    print(
        f"  classifier: {classifier.get('timm_name') or 'custom'} ({names}), {classifier.get('feature_dim')} features"
    )
    print(f"  language model: {lm.get('source')} (width {lm.get('embed_dim')})")
    print("  translator: " + ", ".join(f"{k} {v}" for k, v in config.get("translator", {}).items()))
    print(format_report_card(config.get("report_card")))
    print(_reference_line(directory))
    check_weights(directory, CheckpointConfig.read(directory))  # described, but not loadable as it is
    return 0


def _reference_line(directory: Path) -> str:
    """What reference.json says the model says about any image, or that it has none."""
    from ..model.reference import Reference

    reference = Reference.load(directory)
    if reference is None:
        return (
            "reference: none (word tables show no lift; add one with texplain reference DIR --images FOLDER)"
        )
    top = ", ".join(f"{w} {s:.0%}" for w, s in reference.words[["word", "share"]].head(8).values)
    distinct = f" ({reference.interval_n} distinct)" if reference.interval_n < reference.n_vectors else ""
    return f"reference: {reference.n_sentences} sentences from {reference.n_vectors} {reference.method}{distinct}: {top}"


def _model_directory(name: str) -> Path:
    """The folder of a saved TExplain, or of a demo model for a demo name."""
    if name in DEMO_NAMES:
        from ..demo import WEIGHTS

        return WEIGHTS / ("biased" if name == "demo" else name.split(":", 1)[1])
    return Path(name)


def add_parser(commands) -> None:
    ins = options.command(commands, "inspect", inspect, "describe a saved model and its report card")
    names = ", ".join(DEMO_NAMES)
    ins.add_argument("model", metavar="DIR", help=f"a saved TExplain folder, or {names}")
