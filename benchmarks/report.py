"""The DatasetReport on a synthetic 10,000-image run, in JupyterLab in Debian's chromium.

    python benchmarks/report.py [--images 10000] [--clicks 8] [--run DIR]

Writes a synthetic run (tests/report_support.py: planted words, 24x24 PNG files, 8 sentences an
image; ``--run`` keeps it in DIR for another time), then, in a real page:

- open: from running the cell ``DatasetReport(RUN)`` to the chart's bars and the report's view in
  the page (target under 2 s). The kernel has imported the package and drawn one chart before
  (the offline Vega bundle vl-convert builds once per kernel, shared by every chart widget: its
  time is printed apart);
- word click: from a click on a word bar to the grid of that word's images (first page of
  thumbnails) in the page (target under 300 ms); ``--clicks`` clicks on distinct bars.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import lab  # the JupyterLab + chromium harness of the browser tests (tests/lab.py)
from report_support import synthetic_run

WAIT = 300_000
BARS = ".tx-chart .mark-rect path"


def run_cell(page, index: int) -> None:
    page.evaluate(
        """(i) => { const panel = window.jupyterapp.shell.currentWidget;
          panel.content.activeCellIndex = i; window.jupyterapp.commands.execute('notebook:run-cell'); }""",
        index,
    )


def grid_title(page) -> str:
    return page.evaluate("() => document.querySelector('.tx-grid-title')?.textContent ?? ''")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--clicks", type=int, default=8)
    parser.add_argument("--run", default=None, help="keep the synthetic run in this directory")
    args = parser.parse_args()
    if lab.chromium() is None:
        sys.exit("chromium is missing: apt-get install -y chromium")

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        run = Path(args.run) if args.run else root / "run"
        if not (run / "manifest.json").is_file():
            start = time.perf_counter()
            synthetic_run(run, args.images)
            print(f"synthetic run of {args.images} images written in {time.perf_counter() - start:.1f} s")
        warm = (
            "import time\nfrom texplain_widgets import DatasetReport\n"
            "from texplain_widgets.widgets.report_chart import RankedChart\n"
            "start = time.perf_counter(); RankedChart().close()\n"
            "print('offline Vega bundle:', round(time.perf_counter() - start, 2), 's')"
        )
        opening = (
            f"start = time.perf_counter(); report = DatasetReport({json.dumps(str(run))})\n"
            "print('DatasetReport() in the kernel:', round(time.perf_counter() - start, 2), 's'); report"
        )
        lab.notebook(root / "bench.ipynb", [warm, opening])
        with lab.jupyter(root) as server, lab.browser_page(1400, 1400) as page:
            page.goto(server.notebook_url("bench.ipynb"), timeout=WAIT)
            page.wait_for_function(
                "() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle'",
                timeout=WAIT,
            )
            run_cell(page, 0)
            page.wait_for_function(
                "() => [...document.querySelectorAll('.jp-OutputArea-output')].some((o) => o.textContent.includes('offline Vega bundle'))",
                timeout=WAIT,
            )
            start = time.perf_counter()
            run_cell(page, 1)
            page.wait_for_selector(BARS, timeout=WAIT)
            page.wait_for_function(
                "() => document.querySelector('.tx-report-title')?.textContent.includes('images')",
                timeout=WAIT,
            )
            opened = time.perf_counter() - start
            print(
                page.evaluate(
                    "() => [...document.querySelectorAll('.jp-OutputArea-output')].map((o) => o.textContent.trim()).filter((t) => t.startsWith('offline') || t.startsWith('DatasetReport')).join('\\n')"
                )
            )
            print(
                f"open: {opened * 1000:.0f} ms from running the cell to the chart and the report in the page"
            )

            # Bars by their word (Vega's aria-label says it), wide enough to click, a new word each time.
            bars = page.evaluate(
                f"""() => [...document.querySelectorAll({json.dumps(BARS)})].map((b, i) => ({{i,
                  word: (b.getAttribute('aria-label') || '').match(/word: ([^;]*)/)?.[1],
                  width: b.getBoundingClientRect().width}}))"""
            )
            order, last = [], None
            for bar in (b for b in bars if b["width"] > 3 and b["word"]):
                if bar["word"] != last:
                    order.append(bar)
                    last = bar["word"]
            times, title = [], grid_title(page)
            for bar in (order * args.clicks)[: args.clicks]:
                start = time.perf_counter()
                page.locator(BARS).nth(bar["i"]).click()
                page.wait_for_function(
                    """(word) => document.querySelector('.tx-grid-title').textContent.includes('“' + word + '”')
                      && document.querySelectorAll(".tx-report-grid .tx-cell img[src^='blob:']").length > 0""",
                    arg=bar["word"],
                    timeout=WAIT,
                )
                times.append(time.perf_counter() - start)
                title = grid_title(page)
                cells = page.locator(".tx-report-grid .tx-cell").count()
                print(f"{title}: {times[-1] * 1000:.0f} ms ({cells} thumbnails)")
    if times:
        print(
            f"word click -> grid: median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
            f"over {len(times)} clicks (target under 300 ms); open: {opened:.2f} s (target under 2 s)"
        )


if __name__ == "__main__":
    main()
