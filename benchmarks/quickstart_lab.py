"""Open notebooks/01_quickstart.ipynb in JupyterLab, Run All: seconds until the dashboard works.

    python benchmarks/quickstart_lab.py [--network on]

A person's first minutes: JupyterLab starts, the notebook opens in Debian's chromium, Run All.
Timed from starting JupyterLab: the notebook open, the first thumbnails, the selected image's
prediction in the Explorer, the word chart after Generate, and every cell done. Runs twice in the same session: with an empty
model cache (a fresh machine: SmolLM2 is dequantised) and with the warm cache left by that run.
As root, the whole benchmark re-runs itself in a new network namespace (``unshare -n``): only
127.0.0.1 exists, so anything that reached for the network would fail.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import lab  # noqa: E402  (tests/lab.py, found through sys.path above): the JupyterLab + chromium harness of the browser tests (tests/lab.py)

WAIT = 600_000  # ms


def time_quickstart(cache: Path) -> dict[str, float]:
    """Seconds from starting JupyterLab to each milestone of the quickstart, with TEXPLAIN_CACHE=cache."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        lab.without_outputs(ROOT / "notebooks" / "01_quickstart.ipynb", root)
        start = time.perf_counter()
        with lab.jupyter(root, env={"TEXPLAIN_CACHE": str(cache)}) as server, lab.browser_page() as page:
            times = {"JupyterLab up": time.perf_counter() - start}
            lab.open_and_run(page, server, "01_quickstart.ipynb", WAIT)
            times["notebook open, Run All"] = time.perf_counter() - start
            milestones = {
                "thumbnails": lambda: page.wait_for_selector(
                    ".tx-browser .tx-cell img[src^='blob:']", timeout=WAIT
                ),
                "prediction": lambda: page.wait_for_function(
                    "() => document.querySelector('.tx-prediction')?.textContent", timeout=WAIT
                ),
                "word chart": lambda: page.wait_for_selector(
                    ".tx-dashboard .vega-embed .mark-rect path", timeout=WAIT
                ),
                "all cells": lambda: lab.wait_for_all_cells(page, WAIT),
            }
            for name, wait in milestones.items():
                wait()
                times[name] = time.perf_counter() - start
            errors = lab.cell_errors(page)
            if errors:
                raise SystemExit(f"the quickstart failed in JupyterLab: {errors}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=["off", "on"], default="off")
    args = parser.parse_args()
    if lab.chromium() is None:
        sys.exit("chromium is missing: apt-get install -y chromium")
    if args.network == "off" and not os.environ.get("TEXPLAIN_NETWORK_OFF"):
        if os.geteuid() != 0 or not shutil.which("unshare"):
            sys.exit("--network off needs root and unshare(1); pass --network on to time with the network")
        inner = f"ip link set lo up && exec {shlex.join([sys.executable, *sys.argv])}"
        env = {**os.environ, "TEXPLAIN_NETWORK_OFF": "1"}
        sys.exit(subprocess.call(["unshare", "--net", "sh", "-c", inner], env=env))

    print(
        f"network: {'off (unshare -n: only 127.0.0.1)' if os.environ.get('TEXPLAIN_NETWORK_OFF') else 'on'}"
    )
    with tempfile.TemporaryDirectory() as cache:
        runs = {"cold cache": time_quickstart(Path(cache)), "warm cache": time_quickstart(Path(cache))}
    names = list(runs["cold cache"])
    print(f"{'seconds from starting JupyterLab':36}" + "".join(f"{run:>12}" for run in runs))
    for name in names:
        print(f"{name:36}" + "".join(f"{runs[run][name]:12.1f}" for run in runs))
    cold, warm = runs["cold cache"]["prediction"], runs["warm cache"]["prediction"]
    print(
        f"working dashboard (thumbnails + prediction): cold {cold:.1f} s, warm {warm:.1f} s "
        f"(warm / cold {warm / cold:.2f}); target: under 60 s"
    )


if __name__ == "__main__":
    main()
