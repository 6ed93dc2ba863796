"""The DatasetReport in a real JupyterLab and Notebook 7 (Debian's chromium, Playwright, 127.0.0.1).

On a run of the biased demo classifier (the shipped one when built, else a small one made here):
the chart shows only words ranked above zero; click a word bar, and every image of the grid has
the word in its stored sentences; click a thumbnail, and the Explorer shows its stored sentences
without a Generate, and its maps; at 1400 x 900 and at 1000 x 900 the chart, the selected
thumbnail, the image, both maps and the marked sentences lie inside the viewport (one screen, as
the dashboard's test checks it); the accuracy table opens on demand; switch the grouping to
groups; in JupyterLab Dark the chart's background is the theme's. The slice card of the clicked
word is on the screen too; in the errors view (``by="errors"``) the bars are the run's error
words with their interval above zero, a click opens the word's slice card, "use as
pseudo-groups" shows the mitigate command, and "measure reliance" shows its progress and is
cancelled (the shipped run is copied first: the measured images are stored in the run). Saves a screenshot per theme,
report-light.png and report-dark.png, to the folder $TEXPLAIN_SCREENSHOTS when set (docs/ is
made this way).
"""

import os
import re
import shutil
from pathlib import Path

import lab
import numpy as np
import pytest
from PIL import Image

from texplain_widgets import ExplanationSet, explain_dataset
from texplain_widgets.words import sentence_words

pytestmark = pytest.mark.browser

