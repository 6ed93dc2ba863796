"""``mask`` and ``control``: fine-tune the whole classifier with the words' region masked, or not.

MaskTune / the paper's masking: for each training image, a map of where the chosen words come
from (their word-grounded maps: the LM's log-probability of the word after the translator's
prefix, attributed by GradCAM at the classifier's layer, each map scaled to [0, 1] per image and
summed over the words) or, without words, GradCAM of the image's true class. The top ``q``
share of its pixels is set to 0 in the classifier's input (the mean colour after the usual
normalisation), and the classifier is fine-tuned on these images with cross-entropy (AdamW,
cosine schedule, batch-norm statistics updated). The maps are computed once, from the
classifier before fine-tuning. ``control`` is the same fine-tuning on the unmasked images.
No object masks and no person decide the region: only the words, or GradCAM.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError

MASKING = {
    "q": 0.9,
    "epochs": 3,
    "batch_size": 64,
    "lr": 5e-4,
    "weight_decay": 0.05,
    "layer": None,
    "fill": "mean",
}
FILLS = ("mean", "image")  # 0 in the input (the mean colour), or another training image's pixels
CONTEXTS = 2  # sentence contexts per word in a word map (each costs one LM pass per image)
MAP_BATCH = 32


def class_maps(classifier, pixels: torch.Tensor, targets, *, layer=None, batch_size: int = 250) -> np.ndarray:
    """GradCAM (N, H, W) float32 of preprocessed ``pixels`` for their ``targets`` classes, at
    the input's size (bilinear), not normalised."""
    from ..attribution.maps import ClassLogits, attribute

    targets = torch.as_tensor(np.asarray(targets), dtype=torch.long)
    forward, device = ClassLogits(classifier), next(classifier.model.parameters()).device
    maps = []
    for start in range(0, len(pixels), batch_size):
        batch = pixels[start : start + batch_size].to(device)
        target = targets[start : start + batch_size].to(device)
        maps.append(_upsample(attribute(forward, classifier, batch, "gradcam", target, layer=layer), batch))
    return torch.cat(maps).numpy()


def word_contexts(run, word: str, limit: int = CONTEXTS) -> list[tuple[str, str]]:
    """Up to ``limit`` (text before, surface form) occurrences of ``word`` in a run's sentences,
    from the images that use it most."""
    from ..attribution.word_maps import word_occurrences

    found = []
    for image_id in run.images_with(word)["id"].head(limit):
        found.extend(word_occurrences(run.explanation(int(image_id)), word)[1])
        if len(found) >= limit:
            break
    if not found:
        raise InputError(f"{run.directory}: no sentence uses the word {word!r}, so it has no map")
    return found[:limit]


def word_maps(model, pixels: torch.Tensor, contexts: dict, *, layer=None) -> np.ndarray:
    """The summed per-image-normalised word-grounded GradCAM maps (N, H, W) of ``contexts``
    ({word: occurrences}) on preprocessed ``pixels``."""
    from ..attribution.maps import attribute
    from ..attribution.word_maps import WordScore

    if not hasattr(model, "translator"):
        raise InputError("word maps need a TExplain (classifier + translator + LM), not a bare classifier")
    total = torch.zeros(len(pixels), *pixels.shape[2:])
    device = next(model.classifier.model.parameters()).device
    for occurrences in contexts.values():
        with torch.inference_mode(False):
            score = WordScore(model, occurrences)
        for start in range(0, len(pixels), MAP_BATCH):
            batch = pixels[start : start + MAP_BATCH].to(device)
            heat = _upsample(attribute(score, model.classifier, batch, "gradcam", layer=layer), batch)
            low = heat.flatten(1).min(1).values[:, None, None]
            high = heat.flatten(1).max(1).values[:, None, None]
            total[start : start + MAP_BATCH] += (heat - low) / (high - low).clamp(min=1e-12)
    return total.numpy()


def fine_tune(
    classifier,
    pixels,
    labels,
    regions=None,
    *,
    epochs,
    batch_size,
    lr,
    weight_decay,
    fill="mean",
    seed=0,
    progress=False,
):
    """A fine-tuned copy (a new FrozenClassifier) of ``classifier``; pixels in ``regions`` are
    filled with 0 (``fill="mean"``) or, new in every epoch, with those of another training image
    drawn at random (``"image"``: the masked images stay natural, and the filled-in background
    is unrelated to their label)."""
    from .head import rewrap

    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs <= 0:
        raise InputError(f"epochs must be a positive integer, got {epochs!r}")
    if fill not in FILLS:
        raise InputError(f"fill must be one of {', '.join(FILLS)}, not {fill!r}")
    regions = None if regions is None else torch.as_tensor(regions)[:, None]
    if regions is not None and fill == "mean":
        pixels, regions = pixels.masked_fill(regions, 0.0), None
    model = copy.deepcopy(classifier.model).requires_grad_(True).train()
    device = next(model.parameters()).device
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    steps = epochs * math.ceil(len(labels) / batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    shuffle = torch.Generator().manual_seed(seed)
    from tqdm.auto import tqdm

    with tqdm(total=steps, desc="fine-tuning", unit="step", disable=not progress) as bar:
        for _epoch in range(epochs):
            order = torch.randperm(len(labels), generator=shuffle)
            donors = torch.randperm(len(labels), generator=shuffle)
            for i in range(0, len(order), batch_size):
                batch = order[i : i + batch_size]
                inputs = pixels[batch]
                if regions is not None:  # fill "image": another image's pixels
                    inputs = torch.where(regions[batch], pixels[donors[batch]], inputs)
                loss = F.cross_entropy(
                    _logits(classifier, model, inputs.to(device)), labels[batch].to(device)
                )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                bar.update()
    return rewrap(classifier, model.requires_grad_(False).eval())


def _logits(classifier, model, pixels):
    if classifier.feature_layer is None:  # timm: the same path as FrozenClassifier.forward
        return model.forward_head(model.forward_features(pixels))
    return model(pixels)


def _upsample(attribution: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
    heat = attribution.detach().float().sum(1, keepdim=True)
    return F.interpolate(heat, size=pixels.shape[-2:], mode="bilinear")[:, 0].cpu()
