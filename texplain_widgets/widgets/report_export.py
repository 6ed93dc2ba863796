"""Static exports of what a DatasetReport shows (for a paper, or a notebook read on GitHub): HTML and PNG.

The chart is rendered by vl-convert (offline); the HTML has no scripts and escapes every text it
shows. Both show the accuracy, the ranked words (the selected word highlighted), the grid's page
with each image's share, label and prediction, the selected image's stored sentences (and the
Explorer's maps when there is one) and the compared runs' words.
"""

from __future__ import annotations

import base64
import html
import io

import vl_convert as vlc

from .report_chart import CHART_WIDTH_EXPORT, chart_of

TEXT = {"parse_math": False}  # a "$" in a name or sentence stays a "$"


def _esc(value) -> str:
    return html.escape("" if value is None else str(value))


def _marked(text: str, spans) -> str:
    points, parts, last = list(text), [], 0
    for start, end in spans:
        parts += [_esc("".join(points[last:start])), "<mark>", _esc("".join(points[start:end])), "</mark>"]
        last = end
    return "".join(parts) + _esc("".join(points[last:]))


def _chart_spec(report) -> dict | None:
    words = report.chart.words
    options = {"width": CHART_WIDTH_EXPORT, "hide_prior": False, "hide_class_words": False}
    return chart_of(words, report.selected_word, **options).to_dict() if words else None


def _card_lines(report) -> list[str]:
    """The slice card as text lines ([] for none)."""
    card = report.slice_card
    if card is None:
        return []
    return [*card.lines(), *card.pair_lines(), card.reliance_line(), card.pseudo_group_line()]


def _caption(item: dict) -> str:
    share = "" if item["share"] is None else f"{item['share']:.0%} · "
    label = f"{item['label']} → " if item["label"] is not None else ""
    return f"{share}{label}{item['predicted']}"


def _accuracy_html(rows: list[dict]) -> str:
    if not rows:
        return ""
    body = []
    for r in rows:
        name = "all images" if r["by"] == "all" else f"{r['by']}: {r['name']}"
        worst = " (worst group)" if r["worst"] else ""
        body.append(
            f"<tr class='{'worst' if r['worst'] else ''}'><th>{_esc(name)}</th>"
            f"<td>{r['n']}</td><td>{r['accuracy']:.1%}{worst}</td></tr>"
        )
    return f"<table><caption>Accuracy</caption><tr><th></th><th>images</th><th>accuracy</th></tr>{''.join(body)}</table>"


def _grid_html(report) -> str:
    panel = report.panel
    cells = []
    for item, thumb in zip(panel.items, panel.thumbnails):
        src = f"data:image/jpeg;base64,{base64.b64encode(thumb).decode('ascii')}" if thumb else ""
        img = (
            f'<img src="{src}" alt="{_esc(item["name"])}">' if src else f"<span>{_esc(item['error'])}</span>"
        )
        cells.append(f"<figure>{img}<figcaption>{_esc(_caption(item))}</figcaption></figure>")
    word = report.selected_word
    title = (
        f"{panel.n_with} images with “{_esc(word)}” (page {panel.page + 1} of {panel.n_pages})"
        if word
        else ""
    )
    return f"<h3>{title}</h3><div class='grid'>{''.join(cells)}</div>" if cells else ""


def _stored_html(report) -> str:
    s = report.panel.stored
    if not s:
        return ""
    sentences = "".join(f"<li>{_marked(x['text'], x['spans'])}</li>" for x in s["sentences"])
    maps = ""
    explorer = report.explorer
    if explorer is not None:
        for png, alt in ((explorer.saliency_png, "class map"), (explorer.word_map_png, "word map")):
            if png:
                maps += f'<figure><img class="map" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" alt="{alt}"><figcaption>{alt}</figcaption></figure>'
    facts = f"label {_esc(s['label'])} · " if s["label"] else ""
    return (
        f"<h3>{_esc(s['name'])}</h3><p>{facts}predicted {_esc(s['prediction'])} ({s['probability']:.1%})</p>"
        f"<div class='grid'>{maps}</div><ol>{sentences}</ol>"
        + (f"<p><em>{_esc(s['maps'])}</em></p>" if s["maps"] else "")
    )


def _compare_html(report) -> str:
    rows, names = report.panel.compare, report.panel.compare_names
    if not rows:
        return ""
    out = [f"<h3>Words whose share differs most: {_esc(names[0])} vs {_esc(names[1])}</h3><table>"]
    out.append(f"<tr><th>group</th><th>more in {_esc(names[0])}</th><th>more in {_esc(names[1])}</th></tr>")
    for group in dict.fromkeys(r["group"] for r in rows):
        part = [r for r in rows if r["group"] == group]
        sides = [
            ", ".join(
                f"{_esc(r['word'])} {r['share']:.0%}/{r['other_share']:.0%}"
                for r in part
                if (r["difference"] > 0) == more
            )
            for more in (True, False)
        ]
        out.append(f"<tr><th>{_esc(group)}</th><td>{sides[0]}</td><td>{sides[1]}</td></tr>")
    return "".join(out) + "</table>"


