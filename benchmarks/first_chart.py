"""The first chart of a new kernel: the offline Vega bundle built by vl-convert, or read from disk.

    python benchmarks/first_chart.py [--repeats 3]

Each measurement is a new Python process (a new kernel) that imports the package and makes its
first chart widget (``ThemedChart``), timed from before the import to the widget made. Baseline:
an empty cache folder, so vl-convert builds the bundle (what every kernel paid before the bundle
was kept on disk); then the same with the bundle on disk. Prints the medians and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

KERNEL = """
import time
start = time.perf_counter()
import altair as alt
from texplain_widgets.widgets.chart_theme import ThemedChart
imported = time.perf_counter()
ThemedChart(alt.Chart().mark_bar())
print(imported - start, time.perf_counter() - imported)
"""


def first_chart(cache: str) -> tuple[float, float]:
    """(import seconds, first chart seconds) in a new process with this cache folder."""
    env = {**os.environ, "TEXPLAIN_CACHE": cache}
    out = subprocess.run([sys.executable, "-c", KERNEL], env=env, capture_output=True, text=True, check=True)
    imported, chart = map(float, out.stdout.split())
    return imported, chart


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cold, warm = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache:
            cold.append(first_chart(cache)[1])  # empty cache: the bundle is built (and written)
            warm.append(first_chart(cache)[1])  # the next kernel reads it
    cold_s, warm_s = statistics.median(cold), statistics.median(warm)
    print(
        f"first chart of a new kernel, bundle built by vl-convert: {cold_s:.2f} s (median of {args.repeats})"
    )
    print(f"first chart of a new kernel, bundle read from disk:      {warm_s:.3f} s")
    print(f"ratio: {cold_s / warm_s:.0f}x faster")


if __name__ == "__main__":
    main()
