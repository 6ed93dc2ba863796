"""Notebook widgets (anywidget): traits and glue over the library; the frontend lives in ``js/``.

Names are imported lazily, so importing this package loads neither torch nor anywidget.
"""

from importlib import import_module

_LAZY = {
    "Explorer": "explorer",
    "ImageBrowser": "browser",
    "WordChart": "word_chart",
    "Dashboard": "dashboard",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
