"""The tutorials are committed executed and light: outputs a reader sees on GitHub, no widget state.

(pytest runs the notebooks themselves with nbval: see addopts in pyproject.toml.)
"""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_the_seven_tutorials_exist():
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06", "07"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_with_outputs_and_without_widget_state(path):
    notebook = json.loads(path.read_text())
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert all(cell.get("execution_count") for cell in code), "run top to bottom before committing"
    assert [cell["execution_count"] for cell in code] == list(range(1, len(code) + 1))
    assert not any(output.get("output_type") == "error" for cell in code for output in cell["outputs"])
    assert "widgets" not in notebook["metadata"], (
        "execute with --ExecutePreprocessor.store_widget_state=False"
    )
    assert path.stat().st_size < 2_000_000
