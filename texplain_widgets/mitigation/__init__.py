"""Mitigation: fix a classifier's shortcut from the words, measured as worst-group accuracy.

>>> result = mitigate(model, "val/", method="reweight", words=["grass"], run="runs/val", test="test/")
>>> print(result)                       # before/after table with 95% intervals, and the note
>>> result.save_pretrained("fixed/")    # TExplain.from_pretrained("fixed/") after reweight

``reweight`` (:mod:`.reweight`) retrains the last layer on frozen features with the
(pseudo-)groups weighted equally, DFR-style; ``mask`` (:mod:`.mask`) fine-tunes with the words'
region masked, MaskTune-style; ``control`` is the same fine-tuning without masking.
"""

from importlib import import_module

_LAZY = {  # imported on first use, so that the command line starts quickly
    "METHODS": "core",
    "Mitigation": "core",
    "mitigate": "core",
    "USE_SHARE": "groups",
    "pseudo_groups": "groups",
    "word_use": "groups",
}
__all__ = list(_LAZY)  # noqa: PLE0604


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
