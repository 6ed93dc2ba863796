"""Word click -> word-grounded map, end to end: the demo dashboard in JupyterLab in Debian's chromium.

    python benchmarks/word_click.py [--words 5] [--repeats 3] [--sentences 64] [--screenshot FILE.png]

Opens ``%texplain demo --model demo``, selects an image, presses Generate, then clicks the first
``--words`` word bars (each map computed: the baseline) and clicks them again ``--repeats`` times
(each map cached: target under 300 ms). Times run from the click to the new map in the page.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import lab  # the JupyterLab + chromium harness of the browser test (tests/lab.py)

WAIT = 300_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sentences", type=int, default=64)
    parser.add_argument("--image", type=int, default=2)
    parser.add_argument(
        "--screenshot", help="also save the dashboard as this PNG (docs/ pictures come from the browser test)"
    )
    args = parser.parse_args()
    if lab.chromium() is None:
        sys.exit("chromium is missing: apt-get install -y chromium")

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        lab.notebook(
            root / "bench.ipynb",
            ["%load_ext texplain_widgets", f"%texplain demo --model demo --sentences {args.sentences}"],
        )
        with lab.jupyter(root) as server, lab.browser_page() as page:
            lab.open_and_run(page, server, "bench.ipynb", WAIT)
            page.wait_for_selector(".tx-browser .tx-cell img[src^='blob:']", timeout=WAIT)
            page.locator(f".tx-cell[data-index='{args.image}']").click()
            page.wait_for_function(
                "() => document.querySelector('.tx-prediction').textContent !== ''", timeout=WAIT
            )
            page.locator(".tx-generate").click()
            page.wait_for_selector(".tx-explorer[data-status='done']", timeout=WAIT)
            page.wait_for_selector(".tx-dashboard .vega-embed .mark-rect path", timeout=WAIT)

            state, computed, cached = lab.map_state(page), [], []
            for index in range(args.words):
                state, seconds = lab.click_bar_and_wait(page, index, state, WAIT)
                computed.append(seconds)
                print(f"{state['caption']}: {seconds * 1000:.0f} ms (computed)")
            for _ in range(args.repeats):
                for index in range(args.words):
                    state, seconds = lab.click_bar_and_wait(page, index, state, WAIT)
                    cached.append(seconds)
            if args.screenshot:
                lab.click_bar_and_wait(page, 0, state, WAIT)
                page.locator(".tx-dashboard").screenshot(path=args.screenshot)

    slow, fast = statistics.median(computed), statistics.median(cached)
    print(f"computed map: median {slow * 1000:.0f} ms over {len(computed)} clicks (baseline)")
    print(
        f"cached map:   median {fast * 1000:.0f} ms over {len(cached)} clicks, max {max(cached) * 1000:.0f} ms"
    )
    print(f"cached / computed: {fast / slow:.3f} ({slow / fast:.0f}x faster); target: cached under 300 ms")
    if args.screenshot:
        print(f"screenshot: {args.screenshot}")


if __name__ == "__main__":
    main()
