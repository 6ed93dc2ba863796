"""Charts that follow JupyterLab's theme: transparent SVG, coloured by JupyterLab's CSS variables."""

import altair as alt

from texplain_widgets.widgets.chart_theme import CHART_CLASS, THEME_CSS, ThemedChart, themed
from texplain_widgets.widgets.word_chart import WordChart, word_chart


def bars(value: int = 1) -> alt.Chart:
    return alt.Chart(alt.Data(values=[{"a": value}])).mark_bar().encode(x="a:Q")


def test_a_themed_chart_is_transparent_svg_with_the_theme_class():
    chart = ThemedChart(bars())
    assert chart.spec["background"] == "transparent"
    assert chart.spec["config"]["view"]["stroke"] is None
    assert chart.embed_options["renderer"] == "svg"  # CSS colours SVG, not canvas pixels
    assert CHART_CLASS in chart._dom_classes
    chart.chart = bars(2)  # a chart set later is themed too
    assert chart.spec["background"] == "transparent" and chart.spec["data"]["values"] == [{"a": 2}]


def test_the_css_uses_jupyterlab_variables_for_text_lines_and_tooltip():
    for variable in ("--jp-ui-font-color1", "--jp-border-color1", "--jp-border-color2", "--jp-layout-color1"):
        assert f"var({variable}" in THEME_CSS
    assert ".tx-chart .role-axis-label text" in THEME_CSS and "#vg-tooltip-element" in THEME_CSS
    assert THEME_CSS in ThemedChart._css


def test_the_word_chart_is_themed_and_its_static_spec_is_not():
    chart = WordChart([{"word": "water", "count": 3, "share": 0.5}], "water")
    assert chart.spec["background"] == "transparent" and CHART_CLASS in chart._dom_classes
    chart.words = [{"word": "sky", "count": 1, "share": 0.25}]
    assert chart.spec["background"] == "transparent"
    assert "background" not in word_chart([]).to_dict()  # exports keep vl-convert's white
    assert themed(word_chart([])).to_dict()["background"] == "transparent"


def test_a_word_chart_made_with_a_selected_word_shows_it_in_its_spec():
    chart = WordChart([{"word": "water", "count": 3, "share": 0.5}], "water")
    assert {"name": "selected", "value": "water"} in chart.spec["params"]
