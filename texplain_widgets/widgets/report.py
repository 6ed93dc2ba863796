"""DatasetReport: the words of a whole run, the images behind a word, and one image's explanation.

>>> report = DatasetReport("runs/demo", model="demo", compare="demo:balanced")
>>> report                                  # click a word bar, then a thumbnail
>>> report.selected_word = "brick"          # or script the clicks
>>> report.shown[:5]; report.page = 1; report.selected_image = report.shown[0]
>>> report.export_html("report.html"); report.snapshot()     # static, for a paper

Linked parts: a :class:`~.report_chart.RankedChart` of the words ranked per predicted class,
true label or group (``by``; log-odds z and share), the report's own view
(:mod:`.report_panel`: accuracy per group, word search, the paged image grid of the selected
word, the selected image's stored explanation, the compared runs' words) and, with a model, an
:class:`~.explorer.Explorer` showing the selected image with its stored explanation (no Generate)
and computing its maps. Bad input (not a run, another model, a word no sentence uses) is shown
in ``error`` or ``note``; the report keeps working.

Laid out for one screen (1400 x 900, and 1000 x 900), as the Dashboard is: the word chart above
the grid in a narrow column, the selected image (its stored explanation, or the Explorer with
its maps) beside them; the accuracy table and the comparison in sections that open on demand;
on a narrow page, one column. The CSS grid of ``js/src/report.css`` places the parts (the
panel's parts too: its element takes no box of its own there).

Readable and settable from Python: ``by`` (``"errors"``: the error words per true label),
``selected_word``, ``selected_image`` (an image id), ``page``, ``shown`` (the ids the grid shows,
in order; set it to show other images) and ``group_words`` (words that split the labels into
pseudo-groups with the selected word's; the worst is marked in the accuracy table). Readable:
``slice_card`` (the selected word's :class:`~.slice_card.SliceCard`, None for none) and
``reliance_status``; :meth:`measure_reliance` (the card's button, with the run's model) measures
the word's reliance on the classifier's worker thread, with progress, cancellable
(:meth:`cancel_reliance`), the report working meanwhile (the Explorer's maps wait their turn on
that thread); the card shows it when done. These
traits are the report's one state: any change of one, from Python or a click, goes through
:func:`~.report_view.transition` and :func:`~.report_view.derive_view`, and the derived view is
written out to the traits, the panel and the chart (see :mod:`.report_view`).
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future
from dataclasses import replace

import ipywidgets as widgets
import pandas as pd
import traitlets as t

from ..errors import TExplainError
from ..runs.explanation_set import ExplanationSet
from . import report_queries as q
from .report_chart import RankedChart
from .report_panel import BY, ReportPanel
from .report_view import STATE, ReportData, ReportState, ReportView, derive_view, transition
from .slice_card import RELIANCE_NEEDS_A_MODEL, SliceCard

log = logging.getLogger(__name__)

CHART_WIDTH = 120  # px per half of the word chart: about 300 px in all, for the 330 px column
CLICKED = ("by", "selected_word", "page", "selected_image")  # what the panel's view writes back


class DatasetReport(widgets.Box):
    """A report over a stored run (see the module docstring)."""

    by = t.Enum(BY, default_value="predicted")
    selected_word = t.Unicode("")
    selected_image = t.Int(-1)
    page = t.Int(0)
    shown = t.List(t.Int())
    group_words = t.List(t.Unicode())
    reliance_status = t.Dict()
    error = t.Unicode("")
    note = t.Unicode("")

    def __init__(
        self,
        run,
        model=None,
        compare=None,
        *,
        top: int = 12,
        page_size: int = 24,
        thumb_size: int = 96,
        **explorer_traits,
    ):
        """``run``: an ExplanationSet, a run directory, ``demo`` or ``demo:balanced``; ``model``: the
        run's TExplain (or its name) for the maps; ``compare``: a second run over the same images;
        ``top``: words per chart row; ``explorer_traits``: initial Explorer settings."""
        self.panel = ReportPanel(page_size=page_size)
        self.panel.add_class("tx-report-panel")
        self.chart = RankedChart(chart_width=CHART_WIDTH)
        self.chart.add_class("tx-report-chart")
        self.run = self.other = self.model = self.explorer = None
        self.top, self.thumb_size, self._explorer_traits = top, thumb_size, explorer_traits
        self._data: ReportData | None = None
        self._state = ReportState()
        self._view: ReportView | None = None  # None until a run is open: changes do nothing
        self._explored = -1  # the image the Explorer shows
        self._reliance = None  # the Generations measuring reliance (made on the first click)
        self._measured: Future | None = None
        self._lock = threading.RLock()  # one change of the state at a time: the reliance ends on the worker
        super().__init__([self.chart, self.panel])  # laid out by js/src/report.css (.tx-report-layout)
        self.add_class("tx-report-layout")
        self._links = [
            t.dlink((self, name), (self.panel, name)) for name in ("error", "note", "reliance_status")
        ]
        self.panel.on_msg(self._on_message)
        self.panel.observe(self._on_click, CLICKED)
        self.chart.observe(self._on_click, "selected_word")
        try:
            self.run = q.open_run(run)
        except TExplainError as error:
            self.error = str(error)
            return
        data = ReportData(self.run, top=top, page_size=page_size, thumb_size=thumb_size)
        self._open(data, model, compare)
        self.panel.observe(self._on_search, "search")
        data.on_pairs = self._on_pairs
        self._data = data
        self._show(ReportState())

    # -- Python API -----------------------------------------------------------------------

    @property
    def images(self) -> pd.DataFrame:
        """The grid's images in order (all pages): id, name, share, count, label, group, predicted."""
        if self._view is None:
            return pd.DataFrame(columns=["id"])
        return self._view.frame.drop(columns=["path"], errors="ignore").reset_index(drop=True)

    @property
    def slice_card(self) -> SliceCard | None:
        """The selected word's slice card (None: no word, or a run without labels)."""
        return None if self._view is None else self._view.slice_card

    def wait(self, timeout: float | None = None) -> None:
        """Block until the Explorer's maps, the reliance and the two-word slices asked for so far
        are done (the card then shows them)."""
        if self._data is not None and self._data._pairs is not None:
            self._data._pairs.result(timeout)
            self._on_pairs()
        if self._measured is not None:
            self._measured.result(timeout)
        if self.explorer is not None:
            self.explorer.wait(timeout)

    def measure_reliance(self) -> Future | None:
        """Measure the reliance on the selected word (up to ``RELIANCE_IMAGES`` images of its slice,
        stored in the run and resumed) in the background, as the card's button does; the card
        shows it when done. None (and ``error`` says why) without the run's model or a card."""
        from .generations import Generations
        from .worker import worker_for

        if self.model is None or self.slice_card is None:
            problem = (
                RELIANCE_NEEDS_A_MODEL if self.model is None else "select a word with a slice card first"
            )
            if self._view is not None:
                self._show(replace(self._state, problem=problem))  # said until the next change
            return None
        word, model, run, images = self.slice_card.word, self.model, self.run, self._data.reliance_images
        if self._reliance is None:
            worker = worker_for(model.classifier)
            self._reliance = Generations(lambda function, *args: worker.submit(function, *args))

        def measure(batch, cancelled):  # on the worker thread: its own DuckDB connection
            own = ExplanationSet.open(run.directory)
            return own.reliance(
                word, model, max_images=images, progress=False, cancel=cancelled, on_progress=batch
            )

        def on_batch(done: int, total: int) -> None:
            self.reliance_status = {
                "state": "running",
                "word": word,
                "done": done,
                "total": total,
                "message": "",
            }

        def on_end(status: str, result) -> None:
            message = str(result) if status == "error" else ""
            done = dict(self.reliance_status)
            self.reliance_status = done | {"state": status, "word": word, "message": message}
            with self._lock:
                self._data.measured(word)
                self._show(self._state)  # the card reads the stored reliance again

        def on_start() -> None:
            self.reliance_status = {"state": "running", "word": word, "done": 0, "total": 0, "message": ""}

        self._measured = self._reliance.start(measure, on_batch=on_batch, on_end=on_end, on_start=on_start)
        return self._measured

    def cancel_reliance(self) -> None:
        """Stop measuring after the current image (what was measured is stored)."""
        if self._reliance is not None:
            self._reliance.cancel()

    def snapshot(self):
        """The shown state as a static PNG (an IPython Image: it shows on GitHub and nbviewer)."""
        from IPython.display import Image

        from .report_export import report_png

        return Image(report_png(self))

    def export_html(self, path) -> None:
        """Write the shown state as one self-contained HTML file (no scripts)."""
        from .report_export import report_html

        with open(path, "w", encoding="utf-8") as file:
            file.write(report_html(self))

    def export_png(self, path) -> None:
        """Write the shown state as a PNG image."""
        from .report_export import report_png

        with open(path, "wb") as file:
            file.write(report_png(self))

    def close(self) -> None:
        for link in self._links:
            link.unlink()
        self.panel.unobserve(self._on_click, CLICKED)
        if self._reliance is not None:
            self._reliance.close()
        self.chart.unobserve(self._on_click, "selected_word")
        for child in (self.chart, self.panel, self.explorer):
            if child is not None:
                child.close()
        super().close()

    # -- opening --------------------------------------------------------------------------

    def _open(self, data: ReportData, model, compare) -> None:
        run = self.run
        self.panel.by_options = list(data.by_options)
        self.panel.title = f"{run.directory.name}: {len(run)} images"
        if not run.manifest.get("complete"):
            data.notes.append(f"The run is incomplete: {run.summary()}.")
        if "label" not in data.by_options and len(run.images):
            data.notes.append("The run has no labels: no accuracy, and words by predicted class only.")
        if model is not None:
            data.errors += self._set_model(model)
        if compare is not None:
            data.errors += self._set_compare(compare)
        data.has_model = self.model is not None
        if data.has_model and isinstance(model, (str, os.PathLike)):
            data.model_name = os.fspath(model)

    def _set_model(self, model) -> list[str]:
        from ..runs.models import load_model

        try:
            model = load_model(model)
            problems = q.model_mismatch(self.run, model)
        except TExplainError as error:
            return [f"no maps: {error}"]
        if problems:
            return [
                "The model given is not the run's (maps are off; the stored words and sentences are shown): "
                + "; ".join(problems)
            ]
        self.model = model
        return []

    def _set_compare(self, compare) -> list[str]:
        try:
            other = q.open_run(compare)
        except TExplainError as error:
            return [f"no comparison: {error}"]
        if not q.same_images(self.run, other):
            return [f"no comparison: {other.directory} explains other images than {self.run.directory}"]
        self.other = other
        self.panel.title = f"{self.run.directory.name} vs {other.directory.name}: {len(self.run)} images"
        self.panel.compare_names = [self.run.directory.name, other.directory.name]
        self.panel.compare = q.compare_words(self.run, other)
        return []

    # -- the state and its view -----------------------------------------------------------

    @t.observe(*STATE)
    def _on_state(self, change) -> None:
        """A change of the state, from Python or the view: the next state, shown. A trait set to
        what the view shows already (the view being written out) changes nothing."""
        if self._view is None or change["new"] == getattr(self._view, change["name"]):
            return
        with self._lock:
            self._show(transition(self._state, change["name"], change["new"], self._data))

    def _on_click(self, change) -> None:
        """The panel's or the chart's view asks for a change of the state."""
        setattr(self, change["name"], change["new"])

    def _on_pairs(self) -> None:
        """The two-word slices were found (on the search's thread): the card shows them."""
        with self._lock:
            self._data.card.cache_clear()
            if self._view is not None and self._view.card:
                self._show(self._state)

    def _on_message(self, _widget, content, _buffers) -> None:
        action = content.get("action") if isinstance(content, dict) else None
        if action == "measure":
            self.measure_reliance()
        elif action == "cancel":
            self.cancel_reliance()

    def _on_search(self, change) -> None:
        self.panel.matches = self._data.index.search(change["new"])

    def _show(self, state: ReportState) -> None:
        """Make ``state`` the report's and write its view out: traits, chart, panel, Explorer."""
        before, view = self._view, derive_view(state, self._data)
        self._state, self._view = state, view
        for name in STATE:
            if getattr(self, name) != getattr(view, name):
                setattr(self, name, getattr(view, name))
        self.chart.words = view.chart_words
        self.chart.selected_word = view.selected_word
        with self.panel.hold_sync():
            for name in ("by", "selected_word", "page", "selected_image", "n_pages", "items", "stored"):
                setattr(self.panel, name, getattr(view, name))
            self.panel.accuracy, self.panel.card = view.accuracy, view.card
            self.panel.n_with = len(view.frame)
            self.panel.thumbnails = view.thumbnails
        moved = before is None or (before.selected_image, before.selected_word) != (
            view.selected_image,
            view.selected_word,
        )
        trouble = self._explore(view) if moved and view.stored and self.model is not None else ""
        self.error = " ".join(filter(None, [view.error, trouble]))
        self.note = view.note

    def _explore(self, view: ReportView) -> str:
        """Show the selected image in the Explorer (one, made on the first image); what went wrong."""
        image_id = view.selected_image
        if self.explorer is not None and self._explored == image_id:  # another word: only its marks and map
            self.explorer.selected_word = view.selected_word
            return ""
        try:
            explanation = self._data.explanation(image_id)
            name = view.stored["name"]
            source = self._data.pictures.source(image_id)
            if self.explorer is None:
                from .explorer import Explorer

                options = dict(self._explorer_traits)
                if self.model.display.get("method_options") and "method_options" not in options:
                    options["method_options"] = self.model.display["method_options"]
                self.explorer = Explorer(self.model, source, name=name, explanation=explanation, **options)
                self.explorer.add_class("tx-report-explorer")
                self.children = [*self.children, self.explorer]
                self.add_class("tx-report-with-explorer")  # the Explorer shows the stored sentences
            else:
                self.explorer.set_image(source, name=name)
                self.explorer.explanation = explanation
            self.explorer.selected_word = view.selected_word
            self._explored = image_id
        except (TExplainError, OSError) as error:
            return f"cannot open image {image_id} in the Explorer: {error}"
        return ""
