"""Word slices: the images that use a word (or two), and how much worse the classifier is there.

A slice is the set of a true label's images that use every one of its words (an image uses a
word when at least ``min_share`` of its sentences do, as in :mod:`.error_words`). Per slice and
label: n, the accuracy inside and outside the slice with Wilson 95% intervals, the gap
(accuracy outside minus inside: positive where the classifier is worse in the slice) with
Newcombe's interval, Fisher's one-sided p-value that errors are more frequent inside and the
Benjamini-Hochberg q-value over the slices tested (:mod:`.contrast`).

:func:`search` is a two-level, SliceLine-style search over word presence (Sagadeeva & Boehm,
SIGMOD 2021): level 1 the candidate words, level 2 their pairs; like SliceLine's support
pruning, a pair is formed only inside the images that use both words (the self-join of the
word-use table), and a slice below ``min_images`` images is dropped at either level, which
is safe because a pair never holds more images than either of its words. A pair is kept
only when its gap's lower bound is above zero and above both of its words' alone (it says
more than either);
the q-values count every slice tested, kept or not. Rows rank by the gap's lower bound, so
"balloons with grass" and a pair of words that only together mark the errors are rows of one
table, the surest large gaps first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ..words.trust import wilson_interval
from .contrast import benjamini_hochberg, fisher_greater, share_difference
from .error_words import PREDICTED, check_use, labelled, labelled_images

COLUMNS = [
    "label", "slice", "n_words", "n", "correct", "accuracy", "accuracy_low", "accuracy_high",
    "n_outside", "accuracy_outside", "outside_low", "outside_high", "gap", "gap_low", "gap_high",
    "p_value", "q_value",
]  # fmt: skip
JOIN = " + "  # between the words of a two-word slice's name


def one_slice(run, words: list[str], *, min_share: float) -> pd.DataFrame:
    """The slice of the images using all ``words``, one row per label (n may be 0)."""
    check_use(min_share, 1)
    labelled(run)
    if not words:
        raise InputError("name at least one word of the slice, e.g. runs.slice('grass')")
    counts = run._query(
        f"""WITH img AS (SELECT id, label, ({PREDICTED} = label) AS correct, n_sentences
                FROM images WHERE label IS NOT NULL),
            inside AS (SELECT w.image_id FROM words w JOIN img i ON w.image_id = i.id
                WHERE list_contains($words, w.word) AND w.sentences_with >= $share * i.n_sentences
                GROUP BY 1 HAVING count(DISTINCT w.word) = $k)
        SELECT i.label, count(*) AS n, count(*) FILTER (WHERE i.correct) AS correct
        FROM inside s JOIN img i ON s.image_id = i.id GROUP BY 1""",
        {"words": list(words), "share": float(min_share), "k": len(set(words))},
    )
    totals = _label_totals(run)
    counts = totals[["label"]].merge(counts, on="label", how="left").fillna({"n": 0, "correct": 0})
    counts["slice"], counts["n_words"] = JOIN.join(dict.fromkeys(words)), len(set(words))
    return _with_statistics(counts, totals).sort_values("label", ignore_index=True)


def slice_of(run, members: pd.DataFrame, words: list[str]) -> pd.DataFrame:
    """:func:`one_slice`'s table from the slice's images when they are known already
    (``members``: label and correct, one row per image using every word), without a query."""
    counts = members.groupby("label").agg(n=("correct", "size"), correct=("correct", "sum")).reset_index()
    totals = _label_totals(run)
    counts = totals[["label"]].merge(counts, on="label", how="left").fillna({"n": 0, "correct": 0})
    counts["slice"], counts["n_words"] = JOIN.join(dict.fromkeys(words)), len(set(words))
    return _with_statistics(counts, totals).sort_values("label", ignore_index=True)


def search(run, words: list[str], *, min_share: float, min_images: int, pairs: bool = True) -> pd.DataFrame:
    """The one- and two-word slices over ``words``, per label, those of ``min_images`` or more."""
    check_use(min_share, min_images)
    labelled(run)
    level2 = f"""UNION ALL SELECT a.image_id, a.word || '{JOIN}' || b.word, 2
                 FROM used a JOIN used b ON a.image_id = b.image_id AND a.word < b.word"""
    counts = run._query(
        f"""WITH img AS (SELECT id, label, ({PREDICTED} = label) AS correct, n_sentences
                FROM images WHERE label IS NOT NULL),
            used AS (SELECT w.image_id, w.word FROM words w JOIN img i ON w.image_id = i.id
                WHERE list_contains($words, w.word) AND w.sentences_with >= $share * i.n_sentences),
            slices AS (SELECT image_id, word AS slice, 1 AS n_words FROM used {level2 if pairs else ""})
        SELECT i.label, s.slice, any_value(s.n_words) AS n_words, count(*) AS n,
               count(*) FILTER (WHERE i.correct) AS correct
        FROM slices s JOIN img i ON s.image_id = i.id GROUP BY 1, 2 HAVING count(*) >= $min_images""",
        {"words": sorted(set(words)), "share": float(min_share), "min_images": int(min_images)},
    )
    table = _with_statistics(counts, _label_totals(run))
    if pairs:
        table = _surer_pairs(table)
    table = table.sort_values(
        ["gap_low", "p_value", "label", "slice"], ascending=[False, True, True, True], kind="stable"
    )
    return table.reset_index(drop=True)


def _surer_pairs(table: pd.DataFrame) -> pd.DataFrame:
    """Keep a two-word slice only when its gap's lower bound is above zero and above both of its
    words' alone: it then says more than either word (a pair as bad as its worse word only
    repeats it)."""
    single = table[table["n_words"] == 1].set_index(["label", "slice"])["gap_low"]
    pair = table["n_words"] == 2
    words = table.loc[pair, "slice"].str.split(JOIN, regex=False)
    best = [
        max(single.get((label, a), -1.0), single.get((label, b), -1.0))
        for label, (a, b) in zip(table.loc[pair, "label"], words)
    ]
    keep = ~pair
    keep[pair] = table.loc[pair, "gap_low"].to_numpy() > np.maximum(np.asarray(best, dtype="float64"), 0.0)
    return table[keep]


def _label_totals(run) -> pd.DataFrame:
    images = labelled_images(run)
    correct = images["predicted"] == images["label"]
    totals = pd.DataFrame(
        {
            "total": correct.groupby(images["label"]).size(),
            "total_correct": correct.groupby(images["label"]).sum(),
        }
    )
    return totals.rename_axis("label").reset_index()


def _with_statistics(counts: pd.DataFrame, totals: pd.DataFrame) -> pd.DataFrame:
    table = counts.merge(totals, on="label")
    for column in ("n", "correct", "total", "total_correct", "n_words"):
        table[column] = table[column].astype("int64")
    table["n_outside"] = table["total"] - table["n"]
    correct_outside = table["total_correct"] - table["correct"]
    table["accuracy"] = table["correct"] / table["n"].where(table["n"] > 0)
    table["accuracy_low"], table["accuracy_high"] = wilson_interval(table["correct"], table["n"])
    table["accuracy_outside"] = correct_outside / table["n_outside"].where(table["n_outside"] > 0)
    table["outside_low"], table["outside_high"] = wilson_interval(correct_outside, table["n_outside"])
    gap, low, high = share_difference(correct_outside, table["n_outside"], table["correct"], table["n"])
    table["gap"] = pd.Series(gap).where((table["n"] > 0) & (table["n_outside"] > 0))
    table["gap_low"], table["gap_high"] = low, high
    table["p_value"] = fisher_greater(
        table["n"] - table["correct"], table["n"], table["n_outside"] - correct_outside, table["n_outside"]
    )
    table["q_value"] = benjamini_hochberg(table["p_value"])
    return table[COLUMNS]
