"""The model a run explains with: resolved from a name, and described for the manifest."""

from __future__ import annotations

import os

from ..errors import InputError


def load_model(model):
    """A TExplain from a TExplain or a model name (see ``texplain_widgets.model_names``)."""
    if not isinstance(model, (str, os.PathLike)):
        if not hasattr(model, "explain"):
            raise InputError(f"model must be a TExplain or a model name, not {type(model).__name__}")
        return model
    from ..model_names import resolve_model

    return resolve_model(str(model))


def describe_model(model) -> dict:
    """What pins a model's sentences: fingerprints, class names, translator config, LM dtype."""
    classifier, language_model, translator = model.classifier, model.language_model, model.translator
    return {
        "classifier": {
            "fingerprint": classifier.fingerprint(),
            "num_classes": classifier.num_classes,
            "class_names": classifier.class_names,
        },
        "language_model": {"fingerprint": language_model.fingerprint(), "dtype": str(language_model.dtype)},
        "translator": {
            "config": translator.config.to_dict(),
            "fingerprint": _fingerprint(dict(translator.state_dict())),
        },
    }


def _fingerprint(tensors: dict) -> str:
    from ..model.checkpoint import fingerprint_tensors

    return fingerprint_tensors(tensors)


def model_source(model) -> dict:
    """Where the parts came from (recorded, not compared: a moved copy is the same model)."""
    return {"classifier": model.classifier.timm_name, "language_model": str(model.language_model.source)}
