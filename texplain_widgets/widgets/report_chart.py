"""The dataset report's word chart: per class, label or group, log-odds z and share as linked bars.

:func:`ranked_chart` builds the chart (also used for static exports); :class:`RankedChart` shows
it live as a :class:`~.chart_theme.ThemedChart` (offline, following JupyterLab's theme). A click
on a bar of either chart selects the word in both; ``selected_word`` follows clicks both ways.
With the run's reference, words not above the language prior are pale, the tooltip gives each
word's lift and why, and ``hide_prior`` leaves them out. Error words (records with a
``difference``, the report's ``by="errors"``) are drawn by :func:`error_chart` instead: the
difference of shares as a bar with its 95% interval; class words pale, ``hide_class_words``
leaves them out.
"""

from __future__ import annotations

import warnings

import altair as alt
import traitlets as t

from .chart_theme import ThemedChart
from .word_chart import PRIOR, bar_colour

SELECTED = "#1976d2"
OTHER = "#9e9e9e"
INTERVAL = "#757575"  # the interval's line: visible on the light and the dark background
PICK = "pick"
CHART_WIDTH_EXPORT = 150  # px per half of a ranked chart in static exports
HEADER = {"labelOrient": "top", "labelAnchor": "start", "labelFontWeight": "bold", "labelPadding": 2}


def ranked_chart(
    words: list[dict], selected: str = "", *, title: str = "", width: int = 150, hide_prior: bool = False
) -> alt.TopLevelMixin:
    """One row per group of ``words`` (records ``{"group", "word", "z", "share", "count"}``): its
    words by z on the left, their share of the group's sentences on the right; a click selects a
    word (selection ``pick``), the ``selected`` word highlighted in every row. Records with
    ``lift`` show it in the tooltip; those with ``above_prior`` false are pale (or left out with
    ``hide_prior``), their ``note`` in the tooltip."""
    pick = alt.selection_point(name=PICK, fields=["word"], on="click", empty=False)
    current = alt.param(name="selected", value=selected)
    records = [dict(w) for w in words if not (hide_prior and w.get("above_prior") is False)]
    base = alt.Chart(alt.Data(values=records))
    colour = bar_colour(current)
    tooltip = [
        alt.Tooltip("group:N"),
        alt.Tooltip("word:N"),
        alt.Tooltip("z:Q", format=".1f"),
        alt.Tooltip("share:Q", format=".1%"),
        alt.Tooltip("count:Q", title="times"),
    ]
    if any("lift" in r for r in records):
        tooltip += [alt.Tooltip("lift:Q", format=".1f"), alt.Tooltip("note:N", title="prior")]
    order = alt.EncodingSortField("z", order="descending")
    header = HEADER
    row = alt.Row("group:N", title=None, header=alt.Header(**header))  # above its rows: a narrow chart
    z = base.mark_bar(cursor="pointer").encode(
        x=alt.X("z:Q", title="log-odds z"),
        y=alt.Y("word:N", sort=order, title=None),
        color=colour,
        tooltip=tooltip,
        row=row,
    )
    share = base.mark_bar(cursor="pointer").encode(
        x=alt.X(
            "share:Q", title="share of sentences", axis=alt.Axis(format="%"), scale=alt.Scale(domainMin=0)
        ),
        y=alt.Y("word:N", sort=order, title=None, axis=None),
        color=colour,
        tooltip=tooltip,
        # the same headers, blank, so that the rows of both halves line up
        row=alt.Row("group:N", title=None, header=alt.Header(**header, labelExpr="' '")),
    )
    size = {"width": width, "height": alt.Step(14)}
    with warnings.catch_warnings():  # one selection over both views is what is wanted here
        warnings.filterwarnings("ignore", "Automatically deduplicated selection", UserWarning)
        return alt.hconcat(
            z.add_params(pick, current).properties(**size).resolve_scale(y="independent"),
            share.add_params(pick).properties(**size).resolve_scale(y="independent"),
            title=title,
            spacing=8,
        )


