"""What a run explains: a folder, a CSV, an ImageCollection or the demo, as numbered items.

Sources are listed and checked before any model loads: an empty source, a CSV without an
``image`` column or naming files that do not exist is an InputError at once. Files that
exist but do not decode are not checked here: the run records them as failures.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.collection import ImageCollection
from ..errors import InputError

DEMO = "demo"
DEMO_PER_GROUP = 100  # the demo source: the first 100 test images of each group (400 of 1000)


@dataclass(frozen=True)
class Item:
    """One image of a source; ``image`` holds it when it is not a file (an array, a PIL image)."""

    id: int
    name: str
    path: str | None
    label: str | None
    group: str | None
    image: object = None


@dataclass
class Source:
    """The items of a source and a description (kind, location, count, digest) for the manifest."""

    items: list[Item]
    description: dict

    def __len__(self) -> int:
        return len(self.items)


def resolve_source(source, labels=None) -> Source:
    """A :class:`Source` from ``demo``, a folder (subfolders name the classes), a CSV of
    ``image[,label][,group]``, an ImageCollection, a demo World or a list of images.

    ``labels``: a CSV of ``image,label[,group]`` for a folder's images (paths relative to the
    folder), overriding the subfolder names.
    """
    if isinstance(source, str) and source == DEMO:
        kind, location = DEMO, f"the demo's test split, {DEMO_PER_GROUP} images per group"
        collection = ImageCollection.from_world(_demo_test())
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source).resolve()
        if path.is_dir():
            kind, location, collection = "folder", str(path), _folder(path)
        elif path.suffix.lower() == ".csv" and path.is_file():
            kind, location, collection = "csv", str(path), _csv_collection(path)
        elif path.is_file():
            kind, location, collection = "files", str(path), ImageCollection.from_images([path])
        else:
            raise InputError(f"{source}: no such folder, CSV or image file")
    else:
        try:
            collection = ImageCollection.from_any(source)
        except InputError as err:
            raise InputError(f"cannot explain this source: {err}") from err
        kind, location = "collection", f"{type(source).__name__} of {len(collection)} images"
    if labels is not None:
        if kind != "folder":
            raise InputError("--labels (labels=) goes with a folder source; a CSV source has its own labels")
        collection = _relabel(collection, Path(source).resolve(), Path(labels))
    if len(collection) == 0:
        raise InputError(f"{location}: no images to explain")
    items = [
        Item(
            i,
            collection.names[i],
            str(Path(image).resolve()) if isinstance(image, (str, os.PathLike)) else None,
            collection.labels[i],
            collection.groups[i],
            None if isinstance(image, (str, os.PathLike)) else image,
        )
        for i, image in enumerate(collection.sources)
    ]
    description = {"kind": kind, "location": location, "n_images": len(items), "digest": _digest(items)}
    if labels is not None:
        description["labels"] = str(Path(labels).resolve())
    return Source(items, description)


def _demo_test():
    """The first :data:`DEMO_PER_GROUP` images of each group of the demo's test split, in order."""
    from ..demo import split

    world = split("test")
    keep = [np.flatnonzero(world.groups == group)[:DEMO_PER_GROUP] for group in np.unique(world.groups)]
    return world.subset(np.sort(np.concatenate(keep)))


def _folder(path: Path) -> ImageCollection:
    try:
        return ImageCollection.from_folder(path)
    except InputError as err:
        raise InputError(f"nothing to explain: {err}") from err


def _read_csv(path: Path, required: tuple[str, ...]) -> list[dict]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            columns = [c.strip() for c in reader.fieldnames or []]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise InputError(f"{path}: cannot read the CSV ({err})") from err
    missing = [c for c in required if c not in columns]
    if missing:
        raise InputError(
            f"{path}: needs a header row with the column(s) {', '.join(missing)} "
            f"(image[,label][,group]); found {', '.join(columns) or 'no header'}"
        )
    if not rows:
        raise InputError(f"{path}: no images listed")
    return [{k.strip(): (v or "").strip() or None for k, v in row.items() if k} for row in rows]


def _csv_collection(path: Path) -> ImageCollection:
    rows = _read_csv(path, ("image",))
    paths = [_resolve(path.parent, row["image"], path, n) for n, row in enumerate(rows, start=2)]
    _check_exist(paths, path)
    return ImageCollection(
        paths,
        [row["image"] for row in rows],
        [row.get("label") for row in rows],
        [row.get("group") for row in rows],
    )


def _relabel(collection: ImageCollection, folder: Path, labels: Path) -> ImageCollection:
    rows = _read_csv(labels, ("image", "label"))
    index = {Path(p).resolve(): i for i, p in enumerate(collection.sources)}
    wanted = [_resolve(folder, row["image"], labels, n) for n, row in enumerate(rows, start=2)]
    missing = [str(p) for p in wanted if p not in index]
    if missing:
        raise InputError(
            f"{labels} names {len(missing)} image(s) not in {folder}: {', '.join(missing[:5])}"
            + (" ..." if len(missing) > 5 else "")
        )
    new_labels, groups = list(collection.labels), list(collection.groups)
    for path, row in zip(wanted, rows):
        new_labels[index[path]] = row["label"]
        groups[index[path]] = row.get("group")
    return ImageCollection(collection.sources, collection.names, new_labels, groups)


def _resolve(root: Path, name: str | None, csv_path: Path, line: int) -> Path:
    if not name:
        raise InputError(f"{csv_path}, line {line}: the image column is empty")
    path = Path(name)
    return (path if path.is_absolute() else root / path).resolve()


def _check_exist(paths: list[Path], csv_path: Path) -> None:
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise InputError(
            f"{csv_path} names {len(missing)} missing file(s): {', '.join(missing[:5])}"
            + (" ..." if len(missing) > 5 else "")
        )


def _digest(items: list[Item]) -> str:
    """A hash of the items' names, paths, labels and groups (and pixels of in-memory images)."""
    digest = hashlib.blake2b(digest_size=8)
    for item in items:
        digest.update(repr((item.name, item.path, item.label, item.group)).encode())
        if item.image is not None:
            digest.update(np.ascontiguousarray(np.asarray(item.image)).tobytes())
    return digest.hexdigest()
