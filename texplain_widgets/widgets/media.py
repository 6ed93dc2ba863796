"""Images for the browser: PNG bytes (sent as binary buffers, never base64), sized for display."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from PIL import Image

from ..attribution.drawing import overlay, spread, to_png_bytes

DISPLAY_SIZE = 384  # longest side, in pixels, of images sent to the browser; smaller ones as they are


class MapImage(NamedTuple):
    """A map as a widget shows it: the overlay's PNG bytes and the map's :func:`spread` (-1: none)."""

    png: bytes
    spread: float


NO_MAP = MapImage(b"", -1.0)


def display_png(picture: Image.Image, size: int = DISPLAY_SIZE) -> bytes:
    """``picture`` as PNG bytes, shrunk to ``size`` on its longest side when larger."""
    if max(picture.size) > size:
        picture = picture.copy()
        picture.thumbnail((size, size), Image.Resampling.LANCZOS)
    return to_png_bytes(picture)


def overlay_png(picture: Image.Image, heatmap: np.ndarray, size: int = DISPLAY_SIZE) -> bytes:
    """``heatmap`` (H, W) in [0, 1] drawn over ``picture`` (see :func:`~..attribution.overlay`), as
    display-sized PNG bytes."""
    return display_png(overlay(picture, heatmap), size)


def map_image(picture: Image.Image, heatmap: np.ndarray, size: int = DISPLAY_SIZE) -> MapImage:
    """The overlay of ``heatmap`` over ``picture`` and its spread (-1 for a map with no weight)."""
    share = spread(heatmap)
    return MapImage(overlay_png(picture, heatmap, size), share if math.isfinite(share) else -1.0)
