"""Error words: within a true label (or a predicted class), the words its misclassified images use.

The unit is the image, never the sentence. An image *uses* a word when at least ``min_share``
of its sentences do. The default, :data:`MIN_SHARE` = 0.25, asks for a word the explanation
repeats (16 of 64 sentences), not a word a sampled sentence said once: at 64 sentences a
word the LM says for an image with probability 0.25 is counted with probability 0.5, one
it says with probability 0.05 in under 1 in 10,000 images. A lower share counts more
incidental words; a higher one keeps only a few dominant ones.

For each group and word: how many wrong and right images use it, their shares, the
difference with Newcombe's 95% interval, Fisher's one-sided p-value and the Benjamini-Hochberg
q-value over every (group, word) tested in the call (:mod:`.contrast`). A word is tested when
at least ``min_images`` of the group's images use it. Rows rank by the interval's lower
bound, so a word seen in 2 of 3 wrong images does not outrank one seen in 80 of 100.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ..words import sentence_words
from .contrast import benjamini_hochberg, fisher_greater, share_difference

MIN_SHARE = 0.25
MIN_IMAGES = 5
CLASS_TOP = 5  # the top words of a class, by prediction and by label, that mark a class word
CLASS_Z = 3.0  # ... when both rankings' z reaches this (about p < 0.001 each)
PREDICTED = "coalesce(class_name, CAST(predicted AS VARCHAR))"
KEYS = {"label": "label", "predicted": PREDICTED}
COLUMNS = [
    "group", "word", "n_wrong_with", "n_wrong", "n_right_with", "n_right", "share_wrong", "share_right",
    "difference", "difference_low", "difference_high", "p_value", "q_value", "class_word",
]  # fmt: skip


def check_use(min_share: float, min_images: int) -> None:
    """Refuse a share outside (0, 1] or a minimum count below 1, saying how to mend it."""
    if not 0 < min_share <= 1:
        raise InputError(
            f"min_share is the share of an image's sentences that use a word: in (0, 1], not {min_share}"
        )
    if int(min_images) != min_images or min_images < 1:
        raise InputError(f"min_images must be a whole number of images, 1 or more, not {min_images}")


def labelled(run, counts: pd.DataFrame | None = None) -> None:
    """Refuse a run without images or labels: wrong and right need a true label (``counts``:
    :func:`image_counts`, if read; else the run's image table)."""
    if not len(run):
        raise InputError(f"{run.directory} holds no explained images yet")
    if (run.images["label"] if counts is None else counts["label"]).isna().all():
        raise InputError(
            f"{run.directory}: the run's images have no labels, so no errors (run it with labels: "
            "a folder of class subfolders, a CSV with a label column, or --labels CSV)"
        )


def labelled_images(run) -> pd.DataFrame:
    """The run's labelled images: id, label, predicted (the class name, else its index), n_sentences."""
    images = run.images[run.images["label"].notna()]
    predicted = images["class_name"].where(images["class_name"].notna(), images["predicted"].astype(str))
    return pd.DataFrame(
        {
            "id": images["id"],
            "label": images["label"],
            "predicted": predicted,
            "n_sentences": images["n_sentences"],
        }
    )


def image_counts(run) -> pd.DataFrame:
    """Per (label, class name, predicted class) the run's images (``n``) and their sentences: one
    small DuckDB scan of the image table, so that a freshly opened run needs no pandas copy of it."""
    return run._query(
        f"""SELECT label, class_name, {PREDICTED} AS predicted, count(*) AS n,
               sum(n_sentences)::BIGINT AS n_sentences FROM images GROUP BY ALL"""
    )


def error_words(
    run,
    by: str = "label",
    *,
    top: int | None = 10,
    min_share: float = MIN_SHARE,
    min_images: int = MIN_IMAGES,
    hide_class_words: bool = False,
) -> pd.DataFrame:
    """The error-word table of ``run`` (see the module's docstring and :data:`COLUMNS`)."""
    if by not in KEYS:
        raise InputError(f"by must be 'label' (errors within each true label) or 'predicted', not {by!r}")
    check_use(min_share, min_images)
    images = image_counts(run)
    labelled(run, images)
    use = word_use(run, min_share)
    if "_class_words" not in run.__dict__:  # from the same scans, for the run's later calls too
        names = set(images["label"].dropna()) | set(images["class_name"].dropna())
        run.__dict__["_class_words"] = frozenset(class_words(run, use, names))
    use["group"] = use["label"] if by == "label" else use["predicted"]
    use["wrong"] = use["label"] != use["predicted"]
    use["n_wrong_with"] = use["n_use"].where(use["wrong"], 0)
    use["n_right_with"] = use["n_use"].where(~use["wrong"], 0)
    use["wrong_sentences_with"] = use["sentences_with"].where(use["wrong"], 0)
    columns = ["n_wrong_with", "n_right_with", "wrong_sentences_with"]
    counts = use.groupby(["group", "word"], as_index=False, sort=False)[columns].sum()
    counts = counts[counts["n_wrong_with"] + counts["n_right_with"] >= min_images]
    images = images[images["label"].notna()]
    wrong = images["predicted"] != images["label"]
    key = images["label"] if by == "label" else images["predicted"]
    totals = (
        pd.DataFrame(
            {
                "n_wrong": images["n"].where(wrong, 0).groupby(key).sum(),
                "n_right": images["n"].where(~wrong, 0).groupby(key).sum(),
                "wrong_sentences": images["n_sentences"].where(wrong, 0).groupby(key).sum(),
            }
        )
        .rename_axis("group")
        .reset_index()
    )
    table = counts.merge(totals, on="group")
    table = table[(table["n_wrong"] > 0) & (table["n_right"] > 0)].reset_index(drop=True)
    for column in ("n_wrong_with", "n_right_with", "n_wrong", "n_right"):
        table[column] = table[column].astype("int64")
    table["share_wrong"] = table["n_wrong_with"] / table["n_wrong"]
    table["share_right"] = table["n_right_with"] / table["n_right"]
    difference, low, high = share_difference(
        table["n_wrong_with"], table["n_wrong"], table["n_right_with"], table["n_right"]
    )
    table["difference"], table["difference_low"], table["difference_high"] = difference, low, high
    table["p_value"] = fisher_greater(
        table["n_wrong_with"], table["n_wrong"], table["n_right_with"], table["n_right"]
    )
    table["q_value"] = benjamini_hochberg(table["p_value"])
    table["class_word"] = table["word"].isin(run._class_words)
    columns = list(COLUMNS)
    if run.reference is not None:
        table = _with_lift(table, run.reference)
        columns += ["sentence_share", "reference_share", "lift", "above_prior"]
    if hide_class_words:
        table = table[~table["class_word"]]
    table = table.sort_values(
        ["group", "difference_low", "p_value", "word"], ascending=[True, False, True, True], kind="stable"
    )
    if top is not None:
        table = table.groupby("group", sort=False).head(top)
    return table[columns].reset_index(drop=True)


def word_use(run, min_share: float) -> pd.DataFrame:
    """One scan of the stored word counts: per (label, predicted class, word) of the labelled
    images, the images using the word (``n_use``), its sentences and its occurrences."""
    return run._query(
        f"""SELECT i.label, {PREDICTED} AS predicted, w.word,
               count(*) FILTER (WHERE w.sentences_with >= $share * i.n_sentences) AS n_use,
               sum(w.sentences_with)::BIGINT AS sentences_with, sum(w.count)::BIGINT AS count
        FROM words w JOIN images i ON w.image_id = i.id WHERE i.label IS NOT NULL GROUP BY 1, 2, 3""",
        {"share": float(min_share)},
    )


def class_words(run, use: pd.DataFrame | None = None, names: set[str] | None = None) -> set[str]:
    """Words that name a class, or that the run uses for one class whatever the classifier gets right.

    A lemma of a word of a class name (labels and predicted class names), or a word among the
    :data:`CLASS_TOP` words of one class both by prediction and by true label, with z at least
    :data:`CLASS_Z` in both (the log-odds ranking of :meth:`ExplanationSet.words`, over the
    labelled images). A misclassified image is described in its predicted class's words by
    construction; these are them. The predicted class's top words alone would not do: a
    classifier that took a shortcut has the shortcut among them (the biased demo's predicted
    kites: grass, lawn, field), while a true label's words, on a set where the shortcut does not
    follow the label, leave it out. On a set where it follows the label as in training, the
    shortcut's words are marked too: look before hiding them. ``use``: :func:`word_use`'s table;
    ``names``: the labels and class names, if known.
    """
    from ..words.ranking import rank_counts

    if names is None:
        images = run.images
        names = set(images["label"].dropna().unique()) | set(images["class_name"].dropna().unique())
    found = {word for name in names for word in sentence_words(str(name).replace("_", " "))}
    use = word_use(run, MIN_SHARE) if use is None else use
    strong = []
    for by in ("predicted", "label"):
        counts = use.groupby([by, "word"], as_index=False)["count"].sum().rename(columns={by: "group"})
        ranked = rank_counts(counts.assign(share=0.0), top=CLASS_TOP)
        kept = ranked[ranked["z"] >= CLASS_Z]
        strong.append(set(zip(kept["group"], kept["word"])))
    return found | {word for _, word in strong[0] & strong[1]}


def _with_lift(table: pd.DataFrame, reference) -> pd.DataFrame:
    """Lift against the run's reference of the word's share of the wrong images' sentences
    (:func:`~texplain_widgets.words.trust.add_trust`; its interval's n, the wrong images)."""
    from ..words.trust import add_trust

    sentences = table["wrong_sentences"].astype("float64").to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(sentences > 0, table["wrong_sentences_with"].fillna(0) / sentences, 0.0)
    trusted = add_trust(
        pd.DataFrame({"word": table["word"], "share": share}),
        sentences,
        reference,
        interval_n=table["n_wrong"].to_numpy(),
    )
    out = table.copy()
    out["sentence_share"] = share
    for column in ("reference_share", "lift", "above_prior"):
        out[column] = trusted[column].to_numpy()
    return out
