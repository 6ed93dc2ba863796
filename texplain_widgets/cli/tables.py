"""How the command line prints word tables: aligned columns, and what the language prior says.

With the model's reference (:mod:`texplain_widgets.model.reference`) each word also shows its
share of the reference's sentences and its lift, and a word not above the prior is marked; a
reference sampled with other settings gives a line saying it is not comparable instead.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["PRIOR_MARK", "print_explanation", "short_words"]

PRIOR_MARK = "~"  # after a word not above the language prior


def short_words(words) -> list[str]:
    """``word share`` each, ``~`` after a word not above the prior (with a comparable reference)."""
    marks = words["above_prior"] if "above_prior" in words else [True] * len(words)
    return [
        f"{w} {s:.0%}{'' if pd.isna(m) or m else PRIOR_MARK}"
        for w, s, m in zip(words["word"], words["share"], marks)
    ]


def print_explanation(title: str, explanation, top: int) -> None:
    """Prediction, then the top words in aligned columns: word, count, share of sentences, and
    with the model's reference its share there, the lift and a mark for words not above it."""
    label = explanation.class_name or f"class {explanation.predicted_class}"
    n = len(explanation.sentences)
    print(f"{title}: {label} (p = {explanation.probability:.3f}), {n} sentences")
    words = explanation.words.head(top)
    if words.empty:
        print("  no words: every sentence was empty or stop words only")
        return
    width = max(len("word"), *map(len, words["word"]))
    note = explanation.reference_note
    trust = "lift" in words and note is None
    if note is not None:
        print(f"  no lift: {note}")
    print(f"  {'word':<{width}}  count   share" + ("  reference   lift" if trust else ""))
    for row in words.itertuples(index=False):
        line = f"  {row.word:<{width}}  {row.count:>5}  {row.share:>6.1%}"
        if trust:
            mark = "" if row.above_prior else "  not above the language prior"
            line += f"  {row.reference_share:>9.1%}  {row.lift:>5.1f}{mark}"
        print(line)
