"""The demo world: kites and balloons on real grass and brick, with a planted spurious cue.

A Waterbirds-style world built offline and deterministically from a seed. Class 0 "kite"
(a diamond with a short tail) and class 1 "balloon" (an oval with a string) are drawn small
and thin, in a named colour, at a random position, size and rotation, over a background cut
from a real photo bundled in scikit-image: "grass" (``skimage.data.grass()``, tinted green)
or "brick" (``skimage.data.brick()``, tinted brick red). The background fills the frame, so
it is the easy cue; the object stays learnable but is the harder one.

``p_spurious`` is the share of images whose background agrees with their class (kite on
grass, balloon on brick); with 0.5 the four groups (class x background) are balanced. Every
sample has its object mask and a caption from a small grammar that names the object, its
colour, sometimes its size, and the background, e.g. "a small red kite over the grass".

>>> splits = make_splits(3000, 400, 1000, p_spurious=0.95, seed=0)
>>> splits["train"].images.shape
(3000, 64, 64, 3)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ..errors import InputError
from .drawing import BACKGROUNDS, WorldStyle, draw_backgrounds, draw_object

__all__ = [
    "BACKGROUNDS",
    "BACKGROUND_PHRASES",
    "BACKGROUND_WORDS",
    "CLASSES",
    "COLOURS",
    "OBJECT_WORDS",
    "SIZE_WORDS",
    "World",
    "WorldConfig",
    "WorldStyle",
    "draw_backgrounds",
    "make_splits",
    "make_world",
]

CLASSES = ("kite", "balloon")
SPLITS = ("train", "val", "test")

#: Object colours by name (the caption's colour word), as RGB.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 25, 30),
    "blue": (30, 70, 225),
    "yellow": (250, 225, 30),
    "orange": (250, 135, 20),
    "purple": (135, 40, 180),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
    "pink": (250, 120, 190),
}

#: Lemmas (lower case) that name each background or object, for checking generated words.
BACKGROUND_WORDS = {"grass": {"grass", "grassy", "lawn", "field"}, "brick": {"brick", "wall"}}
OBJECT_WORDS = {"kite": {"kite"}, "balloon": {"balloon"}}

#: The captions' background phrases; each uses words of BACKGROUND_WORDS for its background.
BACKGROUND_PHRASES = {
    "grass": (
        "on the grass",
        "over the grass",
        "over a green lawn",
        "above a grassy field",
        "on a lawn",
        "over a field of grass",
    ),
    "brick": (
        "against a brick wall",
        "in front of a brick wall",
        "in front of red bricks",
        "by an old brick wall",
        "near a wall of bricks",
    ),
}

#: Size words by drawn size; a caption uses one of them about half of the time.
SIZE_WORDS = {"small": ("small", "tiny", "little"), "large": ("large", "big")}
SIZES = ("small", "large")

_TEMPLATES = (
    "{a} {adjectives} {object} {background}",
    "a photo of {a} {adjectives} {object} {background}",
    "there is {a} {adjectives} {object} {background}",
    "{a} {adjectives} {object} seen {background}",
)

_MIN_SIZE = 16


@dataclass(frozen=True)
class WorldConfig:
    """What to generate: ``n_images`` samples, the spurious share, image size and seed.

    ``classes`` are two distinct names from :data:`CLASSES`; the class at index i goes with
    background i (the default: kite with grass, balloon with brick).
    """

    n_images: int
    p_spurious: float = 0.95
    size: int = 64
    seed: int = 0
    classes: tuple[str, ...] = CLASSES
    style: WorldStyle = field(default_factory=WorldStyle)

    def __post_init__(self):
        _check_count(self.n_images, "n_images")
        _check_p(self.p_spurious)
        if isinstance(self.size, bool) or not isinstance(self.size, (int, np.integer)):
            raise InputError(f"size must be an integer number of pixels, not {self.size!r}")
        if self.size < _MIN_SIZE:
            raise InputError(f"size {self.size} is too small: images need at least {_MIN_SIZE} pixels a side")
        if isinstance(self.classes, str):
            raise InputError(f"classes must be a sequence of names, not the string {self.classes!r}")
        classes = tuple(self.classes)
        unknown = [c for c in classes if c not in CLASSES]
        if unknown:
            raise InputError(
                f"unknown class name(s) {', '.join(map(repr, unknown))}; the demo world draws "
                f"{', '.join(map(repr, CLASSES))}"
            )
        if len(classes) != 2 or len(set(classes)) != 2:
            raise InputError(
                f"classes must be two distinct names of {CLASSES} (one per background), got {classes}"
            )
        object.__setattr__(self, "classes", classes)


@dataclass
class World:
    """Generated samples: images (N, H, W, 3) uint8, object masks (N, H, W) bool and labels.

    ``labels`` index ``classes``, ``backgrounds`` index :data:`BACKGROUNDS`, ``groups`` are
    ``label * 2 + background`` (names in :attr:`group_names`); ``colours`` and ``sizes`` name
    each object's colour and drawn size, as its caption does.
    """

    images: np.ndarray
    masks: np.ndarray
    labels: np.ndarray
    backgrounds: np.ndarray
    captions: list[str]
    colours: list[str]
    sizes: list[str]
    classes: tuple[str, ...] = CLASSES
    config: WorldConfig | None = None

    @property
    def groups(self) -> np.ndarray:
        return self.labels * 2 + self.backgrounds

    @property
    def group_names(self) -> tuple[str, ...]:
        """Name of each group id: ``group_names[g]`` is e.g. "kite/grass"."""
        return tuple(f"{c}/{b}" for c in self.classes for b in BACKGROUNDS)

    def __len__(self) -> int:
        return len(self.labels)

    def to_pairs(self) -> Iterator[tuple[Image.Image, str]]:
        """(PIL image, caption) for each sample, e.g. for :class:`CaptionPairs`."""
        for image, caption in zip(self.images, self.captions):
            yield Image.fromarray(image), caption

    def subset(self, indices) -> World:
        """A new world with the samples at ``indices`` (an index sequence or a bool mask)."""
        index = np.asarray(indices)
        if index.dtype == bool:
            if index.shape != (len(self),):
                raise InputError(f"a boolean subset needs {len(self)} values, got {index.shape}")
            index = np.flatnonzero(index)
        elif index.size == 0:
            index = index.astype(np.int64)
        elif not np.issubdtype(index.dtype, np.integer):
            raise InputError(f"subset indices must be integers or booleans, not {index.dtype}")
        if index.size and (index.min() < -len(self) or index.max() >= len(self)):
            raise InputError(f"subset indices out of range for a world of {len(self)} samples")
        return World(
            images=self.images[index],
            masks=self.masks[index],
            labels=self.labels[index],
            backgrounds=self.backgrounds[index],
            captions=[self.captions[i] for i in index],
            colours=[self.colours[i] for i in index],
            sizes=[self.sizes[i] for i in index],
            classes=self.classes,
            config=self.config,
        )


def make_world(config: WorldConfig) -> World:
    """Generate the world that ``config`` describes, the same for the same config."""
    if not isinstance(config, WorldConfig):
        raise InputError(f"make_world takes a WorldConfig, not {type(config).__name__}")
    rng = np.random.default_rng(config.seed)
    n, size, style = config.n_images, config.size, config.style
    labels, backgrounds = _plan(n, config.p_spurious, rng)
    colour_names = list(COLOURS)
    colours = rng.integers(len(colour_names), size=n)
    large = rng.random(n) < 0.5
    images = draw_backgrounds(backgrounds, size, style, rng)
    alpha = np.empty((n, size, size), np.float32)
    for i in range(n):
        alpha[i] = draw_object(int(labels[i]), bool(large[i]), size, style, rng)
    shade = 1 + style.jitter * rng.uniform(-1, 1, size=(n, 1))
    rgb = np.array([COLOURS[c] for c in colour_names], np.float32)[colours]
    rgb = np.clip(rgb * shade, 0, 255)
    where = np.nonzero(alpha)  # composite only the object's pixels
    a = alpha[where][:, None]
    images[where] = np.rint(images[where] * (1 - a) + rgb[where[0]] * a).astype(np.uint8)
    masks = alpha >= 0.25
    names = [colour_names[c] for c in colours]
    sizes = [SIZES[int(x)] for x in large]
    captions = [
        _caption(config.classes[labels[i]], BACKGROUNDS[backgrounds[i]], names[i], sizes[i], rng)
        for i in range(n)
    ]
    return World(images, masks, labels, backgrounds, captions, names, sizes, config.classes, config)


def make_splits(
    n_train: int,
    n_val: int,
    n_test: int,
    p_spurious: float = 0.95,
    seed: int = 0,
    *,
    size: int = 64,
    classes: Sequence[str] = CLASSES,
    style: WorldStyle | None = None,
) -> dict[str, World]:
    """Train (with ``p_spurious``), val and test (balanced groups) worlds, each its own seed.

    The split seeds are derived from ``seed`` with numpy's ``SeedSequence``, so the splits
    never share images. Val and test have exactly equal group counts when their sizes are
    divisible by 4; every split has its classes exactly balanced (one apart when odd).
    """
    for n, name in ((n_train, "n_train"), (n_val, "n_val"), (n_test, "n_test")):
        _check_count(n, name)
    _check_p(p_spurious)
    extra = {"size": size, "classes": tuple(classes), "style": style or WorldStyle()}
    plans = (("train", n_train, p_spurious), ("val", n_val, 0.5), ("test", n_test, 0.5))
    return {name: make_world(WorldConfig(n, p, seed=split_seed(seed, name), **extra)) for name, n, p in plans}


def split_seed(seed: int, split: str) -> int:
    """The seed of one split of :func:`make_splits`, to regenerate that split alone."""
    index = SPLITS.index(split)
    return int(np.random.SeedSequence(seed).spawn(len(SPLITS))[index].generate_state(1)[0])


# -- generation ------------------------------------------------------------------------------


def _check_count(n, name: str) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise InputError(f"{name} must be a positive integer, not {n!r}")
    if n <= 0:
        raise InputError(f"{name} must be a positive number of images, got {n}")


def _check_p(p) -> None:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating, np.integer)):
        raise InputError(f"p_spurious must be a number in [0, 1], not {p!r}")
    if not 0 <= p <= 1:  # also rejects NaN
        raise InputError(
            f"p_spurious must lie in [0, 1] (the share of images whose background agrees "
            f"with their class), got {p}"
        )


def _plan(n: int, p: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Labels with classes balanced, and per class exactly round(p * count) agreeing backgrounds."""
    labels = np.repeat([0, 1], [n - n // 2, n // 2])
    backgrounds = np.empty(n, np.int64)
    for c in (0, 1):
        count = int((labels == c).sum())
        agree = math.floor(p * count + 0.5)
        backgrounds[labels == c] = np.repeat([c, 1 - c], [agree, count - agree])
    order = rng.permutation(n)
    return labels[order].astype(np.int64), backgrounds[order]


def _caption(obj: str, background: str, colour: str, size: str, rng) -> str:
    template = _TEMPLATES[rng.integers(len(_TEMPLATES))]
    words = [colour]
    if rng.random() < 0.5:
        options = SIZE_WORDS[size]
        words.insert(0, options[rng.integers(len(options))])
    phrases = BACKGROUND_PHRASES[background]
    phrase = phrases[rng.integers(len(phrases))]
    adjectives = " ".join(words)
    article = "an" if adjectives[0] in "aeiou" else "a"
    return template.format(a=article, adjectives=adjectives, object=obj, background=phrase)
