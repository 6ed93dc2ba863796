"""A real JupyterLab (or Notebook 7) on 127.0.0.1 and Debian's chromium, driven by Playwright.

Used by tests/test_jupyterlab.py and the benchmarks word_click.py and quickstart_lab.py.
Everything the server and kernel write (config, runtime, IPython and matplotlib dirs) goes to a
temporary directory; the server is stopped on exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TOKEN = "texplain-test-token"


def chromium() -> str | None:
    """Debian's chromium, or None when it is not installed."""
    return CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium")


def notebook(path: Path, cells: list[str]) -> Path:
    """Write a notebook of code ``cells`` (no outputs) with the python3 kernel."""
    document = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell{i}",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
            for i, source in enumerate(cells)
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(document))
    return path


def without_outputs(source: Path, folder: Path) -> Path:
    """Copy a notebook into ``folder`` without its outputs, as a reader who runs it has it."""
    document = json.loads(source.read_text())
    for cell in document["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    target = folder / source.name
    target.write_text(json.dumps(document))
    return target


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Jupyter:
    """A running Jupyter server: JupyterLab (``app="lab"``) or Notebook 7 (``app="notebook"``)."""

    url: str
    app: str

    def notebook_url(self, name: str) -> str:
        path = f"lab/tree/{name}" if self.app == "lab" else f"notebooks/{name}"
        return f"{self.url}/{path}?token={TOKEN}"


@contextlib.contextmanager
def jupyter(root: Path, app: str = "lab", env: dict[str, str] | None = None, timeout: float = 120):
    """Run JupyterLab or Notebook 7 serving ``root``; yields a :class:`Jupyter`."""
    home = root / ".jupyter-home"
    dirs = {
        "JUPYTER_CONFIG_DIR": home / "config",
        "JUPYTER_RUNTIME_DIR": home / "runtime",
        "IPYTHONDIR": home / "ipython",
        "MPLCONFIGDIR": home / "matplotlib",
    }
    for directory in dirs.values():
        directory.mkdir(parents=True, exist_ok=True)
    # No "Would you like to get notified about Jupyter news?" toast over the widgets.
    labconfig = dirs["JUPYTER_CONFIG_DIR"] / "labconfig"
    labconfig.mkdir(exist_ok=True)
    disabled = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}
    (labconfig / "page_config.json").write_text(json.dumps(disabled))
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "jupyter",
        app,
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--allow-root",
        f"--ServerApp.token={TOKEN}",
        f"--ServerApp.root_dir={root}",
        "--expose-app-in-browser",  # window.jupyterapp: run cells by command
        "--ServerApp.disable_check_xsrf=True",
    ]
    environment = {**os.environ, **{k: str(v) for k, v in dirs.items()}, **(env or {})}
    with open(home / "server.log", "w") as log:
        server = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"jupyter {app} did not start: {(home / 'server.log').read_text()[-3000:]}"
                )
            time.sleep(0.5)
        yield Jupyter(url, app)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


@contextlib.contextmanager
def browser_page(width: int = 1400, height: int = 2000):
    """A chromium page (Playwright, Debian's chromium, never a downloaded one)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()


def open_and_run(page, server: Jupyter, name: str, timeout_ms: float = 240_000) -> None:
    """Open notebook ``name`` and start running all its cells (returns at once)."""
    page.goto(server.notebook_url(name), timeout=timeout_ms)
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.sessionContext"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
        timeout=timeout_ms,
    )
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def map_state(page) -> dict:
    """The dashboard's word map (caption, image URL or None) and the marked words of its sentences."""
    return page.evaluate(
        """() => {
          const img = document.querySelector('.tx-word-map');
          return {
            caption: document.querySelector('.tx-word-figure figcaption').textContent,
            src: img && !img.hidden ? img.getAttribute('src') : null,
            marks: [...document.querySelectorAll('.tx-sentences mark')].map((m) => m.textContent.toLowerCase()),
          };
        }"""
    )


