"""Static exports of what an Explorer shows, for a paper or for nbviewer: HTML and PNG.

Charts are rendered by vl-convert (offline); the HTML has no scripts and escapes every text it
shows, so a file name or a generated sentence can never become markup.
"""

from __future__ import annotations

import base64
import html
import io

import vl_convert as vlc

from ..attribution.drawing import COLORMAP, colour_stops, spread_caption
from .word_chart import word_chart


def _chart(explorer):
    return word_chart(explorer.words, explorer.selected_word).to_dict()


def _caption(explorer) -> str:
    name = explorer.image_name or "image"
    if not explorer.prediction:
        return name
    return f"{name}: predicted {explorer.prediction} ({explorer.probability:.1%})"


def _marked(text: str, spans) -> str:
    """``text`` as escaped HTML with each (start, end) span inside <mark> (the spans the view marks)."""
    parts, last = [], 0
    for start, end in spans:
        parts += [html.escape(text[last:start]), "<mark>", html.escape(text[start:end]), "</mark>"]
        last = end
    parts.append(html.escape(text[last:]))
    return "".join(parts)


def _spread(value: float) -> str:
    """A map's spread (-1: none) in words, as the view writes it under the map."""
    return spread_caption(value) if value >= 0 else ""


def _img(png: bytes, alt: str, note: str = "") -> str:
    if not png:
        return f"<p>{html.escape(alt)}: none</p>"
    data = base64.b64encode(png).decode("ascii")
    below = f"<br><small>{html.escape(note)}</small>" if note else ""
    return f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}"><figcaption>{html.escape(alt)}{below}</figcaption></figure>'


def _scale() -> str:
    """The maps' colour scale: a gradient bar, cold (image shows through) to hot."""
    stops = ", ".join(colour_stops(COLORMAP))
    return (
        f'<figure class="scale"><div style="width:160px;height:10px;background:linear-gradient(to right, {stops})"></div>'
        "<figcaption><small>map weight: low (the image shows) → high</small></figcaption></figure>"
    )


def snapshot_html(explorer) -> str:
    """One self-contained HTML page: image, prediction, word chart (SVG), maps and sentences."""
    word = explorer.selected_word
    sentences = "".join(f"<li>{_marked(s['text'], s['spans'])}</li>" for s in explorer.marked_sentences)
    word_map = f"where “{word}” comes from" if word else "word map"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(_caption(explorer))}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #1f1f1f; }}
.row {{ display: flex; gap: 16px; flex-wrap: wrap; align-items: flex-start; }}
figure {{ margin: 0; }} figure img {{ width: 224px; image-rendering: pixelated; }}
mark {{ background: #ffe082; }} figcaption small {{ color: #616161; }}
</style></head><body>
<h2>{html.escape(_caption(explorer))}</h2>
<div class="row">
{_img(explorer.image_png, "image")}
{_img(explorer.saliency_png, f"saliency: {explorer.saliency_method}", _spread(explorer.saliency_spread))}
{_img(explorer.word_map_png if explorer.word_map_word == word else b"", word_map, _spread(explorer.word_map_spread))}
{_scale()}
</div>
<div class="row">
<div>{vlc.vegalite_to_svg(_chart(explorer)) if explorer.words else "<p>No words yet: press Generate.</p>"}</div>
<div><h3>Sentences ({explorer.n_generated} generated)</h3><ol>{sentences}</ol></div>
</div>
</body></html>
"""


def snapshot_png(explorer, *, dpi: int = 100) -> bytes:
    """The same as one PNG image: image and maps on top, word chart and sentences below.

    Texts are drawn with ``parse_math=False``: a ``$`` in a name or sentence stays a ``$``.
    """
    text = {"parse_math": False}
    from matplotlib.cm import ScalarMappable
    from matplotlib.figure import Figure
    from PIL import Image

    def picture(png: bytes):
        return Image.open(io.BytesIO(png)).convert("RGB") if png else None

    word = explorer.selected_word
    shown = bool(word) and explorer.word_map_word == word
    panels = [
        ("image", picture(explorer.image_png), ""),
        (
            f"saliency: {explorer.saliency_method}",
            picture(explorer.saliency_png),
            _spread(explorer.saliency_spread),
        ),
        (
            f"where “{word}” comes from" if word else "word map (no word selected)",
            picture(explorer.word_map_png) if shown else None,
            _spread(explorer.word_map_spread) if shown else "",
        ),
    ]
    chart = picture(vlc.vegalite_to_png(_chart(explorer), scale=2)) if explorer.words else None
    figure = Figure(figsize=(11, 8), dpi=dpi, layout="constrained")
    figure.suptitle(_caption(explorer), **text)
    top, bottom = figure.subfigures(2, 1, height_ratios=[1, 1.3])
    axes = top.subplots(1, 3)
    for axis, (title, image, note) in zip(axes, panels):
        axis.set_axis_off()
        axis.set_title(title, fontsize=10, **text)
        if image is not None:
            axis.imshow(image, interpolation="nearest")
        axis.text(0.5, -0.04, note, transform=axis.transAxes, ha="center", va="top", fontsize=8, **text)
    scale = ScalarMappable(cmap=COLORMAP)
    bar = top.colorbar(scale, ax=axes[1:], orientation="horizontal", shrink=0.4, aspect=30, pad=0.1)
    bar.set_ticks([0, 1], labels=["low (image shows)", "high"], fontsize=8)
    chart_axis, text_axis = bottom.subplots(1, 2, width_ratios=[1, 1.4])
    chart_axis.set_axis_off()
    if chart is not None:
        chart_axis.imshow(chart)
    else:
        chart_axis.text(0.5, 0.5, "No words yet: press Generate.", ha="center")
    text_axis.set_axis_off()
    lines = [f"{i + 1}. {s}" for i, s in enumerate(explorer.sentences)]
    text_axis.text(0, 1, "\n".join(lines) or "No sentences yet.", va="top", fontsize=9, wrap=True, **text)
    text_axis.set_title(f"sentences ({explorer.n_generated} generated)", fontsize=10, loc="left")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
