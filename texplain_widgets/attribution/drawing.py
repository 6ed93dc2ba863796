"""Draw a heatmap over its image, and say in numbers how spread it is (pure functions).

Colormaps are matplotlib's (which Captum needs). By default a map is drawn as a reader can read
it: a perceptually uniform colormap (inferno) whose opacity follows the heat, so cold regions
show the image itself; :func:`spread` and :func:`spread_caption` tell "on the object" from
"everywhere" in words, and :func:`colour_stops` gives the colours of a small colour scale.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image

from ..data.images import load_image
from ..errors import InputError

COLORMAP = "inferno"  # perceptually uniform, readable in grey, on light and dark pages
MAX_ALPHA = 0.85  # the hottest pixel's weight; a cold pixel's is 0: the image shows through
FOCUSED, SPREAD = 0.15, 0.3  # spread() limits of "focused" and "spread out" (a uniform map: 0.5)


def _colormap(name: str):
    from matplotlib import colormaps

    try:
        return colormaps[name]
    except KeyError:
        raise InputError(f"unknown colormap {name!r}; e.g. inferno, viridis, magma, jet") from None


def overlay(
    image,
    heatmap: np.ndarray,
    *,
    colormap: str = COLORMAP,
    alpha: float = MAX_ALPHA,
    follow_heat: bool = True,
) -> Image.Image:
    """``image`` (path, PIL image or array) blended with ``heatmap`` (H, W) in [0, 1], coloured.

    ``colormap``: any matplotlib colormap name; ``alpha``: the heatmap's weight, at each pixel
    ``alpha * heat`` when ``follow_heat`` (cold regions show the image), else ``alpha`` everywhere.
    """
    picture = np.asarray(load_image(image), dtype=np.float32) / 255
    heatmap = np.asarray(heatmap, dtype=np.float32)
    if heatmap.shape != picture.shape[:2]:
        raise InputError(
            f"heatmap of shape {heatmap.shape} does not fit the image of shape {picture.shape[:2]} (H, W)"
        )
    if not 0 <= alpha <= 1:
        raise InputError(f"alpha must be in [0, 1], got {alpha}")
    heat = np.clip(np.nan_to_num(heatmap), 0, 1)
    colours = _colormap(colormap)(heat)[..., :3]
    weight = (alpha * heat if follow_heat else np.full_like(heat, alpha))[..., None]
    blended = (1 - weight) * picture + weight * colours
    return Image.fromarray(np.round(blended * 255).astype(np.uint8))


def spread(heatmap: np.ndarray, mass: float = 0.5) -> float:
    """The smallest share of the image's pixels that holds ``mass`` of the map's total weight.

    Near 0: the map is on a small region; 0.5 for ``mass=0.5``: the map is uniform (everywhere).
    NaN for a map with no weight (all zero).
    """
    if not 0 < mass <= 1:
        raise InputError(f"mass must be in (0, 1], got {mass}")
    weights = np.clip(np.nan_to_num(np.asarray(heatmap, dtype=np.float64)), 0, None).ravel()
    total = weights.sum()
    if weights.size == 0 or total <= 0:
        return math.nan
    cumulative = np.cumsum(np.sort(weights)[::-1])
    needed = int(np.searchsorted(cumulative, mass * total * (1 - 1e-9))) + 1
    return min(needed, weights.size) / weights.size


def spread_caption(value: float) -> str:
    """:func:`spread` in words, e.g. 'half its weight on 8% of the image: focused'."""
    if not math.isfinite(value):
        return "no weight anywhere: an empty map"
    kind = "focused" if value < FOCUSED else "spread out" if value < SPREAD else "everywhere, about uniform"
    return f"half its weight on {value:.0%} of the image: {kind}"


def colour_stops(colormap: str = COLORMAP, n: int = 8) -> list[str]:
    """``n`` colours of ``colormap`` from cold to hot, as CSS hex strings (for a colour scale)."""
    colours = _colormap(colormap)(np.linspace(0, 1, max(2, n)))[:, :3]
    return ["#" + "".join(f"{round(255 * c):02x}" for c in rgb) for rgb in colours]


def to_png_bytes(image: Image.Image) -> bytes:
    """The image encoded as PNG."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
