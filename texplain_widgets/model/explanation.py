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

    @cached_property
    def words(self) -> pd.DataFrame:
        """Word table of the sentences: word (lemma), count, share of sentences."""
        return word_table(self.sentences)

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
        }
