"""The result of explaining one image: sentences, prediction, and the words they use."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from ..words import word_table


@dataclass
class Explanation:
    """What the translator made the language model say about one image's features."""

    sentences: list[str]
    predicted_class: int
    probability: float
    class_name: str | None = None
    image: str | None = None  # the file it came from, when it came from a file
    settings: dict = field(default_factory=dict)
    #: The model's reference word distribution (:mod:`.reference`), when it has one.
    reference: object | None = field(default=None, repr=False, compare=False)

    @cached_property
    def words(self) -> pd.DataFrame:
        """Word table of the sentences: word (lemma), count, share of sentences; with a
        :attr:`reference`, also reference_share, lift, share_low, share_high and above_prior
        (see :func:`~texplain_widgets.word_trust.add_trust`; n = this image's sentences)."""
        table = word_table(self.sentences)
        if self.reference is None:
            return table
        from ..word_trust import add_trust

        return add_trust(table, len(self.sentences), self.reference)

    def top_words(self, n: int = 10) -> list[str]:
        return self.words["word"].head(n).tolist()

    def to_dict(self, n_words: int | None = None) -> dict:
        """JSON-ready: prediction, settings, sentences and the word table (top ``n_words``)."""
        words = self.words if n_words is None else self.words.head(n_words)
        return {
            "image": self.image,
            "predicted_class": self.predicted_class,
            "class_name": self.class_name,
            "probability": self.probability,
            "settings": self.settings,
            "sentences": self.sentences,
            "words": words.to_dict(orient="records"),
            **({} if self.reference is None else {"reference": _summary(self.reference)}),
        }


def _summary(reference) -> dict:
    """How the reference of the trust columns was made (not its table)."""
    return {
        "method": reference.method,
        "n_sentences": reference.n_sentences,
        "n_vectors": reference.n_vectors,
        "n_images": reference.interval_n,
    }
