"""Draw a heatmap over its image (pure functions; colormaps are matplotlib's, which Captum needs)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ..data.images import load_image
from ..errors import InputError


def overlay(image, heatmap: np.ndarray, *, colormap: str = "jet", alpha: float = 0.5) -> Image.Image:
    """``image`` (path, PIL image or array) blended with ``heatmap`` (H, W) in [0, 1], coloured.

    ``alpha`` is the heatmap's weight; ``colormap`` any matplotlib colormap name.
    """
    from matplotlib import colormaps

    picture = np.asarray(load_image(image), dtype=np.float32) / 255
    heatmap = np.asarray(heatmap, dtype=np.float32)
    if heatmap.shape != picture.shape[:2]:
        raise InputError(
            f"heatmap of shape {heatmap.shape} does not fit the image of shape {picture.shape[:2]} (H, W)"
        )
    if not 0 <= alpha <= 1:
        raise InputError(f"alpha must be in [0, 1], got {alpha}")
    try:
        colours = colormaps[colormap](np.clip(heatmap, 0, 1))[..., :3]
    except KeyError:
        raise InputError(f"unknown colormap {colormap!r}; e.g. jet, inferno, viridis, turbo") from None
    blended = (1 - alpha) * picture + alpha * colours
    return Image.fromarray(np.round(blended * 255).astype(np.uint8))


def to_png_bytes(image: Image.Image) -> bytes:
    """The image encoded as PNG."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
