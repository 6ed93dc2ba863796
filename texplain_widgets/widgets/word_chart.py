"""The word chart: an Altair bar chart of an explanation's frequent words, linked by selection.

:func:`word_chart` builds the chart (also used for static exports); :class:`WordChart` shows it
live as a :class:`~.chart_theme.ThemedChart` (an offline Altair ``JupyterChart`` that follows
JupyterLab's light and dark themes). Clicking a bar sets ``selected_word``; setting ``selected_word`` from Python (or from a
linked widget) highlights the bar through the chart's ``selected`` parameter. Words not above the
language prior (records with ``above_prior`` false, from a model with a reference) are drawn
pale, the reason in their tooltip; ``hide_prior`` leaves them out.
"""

from __future__ import annotations

import altair as alt
import traitlets as t

from .chart_theme import ThemedChart

SELECTED = "#1976d2"
OTHER = "#9e9e9e"
PRIOR = "#dcdcdc"  # a word not above the language prior
PICK = "pick"  # the click selection's name in the spec


def word_chart(
    words: list[dict],
    selected: str = "",
    *,
    title: str = "Frequent words",
    width: int = 220,
    hide_prior: bool = False,
) -> alt.Chart:
    """Bars of each word's share of sentences (records ``{"word", "count", "share"}``), the
    ``selected`` word highlighted; a click selects a bar (selection ``pick``). Records with
    ``above_prior`` false (see :func:`~.word_view.word_records`) are pale, their ``note`` in the
    tooltip, or left out with ``hide_prior``."""
    pick = alt.selection_point(name=PICK, fields=["word"], on="click", empty=False)
    current = alt.param(name="selected", value=selected)
    records = [dict(w) for w in words if not (hide_prior and w.get("above_prior") is False)]
    return (
        alt.Chart(alt.Data(values=records), title=title)
        .mark_bar(cursor="pointer")
        .encode(
            x=alt.X(
                "share:Q", title="share of sentences", axis=alt.Axis(format="%"), scale=alt.Scale(domainMin=0)
            ),
            y=alt.Y("word:N", sort="-x", title=None),
            color=bar_colour(current),
            tooltip=[
                alt.Tooltip("word:N"),
                alt.Tooltip("count:Q", title="times"),
                alt.Tooltip("share:Q", title="share", format=".1%"),
                *([alt.Tooltip("note:N", title="prior")] if any("note" in r for r in records) else []),
            ],
        )
        .add_params(pick, current)
        .properties(width=width, height=alt.Step(13))
    )


def bar_colour(current):
    """Blue for the ``current`` word, pale for a word not above the prior, grey for the others."""
    return (
        alt.when(alt.datum.word == current)
        .then(alt.value(SELECTED))
        .when(alt.datum.above_prior == False)  # noqa: E712 (a Vega expression, not Python)
        .then(alt.value(PRIOR))
        .otherwise(alt.value(OTHER))
    )


class WordChart(ThemedChart):
    """A live :func:`word_chart`: set ``words``; ``selected_word`` follows clicks both ways;
    ``hide_prior`` hides the words not above the language prior."""

    words = t.List(t.Dict())
    selected_word = t.Unicode("")
    hide_prior = t.Bool(False)

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

    @t.observe("words", "hide_prior")
    def _on_words(self, _change) -> None:
        self.chart = word_chart(self.words, self.selected_word, hide_prior=self.hide_prior)
        self._watch_selection()

    @t.observe("selected_word")
    def _on_selected_word(self, change) -> None:
        self.params.selected = change["new"]
