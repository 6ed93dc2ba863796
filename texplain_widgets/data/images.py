"""Load user images as 8-bit RGB, refusing bad files with a plain message."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from texplain_widgets.errors import InputError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")

_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def load_image(source, *, min_size: int = 8, max_pixels: int = 89_478_485) -> Image.Image:
    """Return `source` (a path, a PIL image or a numpy array) as a loaded RGB image.

    EXIF orientation is applied, transparency is composited on white and
    16/32-bit or float pixels are scaled to 8 bits. Raises InputError naming the
    file when it is missing, not an image, truncated, smaller than `min_size` on
    a side or has more than `max_pixels` pixels (checked from the header, before
    decoding; Pillow's own `Image.MAX_IMAGE_PIXELS` limit applies as well).
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        with _open(path) as image:
            return _finish(image, str(path), min_size, max_pixels)
    if isinstance(source, Image.Image):
        name = getattr(source, "filename", "") or "the given PIL image"
        return _finish(source, name, min_size, max_pixels)
    if isinstance(source, np.ndarray):
        name = f"the given array of shape {source.shape}"
        return _finish(_from_array(source, name), name, min_size, max_pixels)
    raise InputError(
        f"load_image takes a file path, a PIL image or a numpy array, not {type(source).__name__}"
    )


def list_images(folder, *, recursive: bool = False) -> list[Path]:
    """Return the sorted image files in `folder` (by extension, any case), skipping hidden ones."""
    folder = Path(folder)
    if not folder.exists():
        raise InputError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise InputError(f"{folder}: is a file, not a folder")
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    images = sorted(
        p
        for p in candidates
        if p.suffix.lower() in IMAGE_EXTENSIONS
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and p.is_file()
    )
    if not images:
        where = " (subfolders included)" if recursive else ""
        raise InputError(f"{folder}: no image files found{where}; looked for {', '.join(IMAGE_EXTENSIONS)}")
    return images


def _open(path: Path) -> Image.Image:
    """Open `path` lazily (header only), turning every failure into an InputError."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not an image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise InputError(f"{path}: too many pixels to decode safely ({e})") from e
    except UnidentifiedImageError as e:
        raise InputError(f"{path}: not an image file (Pillow cannot identify it)") from e
    except OSError as e:
        raise InputError(f"{path}: cannot be read ({e})") from e


def _finish(image: Image.Image, name: str, min_size: int, max_pixels: int) -> Image.Image:
    """Check the header size, then decode, orient and convert to a new RGB image."""
    width, height = image.size
    if width * height > max_pixels:
        raise InputError(
            f"{name}: {width}x{height} is {width * height:,} pixels, more than the limit "
            f"of {max_pixels:,} (a decompression bomb?)"
        )
    if min(width, height) < min_size:
        raise InputError(
            f"{name}: the image is {width}x{height} pixels, smaller than the minimum "
            f"of {min_size} pixels on each side"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
            return _to_rgb(ImageOps.exif_transpose(image))
    except Exception as e:
        raise InputError(f"{name}: cannot decode the image ({e})") from e


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB; transparent pixels become white."""
    if image.mode.startswith("I"):
        image = _scale_to_l(np.asarray(image, dtype=np.float64), _integer_max(image))
    elif image.mode == "F":
        image = _scale_to_l(np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0), 1.0)
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def _integer_max(image: Image.Image) -> int:
    """Full-scale value of an integer image: 16-bit for 'I;16*' and for 'I' holding 16-bit data."""
    if image.mode.startswith("I;16") or np.asarray(image).max() <= 65535:
        return 65535
    return 2**31 - 1


def _scale_to_l(values: np.ndarray, full_scale: float) -> Image.Image:
    """Map values in [0, full_scale] to an 8-bit grayscale image (65535 -> 255, 257*k -> k)."""
    scaled = np.clip(values, 0, full_scale) * (255 / full_scale)
    return Image.fromarray(np.round(scaled).astype(np.uint8))


def _from_array(array: np.ndarray, name: str) -> Image.Image:
    """Wrap an HxW, HxWx3 or HxWx4 array (uint8, or float in [0, 1]) as a PIL image."""
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise InputError(f"{name}: expected shape HxW, HxWx3 or HxWx4")
    if np.issubdtype(array.dtype, np.floating):
        if array.size and not (np.isfinite(array).all() and array.min() >= 0 and array.max() <= 1):
            raise InputError(
                f"{name}: float pixels must lie in [0, 1], found [{array.min()}, {array.max()}]"
                " (divide 0-255 values by 255)"
            )
        array = np.round(array * 255).astype(np.uint8)
    elif array.dtype != np.uint8:
        raise InputError(f"{name}: pixels must be uint8 or float in [0, 1], not {array.dtype}")
    return Image.fromarray(np.ascontiguousarray(array))
