"""The frontend's own checks (TypeScript types, vitest against a fake widget model), run from pytest
so README's one test command covers them."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parent.parent / "js"


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None or not (JS / "node_modules").is_dir():
        if os.environ.get("TEXPLAIN_REQUIRE_BROWSER"):
            pytest.fail("npm or js/node_modules is missing (scripts/setup.sh installs them)")
        pytest.skip("npm or js/node_modules is missing: run scripts/setup.sh")
    return npm


@pytest.mark.parametrize("script", ["typecheck", "test"])
def test_frontend(script):
    done = subprocess.run(
        [_npm(), "run", script], cwd=JS, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


def test_frontend_module_or_a_stand_in(monkeypatch, tmp_path):
    from texplain_widgets.widgets import frontend

    monkeypatch.setattr(frontend, "STATIC", tmp_path)
    stand_in = frontend.esm("explorer")
    assert isinstance(stand_in, str) and "npm ci && npm run build" in stand_in and "\n" in stand_in
    assert frontend.css("explorer") == ""
    (tmp_path / "explorer.js").write_text("export default {};")
    assert frontend.esm("explorer") == tmp_path / "explorer.js"
