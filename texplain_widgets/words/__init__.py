"""Sentences -> word statistics: lemmas and spans, trust against a reference, ranking across groups.

One stage of the data's way, a module each: :mod:`.lemmas` (the one word finder: tokens, lemmas,
word tables), :mod:`.trust` (lift over a reference word distribution, Wilson intervals) and
:mod:`.ranking` (log-odds ranking of words across groups, naming shares, model comparison).
"""

from .lemmas import as_lemma, default_stop_words, lemma, sentence_words, tokens, word_spans, word_table
from .ranking import compare_models, naming_share, naming_shares, rank_counts, rank_words, word_counts
from .trust import add_trust, prior_note, wilson_interval

__all__ = [
    "add_trust",
    "as_lemma",
    "compare_models",
    "default_stop_words",
    "lemma",
    "naming_share",
    "naming_shares",
    "prior_note",
    "rank_counts",
    "rank_words",
    "sentence_words",
    "tokens",
    "wilson_interval",
    "word_counts",
    "word_spans",
    "word_table",
]
