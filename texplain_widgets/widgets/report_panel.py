"""The dataset report's own view (``js/src/report.ts``): its synced traits, and nothing else.

The :class:`~.report.DatasetReport` fills them; those the view changes are marked *:

- ``title``: the run (and the compared run); ``error``: what went wrong ("" when nothing);
  ``note``: a remark that is no error (no labels, a word no sentence uses, maps need a model);
- ``accuracy``: rows ``{"by", "name", "n", "correct", "accuracy", "worst"}`` ([] without labels),
  ``by`` "all", "class", "group" or "pseudo-group" (label x the card's words), the worst of each marked;
- ``by``*: ``predicted``, ``label``, ``group`` or ``errors``; ``by_options``: those the run has;
- ``search``*: the text typed in the word search; ``matches``: stored words that match it;
- ``selected_word``*: the word whose images the grid shows ("" for none), ``n_with``: how many;
- ``page``*, ``page_size``, ``n_pages``: the grid's pages; ``items``: the page's records
  ``{"id", "name", "share", "count", "label", "group", "predicted", "error"}`` and
  ``thumbnails``: their JPEG bytes (binary buffers);
- ``selected_image``*: the id of the image opened beside the grid (-1: none); ``stored``: its
  stored explanation ``{"id", "name", "label", "group", "prediction", "probability",
  "sentences": [{"text", "spans"}], "words": [{"word", "count", "share"}]}`` ({} for none);
- ``card``: the selected word's slice card ``{"word", "lines", "pairs", "reliance",
  "pseudo_groups", "words", "command", "python", "measure", "measure_title", "measure_note"}``,
  text only ({} for none; ``measure``: the reliance button's label, "" without a model); ``reliance_status``:
  ``{"state": "running"|"done"|"cancelled"|"error", "word", "done", "total", "message"}`` ({} before
  any); the view sends ``{"action": "measure"}`` or ``{"action": "cancel"}``;
- ``compare``: rows ``{"group", "word", "share", "other_share", "difference", "z"}``,
  ``compare_names``: the two runs' names ([] when not comparing).
"""

from __future__ import annotations

import anywidget
import traitlets as t

from .frontend import css, esm

BY = ("predicted", "label", "group", "errors")


class ReportPanel(anywidget.AnyWidget):
    """The traits the report's view shows (see the module docstring)."""

    _esm = esm("report")
    _css = css("report")

    title = t.Unicode("").tag(sync=True)
    error = t.Unicode("").tag(sync=True)
    note = t.Unicode("").tag(sync=True)
    accuracy = t.List(t.Dict()).tag(sync=True)
    by = t.Enum(BY, default_value="predicted").tag(sync=True)
    by_options = t.List(t.Unicode(), default_value=["predicted"]).tag(sync=True)
    search = t.Unicode("").tag(sync=True)
    matches = t.List(t.Unicode()).tag(sync=True)
    selected_word = t.Unicode("").tag(sync=True)
    n_with = t.Int(0).tag(sync=True)
    page = t.Int(0).tag(sync=True)
    page_size = t.Int(24).tag(sync=True)
    n_pages = t.Int(1).tag(sync=True)
    items = t.List(t.Dict()).tag(sync=True)
    thumbnails = t.List(t.Bytes()).tag(sync=True)
    selected_image = t.Int(-1).tag(sync=True)
    stored = t.Dict().tag(sync=True)
    card = t.Dict().tag(sync=True)
    reliance_status = t.Dict().tag(sync=True)
    compare = t.List(t.Dict()).tag(sync=True)
    compare_names = t.List(t.Unicode()).tag(sync=True)
