"""Mask an image's region and read the classifier again: the measurement behind reliance.

For one image, given a word's map and the class map (float (H, W) heatmaps of the image), the
word's region is the top share ``q`` of the map's pixels (``region="pixels"``, the default) or
the fewest top pixels that hold a share ``q`` of its weight (``"weight"``: a focused map gives
a small region, a diffuse one a large region). A fixed share of the pixels is the default
because the drops of images are then drops of the same area and average over images; with
the weight, areas range widely from image to image, small regions move nothing and large ones
saturate (on the demo's biased classifier and "grass", 12 images: by pixels, 10% of the
image, the word's region dropped the prediction by 0.25 against 0.13 for random regions, the
difference's interval above zero; by weight, 35% of it in 9% of the image on average, 0.26
against 0.22, the interval across zero). These versions go through the classifier in one
batch with the original: the word's region filled, the class map's top pixels of the same
area filled, and ``trials`` random regions of the same area and shape (the word's region
shifted by a random offset, wrapping around the edges), the control.

The fill (:data:`FILLS`) is by default ``model_mean``: the classifier's normalisation mean
colour (ImageNet's for most timm models), the input its preprocessing maps to zero and the
baseline this package's integrated gradients use. It removes both the colour and the texture
of the region. A blur (``blur``) keeps the colour of a large region, and a background shortcut
is often just that colour (grass is green when blurred: on the demo's biased classifier, blurring
the region of "grass" or random regions moved its prediction by less than 0.02, at every share); the image's own mean colour
(``image_mean``) is the background's colour when the background fills the frame; noise
(``noise``) adds a texture the classifier may read as something. A flat patch is itself unusual
for a classifier, but the control gets the same fill and the same area, so that effect is in
both and the comparison removes it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from ..errors import InputError

FILLS = ("model_mean", "blur", "image_mean", "noise")
REGIONS = ("pixels", "weight")


def check_settings(q: float, fill: str, trials: int, by: str = "pixels") -> None:
    """Refuse a share outside (0, 1), an unknown fill or region rule, or no random trial."""
    if by not in REGIONS:
        raise InputError(f"region must be one of {', '.join(REGIONS)}, not {by!r}")
    if not 0 < q < 1:
        what = "the image's pixels" if by == "pixels" else "the map's weight"
        raise InputError(f"q is the share of {what} that the word's region takes: in (0, 1), not {q}")
    if fill not in FILLS:
        raise InputError(f"unknown fill {fill!r}; choose one of {', '.join(FILLS)}")
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise InputError(f"trials (random regions per image) must be a positive integer, not {trials!r}")


def region_mask(heatmap: np.ndarray, q: float, by: str = "pixels") -> np.ndarray:
    """The (H, W) boolean mask of ``heatmap``'s top pixels: a share ``q`` of them (``pixels``),
    or the fewest that hold a share ``q`` of its weight (``weight``; none for an all-zero map)."""
    heatmap = np.asarray(heatmap, dtype="float64")
    if by == "pixels":
        return top_pixels(heatmap, round(q * heatmap.size))
    values = np.clip(heatmap, 0, None).ravel()
    total = values.sum()
    if total <= 0:
        return np.zeros(heatmap.shape, dtype=bool)
    ordered = np.sort(values)[::-1]
    count = int(np.searchsorted(np.cumsum(ordered), q * total * (1 - 1e-12))) + 1
    return top_pixels(heatmap, min(count, values.size))


def top_pixels(heatmap: np.ndarray, count: int) -> np.ndarray:
    """The (H, W) boolean mask of ``heatmap``'s ``count`` highest pixels (ties in row order)."""
    mask = np.zeros(heatmap.size, dtype=bool)
    mask[np.argsort(-heatmap, axis=None, kind="stable")[:count]] = True
    return mask.reshape(heatmap.shape)


def shifted(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``mask`` moved by a uniformly random offset, wrapping around: same area, same shape."""
    dy, dx = int(rng.integers(mask.shape[0])), int(rng.integers(mask.shape[1]))
    return np.roll(mask, (dy, dx), axis=(0, 1))


def filling(picture: Image.Image, fill: str, classifier, rng: np.random.Generator) -> np.ndarray:
    """The (H, W, 3) uint8 picture a masked region takes its pixels from."""
    pixels = np.asarray(picture)
    if fill == "blur":  # as the deletion curves' baseline
        return np.asarray(picture.filter(ImageFilter.GaussianBlur(max(picture.size) / 20)))
    if fill == "image_mean":
        colour = pixels.reshape(-1, pixels.shape[-1]).mean(axis=0)
    elif fill == "noise":
        return rng.integers(0, 256, pixels.shape, dtype=np.uint8)
    else:
        colour = np.asarray(classifier.data_config.get("mean", (0.5, 0.5, 0.5)), dtype="float64") * 255
    return np.broadcast_to(colour.round().astype(np.uint8), pixels.shape)


def versions(picture: Image.Image, masks: list[np.ndarray], background: np.ndarray) -> list[np.ndarray]:
    """The original picture, then one copy per mask with the masked pixels from ``background``."""
    pixels = np.asarray(picture)
    return [pixels, *(np.where(mask[..., None], background, pixels) for mask in masks)]


def probabilities(classifier, images: list[np.ndarray], chunk: int = 32):
    """Softmax probabilities (N, classes) of ``images`` (uint8 arrays), ``chunk`` per forward."""
    import torch

    out = []
    with torch.no_grad():
        for first in range(0, len(images), chunk):
            logits = classifier(classifier.preprocess(images[first : first + chunk])).logits
            out.append(logits.float().softmax(-1).cpu())
    return torch.cat(out)


def measure(
    picture,
    word_map,
    class_map,
    classifier,
    *,
    q: float,
    fill: str,
    trials: int,
    seed: int,
    region: str = "pixels",
) -> dict:
    """One image's row: the predicted class's probability on the original (``probability``),
    with the word's, the class map's and the random regions filled, their drops and flips."""
    picture = picture.convert("RGB")
    for name, heatmap in (("word", word_map), ("class", class_map)):
        if np.shape(heatmap) != (picture.height, picture.width):
            raise InputError(
                f"the {name} map of shape {np.shape(heatmap)} does not fit the image {picture.size}"
            )
    rng = np.random.default_rng(seed)
    word_mask = region_mask(word_map, q, region)
    class_mask = top_pixels(np.asarray(class_map), int(word_mask.sum()))
    masks = [word_mask, class_mask, *(shifted(word_mask, rng) for _ in range(trials))]
    probs = probabilities(classifier, versions(picture, masks, filling(picture, fill, classifier, rng)))
    predicted = int(probs[0].argmax())
    p = probs[:, predicted].numpy().astype("float64")
    flipped = (probs.argmax(-1) != predicted).numpy()
    return {
        "predicted": predicted,
        "probability": p[0],
        "p_word": p[1],
        "p_class": p[2],
        "p_random": float(p[3:].mean()),
        "drop_word": p[0] - p[1],
        "drop_class": p[0] - p[2],
        "drop_random": float(p[0] - p[3:].mean()),
        "flip_word": bool(flipped[1]),
        "flip_class": bool(flipped[2]),
        "flip_random": float(flipped[3:].mean()),
        "pixels": int(word_mask.sum()),
        "area": float(word_mask.mean()),
        "overlap_class": float((word_mask & class_mask).sum() / max(int(word_mask.sum()), 1)),
    }
