"""Regions of a heatmap: the pixels where a map is highest, what masking replaces."""

from __future__ import annotations

import numpy as np

from ..errors import InputError


def top_region(heatmaps: np.ndarray, q: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean (N, H, W): exactly ``round(q * H * W)`` highest pixels of each map, ties at random."""
    if not 0 <= q <= 1:
        raise InputError(f"q must be a share of the pixels in [0, 1], got {q}")
    heatmaps = np.asarray(heatmaps)
    flat = heatmaps.reshape(len(heatmaps), -1)
    count = round(q * flat.shape[1])
    region = np.zeros(flat.shape, bool)
    for i, values in enumerate(flat):
        order = np.lexsort((rng.random(values.size), -values))  # by value, then the random key
        region[i, order[:count]] = True
    return region.reshape(heatmaps.shape)
