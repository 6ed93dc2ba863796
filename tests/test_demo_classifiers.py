import math

import numpy as np
import pytest
import torch

from texplain_widgets.demo.classifiers import (
    MEAN,
    STD,
    evaluate,
    load_classifier,
    train_classifier,
)
from texplain_widgets.demo.world import WorldConfig, make_world
from texplain_widgets.errors import InputError
from texplain_widgets.model.classifier import FrozenClassifier

ARCH = "test_resnet"  # timm's tiny test architecture; it takes 64-pixel input


@pytest.fixture(scope="module")
def tiny_world():
    return make_world(WorldConfig(64, p_spurious=0.5, seed=0))


@pytest.fixture(scope="module")
def trained(tiny_world):
    torch.manual_seed(123)  # the result must not depend on the global seed
    return train_classifier(tiny_world, arch=ARCH, epochs=1, batch_size=16, seed=0, progress=False)


def test_returns_a_frozen_classifier_at_the_world_resolution(trained, tiny_world):
    assert isinstance(trained, FrozenClassifier)
    assert trained.class_names == ["kite", "balloon"]
    assert trained.input_size == (3, 64, 64)
    assert trained.num_classes == 2 and trained.feature_dim == trained.model.num_features
    assert all(not p.requires_grad for p in trained.parameters()) and not trained.training
    z, logits = trained.predict(list(tiny_world.images[:5]))
    assert z.shape == (5, trained.feature_dim) and logits.shape == (5, 2)


def test_transform_resizes_nothing_and_normalises_as_training(trained, tiny_world):
    image = tiny_world.images[0]
    pixels = trained.preprocess(image)
    mean, std = torch.tensor(MEAN)[:, None, None], torch.tensor(STD)[:, None, None]
    expected = (torch.from_numpy(image).permute(2, 0, 1).float() / 255 - mean) / std
    assert pixels.shape == (1, 3, 64, 64)
    torch.testing.assert_close(pixels[0], expected)
    # another size is brought to the training resolution
    assert trained.preprocess(np.zeros((100, 80, 3), np.uint8)).shape == (1, 3, 64, 64)


def test_weights_are_exactly_fp16(trained):
    tensors = [*trained.model.parameters(), *trained.model.buffers()]
    floats = [t for t in tensors if t.is_floating_point()]
    assert floats
    for t in floats:
        assert t.dtype == torch.float32
        torch.testing.assert_close(t.half().float(), t, rtol=0, atol=0)


def test_deterministic_under_the_seed(trained, tiny_world):
    again = train_classifier(tiny_world, arch=ARCH, epochs=1, batch_size=16, seed=0, progress=False)
    assert again.fingerprint() == trained.fingerprint()


def test_evaluate_is_consistent(trained, tiny_world):
    result = evaluate(trained, tiny_world)
    assert set(result["group_accuracy"]) == set(tiny_world.group_names)
    assert sum(result["group_counts"].values()) == len(tiny_world)
    assert result["worst_group_accuracy"] <= result["accuracy"] + 1e-12
    assert result["worst_group_accuracy"] == min(result["group_accuracy"].values())
    assert result["group_accuracy"][result["worst_group"]] == result["worst_group_accuracy"]
    # overall accuracy is the count-weighted mean of the group accuracies
    weighted = sum(result["group_accuracy"][k] * n for k, n in result["group_counts"].items())
    assert math.isclose(weighted / len(tiny_world), result["accuracy"])
    # agrees with the classifier's own predictions
    predicted = trained.predict(list(tiny_world.images)).logits.argmax(-1).numpy()
    assert math.isclose((predicted == tiny_world.labels).mean(), result["accuracy"])


def test_evaluate_skips_empty_groups(trained):
    kites_on_grass = make_world(WorldConfig(8, p_spurious=1.0, seed=2))
    result = evaluate(trained, kites_on_grass)
    assert math.isnan(result["group_accuracy"]["kite/brick"])
    assert result["group_counts"]["kite/brick"] == 0
    assert not math.isnan(result["worst_group_accuracy"])


def test_saved_fp16_weights_load_back_losslessly(trained, tiny_world, tmp_path):
    from safetensors.torch import save_file

    state = {k: v.half() if v.is_floating_point() else v for k, v in trained.model.state_dict().items()}
    save_file(state, tmp_path / "tiny.safetensors")
    loaded = load_classifier(tmp_path / "tiny.safetensors", arch=ARCH)
    assert loaded.fingerprint() == trained.fingerprint()
    images = list(tiny_world.images[:4])
    torch.testing.assert_close(loaded.predict(images).logits, trained.predict(images).logits)


def test_bad_arguments_are_clear(tiny_world):
    with pytest.raises(InputError, match="epochs must be a positive integer"):
        train_classifier(tiny_world, arch=ARCH, epochs=0, progress=False)
    with pytest.raises(InputError, match="timm cannot create 'no_such_net'"):
        train_classifier(tiny_world, arch="no_such_net", progress=False)
    with pytest.raises(InputError, match="non-empty World"):
        train_classifier([], arch=ARCH, progress=False)
