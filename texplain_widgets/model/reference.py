"""A model's reference word distribution: what its translator makes the LM say about any image.

Words are evidence about one image's features only when the model does not say them about every
image. The reference is the word table of sentences sampled from the translator applied to
the features of ``n_vectors`` **real images of a reference set** (seeded, without replacement
while there are enough; e.g. the training images), ``sentences_per_vector`` each: what the
translator + LM say about a typical image of the set. A word whose share in an image's (or a
class's) sentences is not clearly above its share here says nothing about that image; "photo" is
the demo's example.

Why real images, not content-free vectors (measured on the demo's biased model, its val split as
the set): the mean feature vector (norm 9.1 against 13.1 for real features) and
coordinate-shuffled vectors (each coordinate from another image: marginals kept, correlations
lost) both lie off the translator's manifold. The LM says diffuse, off-topic words about them
("light", "noun", "flag"), and "photo", in 30-50% of every real image's sentences, has 0.5% there
(lift about 70, so nothing would be flagged). With real images it has 27% (lift about 1.5: not
above the prior on 3 of the 4 test images measured). The price: a word most images of the set
share (a background that fills half the set) is measured against the set, which is what a
dataset-level question ("what sets this class apart?") wants anyway. ``method="shuffled"`` keeps
the shuffled reference for comparison.

Defaults: 128 vectors x 8 sentences (1024 sentences), seed 0, explain's sampling defaults; each
vector draws its sentences from random streams of its own (not the streams images share).
:func:`~texplain_widgets.words.trust.add_trust` compares a word table against it; the reference
share's interval counts the distinct images drawn (``n_images``: 6 for a 6-image set, however
many vectors), not the vectors or sentences. A word table is compared with a reference only
when both were sampled with the same :data:`COMPARABLE` settings (shorter sentences say each
word less often): see :meth:`Reference.mismatch`.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
import torch

from ..errors import InputError
from ..words import word_table
from .generate import SamplingSettings, sample_sentences

__all__ = ["REFERENCE", "Reference", "compute_reference", "translator_fingerprint"]

REFERENCE = "reference.json"  # its file in a checkpoint directory
FORMAT = "texplain-reference/1"
#: ``method`` of :func:`compute_reference` -> the name a Reference records.
METHODS = {"images": "images of the reference set", "shuffled": "coordinate-shuffled features"}
CLASSIFY_CHUNK = 64
#: Sampling settings a reference must share with a word table for its lift to mean anything.
COMPARABLE = ("top_p", "temperature", "max_new_tokens")


@dataclass
class Reference:
    """A reference word table (word, count, share) of ``n_sentences`` sentences from ``n_vectors``
    feature vectors of ``n_images`` distinct images; ``settings`` records how (sampling, seed, the
    reference set's size, the translator's fingerprint)."""

    words: pd.DataFrame
    n_sentences: int
    n_vectors: int
    method: str = METHODS["images"]
    settings: dict = field(default_factory=dict)
    n_images: int | None = None  # None: saved before it was recorded (see interval_n)

    @property
    def interval_n(self) -> int:
        """The n of the reference share's interval: its distinct images (each a cluster of
        sentences, however many vectors drew it). A reference saved without ``n_images`` uses
        ``min(n_vectors, settings["reference_set"])`` (the images drawn without replacement from
        a set of that size), or ``n_vectors`` when the set's size is not recorded either."""
        if self.n_images is not None:
            return self.n_images
        return min(self.n_vectors, int(self.settings.get("reference_set", self.n_vectors)))

    def mismatch(self, sampling: dict) -> list[str]:
        """How ``sampling`` (e.g. an explanation's settings) differs from the reference's in the
        settings that change what words are said (:data:`COMPARABLE`), as ``"name A vs B"`` (the
        reference's value first); [] when comparable or unknown (a setting either does not record)."""
        return [
            f"{name} {self.settings[name]} vs {sampling[name]}"
            for name in COMPARABLE
            if name in self.settings
            and name in sampling
            and not math.isclose(float(self.settings[name]), float(sampling[name]), rel_tol=1e-9)
        ]

    def share(self, word: str) -> float:
        """The share of the reference's sentences that use ``word`` (a lemma); 0 when none do."""
        found = self.words.loc[self.words["word"] == word, "share"]
        return float(found.iloc[0]) if len(found) else 0.0

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "method": self.method,
            "n_sentences": self.n_sentences,
            "n_vectors": self.n_vectors,
            "n_images": self.interval_n,
            "settings": self.settings,
            "words": self.words[["word", "count", "share"]].to_dict(orient="records"),
        }

    @classmethod
    def from_dict(cls, data: dict, where: str = "reference") -> Reference:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputError(f"{where}: not a reference word distribution (format {FORMAT!r})")
        try:
            words = pd.DataFrame(data["words"], columns=["word", "count", "share"])
            words = words.astype({"word": object, "count": "int64", "share": "float64"})
            n_images = None if data.get("n_images") is None else int(data["n_images"])
            return cls(
                words,
                int(data["n_sentences"]),
                int(data["n_vectors"]),
                data["method"],
                dict(data["settings"]),
                n_images,
            )
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"{where}: malformed reference ({err!r})") from err

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``directory/reference.json`` (the directory must exist); returns its path."""
        path = Path(directory) / REFERENCE
        path.write_text(json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def load(cls, directory: str | os.PathLike) -> Reference | None:
        """``directory/reference.json``, or None when there is none."""
        path = Path(directory) / REFERENCE
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise InputError(f"{path} is not valid JSON: {err}") from err
        return cls.from_dict(data, str(path))

    def matches(self, model) -> bool:
        """Whether this reference was computed with ``model``'s translator (or says nothing)."""
        saved = self.settings.get("translator_fingerprint")
        return saved is None or saved == translator_fingerprint(model)


