"""The offline Vega bundle of Altair's ``JupyterChart``, built once per install and kept on disk.

``alt.JupyterChart.enable_offline()`` has vl-convert bundle Vega, Vega-Lite and vega-embed into
one ES module, which took 3.5-6.5 s in every new kernel. The bundle depends only on the versions
of Altair, vl-convert and the Vega-Lite it bundles, so it is kept under the cache root
(``$TEXPLAIN_CACHE``, else ``~/.cache/texplain_widgets``, beside the SmolLM2 weights) in a file
named by those versions: a new version writes a new file, and only the first kernel after an
install pays for the build.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import altair as alt

from ..model.language import cache_root


def bundle_path() -> Path:
    """Where the bundle of the installed Altair and vl-convert is kept."""
    import vl_convert
    from altair.utils._importers import vl_version_for_vl_convert

    versions = f"altair {alt.__version__} vl-convert {vl_convert.__version__} vega-lite {vl_version_for_vl_convert()}"
    key = hashlib.sha256(versions.encode()).hexdigest()[:16]
    return cache_root() / "vega" / f"jupyterchart-{key}.js"


def enable_offline_charts() -> None:
    """``alt.JupyterChart.enable_offline()``, from the bundle on disk when there is one."""
    chart = alt.JupyterChart
    if chart._is_offline:
        return
    path = bundle_path()
    try:
        bundle = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        bundle = ""
    if bundle.endswith(_END):
        chart._esm, chart._is_offline = bundle[: -len(_END)], True
        return
    chart.enable_offline()
    _write(path, chart._esm + _END)


_END = "\n// texplain-widgets: complete bundle\n"  # a file cut short by a crash lacks it: rebuilt


def _write(path: Path, text: str) -> None:
    """Write atomically; a cache that cannot be written (a read-only home) is only a lost speed-up."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False) as f:
            f.write(text)
        os.replace(f.name, path)
    except OSError:
        pass
