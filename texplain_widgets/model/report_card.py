"""A translator's report card: how well its sentences say what held-out captions say.

For each held-out feature vector, ``n_sentences`` sentences are sampled exactly as
:meth:`TExplain.explain` samples them, and compared with the vector's caption on content words
(the lemmas of :func:`~texplain_widgets.words.sentence_words`: stop words out, "Bricks" = "brick"):

- **recall**: of the caption's content words, the share one sentence uses, averaged over the
  sentences (what a person reading one sentence meets), then over the captions;
- **recall_any**: the share the image's sentences use between them (grows with ``n_sentences``);
- **precision**: of one sentence's content words, the share the caption also uses, averaged over
  the sentences that have any, then over the captions. A sentence naming a wrong background
  ("a kite in front of a wall" for a kite on grass) loses precision.

Words are counted once per sentence. The card also holds these figures per class (by the
held-out captions' ``labels`` when given, else by the classifier's predicted class), the number
of captions, the validation-loss curve and the final losses of training, and the settings used.
It is a small JSON-able dict, saved in the checkpoint's config (``TExplain.report_card``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import torch

from ..errors import InputError
from ..words import sentence_words
from .generate import SamplingSettings, sample_sentences

__all__ = [
    "format_report_card",
    "held_out_sentences",
    "measure_report_card",
    "report_card_headline",
    "score_sentences",
]

VERSION = 1
METRICS = ("recall", "recall_any", "precision")


def measure_report_card(
    model,
    held_out,
    history: Sequence[dict] = (),
    *,
    n_sentences: int = 8,
    seed: int = 0,
    max_captions: int | None = None,
    sentences: Sequence[Sequence[str]] | None = None,
) -> dict:
    """Sample ``n_sentences`` sentences per held-out feature vector and score them (see the module).

    ``model``: a TExplain, or anything with ``translator``, ``language_model`` and ``device``;
    ``held_out``: a :class:`~.train.CachedFeatures` (its optional ``labels`` name each caption's
    class); ``history``: :func:`~.train.fit`'s history; ``max_captions``: score a seeded random
    subset of that many captions (None: all); ``sentences``: those :func:`held_out_sentences`
    already sampled for the (subset of the) captions, so that nothing is sampled again.
    """
    features, captions = held_out.features, list(held_out.captions)
    labels = getattr(held_out, "labels", None)
    if labels is not None and len(labels) != len(captions):
        raise InputError(f"{len(labels)} labels for {len(captions)} held-out captions")
    if max_captions is not None:
        if max_captions < 1:
            raise InputError(f"max_captions must be at least 1, got {max_captions}")
        if max_captions < len(captions):
            generator = torch.Generator().manual_seed(seed)
            keep = torch.randperm(len(captions), generator=generator)[:max_captions].sort().values.tolist()
            features, captions = features[keep], [captions[i] for i in keep]
            labels = [labels[i] for i in keep] if labels is not None else None
    if not captions:
        raise InputError("no held-out captions to score the translator on")
    settings = SamplingSettings(n_sentences=n_sentences, seed=seed)
    if sentences is None:
        sentences = held_out_sentences(model, features, n_sentences=n_sentences, seed=seed)
    elif len(sentences) != len(captions) or any(len(texts) != n_sentences for texts in sentences):
        raise InputError(f"sentences must be {n_sentences} for each of the {len(captions)} captions scored")
    classes_from = "labels" if labels is not None else None
    if labels is None:
        labels = _predicted_classes(model, features)
        classes_from = "predicted" if labels is not None else None
    card = score_sentences(captions, sentences, labels)
    card["classes_from"] = classes_from
    card.update(_losses(history))
    card["settings"] = {
        **{k: v for k, v in settings.to_dict().items() if k != "batch_size"},
        "max_captions": max_captions,
    }
    return {"version": VERSION, **card}


def held_out_sentences(
    model, features: torch.Tensor, *, n_sentences: int = 8, seed: int = 0
) -> list[list[str]]:
    """``n_sentences`` sentences for each feature vector (N, D), sampled as :meth:`TExplain.explain` does."""
    settings = SamplingSettings(n_sentences=n_sentences, seed=seed)
    translator = model.translator
    was_training = translator.training
    translator.eval()
    try:
        with torch.inference_mode():
            prefixes = translator(features.float().to(model.device))
            return sample_sentences(model.language_model, prefixes, settings)
    finally:
        translator.train(was_training)


def score_sentences(captions: Sequence[str], sentences: Sequence[Sequence[str]], labels=None) -> dict:
    """Recall, recall_any and precision (see the module) of each caption's ``sentences``.

    ``labels``: each caption's class, for the ``per_class`` figures (None: overall only). A pure
    function: ``{"n_captions", "recall", "recall_any", "precision", "per_class"}``, rounded to 4 digits.
    """
    if len(sentences) != len(captions) or (labels is not None and len(labels) != len(captions)):
        raise InputError(
            f"{len(captions)} captions need as many sentence lists (got {len(sentences)}) and labels"
        )
    scores = [_caption_scores(caption, texts) for caption, texts in zip(captions, sentences)]
    card = {"n_captions": len(captions), **_means(scores), "per_class": {}}
    if labels is not None:
        by_class: dict[str, list[dict]] = defaultdict(list)
        for label, score in zip(labels, scores):
            by_class[str(label)].append(score)
        card["per_class"] = {
            name: {"n_captions": len(group), **_means(group)} for name, group in sorted(by_class.items())
        }
    return card


def _caption_scores(caption: str, texts: Sequence[str]) -> dict:
    wanted = set(sentence_words(caption))
    said = [set(sentence_words(text)) for text in texts]
    recall = precision = recall_any = None
    if wanted and said:
        recall = sum(len(wanted & words) for words in said) / (len(wanted) * len(said))
        recall_any = len(wanted & set().union(*said)) / len(wanted)
    worded = [words for words in said if words]
    if worded:
        precision = sum(len(words & wanted) / len(words) for words in worded) / len(worded)
    return {"recall": recall, "recall_any": recall_any, "precision": precision}


def _means(scores: list[dict]) -> dict:
    """The mean of each metric over the captions that have it (None when none has)."""
    means = {}
    for metric in METRICS:
        values = [s[metric] for s in scores if s[metric] is not None]
        means[metric] = round(sum(values) / len(values), 4) if values else None
    return means


def _predicted_classes(model, features: torch.Tensor) -> list[str] | None:
    """The classifier's predicted class names from the features, where its head takes them (timm)."""
    classifier = getattr(model, "classifier", None)
    if classifier is None or getattr(classifier, "feature_layer", "custom") is not None:
        return None
    head = classifier.model.get_classifier()
    device = next(classifier.model.parameters()).device
    with torch.inference_mode():
        predicted = head(features.float().to(device)).argmax(-1).tolist()
    names = classifier.class_names
    return [names[i] if names else f"class {i}" for i in predicted]


