"""The checkpoint format: what a saved TExplain's config.json holds, its file names, fingerprints.

A saved TExplain is a directory: ``config.json`` (this module's :class:`CheckpointConfig`),
``translator.safetensors``, and for a timm classifier ``classifier.safetensors``. The config
names the classifier and the LM with fingerprints (hashes of their weights), so a translator is
never loaded against parts it was not trained with.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

import torch

from ..errors import CheckpointMismatchError, InputError

FORMAT = "texplain-widgets/1"
CONFIG = "config.json"
TRANSLATOR_WEIGHTS = "translator.safetensors"
CLASSIFIER_WEIGHTS = "classifier.safetensors"


def fingerprint_tensors(tensors: dict[str, torch.Tensor]) -> str:
    """A short hash of named tensors (names, shapes, values), the same on any device.

    Floating-point values are hashed at bfloat16 precision, so a model loaded in fp32 or
    bf16 has one fingerprint.
    """
    digest = hashlib.blake2b(digest_size=8)
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu()
        if tensor.is_floating_point():
            tensor = tensor.to(torch.bfloat16).view(torch.int16)
        digest.update(f"{name}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


@dataclass
class ClassifierEntry:
    """The classifier a translator was trained on; ``weights`` names its file, if saved."""

    timm_name: str | None
    num_classes: int
    class_names: list[str] | None
    data_config: dict | None  # None: a custom transform, to be passed again at loading
    feature_dim: int
    fingerprint: str
    weights: str | None = None
    extra: dict = field(default_factory=dict)  # keys this version does not know, kept as they are

    @classmethod
    def of(cls, classifier, weights: str | None = None) -> ClassifierEntry:
        """The entry describing a FrozenClassifier."""
        return cls(
            timm_name=classifier.timm_name,
            num_classes=classifier.num_classes,
            class_names=classifier.class_names,
            data_config=None if classifier.custom_transform else classifier.data_config,
            feature_dim=classifier.feature_dim,
            fingerprint=classifier.fingerprint(),
            weights=weights,
        )

    def check(self, classifier, where) -> None:
        """Raise CheckpointMismatchError unless ``classifier`` is the one recorded here."""
        if classifier.fingerprint() != self.fingerprint:
            raise CheckpointMismatchError(
                f"{where} was trained on another classifier ({self.timm_name or 'custom'}, "
                f"{self.feature_dim} features, fingerprint {self.fingerprint}); "
                f"the given one has {classifier.feature_dim} features, fingerprint {classifier.fingerprint()}"
            )


@dataclass
class LanguageModelEntry:
    """The LM a translator was trained for: how to load it again, its width, its fingerprint."""

    source: str
    embed_dim: int
    fingerprint: str
    extra: dict = field(default_factory=dict)

    @classmethod
    def of(cls, language_model) -> LanguageModelEntry:
        """The entry describing a FrozenLanguageModel."""
        return cls(language_model.source, language_model.embed_dim, language_model.fingerprint())

    def check(self, language_model, where) -> None:
        """Raise CheckpointMismatchError unless ``language_model`` is the one recorded here."""
        if language_model.fingerprint() != self.fingerprint:
            raise CheckpointMismatchError(
                f"{where} was trained for language model {self.source!r} "
                f"(width {self.embed_dim}, fingerprint {self.fingerprint}); the given one "
                f"is {language_model.source!r} (width {language_model.embed_dim}, "
                f"fingerprint {language_model.fingerprint()})"
            )


@dataclass
class CheckpointConfig:
    """The content of config.json.

    ``translator``: the TranslatorConfig as a dict. ``display``: a model's display defaults
    for the widgets, e.g. ``{"method_options": {"gradcam": {"layer": "layer3"}}}``.
    ``extra``: top-level keys this version does not know (e.g. a training report), written back
    unchanged.
    """

    translator: dict
    classifier: ClassifierEntry
    language_model: LanguageModelEntry
    display: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "translator": dict(self.translator),
            "classifier": _entry_dict(self.classifier),
            "language_model": _entry_dict(self.language_model),
            **({"display": self.display} if self.display else {}),
            **self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict, where: str = "config") -> CheckpointConfig:
        """Parse a config; InputError for an unknown format or a missing entry."""
        _check_format(data, where)
        if "translator" not in data and "classifier" in data:
            raise InputError(
                f"{where} holds a classifier without a translator (FrozenClassifier.save_pretrained, e.g. "
                "after mitigation changed its features): load it with FrozenClassifier.from_pretrained and "
                "fit a translator to it: TExplain.with_classifier(classifier, refit=True).fit(...)"
            )
        known = {"format", "translator", "classifier", "language_model", "display"}
        try:
            return cls(
                translator=dict(data["translator"]),
                classifier=_entry(ClassifierEntry, data["classifier"]),
                language_model=_entry(LanguageModelEntry, data["language_model"]),
                display=dict(data.get("display") or {}),
                extra={k: v for k, v in data.items() if k not in known},
            )
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"{where}: incomplete or malformed TExplain config ({err!r})") from err

    @classmethod
    def read(cls, directory: str | os.PathLike) -> CheckpointConfig:
        """Read ``directory/config.json``; InputError when missing, not JSON, or of another format."""
        return cls.from_dict(read_config(directory), str(Path(directory) / CONFIG))

    def write(self, directory: str | os.PathLike) -> Path:
        """Write ``directory/config.json`` (the directory must exist); returns its path."""
        return write_atomically(Path(directory) / CONFIG, json.dumps(self.to_dict(), indent=2).encode())


def check_weights(directory: str | os.PathLike, config: CheckpointConfig, classifier: bool = True) -> None:
    """InputError naming the weights files ``config`` needs (the classifier's only when ``classifier``)
    that ``directory`` lacks, and how to mend it."""
    directory = Path(directory)
    needed = [
        TRANSLATOR_WEIGHTS,
        *([config.classifier.weights] if classifier and config.classifier.weights else []),
    ]
    missing = [name for name in needed if not (directory / name).is_file()]
    if not missing:
        return
    verb = "is" if len(missing) == 1 else "are"
    hint = ""
    if config.classifier.weights in missing:
        hint = "; or give the classifier: TExplain.from_pretrained(DIR, classifier=FrozenClassifier(...))"
    raise InputError(
        f"{directory}: {' and '.join(missing)} {verb} missing ({CONFIG} is there, the weights are not: "
        "an incomplete copy or save). Copy the whole folder the model was saved to, or save the model "
        f"again with TExplain.save_pretrained(DIR) (texplain train --out DIR saves one){hint}"
    )


def load_weights(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensors of a weights file; InputError naming it when it is not readable as safetensors."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(path)
    except (OSError, SafetensorError) as err:
        raise InputError(
            f"{path}: cannot read it as safetensors ({err}); copy it again from where the model was saved"
        ) from err


def write_atomically(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, flush it to disk, rename it to ``path``.

    The rename is atomic: a reader (or a process killed midway) sees the old file or the new one,
    never a part of it.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def save_tensors(tensors: dict[str, torch.Tensor], path: str | os.PathLike) -> Path:
    """``safetensors.torch.save_file``, written atomically (see :func:`write_atomically`)."""
    from safetensors.torch import save

    return write_atomically(path, save(tensors))


def read_config(directory: str | os.PathLike) -> dict:
    """The config.json of a saved TExplain as a plain dict, checked for its format."""
    directory = Path(directory)
    path = directory / CONFIG
    if not path.is_file():
        raise InputError(f"{directory} is not a saved TExplain: {CONFIG} not found")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(f"{path} is not valid JSON: {err}") from err
    _check_format(config, path)
    return config


def _check_format(data, where) -> None:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise InputError(f"{where}: unknown format {found!r}, expected {FORMAT!r}")


def _entry(kind, data: dict):
    names = {f.name for f in fields(kind)} - {"extra"}
    return kind(
        **{k: v for k, v in data.items() if k in names},
        extra={k: v for k, v in data.items() if k not in names},
    )


def _entry_dict(entry) -> dict:
    values = {f.name: getattr(entry, f.name) for f in fields(entry) if f.name != "extra"}
    return {**values, **entry.extra}
