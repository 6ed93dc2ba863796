"""Images for the browser: PNG bytes (sent as binary buffers, never base64), sized for display."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..attribution.drawing import overlay, to_png_bytes

DISPLAY_SIZE = 384  # longest side, in pixels, of images sent to the browser; smaller ones as they are


def display_png(picture: Image.Image, size: int = DISPLAY_SIZE) -> bytes:
    """``picture`` as PNG bytes, shrunk to ``size`` on its longest side when larger."""
    if max(picture.size) > size:
        picture = picture.copy()
        picture.thumbnail((size, size), Image.Resampling.LANCZOS)
    return to_png_bytes(picture)


def overlay_png(picture: Image.Image, heatmap: np.ndarray, size: int = DISPLAY_SIZE) -> bytes:
    """``heatmap`` (H, W) in [0, 1] drawn over ``picture``, as display-sized PNG bytes."""
    return display_png(overlay(picture, heatmap), size)
