import numpy as np
import pytest
from PIL import Image

from texplain_widgets.demo.world import (
    BACKGROUND_PHRASES,
    BACKGROUND_WORDS,
    BACKGROUNDS,
    CLASSES,
    COLOURS,
    OBJECT_WORDS,
    SIZE_WORDS,
    WorldConfig,
    WorldStyle,
    draw_backgrounds,
    make_splits,
    make_world,
)
from texplain_widgets.errors import InputError
from texplain_widgets.words import sentence_words


@pytest.fixture(scope="module")
def world():
    return make_world(WorldConfig(80, p_spurious=0.5, seed=3))


@pytest.fixture(scope="module")
def splits():
    return make_splits(100, 24, 40, p_spurious=0.9, seed=1)


def test_arrays_and_groups(world):
    n = len(world)
    assert n == 80
    assert world.images.shape == (n, 64, 64, 3) and world.images.dtype == np.uint8
    assert world.masks.shape == (n, 64, 64) and world.masks.dtype == bool
    assert set(world.labels) == {0, 1} and set(world.backgrounds) == {0, 1}
    np.testing.assert_array_equal(world.groups, world.labels * 2 + world.backgrounds)
    assert world.group_names == ("kite/grass", "kite/brick", "balloon/grass", "balloon/brick")
    assert len(world.captions) == n
    # p = 0.5: the four groups are balanced exactly
    assert np.bincount(world.groups, minlength=4).tolist() == [20, 20, 20, 20]


def test_splits_balanced_groups_and_exact_spurious_share(splits):
    assert set(splits) == {"train", "val", "test"}
    for name, n in (("val", 24), ("test", 40)):
        assert np.bincount(splits[name].groups, minlength=4).tolist() == [n // 4] * 4
    train = splits["train"]
    assert len(train) == 100
    # 50 per class, round(0.9 * 50) = 45 of them on the background that goes with the class
    assert np.bincount(train.groups, minlength=4).tolist() == [45, 5, 5, 45]
    for world in splits.values():  # classes exactly balanced everywhere
        counts = np.bincount(world.labels, minlength=2)
        assert counts[0] == counts[1]
    # each split has its own seed: no shared images
    train_bytes = {image.tobytes() for image in train.images}
    assert not any(image.tobytes() in train_bytes for image in splits["test"].images)


@pytest.mark.parametrize(
    "n, p, expected",
    [(7, 1.0, [4, 0, 0, 3]), (10, 0.0, [0, 5, 5, 0]), (8, 0.75, [3, 1, 1, 3]), (9, 0.5, [3, 2, 2, 2])],
)
def test_spurious_counts_are_exact(n, p, expected):
    world = make_world(WorldConfig(n, p_spurious=p, seed=0, size=16))
    assert np.bincount(world.groups, minlength=4).tolist() == expected


def test_same_seed_same_world_other_seed_differs():
    a = make_world(WorldConfig(12, seed=5))
    b = make_world(WorldConfig(12, seed=5))
    c = make_world(WorldConfig(12, seed=6))
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.masks, b.masks)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.captions == b.captions
    assert not np.array_equal(a.images, c.images)
    assert a.captions != c.captions
    s1 = make_splits(8, 4, 4, seed=2)
    s2 = make_splits(8, 4, 4, seed=2)
    assert all(np.array_equal(s1[k].images, s2[k].images) for k in s1)


def _caption_parts(caption: str, background: str) -> str:
    """The caption without its background phrase (which may hold "red" or "green")."""
    phrases = [p for p in BACKGROUND_PHRASES[background] if p in caption]
    assert phrases, f"no {background} phrase in {caption!r}"
    return caption.replace(max(phrases, key=len), " ")


def test_captions_match_labels(world):
    all_objects = set().union(*OBJECT_WORDS.values())
    all_background = set().union(*BACKGROUND_WORDS.values())
    for i, caption in enumerate(world.captions):
        obj, bg = CLASSES[world.labels[i]], BACKGROUNDS[world.backgrounds[i]]
        lemmas = set(sentence_words(caption, stop_words=()))
        assert lemmas & all_objects == OBJECT_WORDS[obj], caption
        assert lemmas & all_background, caption
        assert lemmas & all_background <= BACKGROUND_WORDS[bg], caption
        rest = _caption_parts(caption, bg).split()
        assert [w for w in rest if w in COLOURS] == [world.colours[i]], caption
        size_words = {w for words in SIZE_WORDS.values() for w in words}
        said = [w for w in rest if w in size_words]
        assert len(said) <= 1 and set(said) <= set(SIZE_WORDS[world.sizes[i]]), caption
    # the grammar varies: several templates, phrases and colours show up
    assert len({c.split()[0] for c in world.captions}) >= 2
    assert len(set(world.colours)) >= 6
    assert {"small", "large"} == set(world.sizes)


