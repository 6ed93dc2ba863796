"""Dashboard: an ImageBrowser, a linked WordChart and an Explorer, composed into one widget.

>>> dash = Dashboard(model, "birds/")      # or a demo World, a list of images
>>> dash                                   # click an image, press Generate, click a word
>>> dash.selected_image = 12; dash.generate().result(); dash.selected_word = "water"
>>> dash.wait(); dash.export_html("figure.html"); dash.snapshot()   # static, for a paper

Selecting an image in the browser shows it in the explorer; the explorer's words feed the chart;
a word clicked in the chart (or set from Python) is the explorer's selected word, so its sentences
are highlighted and its word-grounded map is drawn.

Laid out for one screen (1400 x 900, and usable at 1000 px wide): the browser's grid (``rows``
rows, paged) above the word chart in a narrow column, the explorer (image, prediction, the maps
side by side, the sentences) beside them; on a narrow page the explorer wraps below. Keys: the
arrows move the selection in the grid, Enter generates for it, Escape cancels (the ``?`` button).
"""

from __future__ import annotations

import ipywidgets as widgets
import traitlets as t

from ..errors import InputError
from .browser import ImageBrowser
from .explorer import Explorer
from .export import snapshot_html, snapshot_png
from .word_chart import WordChart


class Dashboard(widgets.Box):
    """Browse images, generate words and read maps (see the module docstring)."""

    def __init__(
        self, texplain, images, *, selected: int = 0, page_size: int = 100, rows: int = 2, **explorer_traits
    ):
        """``texplain``: a :class:`~texplain_widgets.TExplain`; ``images``: what
        :class:`~.browser.ImageBrowser` browses; ``selected``: the image shown first; ``rows``:
        the rows of thumbnails shown; ``explorer_traits``: initial Explorer settings, e.g.
        ``n_sentences=128``."""
        if rows < 1:
            raise InputError(f"rows must be at least 1, got {rows}")
        self.browser = ImageBrowser(images, texplain=texplain, page_size=page_size, rows=rows)
        collection = self.browser.collection
        first = min(max(selected, 0), len(collection) - 1)
        self.explorer = Explorer(
            texplain,
            collection.sources[first],
            name=collection.names[first],
            show_words=False,
            **explorer_traits,
        )
        self.chart = WordChart(self.explorer.words, self.explorer.selected_word)
        self._links = [
            t.dlink((self.explorer, "words"), (self.chart, "words")),
            t.link((self.explorer, "selected_word"), (self.chart, "selected_word")),
        ]
        self.browser.selected = first
        self.browser.observe(self._on_selected_image, "selected")
        self.browser.on_action(self._on_key)
        side = widgets.VBox(
            [self.browser, self.chart],
            layout=widgets.Layout(width="320px", flex="0 0 320px", overflow="hidden"),
        )
        side.add_class("tx-dashboard-side")
        self.explorer.layout = widgets.Layout(flex="1 1 480px", min_width="0")
        super().__init__(
            [side, self.explorer],
            layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start", grid_gap="8px 16px"),
        )
        self.add_class("tx-dashboard")

    # -- state, readable and settable from Python ------------------------------------------

    selected_image = property(
        lambda self: self.browser.selected,
        lambda self, index: setattr(self.browser, "selected", index),
        doc="The shown image's index in the browser's collection.",
    )
    selected_word = property(
        lambda self: self.explorer.selected_word,
        lambda self, word: setattr(self.explorer, "selected_word", word),
        doc="The word whose sentences and map are shown ('' for none).",
    )
    saliency_method = property(
        lambda self: self.explorer.saliency_method,
        lambda self, method: setattr(self.explorer, "saliency_method", method),
        doc="The Captum method of the saliency map.",
    )

    @property
    def explanation(self):
        """The current image's Explanation (None before Generate)."""
        return self.explorer.explanation

    def generate(self):
        """Generate for the shown image (the Generate button); returns a Future of the Explanation."""
        return self.explorer.generate()

    def cancel(self) -> None:
        self.explorer.cancel()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the work asked for so far (generation, maps) is done."""
        self.explorer.wait(timeout)

    def snapshot(self):
        """The shown state as a static PNG image (an IPython Image: it shows on GitHub and nbviewer)."""
        from IPython.display import Image

        return Image(snapshot_png(self.explorer))

    def export_html(self, path) -> None:
        """Write the shown state as one self-contained HTML file (no scripts, no CDN)."""
        with open(path, "w", encoding="utf-8") as file:
            file.write(snapshot_html(self.explorer))

    def export_png(self, path) -> None:
        """Write the shown state as a PNG image."""
        with open(path, "wb") as file:
            file.write(snapshot_png(self.explorer))

    def close(self) -> None:
        links, self._links = self._links, []  # a second close (ipywidgets' __del__) unlinks nothing
        for link in links:
            link.unlink()
        for child in (self.browser, self.chart, self.explorer):
            child.close()
        super().close()

    # -- glue -----------------------------------------------------------------------------

    def _on_key(self, action: str, index: int) -> None:
        """Enter on a thumbnail: generate for it; Escape: cancel."""
        if action == "cancel":
            self.cancel()
        elif index >= 0:
            self.selected_image = index
            self.generate()

    def _on_selected_image(self, change) -> None:
        index = change["new"]
        if index >= 0:
            collection = self.browser.collection
            self.explorer.set_image(collection.sources[index], name=collection.names[index])