def click_bar_and_wait(page, index: int, before: dict, timeout_ms: float = 240_000) -> tuple[dict, float]:
    """Click the index-th word bar; wait for a new map; return the new state and the seconds it took."""
    bars = page.locator(".tx-dashboard .vega-embed .mark-rect path")
    start = time.perf_counter()
    bars.nth(index).click()
    page.wait_for_function(
        """(old) => {
          const img = document.querySelector('.tx-word-map');
          return img && !img.hidden && img.getAttribute('src') && img.getAttribute('src') !== old;
        }""",
        arg=before["src"],
        timeout=timeout_ms,
    )
    return map_state(page), time.perf_counter() - start


_CELLS = (
    "() => [...window.jupyterapp.shell.currentWidget.content.model.cells].filter((c) => c.type === 'code')"
)


def wait_for_all_cells(page, timeout_ms: float = 600_000) -> None:
    """Wait until every code cell of the open notebook has run, or one failed, and the kernel is idle."""
    page.wait_for_function(
        f"""() => {{
          const cells = ({_CELLS})();
          const failed = cells.some((c) => c.outputs.toJSON().some((o) => o.output_type === 'error'));
          return (failed || cells.every((c) => c.executionCount !== null))
            && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle';
        }}""",
        timeout=timeout_ms,
    )


def cell_errors(page) -> list[str]:
    """The error outputs of the open notebook's cells, as 'ename: evalue'."""
    return page.evaluate(
        f"""() => ({_CELLS})().flatMap((c) => c.outputs.toJSON())
          .filter((o) => o.output_type === 'error').map((o) => o.ename + ': ' + o.evalue)"""
    )


LIGHT, DARK = "JupyterLab Light", "JupyterLab Dark"


def set_theme(page, theme: str, timeout_ms: float = 60_000) -> None:
    """Switch JupyterLab (or Notebook 7) to ``theme`` (LIGHT or DARK) and wait until it applies."""
    page.evaluate("(theme) => window.jupyterapp.commands.execute('apputils:change-theme', { theme })", theme)
    light = "true" if theme == LIGHT else "false"
    page.wait_for_function(
        f"() => document.body.dataset.jpThemeLight === '{light}'"
        " && getComputedStyle(document.body).getPropertyValue('--jp-layout-color0').trim() !== ''",
        timeout=timeout_ms,
    )
    page.wait_for_timeout(500)  # the theme's stylesheet is in, let the page restyle


def colour(page, selector: str, prop: str) -> str:
    """The computed CSS ``prop`` of the first element matching ``selector`` (e.g. 'rgb(...)')."""
    return page.evaluate(
        "([s, p]) => { const e = document.querySelector(s); return e ? getComputedStyle(e)[p] : null; }",
        [selector, prop],
    )


def background(page, selector: str) -> str:
    """The colour an element shows behind it: its own background, or its nearest painted ancestor's."""
    return page.evaluate(
        """(s) => {
          for (let e = document.querySelector(s); e; e = e.parentElement) {
            const c = getComputedStyle(e).backgroundColor;
            if (c && c !== 'transparent' && c !== 'rgba(0, 0, 0, 0)') return c;
          }
          return null;
        }""",
        selector,
    )


def scroll_to(page, selector: str) -> None:
    """Scroll the element ``selector`` to the top of the viewport."""
    page.evaluate("(s) => document.querySelector(s).scrollIntoView({ block: 'start' })", selector)
    page.wait_for_timeout(300)


def outside_viewport(page, root: str, parts: dict[str, str]) -> dict:
    """With ``root`` scrolled to the top: the ``parts`` ({name: selector}) whose box is not wholly
    inside the viewport, with their box ("missing" when absent)."""
    scroll_to(page, root)
    return page.evaluate(
        """(parts) => {
          const out = {};
          for (const [name, selector] of Object.entries(parts)) {
            const e = document.querySelector(selector);
            if (!e) { out[name] = "missing"; continue; }
            const r = e.getBoundingClientRect();
            if (r.width === 0 || r.height === 0 || r.left < 0 || r.top < 0
                || r.right > window.innerWidth || r.bottom > window.innerHeight)
              out[name] = [r.left, r.top, r.right, r.bottom].map(Math.round);
          }
          return out;
        }""",
        parts,
    )