def report_html(report) -> str:
    """One self-contained HTML page of the report's shown state (no scripts, no CDN)."""
    panel = report.panel
    spec = _chart_spec(report)
    chart = vlc.vegalite_to_svg(spec) if spec else ""
    messages = "".join(
        f"<p class='{kind}'>{_esc(text)}</p>"
        for kind, text in (("error", report.error), ("note", report.note))
        if text
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_esc(panel.title or "Dataset report")}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #1f1f1f; }}
.row {{ display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 6px; max-width: 720px; }}
figure {{ margin: 0; width: 96px; font-size: 11px; }} figure img {{ width: 96px; image-rendering: pixelated; }}
figure img.map {{ width: 160px; }} figure:has(img.map) {{ width: 160px; }}
th, td {{ text-align: left; padding: 1px 8px 1px 0; font-weight: normal; }} tr.worst {{ color: #e65100; font-weight: bold; }}
mark {{ background: #ffe082; }} .error {{ color: #d32f2f; }} .note {{ color: #616161; }}
</style></head><body>
<h2>{_esc(panel.title or "Dataset report")}</h2>
{messages}{_accuracy_html(panel.accuracy)}
<div class="row"><div><h3>Words by {_esc(report.by)}</h3>{chart}</div>
<div>{"".join(f"<p>{_esc(line)}</p>" for line in _card_lines(report) if line)}
{_grid_html(report)}{_stored_html(report)}</div></div>
{_compare_html(report)}
</body></html>
"""


def report_png(report, *, dpi: int = 100) -> bytes:
    """The same as one PNG image: the chart on the left; the grid's page, the stored sentences and
    the comparison on the right."""
    from matplotlib.figure import Figure
    from PIL import Image

    spec = _chart_spec(report)
    chart = Image.open(io.BytesIO(vlc.vegalite_to_png(spec, scale=1))).convert("RGB") if spec else None
    panel = report.panel
    thumbs = [
        (Image.open(io.BytesIO(t)).convert("RGB") if t else None, _caption(i))
        for i, t in zip(panel.items, panel.thumbnails)
    ]
    columns = 6
    rows = max(1, -(-len(thumbs) // columns))
    lines = _text_lines(report)
    height = max(6.0, (chart.height / dpi if chart else 0) + 1, 1.6 * rows + 0.18 * len(lines) + 1)
    width_chart = chart.width / dpi if chart else 0.1
    figure = Figure(figsize=(width_chart + 8.5, height), dpi=dpi)
    figure.text(0.01, 0.995, panel.title or "Dataset report", va="top", fontsize=13, weight="bold", **TEXT)
    left = width_chart / (width_chart + 8.5)
    if chart is not None:
        axes = figure.add_axes(
            (0.0, 1 - (chart.height / dpi) / height - 0.03, left, (chart.height / dpi) / height)
        )
        axes.imshow(chart)
        axes.axis("off")
    cell_w, cell_h = (1 - left) / columns, 1.45 / height
    for n, (picture, caption) in enumerate(thumbs):
        r, c = divmod(n, columns)
        axes = figure.add_axes(
            (left + c * cell_w + 0.005, 1 - 0.05 - (r + 1) * cell_h, cell_w * 0.9, cell_h * 0.78)
        )
        if picture is not None:
            axes.imshow(picture)
        axes.set_title(caption, fontsize=7, **TEXT)
        axes.axis("off")
    top = 1 - 0.06 - rows * cell_h
    figure.text(left + 0.005, top, "\n".join(lines), va="top", fontsize=8, family="monospace", **TEXT)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor="white")
    return buffer.getvalue()


def _text_lines(report) -> list[str]:
    panel, lines = report.panel, []
    for text in (report.error, report.note):
        if text:
            lines.append(text[:110])
    if panel.accuracy:
        lines += [
            f"accuracy {'all' if r['by'] == 'all' else r['name']}: {r['accuracy']:.1%} of {r['n']}"
            + (f" (worst {r['by']})" if r["worst"] else "")
            for r in panel.accuracy
        ]
    if report.selected_word:
        lines.append(
            f"{panel.n_with} images with “{report.selected_word}” (page {panel.page + 1} of {panel.n_pages})"
        )
        lines += [line[:110] for line in _card_lines(report) if line]
    s = panel.stored
    if s:
        lines.append(f"{s['name']}: label {s['label']}, predicted {s['prediction']} ({s['probability']:.1%})")
        lines += [f"  {i + 1}. {x['text'][:100]}" for i, x in enumerate(s["sentences"][:8])]
        if s["maps"]:
            lines.append(s["maps"][:110])
    if panel.compare:
        mine, theirs = panel.compare_names
        lines.append(f"more in {mine} | more in {theirs}, per group:")
        for group in dict.fromkeys(r["group"] for r in panel.compare):
            part = [r for r in panel.compare if r["group"] == group]
            more = ", ".join(r["word"] for r in part if r["difference"] > 0)[:40]
            less = ", ".join(r["word"] for r in part if r["difference"] < 0)[:40]
            lines.append(f"  {group}: {more} | {less}")
    return lines
