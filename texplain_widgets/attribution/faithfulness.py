"""Deletion and insertion curves (Petsiuk et al., RISE, 2018): does a map rank pixels faithfully?

Pixels of the image are moved in order of the heatmap's importance, most important first, in
``steps`` equal chunks. Deletion replaces them with a baseline and should make the
probability of the target class fall fast (low AUC is good); insertion starts from the
baseline and puts them back (high AUC is good). The baseline is, by default, the image blurred
with a Gaussian of radius max(H, W) / 20 (``"blur"``), or its mean colour (``"mean"``). Compare
a map with :func:`random_map` of the same shape.

:func:`word_deletion` asks the same of a word-grounded map: does the word stop being said when
its map's top pixels are replaced by the baseline, more than when a random region of the same
area is?
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageFilter

from ..data.images import load_image
from ..errors import InputError
from ..words import sentence_words
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


def word_deletion(
    texplain,
    image,
    word: str,
    heatmap,
    *,
    q: float = 0.2,
    n_sentences: int = 64,
    seed: int = 0,
    baseline: str = "blur",
    trials: int = 3,
    **sampling,
) -> dict:
    """The share of sentences that say ``word``, before and after deleting its map's top pixels.

    The top ``q`` share of the pixels of ``heatmap`` (the word's map, (H, W) of the image) is
    replaced by the baseline, and so, for reference, is the top ``q`` of each of ``trials``
    random maps (``random_map`` seeded ``seed + 1``, ``seed + 2``, ...). All versions are
    explained in one call with the same ``seed`` (so they share their random numbers);
    ``sampling`` goes to ``texplain.explain`` (e.g. ``max_new_tokens``).

    Returns a dict: ``word`` (its lemma), ``q``, ``pixels`` (deleted in each version),
    ``before`` and ``after`` (shares of sentences saying the word, in [0, 1]), ``random``
    (the mean of ``random_trials``, the shares after deleting the random regions), ``drop``
    (before - after) and ``random_drop`` (before - random).
    """
    picture = load_image(image)
    pixels = np.asarray(picture)
    heatmap = _check_heatmap(heatmap, pixels)
    lemmas = sentence_words(word)
    if len(lemmas) != 1:
        raise InputError(f"word_deletion needs one word, got {word!r}")
    if not 0 <= q <= 1:
        raise InputError(f"q must be a share of the pixels in [0, 1], got {q}")
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise InputError(f"trials must be a positive integer, got {trials!r}")
    background = _baseline(picture, baseline)
    count = round(q * heatmap.size)
    maps = [
        heatmap,
        *(random_map(heatmap.shape, seed=seed + t) for t in range(1, trials + 1)),
    ]
    images = [pixels, *(np.where(_ranks(m) < count, background, pixels) for m in maps)]
    # the same random streams for every version of the image (image id 0): a paired comparison,
    # in which the shares differ by the deleted pixels alone
    explanations = texplain.explain(images, n_sentences, seed=seed, image_ids=[0] * len(images), **sampling)
    lemma = lemmas[0]
    shares = [sum(lemma in sentence_words(s) for s in e.sentences) / len(e.sentences) for e in explanations]
    before, after, randoms = shares[0], shares[1], shares[2:]
    random = float(np.mean(randoms))
    return {
        "word": lemma,
        "q": q,
        "pixels": count,
        "before": before,
        "after": after,
        "random": random,
        "random_trials": randoms,
        "drop": before - after,
        "random_drop": before - random,
    }


def _curve(classifier, image, heatmap, target, steps, baseline, insert) -> Curve:
    picture = load_image(image)
    pixels = np.asarray(picture)
    heatmap = _check_heatmap(heatmap, pixels)
    if steps < 1:
        raise InputError(f"steps must be at least 1, got {steps}")
    if target is not None:
        target = check_target(classifier, target)
    background = _baseline(picture, baseline)
    rank = _ranks(heatmap)
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


def _check_heatmap(heatmap, pixels: np.ndarray) -> np.ndarray:
    heatmap = np.asarray(heatmap)
    if heatmap.shape != pixels.shape[:2]:
        raise InputError(
            f"heatmap of shape {heatmap.shape} does not fit the image of shape {pixels.shape[:2]}"
        )
    return heatmap


def _ranks(heatmap: np.ndarray) -> np.ndarray:
    """(H, W, 1): each pixel's place in the map's order, most important first (0), ties stable."""
    rank = np.empty(heatmap.size, dtype=np.int64)
    rank[np.argsort(-heatmap, axis=None, kind="stable")] = np.arange(heatmap.size)
    return rank.reshape(heatmap.shape)[..., None]


def _baseline(picture: Image.Image, kind: str) -> np.ndarray:
    if kind == "blur":
        radius = max(picture.size) / 20
        return np.asarray(picture.filter(ImageFilter.GaussianBlur(radius)))
    if kind == "mean":
        pixels = np.asarray(picture)
        return np.broadcast_to(pixels.mean(axis=(0, 1)).round().astype(np.uint8), pixels.shape)
    raise InputError(f"unknown baseline {kind!r}; choose one of {', '.join(BASELINES)}")
