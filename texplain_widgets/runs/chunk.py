"""Explain one chunk of items: load each image (a bad one becomes a failure), then explain the rest.

Both engines call :func:`explain_items`, the local one in its process, the Ray one in each
actor, so they store the same rows. Sentences do not depend on which images share a call:
the sampler seeds each image's random streams by the seed and the image's id in the run.
"""

from __future__ import annotations

from ..data.images import load_image
from ..errors import InputError
from ..model.generate import SamplingSettings
from .sources import Item


def load_items(items: list[Item]) -> tuple[list[tuple[Item, object]], list[dict]]:
    """(item, RGB image) for the images that load, and a failure result for each that does not."""
    loaded, failures = [], []
    for item in items:
        try:
            loaded.append((item, load_image(item.path if item.path is not None else item.image)))
        except (InputError, OSError, ValueError) as err:
            failures.append({**_meta(item), "error": f"{type(err).__name__}: {err}"})
    return loaded, failures


def explain_items(model, items: list[Item], settings: SamplingSettings, *, on_batch=None) -> list[dict]:
    """One result per item: its metadata and either ``error`` or the explanation's fields."""
    loaded, results = load_items(items)
    if loaded:
        explanations = model.explain(
            [image for _, image in loaded],
            settings.n_sentences,
            top_p=settings.top_p,
            temperature=settings.temperature,
            max_new_tokens=settings.max_new_tokens,
            seed=settings.seed,
            batch_size=settings.batch_size,
            on_batch=on_batch,
            image_ids=[item.id for item, _ in loaded],
        )
        for (item, _), explanation in zip(loaded, explanations):
            results.append(
                {
                    **_meta(item),
                    "error": None,
                    "predicted": explanation.predicted_class,
                    "class_name": explanation.class_name,
                    "probability": explanation.probability,
                    "sentences": explanation.sentences,
                }
            )
    return sorted(results, key=lambda result: result["id"])


def _meta(item: Item) -> dict:
    return {"id": item.id, "name": item.name, "path": item.path, "label": item.label, "group": item.group}
