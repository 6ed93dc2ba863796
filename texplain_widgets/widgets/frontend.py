"""Where a widget finds its built frontend module (``texplain_widgets/static/``, built from ``js/``)."""

from __future__ import annotations

import json
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "static"


def esm(name: str) -> Path | str:
    """The built ES module of widget ``name``, or a stand-in that says how to build it.

    anywidget reads a Path (and, with ``ANYWIDGET_HMR=1``, reloads it when it changes); a
    missing build must not break ``import``, so the stand-in renders a message instead.
    """
    path = STATIC / f"{name}.js"
    if path.is_file():
        return path
    message = json.dumps(
        f"The {name} frontend is not built: run `npm ci && npm run build` in js/ "
        "(or reinstall texplain-widgets)."
    )
    return f"export default {{\n  render({{ el }}) {{ el.textContent = {message}; }},\n}};\n"


def css(name: str) -> Path | str:
    """The built stylesheet of widget ``name``, or an empty one."""
    path = STATIC / f"{name}.css"
    return path if path.is_file() else ""
