"""texplain-widgets: explain a frozen image classifier with the words a frozen LM says about it.

The public API lives here and is imported lazily, so ``import texplain_widgets`` is quick.
"""

from importlib import import_module

from .errors import Cancelled, CheckpointMismatchError, InputError, MissingDependencyError, TExplainError

__version__ = "0.1.0"

_LAZY = {
    "TExplain": "model.texplain",
    "FrozenClassifier": "model.classifier",
    "FrozenLanguageModel": "model.language",
    "Translator": "model.translator",
    "TranslatorConfig": "model.translator",
    "TrainConfig": "model.train",
    "measure_report_card": "model.report_card",
    "format_report_card": "model.report_card",
    "native_bf16": "model.precision",
    "SamplingSettings": "model.generate",
    "Explanation": "model.explanation",
    "CaptionPairs": "data.captions",
    "load_image": "data.images",
    "list_images": "data.images",
    "word_table": "words.lemmas",
    "Reference": "model.reference",
    "compute_reference": "model.reference",
    "add_trust": "words.trust",
    "wilson_interval": "words.trust",
    "rank_words": "words.ranking",
    "naming_shares": "words.ranking",
    "saliency_map": "attribution.maps",
    "word_saliency": "attribution.word_maps",
    "overlay": "attribution.drawing",
    "deletion": "attribution.faithfulness",
    "insertion": "attribution.faithfulness",
    "ImageCollection": "data.collection",
    "Explorer": "widgets.explorer",
    "ImageBrowser": "widgets.browser",
    "WordChart": "widgets.word_chart",
    "Dashboard": "widgets.dashboard",
    "DatasetReport": "widgets.report",
    "SliceCard": "widgets.slice_card",
    "ExplanationSet": "runs.explanation_set",
    "explain_dataset": "runs.engine",
    "mitigate": "mitigation",
    "Mitigation": "mitigation",
    "pseudo_groups": "mitigation",
}

__all__ = [  # noqa: PLE0604 (the lazy names are strings)
    *_LAZY,
    "Cancelled",
    "CheckpointMismatchError",
    "InputError",
    "MissingDependencyError",
    "TExplainError",
]


def load_ipython_extension(shell) -> None:
    """``%load_ext texplain_widgets``: registers the ``%texplain`` magic (loading twice is harmless)."""
    from .magic import load

    load(shell)


def unload_ipython_extension(shell) -> None:
    """``%unload_ext texplain_widgets``: removes ``%texplain``."""
    from .magic import unload

    unload(shell)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
