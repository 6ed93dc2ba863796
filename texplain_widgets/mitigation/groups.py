"""Pseudo-groups: each image's label x the chosen words its sentences use, from a stored run.

An image *uses* a word when at least :data:`USE_SHARE` of its sentences contain the word's lemma
(counted from the run's per-image word counts, never the sentences). :func:`word_use` is the one
place that decides it, so another rule can replace it. The groups come from a run over the
images that mitigation trains or selects on, never over the images it is scored on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError

USE_SHARE = 0.25  # an image uses a word when this share of its sentences contain it


def word_use(run, words: Sequence[str], share: float = USE_SHARE) -> pd.DataFrame:
    """Booleans (image id x word): the image's sentences contain the word's lemma in >= ``share``."""
    if not 0 < share <= 1:
        raise InputError(f"share must be in (0, 1], got {share}")
    words = _words(words)
    images = run.images.set_index("id")
    use = pd.DataFrame(False, index=images.index, columns=words)
    for word in words:
        hits = run.images_with(word)
        used = hits.loc[hits["share"] >= share, "id"]
        use.loc[use.index.intersection(used), word] = True
    return use


def pseudo_groups(run, words: Sequence[str], share: float = USE_SHARE) -> pd.Series:
    """Each stored image's pseudo-group "label/words it uses" (e.g. "kite/grass", "kite/(none)"):
    :meth:`ExplanationSet.pseudo_groups`, refusing images without a label."""
    images = run.images
    if images["label"].isna().any():
        missing = int(images["label"].isna().sum())
        raise InputError(
            f"{run.directory}: {missing} image(s) have no label; pseudo-groups are label x word, "
            "so run over a source with labels (a folder of class subfolders or a CSV with a label column)"
        )
    return run.pseudo_groups(_words(words), min_share=share)


def align_groups(groups, keys: Sequence[tuple], what: str) -> np.ndarray:
    """The group name of each image from ``groups`` (a Series or mapping keyed by image id, name
    or path), as an array; InputError naming the images it lacks."""
    if isinstance(groups, pd.Series):
        groups = groups.to_dict()
    if not isinstance(groups, Mapping):
        raise InputError(
            f"groups of the {what} images must be a pandas Series or a mapping (image id, name or "
            f"path -> group), not {type(groups).__name__}"
        )
    lookup = {str(key): value for key, value in groups.items()}
    found, missing = [], []
    for item_keys in keys:
        value = next((lookup[str(k)] for k in item_keys if k is not None and str(k) in lookup), None)
        if value is None or value != value:  # absent or NaN
            missing.append(item_keys[1])
        found.append(None if value is None else str(value))
    if missing:
        raise InputError(
            f"the groups lack {len(missing)} of the {len(keys)} {what} images, e.g. "
            f"{', '.join(map(repr, missing[:3]))}; key them by image id, name or path, one per image"
        )
    names = np.asarray(found, dtype=object)
    if len(set(names)) < 2:
        raise InputError(
            f"all {what} images fall in one group ({names[0]!r}): reweighting needs at least two; "
            "choose words that some images use and others do not"
        )
    return names


def _words(words) -> list[str]:
    if isinstance(words, str):
        words = words.split(",")
    words = [w.strip() for w in words if w and w.strip()]
    if not words:
        raise InputError("no words given: name at least one word, e.g. words=['grass']")
    return list(dict.fromkeys(words))
