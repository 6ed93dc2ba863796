"""What a run explains: a folder, a CSV, an ImageCollection or the demo, as numbered items.

Sources are listed and checked before any model loads: an empty source, a CSV without an
``image`` column, naming files that do not exist or naming one image twice with other labels
(or groups) is an InputError at once. Files that exist but do not decode are not checked here:
the run records them as failures. :func:`label_problem` says when labels are not the model's
class names (accuracy would count those images wrong).
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


def _read_csv(path: Path, required: tuple[str, ...]) -> tuple[list[dict], list[int]]:
    """The rows (stripped, empty cells None) and the line each ends on."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows, lines = [], []
            for row in reader:
                rows.append(row)
                lines.append(reader.line_num)
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
    return [{k.strip(): (v or "").strip() or None for k, v in row.items() if k} for row in rows], lines


def _csv_collection(path: Path) -> ImageCollection:
    rows, lines = _read_csv(path, ("image",))
    paths = [_resolve(path.parent, row["image"], path, n) for n, row in zip(lines, rows)]
    _check_exist(paths, path)
    _check_one_label_each(paths, rows, lines, path)
    return ImageCollection(
        paths,
        [row["image"] for row in rows],
        [row.get("label") for row in rows],
        [row.get("group") for row in rows],
    )


def _relabel(collection: ImageCollection, folder: Path, labels: Path) -> ImageCollection:
    rows, lines = _read_csv(labels, ("image", "label"))
    index = {Path(p).resolve(): i for i, p in enumerate(collection.sources)}
    wanted = [_resolve(folder, row["image"], labels, n) for n, row in zip(lines, rows)]
    missing = [str(p) for p in wanted if p not in index]
    if missing:
        raise InputError(
            f"{labels} names {len(missing)} image(s) not in {folder}: {', '.join(missing[:5])}"
            + (" ..." if len(missing) > 5 else "")
        )
    _check_one_label_each(wanted, rows, lines, labels)
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


def _check_one_label_each(paths: list[Path], rows: list[dict], lines: list[int], csv_path: Path) -> None:
    """Refuse a CSV naming one image twice with other labels or groups (the same twice is fine)."""
    first: dict[Path, tuple[int, dict]] = {}
    clashes = []
    for path, row, line in zip(paths, rows, lines):
        if path not in first:
            first[path] = (line, row)
            continue
        earlier_line, earlier = first[path]
        differ = [key for key in ("label", "group") if earlier.get(key) != row.get(key)]
        if differ:
            values = "; ".join(f"{key} {earlier.get(key)} vs {row.get(key)}" for key in differ)
            clashes.append(f"{earlier['image']} on lines {earlier_line} and {line} ({values})")
    if clashes:
        raise InputError(
            f"{csv_path} names {len(clashes)} image(s) twice with different labels or groups: "
            + ", ".join(clashes[:5])
            + (" ..." if len(clashes) > 5 else "")
            + "; keep one line per image"
        )


def label_problem(labels, class_names: list[str] | None, num_classes: int) -> str | None:
    """What is wrong when ``labels`` (None: unlabelled) are not all the model's class names (a
    model without names predicts "0", "1", ...): their images count as wrong; None when all are."""
    names = list(class_names) if class_names else [str(i) for i in range(num_classes)]
    given = sorted({label for label in labels if label is not None})
    unknown = [label for label in given if label not in set(names)]
    if not unknown:
        return None
    shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
    known = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "")
    if len(unknown) == len(given):
        what = f"none of the {len(given)} labels is one of the model's class names, so accuracy is 0"
    else:
        what = (
            f"{len(unknown)} of the {len(given)} labels are not among the model's class names, "
            "so accuracy counts their images wrong"
        )
    return f"{what}: {shown} (class names: {known}); give labels spelled as the class names"


def _digest(items: list[Item]) -> str:
    """A hash of the items' names, paths, labels and groups (and pixels of in-memory images)."""
    digest = hashlib.blake2b(digest_size=8)
    for item in items:
        digest.update(repr((item.name, item.path, item.label, item.group)).encode())
        if item.image is not None:
            digest.update(np.ascontiguousarray(np.asarray(item.image)).tobytes())
    return digest.hexdigest()