def _losses(history: Sequence[dict]) -> dict:
    validated = [r for r in history if r.get("val_loss") is not None]
    return {
        "val_loss": {
            "steps": [int(r["step"]) for r in validated],
            "values": [round(float(r["val_loss"]), 4) for r in validated],
        },
        "final_val_loss": round(float(validated[-1]["val_loss"]), 4) if validated else None,
        "final_train_loss": round(float(history[-1]["loss"]), 4) if history else None,
        "steps": int(history[-1]["step"]) if history else None,
    }


def _percent(value) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def report_card_headline(card: dict | None) -> str:
    """One line: recall, precision, the number of held-out captions and the final val loss ("" for None)."""
    if not card:
        return ""
    line = (
        f"recall {_percent(card.get('recall'))}, precision {_percent(card.get('precision'))} "
        f"on {card.get('n_captions', 0)} held-out captions"
    )
    if card.get("final_val_loss") is not None:
        line += f"; val loss {card['final_val_loss']:.3f}"
    return line


def format_report_card(card: dict | None) -> str:
    """The card as lines of text: the headline, the figures per class, the losses and the settings."""
    if not card:
        return "report card: none (the translator was saved without one)"
    lines = [f"report card: {report_card_headline(card)}"]
    per_class = card.get("per_class") or {}
    if per_class:
        width = max(len("class"), *map(len, per_class))
        lines.append("  by predicted class:" if card.get("classes_from") == "predicted" else "  by class:")
        lines.append(f"  {'class':<{width}}  captions  recall  recall_any  precision")
        for name, row in per_class.items():
            figures = [_percent(row.get(m)) for m in METRICS]
            lines.append(
                f"  {name:<{width}}  {row.get('n_captions', 0):>8}  {figures[0]:>6}  {figures[1]:>10}  {figures[2]:>9}"
            )
    lines.append(f"  recall_any (any of a caption's sentences): {_percent(card.get('recall_any'))}")
    curve = card.get("val_loss") or {}
    if curve.get("values"):
        points = ", ".join(f"{s}: {v:.3f}" for s, v in zip(curve["steps"], curve["values"]))
        lines.append(f"  val loss by step: {points}")
    if card.get("final_train_loss") is not None:
        lines.append(f"  final train loss {card['final_train_loss']:.3f} (step {card.get('steps')})")
    settings = card.get("settings") or {}
    if settings:
        lines.append("  settings: " + ", ".join(f"{k} {v}" for k, v in settings.items()))
    return "\n".join(lines)
