"""The result of explaining one image: sentences, prediction, and the words they use."""

from __future__ import annotations

import warnings
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
        (see :func:`~texplain_widgets.words.trust.add_trust`; n = this image's sentences). A
        reference sampled with other :attr:`settings` leaves reference_share, lift and
        above_prior empty; ``words.attrs["reference_note"]`` and a warning say why."""
        table = word_table(self.sentences)
        if self.reference is None:
            return table
        from ..words.trust import add_trust

        table = add_trust(table, len(self.sentences), self.reference, settings=self.settings)
        if "reference_note" in table.attrs:
            warnings.warn(table.attrs["reference_note"], stacklevel=3)
        return table

    @property
    def reference_note(self) -> str | None:
        """Why the :attr:`reference` is not comparable with these sentences (None when it is)."""
        from ..words.trust import reference_note

        return None if self.reference is None else reference_note(self.reference, self.settings)

    def top_words(self, n: int = 10) -> list[str]:
        return self.words["word"].head(n).tolist()

    def to_dict(self, n_words: int | None = None) -> dict:
        """JSON-ready: prediction, settings, sentences and the word table (top ``n_words``; an
        empty lift is null), and how the reference was made (``comparable``, a ``note`` if not)."""
        words = self.words if n_words is None else self.words.head(n_words)
        words = words.astype(object).where(words.notna(), None)
        return {
            "image": self.image,
            "predicted_class": self.predicted_class,
            "class_name": self.class_name,
            "probability": self.probability,
            "settings": self.settings,
            "sentences": self.sentences,
            "words": words.to_dict(orient="records"),
            **(
                {} if self.reference is None else {"reference": _summary(self.reference, self.reference_note)}
            ),
        }


def _summary(reference, note: str | None) -> dict:
    """How the reference of the trust columns was made (not its table), and whether it compares."""
    return {
        "method": reference.method,
        "n_sentences": reference.n_sentences,
        "n_vectors": reference.n_vectors,
        "n_images": reference.interval_n,
        "comparable": note is None,
        **({} if note is None else {"note": note}),
    }
