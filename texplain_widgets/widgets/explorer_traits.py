"""The Explorer's state: its traits, synced with the view (see :mod:`.explorer`).

The traits (all readable and settable from Python; those the view changes are marked *):

- ``image_png`` (PNG bytes, sent as a binary buffer), ``image_name``: the image shown;
- ``prediction`` (class name), ``predicted_class``, ``probability``: the classifier's prediction;
- ``n_sentences``*, ``top_p``*, ``temperature``*, ``max_new_tokens``, ``seed``, ``batch_size``:
  generation settings (see :class:`~texplain_widgets.model.generate.SamplingSettings`);
  ``batch_size`` is also how often the words update;
- ``status``: ``idle``, ``running``, ``done``, ``cancelled`` or ``error``; ``progress`` in
  [0, 1]; ``n_generated``: sentences so far; ``error``: the last error message, "" when none;
- ``words``: the top ``n_words`` words, each ``{"word", "count", "share"}``; ``show_words``:
  whether the view draws them (a :class:`~.dashboard.Dashboard` shows them in a WordChart);
- ``sentences`` (Python only): up to ``max_sentences`` sentences, those with the selected word
  first; ``word_forms`` (Python only): the selected word's spellings in them, case folded;
- ``marked_sentences``: what the view lists, ``[{"text", "spans": [[start, end], ...]}]``, the
  selected word's tokens found by :func:`~texplain_widgets.words.word_spans` (offsets in code
  points; the view marks them and does not tokenise);
- ``selected_word``*: the word (a lemma, as in ``words``) the maps and sentences are about;
- ``saliency_method``*: one of ``methods`` (Captum methods of
  :func:`~texplain_widgets.attribution.saliency_map`); ``saliency_png``: its map over the image;
- ``word_method``: the method of the word-grounded map; ``word_map_png``: the selected word's
  map over the image (see :func:`~texplain_widgets.attribution.word_saliency`), and
  ``word_map_word``: the word it shows ("" while none is ready);
- ``method_options`` (Python only): options per method for both maps, e.g.
  ``{"gradcam": {"layer": "layer3"}}`` (a finer grid than the last stage on small images);
- ``saliency_spread``, ``word_map_spread``: each map's spread, the share of the image holding
  half of its weight (:func:`~texplain_widgets.attribution.drawing.spread`; about 0.5: the map
  is everywhere; -1: no map); ``map_scale``: the colours of the maps' colour scale, cold to hot;
- ``help``: the keys and clicks the view takes, as text (its ``?`` tooltip);
- ``report_card``: the translator's report card in one line (recall, precision on N held-out
  captions, final val loss; "" for a model without one), ``report_card_detail`` all of it (its
  tooltip); see :mod:`~texplain_widgets.model.report_card`.
"""

from __future__ import annotations

import anywidget
import traitlets as t

from ..attribution.drawing import COLORMAP, colour_stops
from ..attribution.maps import METHODS

STATUSES = ("idle", "running", "done", "cancelled", "error")
HELP = (
    "Keys: ← → ↑ ↓ move the selection in the image grid (Home, End: first, last; PageUp, PageDown: pages); "
    "Enter generates for the selected image; Escape cancels a generation; "
    "↓ ↑ (with the explorer focused) choose the next or previous word; "
    "Tab moves between the grid and the controls. "
    "Click a word bar to see its sentences and where in the image it comes from."
)


class ExplorerTraits(anywidget.AnyWidget):
    """The traits of an :class:`~.explorer.Explorer` (see the module docstring)."""

    image_png = t.Bytes(b"").tag(sync=True)
    image_name = t.Unicode("").tag(sync=True)
    prediction = t.Unicode("").tag(sync=True)
    predicted_class = t.Int(-1).tag(sync=True)
    probability = t.Float(0.0).tag(sync=True)

    n_sentences = t.Int(64).tag(sync=True)
    top_p = t.Float(0.9).tag(sync=True)
    temperature = t.Float(1.0).tag(sync=True)
    max_new_tokens = t.Int(20).tag(sync=True)
    seed = t.Int(0).tag(sync=True)
    batch_size = t.Int(32).tag(sync=True)

    status = t.Enum(STATUSES, default_value="idle").tag(sync=True)
    progress = t.Float(0.0).tag(sync=True)
    n_generated = t.Int(0).tag(sync=True)
    error = t.Unicode("").tag(sync=True)

    n_words = t.Int(25).tag(sync=True)
    show_words = t.Bool(True).tag(sync=True)  # False where a linked WordChart shows them
    words = t.List(t.Dict()).tag(sync=True)
    max_sentences = t.Int(12).tag(sync=True)
    sentences = t.List(t.Unicode())
    word_forms = t.List(t.Unicode())
    marked_sentences = t.List(t.Dict()).tag(sync=True)
    selected_word = t.Unicode("").tag(sync=True)

    methods = t.List(t.Unicode(), default_value=list(METHODS)).tag(sync=True)
    saliency_method = t.Unicode("gradcam").tag(sync=True)
    saliency_png = t.Bytes(b"").tag(sync=True)
    word_method = t.Unicode("gradcam").tag(sync=True)
    word_map_png = t.Bytes(b"").tag(sync=True)
    word_map_word = t.Unicode("").tag(sync=True)
    saliency_spread = t.Float(-1.0).tag(sync=True)
    word_map_spread = t.Float(-1.0).tag(sync=True)
    map_scale = t.List(t.Unicode(), default_value=colour_stops(COLORMAP)).tag(sync=True)
    help = t.Unicode(HELP).tag(sync=True)
    report_card = t.Unicode("").tag(sync=True)
    report_card_detail = t.Unicode("").tag(sync=True)
    method_options = t.Dict()  # Python only: {method: {option: value}}, e.g. {"gradcam": {"layer": "layer3"}}
