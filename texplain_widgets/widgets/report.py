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

Readable and settable from Python: ``by``, ``selected_word``, ``selected_image`` (an image id),
``page`` and ``shown`` (the ids the grid shows, in order; set it to show other images).
"""

from __future__ import annotations

import logging
from collections import OrderedDict

import ipywidgets as widgets
import pandas as pd
import traitlets as t

from ..errors import TExplainError
from . import report_queries as q
from .report_chart import RankedChart
from .report_panel import BY, ReportPanel
from .word_view import marked_sentences, word_records

log = logging.getLogger(__name__)

LINKED = ("by", "selected_word", "selected_image", "page", "error", "note")
MAPS_NEED_A_MODEL = (
    "Maps need the run's model: DatasetReport(run, model=...) (or %texplain report RUN --model DIR|demo)."
)


class DatasetReport(widgets.VBox):
    """A report over a stored run (see the module docstring)."""

    by = t.Enum(BY, default_value="predicted")
    selected_word = t.Unicode("")
    selected_image = t.Int(-1)
    page = t.Int(0)
    shown = t.List(t.Int())
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
        self.chart = RankedChart()
        self.chart.layout.margin = "0 16px 0 0"
        self.panel.layout.flex = "1 1 380px"  # takes the width the chart leaves, wraps below under 380 px
        self.run = self.other = self.model = self.explorer = None
        self.top, self.thumb_size, self._explorer_traits = top, thumb_size, explorer_traits
        self._frame = pd.DataFrame(columns=["id"])  # the grid's images, in order
        self._thumbs: OrderedDict[int, tuple[bytes, str]] = OrderedDict()
        self._ready = self._paging = False
        self._standing = self._notes = self._typed = (
            ""  # the error and note of opening, shown again after others
        )
        super().__init__(
            [
                widgets.HBox(
                    [self.chart, self.panel],
                    layout=widgets.Layout(align_items="flex-start", flex_flow="row wrap"),  # narrow: below
                )
            ]
        )
        self.add_class("tx-report")
        self._links = [_mirror(self, self.panel, name) for name in LINKED]
        self._links.append(_mirror(self, self.chart, "selected_word"))
        try:
            self.run = q.open_run(run)
        except TExplainError as error:
            self.error = str(error)
            return
        self._index = q.WordIndex(self.run)
        self._pictures = q.Pictures(self.run)
        self._table = q.image_table(self.run)
        self._open(model, compare)
        self.panel.observe(self._on_search, "search")
        self._ready = True
        self._on_by(None)
        if self.selected_word:
            self._on_word(None)

    # -- Python API -----------------------------------------------------------------------

    @property
    def images(self) -> pd.DataFrame:
        """The grid's images in order (all pages): id, name, share, count, label, group, predicted."""
        return self._frame.drop(columns=["path"], errors="ignore").reset_index(drop=True)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the Explorer's maps asked for so far are done (nothing to wait for without a model)."""
        if self.explorer is not None:
            self.explorer.wait(timeout)

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
        for unlink in self._links:
            unlink()
        for child in (self.chart, self.panel, self.explorer):
            if child is not None:
                child.close()
        super().close()

    # -- opening --------------------------------------------------------------------------

    def _open(self, model, compare) -> None:
        run, images = self.run, self.run.images
        has = {key: bool(len(images)) and images[key].notna().any() for key in ("label", "group")}
        self.panel.by_options = ["predicted"] + [key for key in ("label", "group") if has[key]]
        self.panel.title = f"{run.directory.name}: {len(run)} images"
        notes = []
        if not run.manifest.get("complete"):
            notes.append(f"The run is incomplete: {run.summary()}.")
        if has["label"]:
            table = run.accuracy()
            self.panel.accuracy = [
                {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                for row in table.to_dict("records")
            ]
        elif len(images):
            notes.append("The run has no labels: no accuracy, and words by predicted class only.")
        if model is not None:
            self._set_model(model)
        if compare is not None:
            self._set_compare(compare)
        self._notes = self.note = " ".join(notes)
        self._standing = self.error

    def _set_model(self, model) -> None:
        from ..runs.models import load_model

        try:
            model = load_model(model)
            problems = q.model_mismatch(self.run, model)
        except TExplainError as error:
            self.error = f"no maps: {error}"
            return
        if problems:
            self.error = (
                "The model given is not the run's (maps are off; the stored words and sentences are shown): "
                + "; ".join(problems)
            )
            return
        self.model = model

    def _set_compare(self, compare) -> None:
        try:
            other = q.open_run(compare)
        except TExplainError as error:
            self.error = f"no comparison: {error}"
            return
        if not q.same_images(self.run, other):
            self.error = f"no comparison: {other.directory} explains other images than {self.run.directory}"
            return
        self.other = other
        self.panel.title = f"{self.run.directory.name} vs {other.directory.name}: {len(self.run)} images"
        self.panel.compare_names = [self.run.directory.name, other.directory.name]
        self.panel.compare = q.compare_words(self.run, other)

    # -- glue -----------------------------------------------------------------------------

    @t.observe("by")
    def _on_by(self, _change) -> None:
        if not self._ready:
            return
        if self.by not in self.panel.by_options:
            self.error = (
                f"the run's images have no {self.by}s: words by {', '.join(self.panel.by_options)} only"
            )
            self.by = "predicted"
            return
        try:
            self.chart.words = q.ranked_words(self.run, self.by, self.top) if len(self.run) else []
        except TExplainError as error:
            self.error = str(error)

    @t.validate("selected_word")
    def _valid_word(self, proposal) -> str:
        word = proposal["value"].strip()
        self._typed = word
        return self._index.lemma(word) if word and self._ready else word

    @t.observe("selected_word")
    def _on_word(self, _change) -> None:
        if not self._ready:
            return
        lemma = self.selected_word
        self.error = self._standing
        unused = bool(lemma) and not self._index.n_sentences(lemma)
        self.note = f"No sentence of this run uses “{self._typed}”." if unused else self._notes
        self._frame = q.word_images(self.run, lemma, self._table)
        self.panel.n_with = len(self._frame)
        self._show_page(0)
        if self.selected_image >= 0:
            self._show_stored()

    def _on_search(self, change) -> None:
        self.panel.matches = self._index.search(change["new"])

    @t.observe("page")
    def _on_page(self, _change) -> None:
        if self._ready and not self._paging:
            self._show_page(self.page)

    @t.observe("shown")
    def _on_shown(self, change) -> None:
        if not self._ready or self._paging:
            return
        ids = [i for i in dict.fromkeys(change["new"]) if i in self._table.index]
        missing = sorted(set(change["new"]) - set(ids))
        if missing:
            self.error = f"no stored images with ids {missing[:10]}"
        shares = self._frame.set_index("id")["share"] if len(self._frame) else pd.Series(dtype=float)
        frame = self._table.reindex(ids).reset_index()
        frame["share"] = shares.reindex(ids).to_numpy(dtype=float)  # the selected word's, where known
        frame["count"] = 0
        self._frame = frame
        self.panel.n_with = len(self._frame)
        self._show_page(0)

    @t.observe("selected_image")
    def _on_image(self, _change) -> None:
        if self._ready:
            self._show_stored()

    def _show_page(self, page: int) -> None:
        size = max(1, self.panel.page_size)
        n_pages = max(1, -(-len(self._frame) // size))
        page = min(max(page, 0), n_pages - 1)
        rows = self._frame.iloc[page * size : (page + 1) * size]
        thumbs = [self._thumbnail(int(i)) for i in rows["id"]]
        items = [
            {
                "id": int(r.id),
                "name": str(r.name),
                "share": None if pd.isna(r.share) else float(r.share),
                "count": int(r.count),
                "label": None if pd.isna(r.label) else str(r.label),
                "group": None if pd.isna(r.group) else str(r.group),
                "predicted": str(r.predicted),
                "error": problem,
            }
            for r, (_, problem) in zip(rows.itertuples(index=False), thumbs)
        ]
        self._paging = True
        try:
            with self.panel.hold_sync():
                self.panel.n_pages = n_pages
                self.page = page
                self.panel.thumbnails = [thumb for thumb, _ in thumbs]
                self.panel.items = items
                self.shown = [item["id"] for item in items]
        finally:
            self._paging = False

    def _thumbnail(self, image_id: int) -> tuple[bytes, str]:
        if image_id in self._thumbs:
            self._thumbs.move_to_end(image_id)
            return self._thumbs[image_id]
        try:
            found = (q.jpeg_thumbnail(self._pictures(image_id), self.thumb_size), "")
        except (TExplainError, OSError) as error:
            found = (b"", str(error))
        self._thumbs[image_id] = found
        if len(self._thumbs) > 20 * max(1, self.panel.page_size):
            self._thumbs.popitem(last=False)
        return found

    def _show_stored(self) -> None:
        image_id = self.selected_image
        if image_id < 0:
            self.panel.stored = {}
            return
        try:
            explanation = self.run.explanation(image_id)
        except TExplainError as error:
            self.error = str(error)
            self.panel.stored = {}
            return
        row = self.run.images.set_index("id").loc[image_id]
        lemma = self.selected_word
        self.panel.stored = {
            "id": int(image_id),
            "name": str(row["name"]),
            "label": None if pd.isna(row["label"]) else str(row["label"]),
            "group": None if pd.isna(row["group"]) else str(row["group"]),
            "prediction": explanation.class_name or f"class {explanation.predicted_class}",
            "probability": float(explanation.probability),
            "sentences": marked_sentences(explanation.sentences, lemma, 12),
            "n_sentences": len(explanation.sentences),
            "words": word_records(explanation.sentences, 10, explanation.words),
            "maps": "" if self.model is not None else MAPS_NEED_A_MODEL,
        }
        if self.model is not None:
            self._explore(image_id, explanation, str(row["name"]))

    def _explore(self, image_id: int, explanation, name: str) -> None:
        if self.explorer is not None and self._explored == image_id:  # another word: only its marks and map
            self.explorer.selected_word = self.selected_word
            return
        try:
            source = self._pictures.source(image_id)
            if self.explorer is None:
                from .explorer import Explorer

                options = dict(self._explorer_traits)
                if self.model.display.get("method_options") and "method_options" not in options:
                    options["method_options"] = self.model.display["method_options"]
                self.explorer = Explorer(self.model, source, name=name, explanation=explanation, **options)
                self.children = [*self.children, self.explorer]
            else:
                self.explorer.set_image(source, name=name)
                self.explorer.explanation = explanation
            self.explorer.selected_word = self.selected_word
            self._explored = image_id
        except (TExplainError, OSError) as error:
            self.error = f"cannot open image {image_id} in the Explorer: {error}"


def _mirror(one, other, name: str):
    """Keep trait ``name`` equal on two objects, each side free to normalise what it is given
    (unlike ``traitlets.link``, which fails then); the first's value wins. Returns the unlink."""

    def forward(_change) -> None:  # the current value: an observer may have changed it since
        if getattr(other, name) != getattr(one, name):
            setattr(other, name, getattr(one, name))

    def back(_change) -> None:
        if getattr(one, name) != getattr(other, name):
            setattr(one, name, getattr(other, name))

    setattr(other, name, getattr(one, name))
    one.observe(forward, name)
    other.observe(back, name)
    return lambda: (one.unobserve(forward, name), other.unobserve(back, name))
