"""The dashboard in a real JupyterLab and Notebook 7, in Debian's chromium driven by Playwright
(the demo model).

Select an image, press Generate, wait for the chart, click word bars: the word-grounded map and the
highlighted sentences must change. A file named like markup must show as text and run nothing.
At 1400 x 900 and at 1000 x 900 the image, prediction, chart, sentences and both maps lie inside the
viewport; the keys work (arrows, Enter, Escape, ↓ for a word, a visible focus, the ? help); in the light and the
dark theme every part takes JupyterLab's colours. Saves a screenshot per theme, dashboard-light.png
and dashboard-dark.png (dashboard-notebook-*.png in Notebook 7), to the folder
$TEXPLAIN_SCREENSHOTS when set (docs/ is made this way).
"""

import os
from pathlib import Path

import lab
import pytest
from PIL import Image

from texplain_widgets.words import lemma

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>.png"
WAIT = 240_000  # ms; a cold demo load and a 2-core machine
QUICKSTART = Path(__file__).resolve().parent.parent / "notebooks" / "01_quickstart.ipynb"


@pytest.fixture(scope="module")
def browser_ready():
    if lab.chromium() is None:
        if os.environ.get("TEXPLAIN_REQUIRE_BROWSER"):
            pytest.fail("chromium is missing (scripts/setup.sh installs it with apt-get)")
        pytest.skip("chromium is missing: apt-get install -y chromium")


