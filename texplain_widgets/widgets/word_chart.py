"""The word chart: an Altair bar chart of an explanation's frequent words, linked by selection.

:func:`word_chart` builds the chart (also used for static exports); :class:`WordChart` shows it
live as a :class:`~.chart_theme.ThemedChart` (an offline Altair ``JupyterChart`` that follows
JupyterLab's light and dark themes). Clicking a bar sets ``selected_word``; setting ``selected_word`` from Python (or from a
linked widget) highlights the bar through the chart's ``selected`` parameter.
"""

from __future__ import annotations

import altair as alt
import traitlets as t

from .chart_theme import ThemedChart

SELECTED = "#1976d2"
OTHER = "#9e9e9e"
PICK = "pick"  # the click selection's name in the spec


def word_chart(
    words: list[dict], selected: str = "", *, title: str = "Frequent words", width: int = 220
) -> alt.Chart:
    """Bars of each word's share of sentences (records ``{"word", "count", "share"}``), the
    ``selected`` word highlighted; a click selects a bar (selection ``pick``)."""
    pick = alt.selection_point(name=PICK, fields=["word"], on="click", empty=False)
    current = alt.param(name="selected", value=selected)
    return (
        alt.Chart(alt.Data(values=[dict(w) for w in words]), title=title)
        .mark_bar(cursor="pointer")
        .encode(
            x=alt.X(
                "share:Q", title="share of sentences", axis=alt.Axis(format="%"), scale=alt.Scale(domainMin=0)
            ),
            y=alt.Y("word:N", sort="-x", title=None),
            color=alt.condition(alt.datum.word == current, alt.value(SELECTED), alt.value(OTHER)),
            tooltip=[
                alt.Tooltip("word:N"),
                alt.Tooltip("count:Q", title="times"),
                alt.Tooltip("share:Q", title="share", format=".1%"),
            ],
        )
        .add_params(pick, current)
        .properties(width=width, height=alt.Step(13))
    )


class WordChart(ThemedChart):
    """A live :func:`word_chart`: set ``words``; ``selected_word`` follows clicks both ways."""

    words = t.List(t.Dict())
    selected_word = t.Unicode("")

    def __init__(self, words: list[dict] | None = None, selected_word: str = "", **kwargs):
        super().__init__(word_chart(words or [], selected_word), **kwargs)
        self._watch_selection()
        self.set_trait("selected_word", selected_word)  # first: the chart the words build shows it
        self.set_trait("words", list(words or []))

    def _watch_selection(self) -> None:
        # A new chart gets new `selections`: watch the current one.
        self.selections.observe(self._on_pick, [PICK])

    def _on_pick(self, change) -> None:
        chosen = change["new"].value
        self.selected_word = str(chosen[0].get("word", "")) if chosen else ""  # a click off the bars clears

    @t.observe("words")
    def _on_words(self, change) -> None:
        self.chart = word_chart(change["new"], self.selected_word)
        self._watch_selection()

    @t.observe("selected_word")
    def _on_selected_word(self, change) -> None:
        self.params.selected = change["new"]
