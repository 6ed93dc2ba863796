"""A collection of images to browse: each with a name and, where known, a class and a group.

>>> ImageCollection.from_folder("birds/")        # class = subfolder name (ImageFolder layout)
>>> ImageCollection.from_world(demo.test)         # the demo world: classes and groups known
>>> ImageCollection.from_images([a, b], labels=["cat", "dog"])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ..errors import InputError
from .images import list_images, load_image


@dataclass
class ImageCollection:
    """Images (paths, PIL images or arrays, loaded on demand) with names, labels and groups.

    ``labels`` and ``groups`` are names (strings) or None where unknown; images load with
    :func:`~texplain_widgets.load_image`, so a bad file raises a clear InputError when opened.
    """

    sources: list
    names: list[str]
    labels: list[str | None]
    groups: list[str | None]

    def __post_init__(self):
        n = len(self.sources)
        for field, values in (("names", self.names), ("labels", self.labels), ("groups", self.groups)):
            if len(values) != n:
                raise InputError(f"a collection of {n} images needs {n} {field}, got {len(values)}")

    def __len__(self) -> int:
        return len(self.sources)

    def image(self, index: int) -> Image.Image:
        """The image at ``index``, loaded as RGB."""
        return load_image(self.sources[index])

    @classmethod
    def from_folder(cls, folder, *, recursive: bool = True) -> ImageCollection:
        """Images in ``folder``; those in a subfolder take its name as their class."""
        root = Path(folder)
        paths = list_images(root, recursive=recursive)
        labels = [p.parent.relative_to(root).as_posix() if p.parent != root else None for p in paths]
        names = [p.relative_to(root).as_posix() for p in paths]
        return cls(paths, names, labels, [None] * len(paths))

    @classmethod
    def from_world(cls, world) -> ImageCollection:
        """A demo world (:class:`~texplain_widgets.demo.world.World`): classes and groups known."""
        group_names = world.group_names
        return cls(
            list(world.images),
            [f"{i:04d} {world.captions[i]}" for i in range(len(world))],
            [world.classes[label] for label in world.labels],
            [group_names[group] for group in world.groups],
        )

    @classmethod
    def from_images(
        cls,
        images: Sequence,
        *,
        names: Sequence[str] | None = None,
        labels: Sequence[str | None] | None = None,
        groups: Sequence[str | None] | None = None,
    ) -> ImageCollection:
        """Paths, PIL images or arrays, with optional names, labels and groups."""
        images = list(images)
        if names is None:
            names = [_name(image, i) for i, image in enumerate(images)]
        n = len(images)
        labels = [None if v is None else str(v) for v in labels] if labels is not None else [None] * n
        groups = [None if v is None else str(v) for v in groups] if groups is not None else [None] * n
        return cls(images, [str(name) for name in names], labels, groups)

    @classmethod
    def from_any(cls, source) -> ImageCollection:
        """A collection, a folder, one image file, a demo world or a sequence of images."""
        if isinstance(source, ImageCollection):
            return source
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            if path.is_dir():
                return cls.from_folder(path)
            if path.is_file():
                return cls.from_images([path])
            raise InputError(f"{path}: no such folder or image file")
        if hasattr(source, "images") and hasattr(source, "group_names"):
            return cls.from_world(source)
        if (
            isinstance(source, Image.Image)
            or hasattr(source, "__array_interface__")
            and getattr(source, "ndim", 0) == 3
        ):
            return cls.from_images([source])
        if isinstance(source, Sequence) or hasattr(source, "__iter__"):
            images = list(source)
            if not images:
                raise InputError("no images to browse: the sequence is empty")
            return cls.from_images(images)
        raise InputError(
            "texplain browses a folder, an image file, a demo World or a list of images, "
            f"not {type(source).__name__}"
        )


def _name(image, index: int) -> str:
    if isinstance(image, (str, os.PathLike)):
        return Path(image).name
    return getattr(image, "filename", "") and Path(image.filename).name or f"image {index}"
