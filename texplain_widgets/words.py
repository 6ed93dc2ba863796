"""Turn sampled sentences into word statistics.

TExplain explains one image by the words its sampled sentences use most. Words are case
folded, stripped of punctuation, filtered against English stop words (the `stop-words`
package) and lemmatised with `simplemma`, so "Birds", "bird" and "birds." count as one word.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

import pandas as pd
import simplemma
from stop_words import get_stop_words

__all__ = ["default_stop_words", "sentence_words", "word_table"]

# A run of letters, optionally joined to more letters by one apostrophe or hyphen ("don't", "x-ray").
_TOKEN = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
_NORMALISE = str.maketrans({"\u2019": "'", "\u2018": "'", "\u2010": "-", "\u2011": "-"})


@lru_cache(maxsize=1)
def default_stop_words() -> frozenset[str]:
    """The English stop words of the `stop-words` package, case folded.

    Extend it for a call with ``default_stop_words() | {"image", "picture"}``.
    """
    return frozenset(w.casefold().translate(_NORMALISE) for w in get_stop_words("en"))


@lru_cache(maxsize=256)
def _stop_set(words: frozenset[str] | None) -> frozenset[str]:
    if words is None:
        return default_stop_words()
    return frozenset(w.casefold().translate(_NORMALISE) for w in words)


def _as_stop_set(stop_words: Iterable[str] | None) -> frozenset[str]:
    return _stop_set(None if stop_words is None else frozenset(stop_words))


@lru_cache(maxsize=200_000)
def _lemma(token: str) -> str:
    return simplemma.lemmatize(token, lang="en").casefold()


def _words(sentence: str, stop: frozenset[str]) -> list[str]:
    out = []
    for token in _TOKEN.findall(sentence.casefold().translate(_NORMALISE)):
        if token in stop:
            continue
        lemma = _lemma(token)
        if len(lemma) > 1 and lemma not in stop:
            out.append(lemma)
    return out


def sentence_words(sentence: str, *, stop_words: Iterable[str] | None = None) -> list[str]:
    """The lemmas of ``sentence`` in order, duplicates kept.

    Case folded, split on anything but letters (inner apostrophes and hyphens are kept),
    stop words removed before and after lemmatising ("is" -> "be"), one-letter words dropped.
    ``stop_words`` replaces the default English list (see :func:`default_stop_words`).
    """
    return _words(sentence, _as_stop_set(stop_words))


def word_table(
    sentences: Sequence[str],
    *,
    stop_words: Iterable[str] | None = None,
    background: Sequence[pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Count the words of ``sentences``, most frequent first.

    Columns: ``word`` (the lemma), ``count`` (occurrences over all sentences) and ``share``
    (fraction of sentences that contain the word at least once). Rows are sorted by share,
    then count (both descending), then word, and the index is reset.

    ``background`` down-weights words every image produces, so distinctive words stand out.
    Pass the word tables (from this function) of the images being compared; this image's own
    table may be among them. A ``score`` column is added,
    ``score = share * idf`` with ``idf = log((1 + n_docs) / (1 + df)) + 1`` (scikit-learn's
    smooth idf), where ``n_docs`` is the number of background tables and ``df`` the number of
    them that contain the word, and rows are sorted by score first.
    """
    stop = _as_stop_set(stop_words)
    counts: Counter[str] = Counter()
    docs: Counter[str] = Counter()
    for sentence in sentences:
        words = _words(sentence, stop)
        counts.update(words)
        docs.update(set(words))

    n = len(sentences)
    words = sorted(counts)
    table = pd.DataFrame(
        {
            "word": pd.Series(words, dtype=object),
            "count": pd.Series([counts[w] for w in words], dtype="int64"),
            "share": pd.Series([docs[w] / n for w in words], dtype="float64"),
        }
    )
    keys, ascending = ["share", "count", "word"], [False, False, True]
    if background is not None:
        df: Counter[str] = Counter()
        for other in background:
            df.update(set(other["word"]))
        n_docs = len(background)
        idf = [math.log((1 + n_docs) / (1 + df[w])) + 1 for w in words]
        table["score"] = table["share"] * pd.Series(idf, dtype="float64")
        keys, ascending = ["score", *keys], [False, *ascending]
    return table.sort_values(keys, ascending=ascending, kind="mergesort").reset_index(drop=True)