WAIT = 300_000  # ms; a cold demo load and a 2-core machine
BARS = ".tx-chart .mark-rect path"
ABOVE_ZERO = 1.6  # the chart's least z (report_view.ABOVE_ZERO, 1.645), as its tooltip rounds it
REPORT = ".tx-report-layout"
PARTS = {  # what one screen shows once a word and an image are selected
    "title": ".tx-report-title",
    "word chart": ".tx-report-layout .vega-embed",
    "selected thumbnail": ".tx-report-grid .tx-cell.tx-selected",
    "stored facts": ".tx-stored-facts",
    "image": ".tx-explorer .tx-image",
    "saliency map": ".tx-explorer .tx-saliency",
    "word map": ".tx-explorer .tx-word-map",
    "sentences": ".tx-explorer .tx-sentences",
    "a marked word": ".tx-explorer .tx-sentences mark",
    "accuracy section": ".tx-accuracy-section > summary",
    "slice card": ".tx-slice-card .tx-slice-title",
}


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
        copy = tmp_path_factory.mktemp("shipped") / "biased"  # the reliance measured is stored in the run
        shutil.copytree(shipped, copy, ignore=shutil.ignore_patterns(".lock", "reliance"))
        return copy
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
        found = {k: re.search(rf"{k}: ([^;]*)", bar["label"]) for k in ("word", "group", "z")}
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
    with lab.jupyter(tmp_path, app) as server, lab.browser_page(1400, 900) as page:
        lab.open_and_run(page, server, "report.ipynb", WAIT)
        page.wait_for_selector(BARS, timeout=WAIT)
        page.wait_for_function(
            "() => document.querySelector('.tx-report-title')?.textContent !== ''", timeout=WAIT
        )
        assert page.locator(".tx-report .tx-error").is_hidden()

        # The chart: only words ranked above zero.
        labels = page.eval_on_selector_all(
            BARS, "bars => bars.map((b) => b.getAttribute('aria-label') || '')"
        )
        zs = [float(found.group(1)) for found in map(re.compile(r"\bz: ([-\d.]+)").search, labels) if found]
        assert len(zs) == len(labels) > 0 and min(zs) >= ABOVE_ZERO, sorted(zs)[:5]

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
        page.wait_for_function(
            """() => { const map = document.querySelector('.tx-explorer .tx-word-map');
              return map && !map.hidden && map.getAttribute('src'); }""",
            timeout=WAIT,
        )

        # One screen: every part inside the viewport, at 1400 x 900 and at 1000 x 900.
        if app == "lab":
            page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # the file browser, at 1000 px
        for width in (1400, 1000):
            page.set_viewport_size({"width": width, "height": 900})
            outside = lab.outside_viewport(page, REPORT, PARTS)
            assert outside == {}, f"outside the {width} x 900 viewport: {outside}"
        page.set_viewport_size({"width": 1400, "height": 900})

        # In both themes, a screenshot; in JupyterLab Dark the chart's background is the page's.
        folder = Path(os.environ.get("TEXPLAIN_SCREENSHOTS") or tmp_path)
        for theme, name in ((lab.LIGHT, "light"), (lab.DARK, "dark")) if app == "lab" else ():
            lab.set_theme(page, theme)
            behind_chart = lab.background(page, ".tx-chart svg.marks")
            page_colour = page.evaluate(
                """() => { let e = document.querySelector('.tx-report-layout').closest('.jp-OutputArea-output');
                  for (; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;
                    if (c && c !== 'transparent' && c !== 'rgba(0, 0, 0, 0)') return c; } return null; }"""
            )
            assert behind_chart == page_colour and (luminance(page_colour) < 0.3) == (name == "dark")
            lab.scroll_to(page, REPORT)
            page.mouse.move(0, 0)  # no thumbnail hovered in the picture
            shot = folder / f"report-{name}.png"
            page.locator(".tx-report-layout").screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
        if app == "lab":
            lab.set_theme(page, lab.LIGHT)

        # The accuracy table opens on demand, the worst group marked.
        table = page.locator(".tx-accuracy")
        assert table.is_hidden()
        page.locator(".tx-accuracy-section > summary").click()
        assert (
            table.is_visible()
            and "worst group" in page.locator(".tx-accuracy tr.tx-worst[data-by='group']").inner_text()
        )
        # with the word's pseudo-groups (label x whether an image uses it), their worst marked too
        worst_pseudo = page.locator(".tx-accuracy tr.tx-worst[data-by='pseudo-group']")
        assert worst_pseudo.count() >= 1 and "worst pseudo-group" in worst_pseudo.first.inner_text()

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

        # The errors view: the error words per label, only those whose interval is above zero.
        page.locator(".tx-by").select_option("errors")
        page.wait_for_function(
            f"""() => [...document.querySelectorAll('{BARS}')].some((b) =>
              (b.getAttribute('aria-label') || '').includes('difference'))""",
            timeout=WAIT,
        )
        errors = run.error_words(by="label", top=12)
        bars = clickable_bars(page)
        assert bars and {b["word"] for b in bars} <= set(errors.loc[errors["difference_low"] > 0, "word"])
        word = bars[0]["word"]
        page.locator(BARS).nth(bars[0]["i"]).click()
        card = page.locator(".tx-slice-card")
        page.wait_for_function(
            """(w) => (document.querySelector('.tx-slice-card .tx-slice-title')?.textContent || '')
              .includes('“' + w + '”')""",
            arg=word,
            timeout=WAIT,
        )
        labels = set(run.images["label"].dropna())
        assert page.locator(".tx-slice-table tr").count() == len(labels) + 1 and "gap" in card.inner_text()
        assert card.locator("script, img, iframe").count() == 0  # text only
        assert card.evaluate("(e) => e.scrollWidth <= e.clientWidth + 1")  # nothing cut off in the column

        # "use as pseudo-groups": the command and the Python that mitigate with the word.
        card.locator(".tx-use-groups").click()
        command = card.locator(".tx-mitigate-command")
        assert command.is_visible() and f"--words {word}" in command.inner_text()
        assert "mitigate(" in card.locator(".tx-mitigate-python").inner_text()

        # "measure reliance": its progress shows, Cancel stops it, the report keeps working.
        card.locator(".tx-measure").click()
        page.wait_for_selector(".tx-slice-card .tx-measure-cancel", timeout=WAIT)
        assert card.locator(".tx-measure").is_disabled()
        card.locator(".tx-measure-cancel").click()
        page.wait_for_function(
            "() => (document.querySelector('.tx-slice-card')?.textContent || '').includes('cancelled')",
            timeout=WAIT,
        )
        assert card.locator(".tx-measure").is_enabled()