@pytest.fixture
def pictures(tmp_path):
    """Twelve demo-world images in a folder, one with a hostile name."""
    from texplain_widgets.demo import test_world

    world = test_world().subset(range(12))
    folder = tmp_path / "pictures"
    folder.mkdir()
    for i, image in enumerate(world.images):
        name = XSS if i == 3 else f"{i:02d}_{world.group_names[world.groups[i]].replace('/', '_')}.png"
        Image.fromarray(image).save(folder / name)
    return folder


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_dashboard_in_the_browser(app, browser_ready, smollm2, pictures, tmp_path):
    lab.notebook(
        tmp_path / "dashboard.ipynb",
        ["%load_ext texplain_widgets", "%texplain pictures --model demo --sentences 32"],
    )
    dialogs = []
    with lab.jupyter(tmp_path, app) as server, lab.browser_page() as page:
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        lab.open_and_run(page, server, "dashboard.ipynb")
        assert (
            page.evaluate("() => window.jupyterapp.name")
            == {"lab": "JupyterLab", "notebook": "Jupyter Notebook"}[app]
        )

        # The browser: thumbnails, a hostile name shown as text.
        page.wait_for_selector(".tx-browser .tx-cell img[src^='blob:']", timeout=WAIT)
        assert page.locator(".tx-cell").count() == 12
        assert XSS in page.locator(".tx-cell-name").all_text_contents()

        # Select an image: the explorer shows it and its prediction.
        page.locator(".tx-cell", has_text="05_").click()
        page.wait_for_function(
            "() => document.querySelector('.tx-name').textContent.startsWith('05_')", timeout=WAIT
        )
        page.wait_for_function(
            "() => document.querySelector('.tx-prediction').textContent !== ''", timeout=WAIT
        )

        # Generate; the chart's bars appear.
        page.locator(".tx-generate").click()
        page.wait_for_selector(".tx-explorer[data-status='done']", timeout=WAIT)
        page.wait_for_selector(".tx-dashboard .vega-embed .mark-rect path", timeout=WAIT)
        before = lab.map_state(page)
        assert before["src"] is None and before["marks"] == []

        first, _ = lab.click_bar_and_wait(page, 0, before)
        assert first["caption"].startswith("Where “") and first["marks"]
        second, uncached = lab.click_bar_and_wait(page, 1, first)
        assert second["caption"] != first["caption"] and second["marks"]
        # Another word: none of the spellings marked for the first word is marked now, and the
        # marks are the spellings of the word in the caption (as words.word_spans finds them).
        assert set(second["marks"]).isdisjoint(first["marks"])
        for state in (first, second):
            assert {lemma(mark) for mark in state["marks"]} == {_captioned(state)}
        back, cached = lab.click_bar_and_wait(page, 0, second)  # the first word's map is cached now
        assert back["caption"] == first["caption"]
        assert page.locator(".tx-error").first.is_hidden()

        # One screen: every part inside the viewport, at 1400 x 900 and at 1000 x 900.
        if app == "lab":
            page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # the file browser, at 1000 px
        for width in (1400, 1000):
            page.set_viewport_size({"width": width, "height": 900})
            outside = lab.outside_viewport(page, DASHBOARD, PARTS)
            assert outside == {}, f"outside the {width} x 900 viewport: {outside}"

        # Themes: every part takes JupyterLab's colours; a screenshot of each.
        page.set_viewport_size({"width": 1400, "height": 900})
        folder = Path(os.environ.get("TEXPLAIN_SCREENSHOTS") or tmp_path)
        for theme, name in ((lab.LIGHT, "light"), (lab.DARK, "dark")):
            lab.set_theme(page, theme)
            colours = _theme_colours(page)
            assert len(set(colours["text"].values())) == 1, colours  # each part's text: --jp-ui-font-color1
            assert colours["text"]["explorer"] == colours["font1"]
            backgrounds = set(colours["background"].values())
            assert backgrounds == {colours["page"]}, colours  # no white box on a dark page
            assert (_luminance(colours["page"]) < 0.3) == (name == "dark")
            lab.scroll_to(page, DASHBOARD)
            shot = folder / (f"dashboard-{name}.png" if app == "lab" else f"dashboard-{app}-{name}.png")
            page.locator(".tx-dashboard").screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
        lab.set_theme(page, lab.LIGHT)

        # Keys: the arrows move the selection (focus visible), Enter generates, Escape cancels.
        page.locator(".tx-n_sentences").fill("4000")  # long enough to cancel
        page.locator(".tx-n_sentences").dispatch_event("change")
        cell = page.locator(".tx-cell[aria-selected='true']")
        start = int(cell.get_attribute("data-index"))
        cell.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "(i) => document.activeElement.dataset.index === String(i)"
            " && document.activeElement.getAttribute('aria-selected') === 'true'",
            arg=start + 1,
            timeout=WAIT,
        )
        assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
        following = page.locator(f".tx-cell[data-index='{start + 1}'] .tx-cell-name").text_content()
        page.wait_for_function(
            "(n) => document.querySelector('.tx-name').textContent === n", arg=following, timeout=WAIT
        )
        page.keyboard.press("Enter")
        page.wait_for_selector(".tx-explorer[data-status='running']", timeout=WAIT)
        page.wait_for_function(  # a first batch: the cancelled explanation has words
            "() => /generating… [1-9]/.test(document.querySelector('.tx-status').textContent)", timeout=WAIT
        )
        page.keyboard.press("Escape")
        page.wait_for_selector(".tx-explorer[data-status='cancelled']", timeout=WAIT)
        page.locator(".tx-explorer").focus()  # ↓ chooses the first word: its map and sentences follow
        page.keyboard.press("ArrowDown")
        page.wait_for_function(
            "() => document.querySelector('.tx-word-figure figcaption').textContent.startsWith('Where “')",
            timeout=WAIT,
        )
        help_title = page.locator(".tx-help").get_attribute("title")
        assert "Enter" in help_title and "Escape" in help_title
        page.locator(".tx-help").click()
        assert page.locator(".tx-help-text").is_visible()
        print(
            f"\nword click -> map: {uncached * 1000:.0f} ms computed, {cached * 1000:.0f} ms cached; screenshots {folder}"
        )
    assert dialogs == []  # nothing ran: no alert from the hostile name


