"""The offline demo: a kite/balloon world with a planted spurious correlation, and TExplains of a
biased and a balanced classifier trained on it (built by scripts/build_demo.py)."""

from pathlib import Path

WEIGHTS = Path(__file__).parent / "weights"
