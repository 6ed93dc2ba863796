"""The offline demo: a kite/balloon world with a planted spurious correlation, and TExplains of a
biased and a balanced classifier trained on it (built by ``scripts/build_demo.py``).

>>> demo = load()                                   # offline; ~30 s cold, a few seconds warm
>>> demo["biased"].explain(demo.test.images[0]).top_words()
>>> split("train").images.shape                     # the biased classifier's training images
(3000, 64, 64, 3)
>>> ExplanationSet.open(run_path("biased-val"))      # a shipped run (see RUN_NAMES)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

WEIGHTS = Path(__file__).parent / "weights"
RUNS = Path(__file__).parent / "runs"
#: The shipped runs (scripts/build_demo.py runs, README "Dataset runs"): each demo classifier over
#: the test split (100 images per group, 64 sentences), and the biased one over the validation
#: split (400 images, 16 sentences), the run a fix takes its pseudo-groups from.
RUN_NAMES = ("biased", "balanced", "biased-val")
MODELS = ("biased", "balanced")
# The demo's images are 64 pixels: GradCAM on the last stage has a 2x2 grid, on layer3 a 4x4 one.
METHOD_OPTIONS = {"gradcam": {"layer": "layer3"}, "guided_gradcam": {"layer": "layer3"}}
#: The display defaults saved in the demo models' config.json (``TExplain.display``), written by
#: scripts/build_demo.py; the dashboard, ``%texplain`` and ``texplain saliency`` read them there.
DISPLAY = {"method_options": METHOD_OPTIONS}
#: The translators' caption split: balanced groups and its own seed, so they learn no shortcut.
CAPTIONS = {"n_images": 4000, "p_spurious": 0.5, "seed": 1000}
SPLITS = ("train", "train_balanced", "val", "test", "captions")


@dataclass
class Demo:
    """The demo's models (sharing one SmolLM2) and the balanced test split they were tested on."""

    models: dict
    test: object  # texplain_widgets.demo.world.World
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


def split(name: str):
    """One split of the demo world (a :class:`~.world.World`), the same on every machine.

    ``train``: the biased classifier's training split (3000 images, p_spurious 0.95);
    ``train_balanced``: the balanced classifier's (the same draws with p_spurious 0.5); ``val``
    (400) and ``test`` (1000): balanced groups, for both classifiers; ``captions``: the
    translators' caption split (4000, balanced, see :data:`CAPTIONS`). Sizes and seeds are
    those of ``classifiers.DEMO_WORLD``.
    """
    from ..errors import InputError
    from .classifiers import DEMO_WORLD as world
    from .world import WorldConfig, make_world, split_seed

    base = world["seed"]
    plans = {
        "train": (world["n_train"], world["p_biased"], split_seed(base, "train")),
        "train_balanced": (world["n_train"], world["p_balanced"], split_seed(base, "train")),
        "val": (world["n_val"], 0.5, split_seed(base, "val")),
        "test": (world["n_test"], 0.5, split_seed(base, "test")),
        "captions": (CAPTIONS["n_images"], CAPTIONS["p_spurious"], CAPTIONS["seed"]),
    }
    if name not in plans:
        raise InputError(f"the demo world has no split {name!r}; its splits: {', '.join(SPLITS)}")
    n_images, p_spurious, seed = plans[name]
    return make_world(WorldConfig(n_images, p_spurious, world["size"], seed, style=world["style"]))


def run_path(name: str) -> Path:
    """The directory of the shipped run ``name`` (one of :data:`RUN_NAMES`), checked to be built."""
    from ..errors import InputError

    if name not in RUN_NAMES:
        raise InputError(f"the demo ships no run {name!r}; its runs: {', '.join(RUN_NAMES)}")
    directory = RUNS / name
    if not (directory / "manifest.json").is_file():
        build = (
            f"scripts/mitigate_demo.py --run {directory} --methods reweight"
            if name == "biased-val"
            else "scripts/build_demo.py runs"
        )
        raise InputError(f"the shipped demo run {name!r} is not built ({directory}): run `python {build}`")
    return directory


def test_world():
    """The balanced test split of the demo world (1000 images): ``split("test")``."""
    return split("test")