def test_objects_have_their_colour_inside_the_mask(world):
    for i in range(len(world)):
        mask = world.masks[i]
        assert 5 < mask.sum() < mask.size // 4
        # the object's solid pixels have the named colour (up to +-8% shading); the rest of
        # the mask is anti-aliased edge
        inner = world.images[i][mask].astype(int)
        distance = np.abs(inner - np.array(COLOURS[world.colours[i]])).sum(-1)
        solid = distance <= 3 * 0.08 * 255 + 3
        assert solid.sum() >= 3 and solid.mean() >= 0.2


def test_masks_inside_the_image_with_margin(world):
    # the whole object is drawn: nothing touches the border
    assert not world.masks[:, 0, :].any() and not world.masks[:, -1, :].any()
    assert not world.masks[:, :, 0].any() and not world.masks[:, :, -1].any()


def test_size_and_pairs_and_subset(world):
    small = make_world(WorldConfig(4, size=32, seed=1))
    assert small.images.shape == (4, 32, 32, 3) and small.masks[0].any()
    pairs = list(world.to_pairs())
    assert len(pairs) == len(world)
    image, caption = pairs[0]
    assert isinstance(image, Image.Image) and image.size == (64, 64) and image.mode == "RGB"
    assert caption == world.captions[0]
    part = world.subset([3, 1])
    assert len(part) == 2 and part.captions == [world.captions[3], world.captions[1]]
    np.testing.assert_array_equal(part.images[0], world.images[3])
    np.testing.assert_array_equal(part.groups, world.groups[[3, 1]])
    kites = world.subset(world.labels == 0)
    assert len(kites) == 40 and (kites.labels == 0).all()
    assert len(world.subset([])) == 0


def test_other_class_order_pairs_backgrounds_by_index():
    world = make_world(WorldConfig(8, p_spurious=1.0, classes=("balloon", "kite"), seed=0))
    assert world.group_names[0] == "balloon/grass"
    assert all(("balloon" in c) == (lbl == 0) for c, lbl in zip(world.captions, world.labels))
    assert (world.labels == world.backgrounds).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_images": 0}, "n_images must be a positive number of images, got 0"),
        ({"n_images": -3}, "n_images must be a positive"),
        ({"n_images": 2.5}, "n_images must be a positive integer"),
        ({"n_images": 4, "p_spurious": 1.5}, r"p_spurious must lie in \[0, 1\]"),
        ({"n_images": 4, "p_spurious": -0.1}, r"p_spurious must lie in \[0, 1\]"),
        ({"n_images": 4, "p_spurious": float("nan")}, r"p_spurious must lie in \[0, 1\]"),
        ({"n_images": 4, "size": 8}, "size 8 is too small: images need at least 16 pixels"),
        ({"n_images": 4, "classes": ("kite", "bird")}, "unknown class name.*'bird'"),
        ({"n_images": 4, "classes": ("kite",)}, "two distinct names"),
        ({"n_images": 4, "classes": ("kite", "kite")}, "two distinct names"),
    ],
)
def test_impossible_settings_are_refused(kwargs, message):
    with pytest.raises(InputError, match=message):
        WorldConfig(**kwargs)


def test_impossible_splits_are_refused():
    with pytest.raises(InputError, match="n_val must be a positive"):
        make_splits(10, 0, 10)
    with pytest.raises(InputError, match=r"p_spurious must lie in \[0, 1\]"):
        make_splits(10, 10, 10, p_spurious=2)
    with pytest.raises(InputError, match="make_world takes a WorldConfig"):
        make_world({"n_images": 3})


def test_fresh_backgrounds_are_drawn_as_the_world_draws_them():
    kinds = np.array([0, 1, 1, 0])
    drawn = draw_backgrounds(kinds, 32, WorldStyle(), np.random.default_rng(0))
    assert drawn.shape == (4, 32, 32, 3) and drawn.dtype == np.uint8
    red, green = drawn[..., 0].mean((1, 2)), drawn[..., 1].mean((1, 2))
    assert (green > red)[kinds == 0].all() and (red > green)[kinds == 1].all()  # grass green, brick red
    again = draw_backgrounds(kinds, 32, WorldStyle(), np.random.default_rng(0))
    np.testing.assert_array_equal(drawn, again)
    assert not np.array_equal(drawn, draw_backgrounds(kinds, 32, WorldStyle(), np.random.default_rng(1)))
