"""Deletion and insertion curves (Petsiuk et al., RISE, 2018): does a map rank pixels faithfully?

Pixels of the image are moved in order of the heatmap's importance, most important first, in
``steps`` equal chunks. Deletion replaces them with a baseline and should make the
probability of the target class fall fast (low AUC is good); insertion starts from the
baseline and puts them back (high AUC is good). The baseline is, by default, the image blurred
with a Gaussian of radius max(H, W) / 20 (``"blur"``), or its mean colour (``"mean"``). Compare
a map with :func:`random_map` of the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageFilter

from ..data.images import load_image
from ..errors import InputError
from .maps import check_target

BASELINES = ("blur", "mean")
CHUNK = 16  # images per classifier forward


@dataclass
class Curve:
    """Probability of ``target`` after moving each ``fraction`` of the pixels, and its AUC."""

    fractions: np.ndarray
    probabilities: np.ndarray
    auc: float
    target: int


def deletion(
    classifier,
    image,
    heatmap,
    *,
    target: int | None = None,
    steps: int = 20,
    baseline: str = "blur",
) -> Curve:
    """Deletion curve: the most important pixels first are replaced by the baseline."""
    return _curve(classifier, image, heatmap, target, steps, baseline, insert=False)


def insertion(
    classifier,
    image,
    heatmap,
    *,
    target: int | None = None,
    steps: int = 20,
    baseline: str = "blur",
) -> Curve:
    """Insertion curve: from the baseline, the most important pixels first are restored."""
    return _curve(classifier, image, heatmap, target, steps, baseline, insert=True)


def random_map(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A uniform random heatmap, the reference a real map should beat."""
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def _curve(classifier, image, heatmap, target, steps, baseline, insert) -> Curve:
    picture = load_image(image)
    pixels = np.asarray(picture)
    heatmap = np.asarray(heatmap)
    if heatmap.shape != pixels.shape[:2]:
        raise InputError(
            f"heatmap of shape {heatmap.shape} does not fit the image of shape {pixels.shape[:2]}"
        )
    if steps < 1:
        raise InputError(f"steps must be at least 1, got {steps}")
    if target is not None:
        target = check_target(classifier, target)
    background = _baseline(picture, baseline)
    rank = np.empty(heatmap.size, dtype=np.int64)
    rank[np.argsort(-heatmap, axis=None, kind="stable")] = np.arange(heatmap.size)
    rank = rank.reshape(heatmap.shape)[..., None]
    fractions = np.linspace(0, 1, steps + 1)
    start, end = (background, pixels) if insert else (pixels, background)
    probabilities = []
    with torch.no_grad():
        for first in range(0, len(fractions), CHUNK):
            images = [
                np.where(rank < round(fraction * heatmap.size), end, start)
                for fraction in fractions[first : first + CHUNK]
            ]
            logits = classifier(classifier.preprocess(images)).logits
            probabilities.append(logits.float().softmax(-1).cpu())
    probabilities = torch.cat(probabilities)
    if target is None:  # the class predicted for the original image
        target = int(probabilities[-1 if insert else 0].argmax())
    curve = probabilities[:, target].numpy()
    auc = float(np.sum((curve[1:] + curve[:-1]) / 2 * np.diff(fractions)))
    return Curve(fractions, curve, auc, target)


def _baseline(picture: Image.Image, kind: str) -> np.ndarray:
    if kind == "blur":
        radius = max(picture.size) / 20
        return np.asarray(picture.filter(ImageFilter.GaussianBlur(radius)))
    if kind == "mean":
        pixels = np.asarray(picture)
        return np.broadcast_to(
            pixels.mean(axis=(0, 1)).round().astype(np.uint8), pixels.shape
        )
    raise InputError(f"unknown baseline {kind!r}; choose one of {', '.join(BASELINES)}")
