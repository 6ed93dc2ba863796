"""The DatasetReport in a real JupyterLab and Notebook 7 (Debian's chromium, Playwright, 127.0.0.1).

On a run of the biased demo classifier (the shipped one when built, else a small one made here):
click a word bar, and every image of the grid has the word in its stored sentences; click a
thumbnail, and the Explorer shows its stored sentences without a Generate; switch the grouping to
groups; in JupyterLab Dark the chart's background is the theme's.
"""

import os
import re

import lab
import numpy as np
import pytest
from PIL import Image

from texplain_widgets import ExplanationSet, explain_dataset
from texplain_widgets.words import sentence_words

pytestmark = pytest.mark.browser

WAIT = 300_000  # ms; a cold demo load and a 2-core machine
BARS = ".tx-chart .mark-rect path"


@pytest.fixture(scope="module")
def browser_ready():
    if lab.chromium() is None:
        if os.environ.get("TEXPLAIN_REQUIRE_BROWSER"):
            pytest.fail("chromium is missing (scripts/setup.sh installs it with apt-get)")
        pytest.skip("chromium is missing: apt-get install -y chromium")


@pytest.fixture(scope="module")
def demo_run(browser_ready, smollm2, tmp_path_factory):
    """The shipped run of the biased demo classifier, or two images per group of the demo's test split."""
    from texplain_widgets.demo import split
    from texplain_widgets.widgets.report_queries import DEMO_RUNS

    shipped = DEMO_RUNS / "biased"
    if (shipped / "manifest.json").is_file() and ExplanationSet.open(shipped).manifest.get("complete"):
        return shipped
    world = split("test")
    keep = np.sort(np.concatenate([np.flatnonzero(world.groups == g)[:2] for g in np.unique(world.groups)]))
    root = tmp_path_factory.mktemp("demo-run")
    lines = ["image,label,group"]
    for i in keep:  # files (a CSV source): the report shows their thumbnails
        group = world.group_names[world.groups[i]]
        Image.fromarray(world.images[i]).save(root / f"{i:04d}.png")
        lines.append(f"{i:04d}.png,{group.split('/')[0]},{group}")
    (root / "images.csv").write_text("\n".join(lines) + "\n")
    return explain_dataset(
        "demo", root / "images.csv", root / "biased", n_sentences=16, progress=False
    ).directory


def clickable_bars(page) -> list[dict]:
    """The chart's bars wide enough to click, with the word and group their aria-label names."""
    bars = page.evaluate(
        f"""() => [...document.querySelectorAll('{BARS}')].map((b, i) => ({{i,
          label: b.getAttribute('aria-label') || '', width: b.getBoundingClientRect().width}}))"""
    )
    for bar in bars:
        found = {k: re.search(rf"{k}: ([^;]*)", bar["label"]) for k in ("word", "group")}
        bar.update({k: m.group(1) if m else None for k, m in found.items()})
    return [b for b in bars if b["width"] > 3 and b["word"]]


def luminance(rgb: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", rgb)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_report_in_the_browser(app, demo_run, tmp_path):
    run = ExplanationSet.open(demo_run)
    lab.notebook(
        tmp_path / "report.ipynb", ["%load_ext texplain_widgets", f"%texplain report {demo_run} --model demo"]
    )
    with lab.jupyter(tmp_path, app) as server, lab.browser_page(1400, 1600) as page:
        lab.open_and_run(page, server, "report.ipynb", WAIT)
        page.wait_for_selector(BARS, timeout=WAIT)
        page.wait_for_function(
            "() => document.querySelector('.tx-report-title')?.textContent !== ''", timeout=WAIT
        )
        assert page.locator(".tx-report .tx-error").is_hidden()

        # A click on a word bar: the grid shows images whose stored sentences use the word.
        bar = clickable_bars(page)[0]
        page.locator(BARS).nth(bar["i"]).click()
        page.wait_for_function(
            """(w) => document.querySelector('.tx-grid-title').textContent.includes('“' + w + '”')
              && document.querySelectorAll(".tx-report-grid .tx-cell img[src^='blob:']").length > 0""",
            arg=bar["word"],
            timeout=WAIT,
        )
        ids = [
            int(i)
            for i in page.eval_on_selector_all(
                ".tx-report-grid .tx-cell", "cs => cs.map((c) => c.dataset.id)"
            )
        ]
        assert ids
        for image_id in ids:
            words = {w for s in run.explanation(image_id).sentences for w in sentence_words(s)}
            assert bar["word"] in words, (image_id, bar["word"])

        # A click on a thumbnail: the Explorer shows its stored sentences, no Generate pressed.
        page.locator(f".tx-report-grid .tx-cell[data-id='{ids[0]}']").click()
        page.wait_for_selector(".tx-explorer[data-status='done'] .tx-sentences li", timeout=WAIT)
        shown = page.locator(".tx-explorer .tx-sentences li").all_text_contents()
        stored = set(run.explanation(ids[0]).sentences)
        assert shown and set(shown) <= stored
        assert set(page.locator(".tx-stored-sentences li").all_text_contents()) <= stored

        # Switch the grouping: the chart's rows are the groups.
        page.locator(".tx-by").select_option("group")
        groups = set(run.images["group"].dropna())
        page.wait_for_function(
            f"""(groups) => [...document.querySelectorAll('{BARS}')].some((b) =>
              groups.some((g) => (b.getAttribute('aria-label') || '').includes('group: ' + g + ';')))""",
            arg=sorted(groups),
            timeout=WAIT,
        )
        assert {b["group"] for b in clickable_bars(page)} <= groups

        # JupyterLab Dark: the chart's background is the page's (no white box).
        if app == "lab":
            lab.set_theme(page, lab.DARK)
            behind_chart = lab.background(page, ".tx-chart svg.marks")
            page_colour = page.evaluate(
                """() => { let e = document.querySelector('.tx-report').closest('.jp-OutputArea-output');
                  for (; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;
                    if (c && c !== 'transparent' && c !== 'rgba(0, 0, 0, 0)') return c; } return null; }"""
            )
            assert behind_chart == page_colour and luminance(page_colour) < 0.3
            lab.set_theme(page, lab.LIGHT)
