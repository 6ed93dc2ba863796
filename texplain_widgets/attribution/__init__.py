"""Captum saliency maps of the classifier, word-grounded maps through the LM, faithfulness metrics.

Names are imported lazily, so importing this package does not load torch or Captum.
"""

from importlib import import_module

_LAZY = {
    "METHODS": "maps",
    "SaliencyMap": "maps",
    "saliency_map": "maps",
    "word_saliency": "word_maps",
    "overlay": "drawing",  # not a module named overlay: it would shadow the function once imported
    "to_png_bytes": "drawing",
    "Curve": "faithfulness",
    "deletion": "faithfulness",
    "insertion": "faithfulness",
    "random_map": "faithfulness",
    "word_deletion": "faithfulness",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
