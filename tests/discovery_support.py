"""Stores with planted words for the error-word, slice and pseudo-group tests.

Written with the real shard writer (as ``benchmarks/dataset.py`` does), so the queries read
exactly what a run stores; the sentences are chosen, so the answers are known.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from texplain_widgets import ExplanationSet
from texplain_widgets.runs.store import StoreWriter
from texplain_widgets.runs.tables import chunk_tables

CLASSES = ("balloon", "kite")
N_SENTENCES = 8


def write_store(directory: Path, images: list[dict], chunk: int = 16) -> ExplanationSet:
    """``images``: dicts of label, predicted (a class name) and sentences (group optional)."""
    head = {
        "model": {"synthetic": True},
        "sampling": {"n_sentences": N_SENTENCES},
        "source": {"n_images": len(images)},
    }
    results = [
        {
            "id": i,
            "name": f"{i:04d}.png",
            "path": f"/images/{i:04d}.png",
            "label": image["label"],
            "group": image.get("group"),
            "error": None,
            "predicted": CLASSES.index(image["predicted"]),
            "class_name": image["predicted"],
            "probability": 0.9,
            "sentences": image["sentences"],
        }
        for i, image in enumerate(images)
    ]
    with StoreWriter(directory, head) as writer:
        for first in range(0, len(results), chunk):
            writer.write_chunk(chunk_tables(results[first : first + chunk]))
        writer.finish(True)
    return ExplanationSet.open(directory)


def sentences(**words: int) -> list[str]:
    """:data:`N_SENTENCES` sentences, ``word`` in the first ``words[word]`` of them."""
    out = []
    for k in range(N_SENTENCES):
        said = [word for word, n in words.items() if k < n]
        out.append(" ".join(["a photo of", *said, "today"]) + ".")
    return out


def planted(n: int, label: str, predicted: str, **words: int) -> list[dict]:
    return [{"label": label, "predicted": predicted, "sentences": sentences(**words)} for _ in range(n)]


def planted_images() -> list[dict]:
    """Label balloon: 20 wrong (taken for kites), 40 right; label kite: 3 wrong, 57 right.

    - grass goes with balloon's errors: 14 of 20 wrong images say it (in 4 of 8 sentences),
      4 of 40 right ones (difference 0.6);
    - sky does not: half the wrong and half the right balloon images say it;
    - kite (a class name) in the wrong balloons' sentences: they are described as kites;
    - mist: 8 wrong balloons say it, in 1 of 8 sentences only: below the 25% use share;
    - tiny: 2 of kite's 3 wrong images, none of its 57 right ones (difference 0.67, unsure).
    """
    return [
        *planted(8, "balloon", "kite", grass=4, sky=4, kite=6, mist=1),
        *planted(6, "balloon", "kite", grass=4, kite=6),
        *planted(2, "balloon", "kite", sky=4, kite=6),
        *planted(4, "balloon", "kite", kite=6),
        *planted(4, "balloon", "balloon", grass=4, sky=4),
        *planted(16, "balloon", "balloon", sky=4),
        *planted(20, "balloon", "balloon", balloon=6),
        *planted(2, "kite", "balloon", tiny=4),
        *planted(1, "kite", "balloon", sky=1),
        *planted(57, "kite", "kite", kite=6),
    ]


def step_up(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg by its definition: q_(i) = min over j >= i of p_(j) m / j."""
    order = np.argsort(p)
    m = len(p)
    q = np.empty(m)
    running = 1.0
    for rank in range(m, 0, -1):
        running = min(running, p[order[rank - 1]] * m / rank)
        q[order[rank - 1]] = running
    return q
