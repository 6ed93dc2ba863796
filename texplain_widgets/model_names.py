"""Model names, resolved once per process: ``demo``, ``demo:biased``, ``demo:balanced`` or a directory.

The CLI's ``--model``, the ``%texplain`` magic and the benchmarks all go through
:func:`resolve_model`, so a name asked for twice is the same TExplain, and the demo's two models
share one frozen SmolLM2 (loaded with the first of them).

>>> resolve_model("demo") is resolve_model("demo:biased")
True
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError

__all__ = ["DEMO", "DEMO_NAMES", "clear_cache", "resolve_model"]

DEMO = "demo"
#: The demo's names; plain ``demo`` is the biased classifier.
DEMO_NAMES = ("demo", "demo:biased", "demo:balanced")

_models: dict[str, object] = {}  # canonical name -> TExplain
_demo_language_model: list = []  # the SmolLM2 the demo models share, once loaded


def resolve_model(name: str | os.PathLike):
    """The TExplain that ``name`` names, loaded on first use and then reused.

    ``demo`` and ``demo:biased`` are the demo's biased classifier, ``demo:balanced`` its
    balanced one (both shipped in the package, offline); anything else is a directory written
    by ``TExplain.save_pretrained``. Raises InputError for an unknown demo name and for a path
    that is not a saved TExplain.
    """
    key = _canonical(name)
    if key not in _models:
        _models[key] = _load_demo(key) if key in DEMO_NAMES else _load_directory(name, Path(key))
    return _models[key]


def clear_cache() -> None:
    """Forget the loaded models (a directory saved again is then reloaded)."""
    _models.clear()
    _demo_language_model.clear()


def _canonical(name: str | os.PathLike) -> str:
    text = os.fspath(name)
    if not isinstance(text, str) or not text:
        raise InputError(
            f"a model name must be demo, demo:biased, demo:balanced or a directory, not {name!r}"
        )
    if text == DEMO or text.startswith(DEMO + ":"):
        key = "demo:biased" if text == DEMO else text
        if key not in DEMO_NAMES:
            raise InputError(f"no demo model {text!r}: use demo, demo:biased or demo:balanced")
        return key
    return str(Path(text).expanduser().resolve())


def _load_demo(key: str):
    import torch

    from .demo import WEIGHTS
    from .model.language import FrozenLanguageModel
    from .model.texplain import TExplain

    if not _demo_language_model:
        _demo_language_model.append(FrozenLanguageModel.from_pretrained("smollm2", dtype=torch.float32))
    which = key.partition(":")[2]
    return TExplain.from_pretrained(WEIGHTS / which, language_model=_demo_language_model[0])


def _load_directory(name, path: Path):
    from .model.texplain import TExplain

    if not path.is_dir():
        what = "a file" if path.exists() else "no such directory"
        raise InputError(
            f"{os.fspath(name)}: {what}; a model is demo, demo:biased, demo:balanced "
            "or a directory saved by TExplain.save_pretrained (config.json and weights)"
        )
    return TExplain.from_pretrained(path)  # an InputError when it is not a saved TExplain
