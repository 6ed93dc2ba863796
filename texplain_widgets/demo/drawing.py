"""How the demo world is drawn: backgrounds cut from real photos, kites and balloons.

Backgrounds are crops of scikit-image's ``grass`` and ``brick`` photos, mapped between a dark
and a light tint; objects are polygons and lines drawn at 4x and box-filtered down (smooth
edges). :class:`WorldStyle` holds every drawing setting; :mod:`.world` composes the samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["BACKGROUNDS", "WorldStyle", "draw_backgrounds", "draw_object"]

BACKGROUNDS = ("grass", "brick")

_SUPERSAMPLE = 4  # shapes are drawn at 4x and box-filtered down, for smooth edges


@dataclass(frozen=True)
class WorldStyle:
    """How the world is drawn; the defaults are the calibrated demo world.

    Lengths are in pixels of a 64-pixel image and scale with the image size. ``radius`` is
    the half-height of the kite's diamond or the balloon's oval; ``line_width`` the width of
    the tail and the string. Backgrounds are crops of ``crop_scale`` (a share of the 512-pixel
    photo's side) mapped between a dark and a light tint; ``texture_contrast`` scales the
    photo's grey levels around its mean (1 keeps them), ``jitter`` the per-image brightness
    and tint noise. ``max_rotation`` is in degrees either way.
    """

    small_radius: tuple[float, float] = (3.5, 5.0)
    large_radius: tuple[float, float] = (6.0, 8.0)
    line_width: float = 1.0
    max_rotation: float = 35.0
    crop_scale: tuple[float, float] = (0.15, 0.4)
    texture_contrast: float = 1.0
    jitter: float = 0.08
    tints: tuple[tuple[tuple[int, int, int], tuple[int, int, int]], ...] = (
        ((25, 70, 15), (150, 215, 90)),  # grass: dark, light
        ((75, 25, 20), (215, 120, 95)),  # brick
    )


def draw_backgrounds(kinds, size: int, style: WorldStyle, rng: np.random.Generator) -> np.ndarray:
    """Tinted backgrounds (N, size, size, 3) uint8, one per entry of ``kinds`` (indices of
    :data:`BACKGROUNDS`): a random crop of the photo (scale, position, flips), as the world
    draws them, so a masked region can be refilled with a fresh background of either kind."""
    kinds = np.asarray(kinds)
    return _tint(_background_crops(kinds, size, style, rng), kinds, style, rng)


@lru_cache(maxsize=2)
def _photo(name: str) -> np.ndarray:
    from skimage import data

    return np.asarray(getattr(data, name)(), np.float32) / 255.0


def _background_crops(backgrounds, size, style, rng) -> np.ndarray:
    """Grey crops (N, size, size) in [0, 1] of the grass or brick photo, random scale and flip."""
    n = len(backgrounds)
    out = np.empty((n, size, size), np.float32)
    scale = rng.uniform(*style.crop_scale, size=n)
    corner = rng.random((n, 2))
    flips = rng.random((n, 2)) < 0.5
    steps = np.arange(size, dtype=np.float32) + 0.5
    for b, name in enumerate(BACKGROUNDS):
        idx = np.flatnonzero(backgrounds == b)
        if idx.size == 0:
            continue
        photo = _photo(name)
        side = photo.shape[0]
        crop = np.maximum(scale[idx] * side, size / 4)  # crop side in photo pixels
        x0 = corner[idx, 0] * (side - crop)
        y0 = corner[idx, 1] * (side - crop)
        # bilinear sampling of all crops at once
        ys = y0[:, None] + steps[None, :] * (crop / size)[:, None] - 0.5
        xs = x0[:, None] + steps[None, :] * (crop / size)[:, None] - 0.5
        crops = _bilinear(photo, np.clip(ys, 0, side - 1), np.clip(xs, 0, side - 1))
        crops = np.where(flips[idx, 0, None, None], crops[:, :, ::-1], crops)
        crops = np.where(flips[idx, 1, None, None], crops[:, ::-1, :], crops)
        mean = photo.mean()
        out[idx] = np.clip(mean + (crops - mean) * style.texture_contrast, 0, 1)
    return out


def _bilinear(photo: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Sample photo at the grid ys (N, H) x xs (N, W) -> (N, H, W)."""
    y0 = np.floor(ys).astype(np.int64)
    x0 = np.floor(xs).astype(np.int64)
    y1 = np.minimum(y0 + 1, photo.shape[0] - 1)
    x1 = np.minimum(x0 + 1, photo.shape[1] - 1)
    wy = (ys - y0)[:, :, None]
    wx = (xs - x0)[:, None, :]
    top = photo[y0[:, :, None], x0[:, None, :]] * (1 - wx) + photo[y0[:, :, None], x1[:, None, :]] * wx
    bottom = photo[y1[:, :, None], x0[:, None, :]] * (1 - wx) + photo[y1[:, :, None], x1[:, None, :]] * wx
    return (top * (1 - wy) + bottom * wy).astype(np.float32)


def _tint(gray, backgrounds, style, rng) -> np.ndarray:
    """Map grey levels between each background's dark and light tint, with per-image jitter (uint8)."""
    n = len(backgrounds)
    tints = np.asarray(style.tints, np.float32)[backgrounds]  # (N, 2, 3)
    brightness = 1 + style.jitter * rng.uniform(-1, 1, size=(n, 1, 1))
    hue = 1 + style.jitter * rng.uniform(-1, 1, size=(n, 1, 3))
    tints = np.clip(tints * brightness * hue, 0, 255)
    dark, light = tints[:, None, None, 0], tints[:, None, None, 1]
    out = gray[..., None] * (light - dark)
    out += dark + 0.5  # round to nearest below
    return np.clip(out, 0, 255, out=out).astype(np.uint8)


def draw_object(label: int, large: bool, size: int, style: WorldStyle, rng) -> np.ndarray:
    """Coverage (size, size) in [0, 1] of one kite (0) or balloon (1), anti-aliased."""
    unit = size / 64
    radius = rng.uniform(*(style.large_radius if large else style.small_radius)) * unit
    angle = math.radians(rng.uniform(-style.max_rotation, style.max_rotation))
    parts = _kite(radius, rng) if label == 0 else _balloon(radius, rng)
    reach = max(math.hypot(x, y) for kind, points in parts for x, y in points)
    margin = reach + 1.5 * unit
    cx, cy = rng.uniform(margin, size - margin, size=2) if margin < size / 2 else (size / 2,) * 2
    cos, sin = math.cos(angle), math.sin(angle)
    s = _SUPERSAMPLE
    canvas = Image.new("L", (size * s, size * s), 0)
    draw = ImageDraw.Draw(canvas)
    width = max(1, round(style.line_width * unit * s))
    for kind, points in parts:
        xy = [((cx + x * cos - y * sin) * s, (cy + x * sin + y * cos) * s) for x, y in points]
        if kind == "polygon":
            draw.polygon(xy, fill=255)
        else:
            draw.line(xy, fill=255, width=width, joint="curve")
    small = canvas.resize((size, size), Image.Resampling.BOX)
    return np.asarray(small, np.float32) / 255.0


def _kite(r: float, rng) -> list[tuple[str, list[tuple[float, float]]]]:
    """A diamond (cross bar above the middle) with a short wavy tail and two bows."""
    w = r * rng.uniform(0.6, 0.75)
    bar = -0.3 * r
    body = [(0, -r), (w, bar), (0, r), (-w, bar)]
    tail_length = r * rng.uniform(1.0, 1.4)
    wave = 0.25 * r
    tail = [(wave * math.sin(t * math.pi * 2), r + t * tail_length) for t in np.linspace(0, 1, 7)]
    bows = []
    for t in (0.4, 0.8):
        x, y = wave * math.sin(t * math.pi * 2), r + t * tail_length
        b = 0.28 * r
        h = 0.6 * b  # a bow tie across the tail
        bows.append(("polygon", [(x - b, y - h), (x + b, y + h), (x + b, y - h), (x - b, y + h)]))
    return [("polygon", body), ("line", tail), *bows]


def _balloon(r: float, rng) -> list[tuple[str, list[tuple[float, float]]]]:
    """An oval with a knot and a gently curving string."""
    rx = r * rng.uniform(0.75, 0.9)
    cy = -0.15 * r
    ry = 0.85 * r
    turns = np.linspace(0, 2 * math.pi, 32, endpoint=False)
    oval = [(rx * math.cos(t), cy + ry * math.sin(t)) for t in turns]
    bottom = cy + ry
    knot = [(-0.18 * r, bottom + 0.22 * r), (0.18 * r, bottom + 0.22 * r), (0, bottom - 0.05 * r)]
    length = r * rng.uniform(1.3, 1.7)
    bend = 0.2 * r * rng.choice([-1, 1])
    string = [(bend * math.sin(t * math.pi), bottom + 0.2 * r + t * length) for t in np.linspace(0, 1, 7)]
    return [("polygon", oval), ("polygon", knot), ("line", string)]
