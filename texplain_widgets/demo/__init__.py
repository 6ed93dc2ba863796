"""The offline demo: a kite/balloon world with a planted spurious correlation, and TExplains of a
biased and a balanced classifier trained on it (built by ``scripts/build_demo.py``).

>>> demo = load()                                   # offline; ~30 s cold, a few seconds warm
>>> demo["biased"].explain(demo.test.images[0]).top_words()
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

WEIGHTS = Path(__file__).parent / "weights"
MODELS = ("biased", "balanced")
# The demo's images are 64 pixels: GradCAM on the last stage has a 2x2 grid, on layer3 a 4x4 one.
METHOD_OPTIONS = {"gradcam": {"layer": "layer3"}, "guided_gradcam": {"layer": "layer3"}}


@dataclass
class Demo:
    """The demo's models (sharing one SmolLM2) and the balanced test split they were tested on."""

    models: dict
    test: object  # texplain_widgets.data.world.World
    language_model: object

    def __getitem__(self, name: str):
        return self.models[name]


def load(names=MODELS, *, dtype=None) -> Demo:
    """Load the shipped demo TExplains and regenerate the demo world's test split, offline.

    ``dtype=torch.bfloat16`` runs the LM in bfloat16 (faster on CPUs with AMX and on GPUs).
    """
    import torch

    from ..model.language import FrozenLanguageModel
    from ..model.texplain import TExplain

    missing = [name for name in names if not (WEIGHTS / name / "config.json").is_file()]
    if missing:
        from ..errors import InputError

        known = ", ".join(MODELS)
        raise InputError(
            f"no demo model {', '.join(map(repr, missing))} in {WEIGHTS} (the demo has {known}; "
            "rebuild it with scripts/build_demo.py all)"
        )
    language_model = FrozenLanguageModel.from_pretrained("smollm2", dtype=dtype or torch.float32)
    models = {name: TExplain.from_pretrained(WEIGHTS / name, language_model=language_model) for name in names}
    return Demo(models, test_world(), language_model)


def test_world():
    """The balanced test split of the demo world (1000 images), the same on every machine."""
    from ..data.world import WorldConfig, make_world, split_seed
    from .classifiers import DEMO_WORLD

    return make_world(
        WorldConfig(
            DEMO_WORLD["n_test"],
            0.5,
            DEMO_WORLD["size"],
            split_seed(DEMO_WORLD["seed"], "test"),
            style=DEMO_WORLD["style"],
        )
    )