def error_chart(
    words: list[dict], selected: str = "", *, width: int = 250, hide_class_words: bool = False
) -> alt.TopLevelMixin:
    """One row per true label of error words (records of
    :func:`~.report_queries.error_words`): the share of the label's wrong images using the word
    minus that of its right ones, a bar, with Newcombe's 95% interval as a line; a click selects
    a word (selection ``pick``); class words (``class_word``) pale, or left out with
    ``hide_class_words``."""
    pick = alt.selection_point(name=PICK, fields=["word"], on="click", empty=False)
    current = alt.param(name="selected", value=selected)
    records = [dict(w) for w in words if not (hide_class_words and w.get("class_word"))]
    colour = (
        alt.when(alt.datum.word == current)
        .then(alt.value(SELECTED))
        .when(alt.datum.class_word == True)  # noqa: E712 (a Vega expression, not Python)
        .then(alt.value(PRIOR))
        .otherwise(alt.value(OTHER))
    )
    tooltip = [
        alt.Tooltip("group:N", title="label"),
        alt.Tooltip("word:N"),
        alt.Tooltip("difference:Q", format="+.0%"),
        alt.Tooltip("difference_low:Q", title="95% from", format="+.0%"),
        alt.Tooltip("difference_high:Q", title="95% to", format="+.0%"),
        alt.Tooltip("n_wrong_with:Q", title="wrong images with it"),
        alt.Tooltip("n_wrong:Q", title="wrong images"),
        alt.Tooltip("n_right_with:Q", title="right images with it"),
        alt.Tooltip("n_right:Q", title="right images"),
        alt.Tooltip("class_word:N", title="names a class"),
    ]
    order = alt.EncodingSortField("difference_low", order="descending")
    y = alt.Y("word:N", sort=order, title=None)
    x = alt.X(
        "difference:Q",
        title="wrong minus right images using it",
        axis=alt.Axis(format="%"),
        scale=alt.Scale(domain=[0, 1]),
    )
    bars = alt.Chart().mark_bar(cursor="pointer").encode(x=x, y=y, color=colour, tooltip=tooltip)
    interval = alt.Chart().mark_rule(color=INTERVAL).encode(x="difference_low:Q", x2="difference_high:Q", y=y)
    layered = alt.layer(bars.add_params(pick, current), interval, data=alt.Data(values=records))
    return (
        layered.properties(width=width, height=alt.Step(14))
        .facet(row=alt.Row("group:N", title=None, header=alt.Header(**HEADER)))
        .resolve_scale(y="independent")
    )


def chart_of(words: list[dict], selected: str, *, width: int, hide_prior: bool, hide_class_words: bool):
    """The chart ``words`` call for: error words (records with ``difference``) or ranked words."""
    if words and "difference" in words[0]:
        return error_chart(words, selected, width=2 * width + 8, hide_class_words=hide_class_words)
    return ranked_chart(words, selected, width=width, hide_prior=hide_prior)


class RankedChart(ThemedChart):
    """A live :func:`ranked_chart` (or :func:`error_chart` for error words): set ``words``;
    ``selected_word`` follows clicks both ways; ``chart_width``: each half's width in pixels."""

    words = t.List(t.Dict())
    selected_word = t.Unicode("")
    hide_prior = t.Bool(False)
    hide_class_words = t.Bool(False)

    def __init__(
        self, words: list[dict] | None = None, selected_word: str = "", *, chart_width: int = 150, **kwargs
    ):
        self._drawn: list[dict] | None = list(words or [])  # the words the chart shows
        self.chart_width = chart_width
        chart = chart_of(
            self._drawn, selected_word, width=chart_width, hide_prior=False, hide_class_words=False
        )
        super().__init__(chart, **kwargs)
        self._watch_selection()
        self.set_trait("selected_word", selected_word)
        self.set_trait("words", list(self._drawn))

    def _watch_selection(self) -> None:
        self.selections.observe(self._on_pick, [PICK])

    def _on_pick(self, change) -> None:
        chosen = change["new"].value
        if chosen:  # a click off the bars keeps the word (the grid stays)
            self.selected_word = str(chosen[0].get("word", ""))

    @t.observe("words", "hide_prior", "hide_class_words")
    def _on_words(self, change) -> None:
        if change["name"] == "words" and change["new"] == self._drawn:
            return
        self._drawn = list(self.words)
        self.chart = chart_of(
            self._drawn,
            self.selected_word,
            width=self.chart_width,
            hide_prior=self.hide_prior,
            hide_class_words=self.hide_class_words,
        )
        self._watch_selection()

    @t.observe("selected_word")
    def _on_selected_word(self, change) -> None:
        self.params.selected = change["new"]
