"""Where a classifier's input lies in the original image, and maps carried back onto the image.

The classifier sees its own preprocessing of the image: timm's eval transform resizes the
shorter side and crops the centre. A saliency map computed on that input is placed back on the
crop's area of the image with bilinear interpolation; what the model never saw stays 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.transforms import CenterCrop, Resize

from ..data.images import load_image
from ..errors import InputError


@dataclass(frozen=True)
class ModelInput:
    """One image as the classifier sees it.

    ``pixels`` (1, C, h, w) is the model input; ``box`` (left, top, right, bottom) is the part of
    the image it shows, in image pixels; ``size`` is the image's (width, height).
    """

    pixels: torch.Tensor
    box: tuple[float, float, float, float]
    size: tuple[int, int]

    @classmethod
    def from_image(cls, classifier, image) -> ModelInput:
        """A path, PIL image or array goes through ``classifier.transform``; a tensor (C, H, W)
        or (1, C, H, W) is taken as already preprocessed, and maps come back at its own size."""
        device = next(classifier.parameters()).device
        if isinstance(image, torch.Tensor):
            pixels = image[None] if image.ndim == 3 else image
            if pixels.ndim != 4 or pixels.shape[0] != 1:
                raise InputError(
                    f"expected one preprocessed image (C, H, W) or (1, C, H, W), got {tuple(image.shape)}"
                )
            height, width = pixels.shape[-2:]
            return cls(
                pixels.to(device),
                (0.0, 0.0, float(width), float(height)),
                (width, height),
            )
        picture = load_image(image)
        pixels = classifier.transform(picture)[None].to(device)
        return cls(
            pixels,
            view_box(classifier.transform, picture.size, pixels.shape[-2:]),
            picture.size,
        )

    def heatmap(self, attribution: torch.Tensor) -> np.ndarray:
        """An attribution (1, C, h', w') -> float32 (H, W) map of the image in [0, 1].

        Channels are summed and only positive evidence for the target is kept; the map is
        upsampled bilinearly onto the box and divided by its maximum (all 0 when none is positive).
        """
        scores = attribution.detach().float().sum(dim=1, keepdim=True).clamp(min=0).cpu()
        width, height = self.size
        left, top, right, bottom = (round(v) for v in self.box)
        region = F.interpolate(
            scores,
            size=(bottom - top, right - left),
            mode="bilinear",
            align_corners=False,
            antialias=True,
        )[0, 0]
        canvas = torch.zeros(height, width)
        x0, y0, x1, y1 = (
            max(left, 0),
            max(top, 0),
            min(right, width),
            min(bottom, height),
        )
        canvas[y0:y1, x0:x1] = region[y0 - top : y1 - top, x0 - left : x1 - left]
        peak = canvas.max()
        return (canvas / peak if peak > 0 else canvas).numpy().astype(np.float32)


def view_box(transform, size: tuple[int, int], input_size) -> tuple[float, float, float, float]:
    """The part of an image of ``size`` (width, height) that ``transform`` turns into the model input.

    Follows the ``Resize`` and ``CenterCrop`` steps of a torchvision ``Compose`` (timm's eval
    transform). When these do not explain the input's size, the input is taken to be the whole
    image, resized.
    """
    width, height = size
    w, h = float(width), float(height)
    left = top = 0.0
    scale_x = scale_y = 1.0  # image x = left + scale_x * x in the current step's frame
    for step in getattr(transform, "transforms", ()):
        if isinstance(step, Resize):
            new_h, new_w = _resized(step.size, h, w)
            scale_x, scale_y = scale_x * w / new_w, scale_y * h / new_h
            w, h = new_w, new_h
        elif isinstance(step, CenterCrop):
            crop_h, crop_w = step.size
            left += scale_x * round((w - crop_w) / 2)
            top += scale_y * round((h - crop_h) / 2)
            w, h = crop_w, crop_h
    if (round(h), round(w)) != tuple(input_size):
        return (0.0, 0.0, float(width), float(height))
    return (left, top, left + scale_x * w, top + scale_y * h)


def _resized(size, h: float, w: float) -> tuple[int, int]:
    """torchvision's Resize output (height, width): an int (or [int]) sets the shorter side."""
    if isinstance(size, (list, tuple)) and len(size) == 2:
        return int(size[0]), int(size[1])
    short = int(size[0] if isinstance(size, (list, tuple)) else size)
    if h <= w:
        return short, int(short * w / h)
    return int(short * h / w), short