DASHBOARD = ".tx-dashboard"
PARTS = {
    "image": ".tx-image",
    "prediction": ".tx-prediction",
    "word chart": ".tx-dashboard .vega-embed",
    "sentences": ".tx-sentences",
    "a marked word": ".tx-sentences mark",
    "saliency map": ".tx-saliency",
    "saliency spread": ".tx-saliency-spread",
    "word map": ".tx-word-map",
    "word map spread": ".tx-word-spread",
    "colour scale": ".tx-scale",
    "selected thumbnail": ".tx-cell[aria-selected='true']",
}


def _theme_colours(page) -> dict:
    """The text colour of each part, the colour behind each part, the page's (the output area's)
    colour and --jp-ui-font-color1 as computed."""
    return page.evaluate(
        """() => {
          const probe = document.createElement('div');
          probe.style.color = 'var(--jp-ui-font-color1)';
          document.querySelector('.tx-dashboard').append(probe);
          const font1 = getComputedStyle(probe).color;
          probe.remove();
          const behind = (e) => {
            for (; e; e = e.parentElement) {
              const c = getComputedStyle(e).backgroundColor;
              if (c && c !== 'transparent' && c !== 'rgba(0, 0, 0, 0)') return c;
            }
            return null;
          };
          const fill = (s) => getComputedStyle(document.querySelector(s)).fill;
          const color = (s) => getComputedStyle(document.querySelector(s)).color;
          return {
            font1,
            page: behind(document.querySelector('.tx-dashboard').parentElement),
            text: {
              explorer: color('.tx-explorer'),
              prediction: color('.tx-prediction'),
              browser: color('.tx-browser'),
              'chart labels': fill('.tx-chart .role-axis-label text'),
              'chart title': fill('.tx-chart .role-title-text text'),
            },
            background: {
              chart: behind(document.querySelector('.tx-chart svg.marks')),
              explorer: behind(document.querySelector('.tx-explorer')),
              browser: behind(document.querySelector('.tx-grid')),
              sentences: behind(document.querySelector('.tx-sentences')),
            },
          };
        }"""
    )


def _luminance(rgb: str) -> float:
    """The lightness in [0, 1] of a CSS 'rgb(r, g, b)' colour."""
    r, g, b = (float(v) for v in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def test_quickstart_in_jupyterlab(browser_ready, smollm2, tmp_path):
    """The first tutorial, run in JupyterLab: its live dashboard shows what its cells set from Python."""
    lab.without_outputs(QUICKSTART, tmp_path)
    with lab.jupyter(tmp_path) as server, lab.browser_page() as page:
        lab.open_and_run(page, server, QUICKSTART.name)
        lab.wait_for_all_cells(page, 2 * WAIT)
        assert lab.cell_errors(page) == []

        dashboard = page.locator(".tx-dashboard")
        assert dashboard.count() == 1  # `dash`; the balanced one is shown as a snapshot
        assert (
            dashboard.locator(".tx-cell img[src^='blob:']").count() == 100
        )  # a page of the 1000 test images
        selected = dashboard.locator(".tx-cell[aria-selected='true']")
        assert (
            selected.count() == 1 and selected.get_attribute("data-index") == "2"
        )  # dash.selected_image = 2
        assert (
            dashboard.locator(".tx-name").text_content() == selected.locator(".tx-cell-name").text_content()
        )
        assert dashboard.locator(".tx-prediction").text_content().startswith("balloon")

        # dash.selected_word = the top word: the chart, the word map and the sentences follow.
        assert dashboard.locator(".vega-embed .mark-rect path").count() >= 5
        state = lab.map_state(page)
        word = state["caption"].removeprefix("Where “").removesuffix("” comes from")
        assert word != state["caption"] and state["src"] is not None
        assert word in state["marks"] and all(
            mark.startswith(word) for mark in state["marks"]
        )  # brick, bricks


def _captioned(state: dict) -> str:
    """The word of a map caption, 'Where “word” comes from'."""
    return state["caption"].removeprefix("Where “").removesuffix("” comes from")
