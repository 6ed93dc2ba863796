"""Dataset-level analysis: which words go with which class or group, the paper's use of TExplain.

Explain many images, then contrast the words of each group (a predicted class, a true group,
...) with those of all other images by the log-odds ratio with an informative Dirichlet prior
(Monroe, Colaresi & Quinn, 2008): the prior is the word's frequency over all images, scaled to
``prior_strength`` pseudo-counts, and the z-score divides the log-odds by its standard error,
so frequent words need real differences and rare words are not over-ranked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .lemmas import sentence_words


def word_counts(explanations: Sequence, groups: Sequence) -> pd.DataFrame:
    """Per group and word: count, number of sentences with the word, and the group's sentences."""
    rows = []
    for explanation, group in zip(explanations, groups, strict=True):
        table = explanation.words
        rows.append(
            pd.DataFrame(
                {
                    "group": group,
                    "word": table["word"],
                    "count": table["count"],
                    "sentences_with": (table["share"] * len(explanation.sentences)).round().astype(int),
                }
            )
        )
    counts = pd.concat(rows).groupby(["group", "word"], as_index=False)[["count", "sentences_with"]].sum()
    totals = (
        pd.Series([len(e.sentences) for e in explanations], index=pd.Index(list(groups), name="group"))
        .groupby(level=0)
        .sum()
    )
    counts["share"] = counts["sentences_with"] / counts["group"].map(totals)
    return counts


def rank_words(
    explanations: Sequence, groups: Sequence, *, prior_strength: float = 1000.0, top: int | None = 10
) -> pd.DataFrame:
    """Words most associated with each group against all other groups.

    Returns group, word, count, share (of the group's sentences with the word), log_odds and
    z, sorted by z within each group (``top`` rows per group, all when None).
    """
    return rank_counts(word_counts(explanations, groups), prior_strength=prior_strength, top=top)


def rank_counts(
    counts: pd.DataFrame, *, prior_strength: float = 1000.0, top: int | None = 10
) -> pd.DataFrame:
    """:func:`rank_words` from word counts: a frame of group, word, count and share (as
    :func:`word_counts` gives, or a stored run aggregates)."""
    table = counts.pivot_table(index="word", columns="group", values="count", fill_value=0)
    totals = table.sum()
    overall = table.sum(axis=1)
    prior = prior_strength * overall / overall.sum()
    frames = []
    for group in table.columns:
        inside, outside = table[group], overall - table[group]
        n_in, n_out = totals[group], totals.sum() - totals[group]
        log_odds = _log_odds(inside, n_in, prior, prior_strength) - _log_odds(
            outside, n_out, prior, prior_strength
        )
        z = log_odds / np.sqrt(1 / (inside + prior) + 1 / (outside + prior))
        frames.append(
            pd.DataFrame(
                {
                    "group": group,
                    "word": table.index.to_numpy(),
                    "log_odds": log_odds.to_numpy(),
                    "z": z.to_numpy(),
                }
            )
        )
    ranked = pd.concat(frames).merge(counts, on=["group", "word"], how="inner")
    ranked = ranked.sort_values(["group", "z"], ascending=[True, False], kind="stable")
    if top is not None:
        ranked = ranked.groupby("group", sort=False).head(top)
    columns = ["group", "word", "count", "share", "log_odds", "z"]
    return ranked[columns].reset_index(drop=True)


def _log_odds(counts, total, prior, prior_strength):
    return np.log((counts + prior) / (total + prior_strength - counts - prior))


def naming_share(explanation, words: Iterable[str]) -> float:
    """Share of an explanation's sentences that use any of ``words`` (lemmas)."""
    wanted = set(words)
    sentences = explanation.sentences
    if not sentences:
        return 0.0
    return sum(bool(wanted.intersection(sentence_words(s))) for s in sentences) / len(sentences)


def naming_shares(
    explanations: Sequence, groups: Sequence, vocabularies: Mapping[str, Iterable[str]]
) -> pd.DataFrame:
    """Per group, the mean share of sentences naming each vocabulary (columns = its keys)."""
    rows = [
        {"group": group, **{name: naming_share(e, words) for name, words in vocabularies.items()}}
        for e, group in zip(explanations, groups, strict=True)
    ]
    return pd.DataFrame(rows).groupby("group").mean()


def compare_models(results: Mapping[str, Sequence], groups: Sequence, *, top: int = 5) -> pd.DataFrame:
    """Top words per group for several models side by side: one row per (group, rank)."""
    frames = []
    for name, explanations in results.items():
        ranked = rank_words(explanations, groups, top=top)
        ranked["rank"] = ranked.groupby("group").cumcount() + 1
        frames.append(ranked.set_index(["group", "rank"])[["word", "share", "z"]].add_prefix(f"{name}:"))
    return pd.concat(frames, axis=1)
