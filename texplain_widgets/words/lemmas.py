"""Turn sampled sentences into word statistics.

TExplain explains one image by the words its sampled sentences use most. Words are case
folded, stripped of punctuation, filtered against English stop words (the `stop-words`
package) and lemmatised with `simplemma`, so "Birds", "bird" and "birds." count as one word.
This module is the one word finder of the package: :func:`tokens` splits, :func:`lemma` names
a token's word, and :func:`word_spans` finds a word's tokens in a sentence (what the Explorer
and the static export mark, and where the word maps take their contexts).
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

__all__ = ["as_lemma", "default_stop_words", "lemma", "sentence_words", "tokens", "word_spans", "word_table"]

# A run of letters, optionally joined to more letters by one apostrophe or hyphen ("don't", "x-ray").
_TOKEN = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
# Curly apostrophes and Unicode hyphens as their ASCII forms: one character for one, so offsets hold.
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
def lemma(token: str) -> str:
    """The lemma of one token, case folded: ``lemma("Bricks") == "brick"`` (simplemma, English).

    Memoised: a dataset run lemmatises each distinct spelling once.
    """
    return simplemma.lemmatize(token.translate(_NORMALISE).casefold(), lang="en").casefold()


def tokens(sentence: str) -> list[tuple[int, int]]:
    """The (start, end) character offsets of the word tokens of ``sentence``, in order.

    A token is a run of letters, joined to more letters by inner apostrophes or hyphens
    ("don't", "x-ray"); digits, underscores and other punctuation separate tokens.
    """
    return [match.span() for match in _TOKEN.finditer(sentence.translate(_NORMALISE))]


@lru_cache(maxsize=200_000)
def _counted(token: str, stop: frozenset[str]) -> str | None:
    """The lemma a normalised ``token`` counts as, or None (a stop word, a one-letter lemma)."""
    folded = token.casefold()
    if folded in stop:
        return None
    found = lemma(folded)
    return found if len(found) > 1 and found not in stop else None


def _words(sentence: str, stop: frozenset[str]) -> list[str]:
    counted = [_counted(token, stop) for token in _TOKEN.findall(sentence.translate(_NORMALISE))]
    return [word for word in counted if word is not None]


def sentence_words(sentence: str, *, stop_words: Iterable[str] | None = None) -> list[str]:
    """The lemmas of ``sentence`` in order, duplicates kept.

    Case folded, split on anything but letters (inner apostrophes and hyphens are kept),
    stop words removed before and after lemmatising ("is" -> "be"), one-letter words dropped.
    ``stop_words`` replaces the default English list (see :func:`default_stop_words`).
    """
    return _words(sentence, _as_stop_set(stop_words))


def as_lemma(word: str, known: Iterable[str] = ()) -> str:
    """The lemma that ``word`` (a lemma, or any spelling a person types) stands for.

    ``word`` itself, case folded, when it is one of the ``known`` lemmas (e.g. a word table's
    words: the lemmatiser is not idempotent, "spanned" -> "span" -> "spin"); else its lemma.
    """
    folded = word.strip().translate(_NORMALISE).casefold()
    return folded if folded in set(known) else lemma(folded)


def word_spans(sentence: str, word: str, *, stop_words: Iterable[str] | None = None) -> list[tuple[int, int]]:
    """The (start, end) character offsets of the tokens of ``sentence`` that count as ``word``.

    ``word`` is a lemma as in :func:`word_table` (see :func:`as_lemma` for other spellings). A
    token is marked exactly when :func:`sentence_words` counts it as ``word``, so
    ``len(word_spans(s, w)) == sentence_words(s).count(w)``: "Bricks" is marked for "brick",
    a token that merely contains the word ("grassland" for "grass") is not.
    """
    stop, wanted = _as_stop_set(stop_words), word.casefold()
    text = sentence.translate(_NORMALISE)
    return [match.span() for match in _TOKEN.finditer(text) if _counted(match.group(), stop) == wanted]


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
