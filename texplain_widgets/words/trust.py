"""Is a word evidence about the classifier, or the language model's habit? Lift and intervals.

A word that the translator makes the LM say whatever the features (its *prior*: "photo", "image")
tells nothing about the classifier. :func:`add_trust` compares a word table with a model's
reference word distribution (:mod:`texplain_widgets.model.reference`) and adds:

- ``reference_share``: the share of the reference's sentences that use the word (0 if none);
- ``lift``: ``(share + s0) / (reference_share + s0)``, both shares smoothed alike by the same
  pseudo-share ``s0 = 0.5 / min(n, reference sentences)``: half a sentence of the smaller side
  (Jeffreys' pseudo-count there), the same fraction of the larger side (pseudo-counts
  proportional to each side's sentences). So a word neither side said gets a lift of exactly 1
  whatever the two n's, a word the reference never said a large but finite one (at most
  ``2 min(n, reference sentences) + 1``), and lift > 1 exactly when share > reference_share;
- ``share_low``, ``share_high``: the Wilson 95% interval of the share given ``n``;
- ``above_prior``: the share's Wilson lower bound exceeds the reference share's Wilson upper
  bound: the word is said more than the LM's prior would, beyond sampling noise.

What ``n`` is matters. The sentences of one image are independent draws given its prefix, so
for one image's table ``n`` = its sentences and the interval is exact for that image. Across a
dataset they are not: the sentences of one image share its prefix, a cluster. With m images of s
sentences each, the variance of the pooled share is ``(var_between + E[p(1-p)] / s) / m``, which
lies between ``p(1-p) / (m s)`` (all sentences independent: optimistic) and ``p(1-p) / m`` (one
draw per image). Dataset tables (:meth:`ExplanationSet.words`) and the reference (feature
vectors of a few sentences each, drawn from a set of images) therefore use their number of
distinct images as ``n`` (a 6-image reference set: 6, however many vectors drew from it): a
conservative interval, never an optimistic one.

A reference is comparable with a table only when both were sampled with the same ``top_p``,
``temperature`` and ``max_new_tokens`` (shorter sentences say each word less often: a 4-token
table against a 20-token reference would be "below the prior" everywhere). Given the table's
sampling ``settings``, :func:`add_trust` checks that; when they differ it keeps the columns but
leaves ``reference_share``, ``lift`` and ``above_prior`` empty (NaN / NA) and says why in the
table's ``attrs["reference_note"]`` (:func:`reference_note`); the share's own interval stays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "SMOOTHING",
    "TRUST_COLUMNS",
    "Z95",
    "add_trust",
    "prior_note",
    "reference_note",
    "wilson_interval",
]

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile
SMOOTHING = 0.5  # pseudo-sentences of the smaller side, as the same pseudo-share on both sides
TRUST_COLUMNS = ("reference_share", "lift", "share_low", "share_high", "above_prior")


def wilson_interval(successes, n, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval of a proportion ``successes / n`` (arrays broadcast).

    ``wilson_interval(0, 10)`` is (0, 0.278); ``wilson_interval(5, 10)`` (0.237, 0.763).
    """
    k = np.asarray(successes, dtype="float64")
    n = np.asarray(n, dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(n > 0, k / n, 0.0)
        denominator = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denominator
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low, high = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    empty = n <= 0
    return np.where(empty, 0.0, low), np.where(empty, 1.0, high)


def add_trust(
    table: pd.DataFrame, n, reference, *, interval_n=None, settings: dict | None = None
) -> pd.DataFrame:
    """``table`` (columns word, share) with the :data:`TRUST_COLUMNS` against ``reference``.

    ``n``: the sentences behind each share (a number or one per row; the lift's smoothing uses
    it); ``interval_n``: the n of the Wilson interval, ``n`` by default (a dataset passes its
    images: see the module's docstring). ``reference``: a
    :class:`~texplain_widgets.model.reference.Reference` (its ``words``, ``n_sentences`` for the
    smoothing, ``interval_n``, its distinct images, for its interval). ``settings``: how the
    table's sentences were sampled; a reference of other settings leaves the comparison empty
    (see the module's docstring). Rows keep their order.
    """
    out = table.copy()
    shares = reference.words.set_index("word")["share"]
    ref_share = out["word"].map(shares).fillna(0.0).astype("float64").to_numpy()
    share = out["share"].astype("float64").to_numpy()
    n = np.broadcast_to(np.asarray(n, dtype="float64"), share.shape)
    interval_n = (
        n if interval_n is None else np.broadcast_to(np.asarray(interval_n, dtype="float64"), share.shape)
    )
    ref_n, ref_interval_n = float(reference.n_sentences), float(reference.interval_n)
    pseudo_share = SMOOTHING / np.maximum(np.minimum(n, ref_n), 1.0)
    low, high = wilson_interval(share * interval_n, interval_n)
    _, ref_high = wilson_interval(ref_share * ref_interval_n, ref_interval_n)
    out["reference_share"] = ref_share
    out["lift"] = (share + pseudo_share) / (ref_share + pseudo_share)
    out["share_low"] = low
    out["share_high"] = high
    out["above_prior"] = low > ref_high
    note = None if settings is None else reference_note(reference, settings)
    if note is not None:
        out["reference_share"] = out["lift"] = np.nan
        out["above_prior"] = pd.array([pd.NA] * len(out), dtype="boolean")
        out.attrs["reference_note"] = note
    return out


def reference_note(reference, settings: dict) -> str | None:
    """Why ``reference`` is not comparable with sentences sampled with ``settings``; None when it
    is (or when either does not record a setting)."""
    differences = reference.mismatch(settings)
    if not differences:
        return None
    return (
        f"the reference was sampled with other settings ({'; '.join(differences)}, the reference's "
        "first): not comparable, so lift, reference_share and above_prior are left empty "
        "(a reference sampled with these settings gives them)"
    )


def prior_note(record: dict) -> str:
    """The tooltip line of a word record with trust fields: why it is greyed, or its lift."""
    if "lift" not in record or record.get("lift") is None or record["lift"] != record["lift"]:
        return ""
    reference, share, lift = record["reference_share"], record["share"], record["lift"]
    if record.get("above_prior", True):
        return f"above the language prior: {reference:.0%} of reference sentences vs {share:.0%} here (lift {lift:.1f})"
    return f"not above the language prior: {reference:.0%} of reference sentences vs {share:.0%} here (lift {lift:.1f})"
