"""The dashboard in a real JupyterLab and Notebook 7, in Debian's chromium driven by Playwright
(the demo model).

Select an image, press Generate, wait for the chart, click word bars: the word-grounded map and the
highlighted sentences must change. A file named like markup must show as text and run nothing.
Saves a screenshot (to $TEXPLAIN_SCREENSHOT when set).
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

        screenshot = os.environ.get("TEXPLAIN_SCREENSHOT") or str(tmp_path / f"dashboard-{app}.png")
        page.locator(".tx-dashboard").screenshot(path=screenshot)
        print(
            f"\nword click -> map: {uncached * 1000:.0f} ms computed, {cached * 1000:.0f} ms cached; screenshot {screenshot}"
        )
    assert dialogs == []  # nothing ran: no alert from the hostile name
    assert os.path.getsize(screenshot) > 10_000


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