def translator_fingerprint(model) -> str:
    from .checkpoint import fingerprint_tensors

    return fingerprint_tensors(dict(model.translator.state_dict()))


def compute_reference(
    model,
    features_or_images,
    *,
    n_vectors: int = 128,
    sentences_per_vector: int = 8,
    seed: int = 0,
    top_p: float = 0.9,
    temperature: float = 1.0,
    max_new_tokens: int = 20,
    batch_size: int | None = None,
    method: str = "images",
) -> Reference:
    """The reference word distribution of a TExplain from a reference set.

    ``features_or_images``: the classifier's features of the set, an (N, D) tensor (N >= 2), or
    images (anything :meth:`TExplain.explain` accepts, in a list), classified first.
    ``method``: ``"images"`` (the default: ``n_vectors`` real images of the set, see the module's
    docstring) or ``"shuffled"`` (coordinate-shuffled vectors, for comparison).
    """
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    features = reference_features(model, features_or_images)
    if n_vectors < 1 or sentences_per_vector < 1:
        raise InputError("n_vectors and sentences_per_vector must be at least 1")
    if method == "shuffled":
        vectors = shuffled_vectors(features, n_vectors, seed)
        n_images = min(n_vectors, _distinct(features))  # each vector mixes images of the set
    else:
        vectors = features[_draw_rows(len(features), n_vectors, seed)]
        n_images = _distinct(vectors)
    settings = SamplingSettings(sentences_per_vector, top_p, temperature, max_new_tokens, seed, batch_size)
    with torch.inference_mode():
        prefixes = model.translator(vectors.to(model.device))
    sentences = [s for texts in sample_sentences(model.language_model, prefixes, settings) for s in texts]
    table = word_table(sentences)
    recorded = {
        **settings.to_dict(),
        "reference_set": int(features.shape[0]),
        "translator_fingerprint": translator_fingerprint(model),
    }
    return Reference(table, len(sentences), n_vectors, METHODS[method], recorded, n_images)


def reference_features(model, features_or_images) -> torch.Tensor:
    """The (N, D) float features of a reference set (a tensor as given, or images classified)."""
    if isinstance(features_or_images, torch.Tensor):
        features = features_or_images.detach().float().cpu()
    else:
        images = list(features_or_images) if isinstance(features_or_images, (list, tuple)) else None
        if images is None:
            raise InputError("the reference set must be an (N, D) feature tensor or a list of images")
        chunks = []
        with torch.inference_mode():
            for start in range(0, len(images), CLASSIFY_CHUNK):
                pixels = model.classifier.preprocess(images[start : start + CLASSIFY_CHUNK])
                chunks.append(model.classifier(pixels)[0].float().cpu())
        features = torch.cat(chunks) if chunks else torch.empty(0, model.classifier.feature_dim)
    dim = model.classifier.feature_dim
    if features.ndim != 2 or features.shape[1] != dim:
        raise InputError(f"reference features must be (N, {dim}), got {tuple(features.shape)}")
    if features.shape[0] < 2:
        raise InputError(
            f"the reference set needs at least 2 images (32 or more is better), got {len(features)}"
        )
    return features


def _distinct(features: torch.Tensor) -> int:
    """The number of distinct rows (images; the same image twice has the same features)."""
    return int(torch.unique(features, dim=0).shape[0])


def _draw_rows(n_rows: int, n: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    order = torch.cat([torch.randperm(n_rows, generator=generator) for _ in range(-(-n // n_rows))])
    return order[:n]


def shuffled_vectors(features: torch.Tensor, n_vectors: int, seed: int) -> torch.Tensor:
    """``n_vectors`` rows, each coordinate taken from an independently drawn row of ``features``."""
    generator = torch.Generator().manual_seed(seed)
    rows = torch.randint(features.shape[0], (n_vectors, features.shape[1]), generator=generator)
    return features[rows, torch.arange(features.shape[1])]


def save_reference(reference: Reference | None, directory, translator_state: dict | None = None) -> None:
    """Write ``reference`` into a checkpoint directory, fingerprinted with the translator weights as
    saved (``translator_state``); None removes a stale one (it was for other weights)."""
    path = Path(directory) / REFERENCE
    if reference is None:
        path.unlink(missing_ok=True)
        return
    if translator_state is not None:
        from .checkpoint import fingerprint_tensors

        settings = {**reference.settings, "translator_fingerprint": fingerprint_tensors(translator_state)}
        reference = replace(reference, settings=settings)
    reference.save(directory)


def load_reference(directory, model) -> Reference | None:
    """A checkpoint's reference, or None; one computed with other translator weights is ignored
    with a warning."""
    reference = Reference.load(directory)
    if reference is not None and not reference.matches(model):
        warnings.warn(
            f"{Path(directory) / REFERENCE} was computed with other translator weights: ignored "
            "(compute it again: texplain reference DIR --images FOLDER)",
            stacklevel=3,
        )
        return None
    return reference
