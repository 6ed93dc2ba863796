"""Pseudo-groups: each image's group as its label x which of some words it uses, without group labels.

``balloon/grass``, ``balloon/grass+brick``, ``balloon/(none)``: the label, then the words
the image uses (at least ``min_share`` of its sentences, as in :mod:`.error_words`) in the
order given, joined by ``+``, or ``(none)``. Words are letters only, so the names are
unambiguous. The worst pseudo-group stands in for the worst true group; take them from a run
over the data a fix trains or selects on, never from the test set.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .error_words import check_use, labelled

NONE = "(none)"


def pseudo_groups(run, words: list[str], *, min_share: float) -> pd.Series:
    """A Series of pseudo-group names by image id (NaN where the image has no label)."""
    check_use(min_share, 1)
    labelled(run)
    if not words:
        raise InputError("name the words that split the labels, e.g. runs.pseudo_groups(['grass', 'brick'])")
    used = run._query(
        """SELECT w.image_id, w.word FROM words w JOIN images i ON w.image_id = i.id
        WHERE list_contains($words, w.word) AND w.sentences_with >= $share * i.n_sentences""",
        {"words": list(words), "share": float(min_share)},
    )
    order = {word: k for k, word in enumerate(dict.fromkeys(words))}
    by_image = used.groupby("image_id")["word"].agg(lambda w: "+".join(sorted(set(w), key=order.get)))
    images = run.images.set_index("id")
    found = images.index.to_series().map(by_image).astype(object).fillna(NONE)  # none: a float Series
    groups = images["label"] + "/" + found
    return groups.rename("pseudo_group").rename_axis("id")


def image_groups(ids: pd.Series, groups) -> pd.Series:
    """``groups`` (a Series or mapping by image id) for the images ``ids``, in their order."""
    if not isinstance(groups, (pd.Series, Mapping)):
        raise InputError(
            f"groups must be a pandas Series or a dict by image id (as pseudo_groups returns), "
            f"not {type(groups).__name__}"
        )
    groups = pd.Series(groups) if isinstance(groups, Mapping) else groups
    if len(groups) and not ids.isin(groups.index).any():
        raise InputError(
            f"groups is indexed by image id (as pseudo_groups returns), but none of its "
            f"{len(groups)} keys (e.g. {groups.index[0]!r}) is an id of this run"
        )
    return ids.map(groups)


def write_labels_csv(run, path, groups=None) -> Path:
    """Write ``image,label,group`` (and ``id``) for every stored image: a CSV source or
    ``--labels`` file for a later run, or the groups of a mitigation. ``image`` is the
    image's file path, or its name where the run explained in-memory images."""
    images = run.images
    group = images["group"] if groups is None else image_groups(images["id"], groups)
    image = images["path"].where(images["path"].notna(), images["name"])
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder: give the CSV file's path, e.g. {path / 'labels.csv'}")
    try:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["image", "label", "group", "id"])
            for row in zip(image, images["label"], group, images["id"]):
                writer.writerow(["" if pd.isna(v) else v for v in row])
    except OSError as err:
        raise InputError(f"cannot write {path}: {err}") from err
    return path
