"""A synthetic run for the report's tests and benchmark: planted words, real image files, no model.

Images ``i``: label ``("landbird", "waterbird")[i % 2]``, background ``("land", "water")[(i // 2) % 2]``,
group ``label/background``; the "classifier" predicts the background (a planted shortcut), so the
words of the background ("water", "lake" or "grass", "tree") top the predicted classes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from texplain_widgets.runs.store import StoreWriter
from texplain_widgets.runs.tables import chunk_tables

LABELS = ("landbird", "waterbird")
BACKGROUNDS = ("land", "water")
WORDS = {"land": ("grass", "tree"), "water": ("water", "lake")}
OBJECTS = {"landbird": "sparrow", "waterbird": "duck"}


def sentences_of(i: int, n: int = 8, flip: bool = False) -> list[str]:
    """The stored sentences of image ``i``: its background's words in most, its object in some
    (``flip``: its object in most)."""
    label, background = LABELS[i % 2], BACKGROUNDS[(i // 2) % 2]
    first, second = WORDS[background]
    out = []
    for k in range(n):
        if (k % 4 == 3) != flip:
            out.append(f"a photo of a {OBJECTS[label]}")
        elif (k + i) % 3 == 0:
            out.append(f"a bird near the {second}")
        else:
            out.append(f"a bird on the {first}")
    return out


def head(digest: str = "synthetic", fingerprint: str = "synthetic") -> dict:
    return {
        "model": {
            "classifier": {"fingerprint": fingerprint, "num_classes": 2, "class_names": list(LABELS)},
            "language_model": {"fingerprint": fingerprint, "dtype": "float32"},
            "translator": {"config": {}, "fingerprint": fingerprint},
        },
        "sampling": {"n_sentences": 8, "top_p": 0.9, "temperature": 1.0, "max_new_tokens": 8, "seed": 0},
        "source": {"kind": "folder", "location": "synthetic", "n_images": 0, "digest": digest},
    }


def synthetic_run(
    directory: Path,
    n: int = 24,
    *,
    labels: bool = True,
    chunk: int = 1000,
    images: Path | None = None,
    flip: bool = False,
    digest: str = "synthetic",
    fingerprint: str = "synthetic",
    demo: bool = False,
) -> Path:
    """Write a run of ``n`` images into ``directory`` (their 24x24 PNG files in ``images``, by default
    ``directory.parent / "images"``; ``demo``: none, the images are the demo's, as in a run of
    ``texplain run demo``). ``flip``: predict the label instead of the background (a
    "balanced" classifier); ``labels=False``: no labels nor groups."""
    images = images or directory.parent / (directory.name + "-images")
    images.mkdir(parents=True, exist_ok=True)
    description = head(digest, fingerprint)
    description["source"]["n_images"] = n
    if demo:
        from texplain_widgets.runs.sources import resolve_source

        description["source"] = resolve_source("demo").description
    with StoreWriter(directory, description) as writer:
        for start in range(0, n, chunk):
            results = []
            for i in range(start, min(n, start + chunk)):
                label, background = LABELS[i % 2], BACKGROUNDS[(i // 2) % 2]
                path = images / f"img{i:05d}.png"
                if not path.exists():
                    colour = (40, 90, 200) if background == "water" else (60, 160, 60)
                    Image.fromarray(np.full((24, 24, 3), colour, np.uint8)).save(path)
                predicted = i % 2 if flip else (i // 2) % 2
                results.append(
                    {
                        "id": i,
                        "name": path.name,
                        "path": None if demo else str(path),
                        "label": label if labels else None,
                        "group": f"{label}/{background}" if labels else None,
                        "error": None,
                        "predicted": predicted,
                        "class_name": LABELS[predicted],
                        "probability": 0.9,
                        "sentences": sentences_of(i, flip=flip),
                    }
                )
            writer.write_chunk(chunk_tables(results))
        writer.finish(complete=True)
    return directory
