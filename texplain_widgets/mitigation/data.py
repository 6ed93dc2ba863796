"""The images mitigation trains, selects and scores on: labelled, preprocessed, features cached.

A split comes from any run source (a folder of class subfolders, a CSV of
``image,label[,group]``, an ImageCollection, a demo World) or ``demo:train``, ``demo:val``,
``demo:test`` (the demo world's splits). Labels must be the classifier's class names; a
source's own ``group`` column (or a World's groups) is the true group, used only to score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError

BATCH = 128  # images per classifier forward
DEMO_PREFIX = "demo:"


@dataclass
class Split:
    """Labelled images: ``keys`` (id, name, path) per image to find its group; ``true_groups``
    from the source (None where unknown)."""

    images: list
    labels: np.ndarray
    keys: list[tuple]
    true_groups: np.ndarray
    description: str

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index) -> Split:
        index = np.asarray(index)
        return Split(
            [self.images[i] for i in index],
            self.labels[index],
            [self.keys[i] for i in index],
            self.true_groups[index],
            f"{self.description} ({len(index)} of them)",
        )


def as_split(source, class_names, what: str) -> Split:
    """The labelled images of ``source`` (see the module docstring), labels checked against
    ``class_names`` (the classifier's)."""
    from ..runs.sources import resolve_source

    if isinstance(source, Split):
        return source
    if isinstance(source, str) and source.startswith(DEMO_PREFIX):
        from ..demo import split

        source = split(source[len(DEMO_PREFIX) :])
    try:
        resolved = resolve_source(source)
    except InputError as err:
        raise InputError(f"the {what} images: {err}") from err
    items = resolved.items
    labels = [item.label for item in items]
    unlabelled = [item.name for item in items if item.label is None]
    if unlabelled:
        raise InputError(
            f"{len(unlabelled)} of the {what} images have no label, e.g. {unlabelled[0]!r}: give a folder "
            "of class subfolders or a CSV with a label column"
        )
    classes = list(class_names) if class_names is not None else None
    if classes is None:
        raise InputError("the classifier has no class_names: give FrozenClassifier(..., class_names=[...])")
    unknown = sorted(set(labels) - set(classes))
    if unknown:
        raise InputError(
            f"the {what} images' labels {', '.join(map(repr, unknown[:5]))} are not the classifier's "
            f"classes ({', '.join(classes)}): name each image's class as the classifier does"
        )
    return Split(
        [item.path if item.path is not None else item.image for item in items],
        np.array([classes.index(label) for label in labels], dtype=np.int64),
        [(item.id, item.name, item.path) for item in items],
        np.asarray([item.group for item in items], dtype=object),
        f"{resolved.description['location']} ({len(items)} images)",
    )


def preprocess(classifier, split: Split) -> torch.Tensor:
    """All images of ``split`` as the classifier's input tensor (N, C, H, W), on the CPU."""
    return torch.cat(
        [classifier.preprocess(split.images[s : s + BATCH]).cpu() for s in range(0, len(split), BATCH)]
    )


@torch.no_grad()
def outputs(classifier, pixels: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Features Z (N, D) and predicted classes (N,) of preprocessed ``pixels``, in batches."""
    device = next(classifier.model.parameters()).device
    features, predicted = [], []
    for start in range(0, len(pixels), BATCH):
        z, logits = classifier(pixels[start : start + BATCH].to(device))
        features.append(z.float().cpu())
        predicted.append(logits.argmax(-1).cpu())
    return torch.cat(features).numpy(), torch.cat(predicted).numpy()
