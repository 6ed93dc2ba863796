"""The model a run explains with: resolved from a name, and described for the manifest."""

from __future__ import annotations

import os
from pathlib import Path

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


def worker_model_name(name) -> str:
    """``name`` as a Ray worker on another machine or directory must get it: a model directory
    made absolute (relative to this process's working directory), a demo name as it is."""
    from ..model_names import DEMO

    text = os.fspath(name)
    if text == DEMO or text.startswith(DEMO + ":"):
        return text
    return str(Path(text).expanduser().resolve())


def batch_rows(model, settings) -> int:
    """The rows per sampling batch ``model.explain`` picks now on its device (whole blocks):
    256 on a CPU, sized to the free memory on a GPU."""
    import torch

    from ..model.generate import BLOCK, _auto_batch_size

    language_model = model.language_model
    prefix_length = model.translator.config.prefix_length
    prefixes = torch.empty(1, prefix_length, 0, dtype=language_model.dtype, device=language_model.device)
    return max(1, _auto_batch_size(language_model.model, prefixes, settings) // BLOCK) * BLOCK


def resume_batch_rows(stored, now: int | None) -> tuple[int | None, str | None]:
    """The rows per batch a run goes on with, and a warning when they differ from the stored ones.

    ``stored``: the manifest's (None: a new run, or one sized by each Ray worker); ``now``: what
    this device picks (None: the Ray engine, whose workers size their own). The stored size is kept
    when this device fits it, and always on Ray (the driver cannot see the workers' memory).
    """
    if stored is None or stored == now:
        return now, None
    if now is None or stored <= now:
        return stored, None
    return now, (
        f"the run's stored shards were sampled {stored} rows per batch; this resume uses {now}, the "
        "most this device fits: only floating-point rounding differs, so a few sentences may differ "
        "from an uninterrupted run's"
    )
