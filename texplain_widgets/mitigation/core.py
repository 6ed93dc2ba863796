"""``mitigate``: one entry point for the three methods, and the :class:`Mitigation` it returns."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..attribution.regions import top_region
from ..errors import InputError
from ..model.classifier import FrozenClassifier
from . import mask as masking
from .data import Split, as_split, outputs, preprocess
from .groups import align_groups, pseudo_groups
from .head import find_head, with_head
from .reweight import CS, choose_head, held_out
from .table import accuracy_rows, format_table

METHODS = ("reweight", "mask", "control")
KEEPS_FEATURES = (
    "reweight changed only the last layer: the features, and so the translator and its words, are "
    "unchanged (the features still encode the shortcut; the new head no longer relies on it). "
    "Explain with model.with_classifier(mitigation.classifier)."
)
NEW_FEATURES = (
    "{method} fine-tuned the whole classifier: its features changed, so the translator must be "
    "re-fitted before its words are read again: model.with_classifier(mitigation.classifier, "
    "refit=True).fit(captions, ...)."
)


@dataclass
class Mitigation:
    """A mitigated classifier, its before/after table (see :mod:`.table`), settings and seconds."""

    classifier: FrozenClassifier
    method: str
    table: pd.DataFrame
    settings: dict
    seconds: float
    model: object = field(default=None, repr=False)  # the TExplain mitigated, when one was given

    @property
    def keeps_features(self) -> bool:
        return self.method == "reweight"

    @property
    def note(self) -> str:
        """What happens to the words: the translator still fits, or must be re-fitted."""
        return KEEPS_FEATURES if self.keeps_features else NEW_FEATURES.format(method=self.method)

    def worst_group(self, kind: str = "true", split: str | None = None) -> tuple[float, float]:
        """(before, after) accuracy of the worst ``kind`` ("true" or "pseudo") group."""
        rows = self.table[self.table["measure"].str.startswith(f"worst {kind} group")]
        if split is not None:
            rows = rows[rows["split"] == split]
        if rows.empty:
            raise InputError(f"the table has no {kind} groups{'' if split is None else ' on ' + split}")
        split = rows["split"].iloc[-1]
        rows = rows[rows["split"] == split]
        return float(rows["before"].min()), float(rows["after"].min())

    def __str__(self) -> str:
        return f"{self.method} in {self.seconds:.1f} s\n{format_table(self.table)}\n{self.note}"

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        """Save the new classifier (safetensors) with ``mitigation.json`` (table, settings, seconds).

        After ``reweight`` of a TExplain the directory is a whole TExplain (the same translator),
        for :meth:`TExplain.from_pretrained`; otherwise the classifier alone, for
        :meth:`FrozenClassifier.from_pretrained` (a non-timm model is passed there again).
        """
        directory = Path(directory)
        if self.model is not None and self.keeps_features:
            self.model.with_classifier(self.classifier).save_pretrained(directory, save_classifier=False)
        directory.mkdir(parents=True, exist_ok=True)
        self.classifier.save_pretrained(directory)
        record = {
            "method": self.method,
            "seconds": self.seconds,
            "settings": self.settings,
            "note": self.note,
        }
        record["table"] = self.table.to_dict(orient="records")
        (directory / "mitigation.json").write_text(json.dumps(record, indent=2, default=str))
        return directory


def mitigate(
    model_or_classifier,
    train,
    val=None,
    *,
    method: str,
    words=None,
    groups=None,
    val_groups=None,
    run=None,
    val_run=None,
    test=None,
    head: str | None = None,
    holdout: float = 0.5,
    cs=CS,
    seed: int = 0,
    progress: bool = False,
    **options,
) -> Mitigation:
    """Mitigate a classifier's shortcut; returns a :class:`Mitigation`.

    ``model_or_classifier``: a TExplain or FrozenClassifier. ``train``: the labelled images the
    fix trains on, ``val`` those it selects on (``reweight``'s C; None: a ``holdout`` share of
    ``train``); sources as in :mod:`.data`. ``method``: ``reweight`` (DFR, groups needed),
    ``mask`` or ``control`` (fine-tuning, options of :data:`.mask.MASKING`).
    Groups: ``groups``/``val_groups`` (Series or mapping image id, name or path -> group), or
    ``words`` with ``run``/``val_run``, runs over ``train``/``val`` (pseudo-groups label x word
    use, :func:`.groups.pseudo_groups`); ``mask`` masks the words' region (GradCAM's without
    words). ``test``: where the table is scored (with the source's true groups, if any).
    """
    start = time.perf_counter()
    model, classifier = _parts(model_or_classifier)
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    unknown = sorted(set(options) - set(masking.MASKING))
    if unknown or (options and method == "reweight"):
        raise InputError(f"{method} takes no option {', '.join(unknown or sorted(options))}")
    train = as_split(train, classifier.class_names, "training")
    val = None if val is None else as_split(val, classifier.class_names, "validation")
    if words is not None:
        if run is None or (val is not None and val_run is None and method == "reweight"):
            raise InputError(
                "words need the run over the training images (run=) and, for reweight with val, over the "
                "validation images (val_run=): make them with explain_dataset(model, images, out_dir)"
            )
        groups = groups if groups is not None else pseudo_groups(_open(run), words)
        if val is not None and val_run is not None and val_groups is None:
            val_groups = pseudo_groups(_open(val_run), words)
    train_groups = None if groups is None else align_groups(groups, train.keys, "training")
    val_groups = (
        None if val is None or val_groups is None else align_groups(val_groups, val.keys, "validation")
    )
    settings = {
        "method": method,
        "words": words,
        "holdout": holdout,
        "seed": seed,
        "train": train.description,
    }
    if method == "reweight":
        new, select, extra = _reweight(
            classifier, train, val, train_groups, val_groups, head, holdout, cs, seed
        )
    else:
        new, select, extra = _fine_tune(
            model, classifier, train, val, train_groups, run, words, method, seed, progress, options
        )
    settings.update(extra)
    seconds = time.perf_counter() - start
    table = _table(classifier, new, select, test)
    return Mitigation(new, method, table, settings, seconds, model)


def _reweight(classifier, train, val, train_groups, val_groups, head, holdout, cs, seed):
    if train_groups is None:
        raise InputError("reweight needs groups: give words= (with run=) or groups=")
    head = find_head(classifier, head)
    z, _ = outputs(classifier, preprocess(classifier, train))
    if val is None:
        out = held_out(train_groups, holdout, seed)
        fit, pick = (
            (z[~out], train.labels[~out], train_groups[~out]),
            (z[out], train.labels[out], train_groups[out]),
        )
        select = ("held out", train.subset(np.flatnonzero(out)), train_groups[out])
    else:
        if val_groups is None:
            raise InputError(
                "reweight with val needs the validation images' groups: val_groups= or words with val_run="
            )
        fit, pick = (
            (z, train.labels, train_groups),
            (outputs(classifier, preprocess(classifier, val))[0], val.labels, val_groups),
        )
        select = ("val", val, val_groups)
    weight, bias, scores, best = choose_head(
        fit, pick, classifier.num_classes, cs=cs, refit=val is None, seed=seed
    )
    extra = {"head": head, "C": best, "worst_group_by_C": {str(c): s[0] for c, s in scores.items()}}
    return with_head(classifier, weight, bias, head), select, extra


def _fine_tune(model, classifier, train, val, train_groups, run, words, method, seed, progress, options):
    settings = {**masking.MASKING, **options}
    pixels = preprocess(classifier, train)
    regions, contexts = None, None
    if method == "mask":
        if words is not None:
            contexts = {w: masking.word_contexts(_open(run), w) for w in _listed(words)}
            heat = masking.word_maps(model, pixels, contexts, layer=settings["layer"])
        else:
            heat = masking.class_maps(classifier, pixels, train.labels, layer=settings["layer"])
        regions = top_region(heat, settings["q"], np.random.default_rng(seed))
    tuned = masking.fine_tune(
        classifier,
        pixels,
        train.labels,
        regions,
        seed=seed,
        progress=progress,
        **{k: settings[k] for k in ("epochs", "batch_size", "lr", "weight_decay", "fill")},
    )
    select = ("val", val, None) if val is not None else ("train", train, train_groups)
    region = "the words' maps" if contexts else "GradCAM of the true class"
    return tuned, select, {**settings, "region": region if method == "mask" else None}


def _table(before: FrozenClassifier, after: FrozenClassifier, select, test) -> pd.DataFrame:
    rows = []
    for name, split, pseudo in (select, ("test", test, None)):
        if split is None:
            continue
        split = as_split(split, before.class_names, "test") if not isinstance(split, Split) else split
        pixels = preprocess(before, split)
        predicted = [outputs(c, pixels)[1] for c in (before, after)]
        if pseudo is not None:
            rows += [
                r
                for r in accuracy_rows(name, split.labels, *predicted, before.class_names, pseudo, "pseudo")
                if r["measure"].startswith("worst")
            ]
        rows += accuracy_rows(name, split.labels, *predicted, before.class_names, split.true_groups)
    return pd.DataFrame(rows)


def _parts(model_or_classifier):
    if isinstance(model_or_classifier, FrozenClassifier):
        return None, model_or_classifier
    if isinstance(getattr(model_or_classifier, "classifier", None), FrozenClassifier):
        return model_or_classifier, model_or_classifier.classifier
    if isinstance(model_or_classifier, torch.nn.Module) and hasattr(model_or_classifier, "pretrained_cfg"):
        return None, FrozenClassifier(model_or_classifier)
    raise InputError(
        "mitigate takes a TExplain, a FrozenClassifier or a timm model; wrap any other nn.Module as "
        "FrozenClassifier(module, feature_layer=..., class_names=[...])"
    )


def _open(run):
    from ..runs.explanation_set import ExplanationSet

    return run if isinstance(run, ExplanationSet) else ExplanationSet.open(run)


def _listed(words) -> list[str]:
    from .groups import _words

    return _words(words)
