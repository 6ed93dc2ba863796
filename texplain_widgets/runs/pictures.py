"""The pictures of a run's images by id: their files, or the demo's drawn test images."""

from __future__ import annotations

from functools import lru_cache

from PIL import Image

from ..errors import InputError


class Pictures:
    """``pictures(image_id)`` -> the PIL image a run explained (its file, or for a run of the
    demo's test split, the demo's image drawn again and checked against the run's digest)."""

    def __init__(self, run):
        self.run = run
        self.paths = {
            i: p if isinstance(p, str) else None for i, p in zip(run.images["id"], run.images["path"])
        }
        self.source = run.manifest.get("source", {})

    def __call__(self, image_id: int) -> Image.Image:
        from ..data.images import load_image

        path = self.paths.get(int(image_id))
        if path is not None:
            return load_image(path)
        if self.source.get("kind") == "demo":
            return load_image(demo_pictures(self.source.get("digest"))[int(image_id)])
        raise InputError(
            f"image {image_id} of {self.run.directory} was explained from memory: the run stores no file "
            "to read it again from"
        )


@lru_cache(maxsize=2)
def demo_pictures(digest: str | None) -> dict:
    """The demo's test images by id, as a demo run numbered them."""
    from .sources import resolve_source

    source = resolve_source("demo")
    if digest is not None and source.description["digest"] != digest:
        raise InputError("this demo run was made from other demo images than this version draws")
    return {item.id: item.image for item in source.items}
