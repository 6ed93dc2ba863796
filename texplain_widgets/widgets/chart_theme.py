"""Altair charts that follow JupyterLab's light and dark themes (shared by every chart widget).

>>> ThemedChart(alt.Chart(data).mark_bar().encode(x="a", y="b"))   # a live, offline JupyterChart

The chart is drawn as SVG with a transparent background (:func:`themed`); :data:`THEME_CSS`
colours its titles, axes, grid lines, legends and tooltip with JupyterLab's CSS variables (CSS
``fill`` and ``stroke`` override the presentation attributes Vega writes, which canvas pixels
could not). Outside JupyterLab the variables' fallbacks are the light theme's. Static exports
(vl-convert PNG/SVG) keep Vega's white background: use the spec without :func:`themed`.
"""

from __future__ import annotations

import altair as alt
import traitlets as t

from .vega_bundle import enable_offline_charts

CHART_CLASS = "tx-chart"  # on the widget's element: the CSS below applies inside it only
EMBED_OPTIONS = {"renderer": "svg", "actions": False}  # SVG: CSS can colour it

THEME_CSS = """
.tx-chart { background: transparent; color: var(--jp-ui-font-color1, #1f1f1f); }
.tx-chart svg.marks { background-color: transparent !important; }
.tx-chart .role-title-text text, .tx-chart .role-title-subtitle text,
.tx-chart .role-axis-title text, .tx-chart .role-legend-title text {
  fill: var(--jp-ui-font-color1, #1f1f1f);
}
.tx-chart .role-axis-label text, .tx-chart .role-legend-label text {
  fill: var(--jp-ui-font-color1, #1f1f1f);
}
.tx-chart .role-axis-domain line, .tx-chart .role-axis-tick line { stroke: var(--jp-border-color1, #bdbdbd); }
.tx-chart .role-axis-grid line { stroke: var(--jp-border-color2, #e0e0e0); }
.tx-chart .role-legend-symbol path { stroke: var(--jp-border-color1, #bdbdbd); }
#vg-tooltip-element.vg-tooltip {
  background-color: var(--jp-layout-color1, #fff);
  color: var(--jp-ui-font-color1, #1f1f1f);
  border-color: var(--jp-border-color1, #bdbdbd);
  font-family: var(--jp-ui-font-family, system-ui, sans-serif);
}
"""


def themed(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """``chart`` (a top-level Altair chart) with a transparent background and no view frame, for
    the CSS of :data:`THEME_CSS` to colour."""
    return chart.properties(background="transparent").configure_view(stroke=None)


class ThemedChart(alt.JupyterChart):
    """An offline ``alt.JupyterChart`` (JavaScript from vl-convert, no CDN) drawn in SVG, whose
    chart follows JupyterLab's theme: every ``chart`` it is given is :func:`themed`."""

    _css = alt.JupyterChart._css + THEME_CSS

    def __init__(self, chart: alt.TopLevelMixin | None = None, **kwargs):
        enable_offline_charts()
        kwargs.setdefault("embed_options", dict(EMBED_OPTIONS))
        super().__init__(chart, **kwargs)
        self.add_class(CHART_CLASS)

    @t.validate("chart")
    def _themed(self, proposal):
        chart = proposal["value"]
        return themed(chart) if chart is not None else None
