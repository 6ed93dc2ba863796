"""The dataset report's word chart: per class, label or group, log-odds z and share as linked bars.

:func:`ranked_chart` builds the chart (also used for static exports); :class:`RankedChart` shows
it live as a :class:`~.chart_theme.ThemedChart` (offline, following JupyterLab's theme). A click
on a bar of either chart selects the word in both; ``selected_word`` follows clicks both ways.
"""

from __future__ import annotations

import warnings

import altair as alt
import traitlets as t

from .chart_theme import ThemedChart

SELECTED = "#1976d2"
OTHER = "#9e9e9e"
PICK = "pick"


def ranked_chart(
    words: list[dict], selected: str = "", *, title: str = "", width: int = 150
) -> alt.TopLevelMixin:
    """One row per group of ``words`` (records ``{"group", "word", "z", "share", "count"}``): its
    words by z on the left, their share of the group's sentences on the right; a click selects a
    word (selection ``pick``), the ``selected`` word highlighted in every row."""
    pick = alt.selection_point(name=PICK, fields=["word"], on="click", empty=False)
    current = alt.param(name="selected", value=selected)
    base = alt.Chart(alt.Data(values=[dict(w) for w in words]))
    colour = alt.condition(alt.datum.word == current, alt.value(SELECTED), alt.value(OTHER))
    tooltip = [
        alt.Tooltip("group:N"),
        alt.Tooltip("word:N"),
        alt.Tooltip("z:Q", format=".1f"),
        alt.Tooltip("share:Q", format=".1%"),
        alt.Tooltip("count:Q", title="times"),
    ]
    order = alt.EncodingSortField("z", order="descending")
    row = alt.Row(
        "group:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left", labelFontWeight="bold")
    )
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
        row=alt.Row("group:N", title=None, header=alt.Header(labels=False)),
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


class RankedChart(ThemedChart):
    """A live :func:`ranked_chart`: set ``words``; ``selected_word`` follows clicks both ways."""

    words = t.List(t.Dict())
    selected_word = t.Unicode("")

    def __init__(self, words: list[dict] | None = None, selected_word: str = "", **kwargs):
        self._drawn: list[dict] | None = list(words or [])  # the words the chart shows
        super().__init__(ranked_chart(self._drawn, selected_word), **kwargs)
        self._watch_selection()
        self.set_trait("selected_word", selected_word)
        self.set_trait("words", list(self._drawn))

    def _watch_selection(self) -> None:
        self.selections.observe(self._on_pick, [PICK])

    def _on_pick(self, change) -> None:
        chosen = change["new"].value
        if chosen:  # a click off the bars keeps the word (the grid stays)
            self.selected_word = str(chosen[0].get("word", ""))

    @t.observe("words")
    def _on_words(self, change) -> None:
        if change["new"] == self._drawn:
            return
        self._drawn = list(change["new"])
        self.chart = ranked_chart(change["new"], self.selected_word)
        self._watch_selection()

    @t.observe("selected_word")
    def _on_selected_word(self, change) -> None:
        self.params.selected = change["new"]
