"""The reference word distribution a run stores, so its word tables carry lift and above_prior.

A model with a :attr:`~texplain_widgets.TExplain.reference` sampled with the run's top_p,
temperature and max_new_tokens gives its own. Otherwise (an old checkpoint without one, or a
reference of other settings: a run with ``max_new_tokens=4`` is not comparable with a
reference of 20-token sentences) the run gets one computed from its own images: up to
:data:`MAX_IMAGES` of them, drawn with the run's seed, as :mod:`texplain_widgets.model.reference`
describes, sampled with the run's settings. That costs one classifier pass over those images and
1024 sentences, little next to a run. A resumed run keeps the one it stored when comparable
(a run stored by an older version may hold one of other settings: it is computed again). The
manifest holds it under ``reference`` (``settings.origin`` says which: ``"model"`` or ``"run
images"``).
"""

from __future__ import annotations

import random

from ..model.reference import Reference, compute_reference
from .chunk import load_items

MAX_IMAGES = 512


def run_reference(model, source, settings, stored: dict | None) -> dict | None:
    """The manifest's ``reference`` entry for a run of ``model`` over ``source`` (None: too few images)."""
    sampling = settings.to_dict()
    reference = getattr(model, "reference", None)
    if reference is not None and not reference.mismatch(sampling):
        return _entry(reference, "model")
    if stored is not None and not Reference.from_dict(stored, "the run's reference").mismatch(sampling):
        return stored
    items = list(source.items)
    if len(items) > MAX_IMAGES:
        items = random.Random(settings.seed).sample(items, MAX_IMAGES)
    images = [image for _, image in load_items(items)[0]]
    if len(images) < 2:
        return None
    reference = compute_reference(
        model,
        images,
        seed=settings.seed,
        top_p=settings.top_p,
        temperature=settings.temperature,
        max_new_tokens=settings.max_new_tokens,
    )
    return _entry(reference, "run images")


def stored_reference(manifest: dict) -> Reference | None:
    """The reference a run's manifest holds, or None (runs written before references)."""
    entry = manifest.get("reference")
    return None if entry is None else Reference.from_dict(entry, "the run's reference")


def _entry(reference: Reference, origin: str) -> dict:
    entry = reference.to_dict()
    entry["settings"] = {**entry["settings"], "origin": origin}
    return entry
