"""Mitigation: GradCAM's top region outside the object is masked, then the classifier fine-tuned."""

import numpy as np
import pytest
import timm
import torch

from texplain_widgets.attribution.regions import top_region
from texplain_widgets.demo.classifiers import wrap_classifier
from texplain_widgets.demo.mitigation import (
    fine_tune,
    gradcam_maps,
    mask_spurious,
)
from texplain_widgets.demo.world import WorldConfig, make_world
from texplain_widgets.errors import InputError
from texplain_widgets.model.classifier import FrozenClassifier


@pytest.fixture(scope="module")
def world():
    return make_world(WorldConfig(32, p_spurious=0.9, seed=0))


@pytest.fixture(scope="module")
def classifier():
    torch.manual_seed(0)
    return wrap_classifier(timm.create_model("test_resnet", num_classes=2).eval(), arch="test_resnet")


@pytest.fixture(scope="module")
def maps(classifier, world):
    return gradcam_maps(classifier, world.images, world.labels, layer="layer3", batch_size=10)


def test_gradcam_maps_cover_each_image(classifier, world, maps):
    assert maps.shape == world.masks.shape and maps.dtype == np.float32
    assert np.isfinite(maps).all() and maps.min() >= 0 and maps.reshape(len(maps), -1).std(1).max() > 0
    with pytest.raises(InputError, match="the classifier takes"):
        gradcam_maps(classifier, np.zeros((2, 32, 32, 3), np.uint8), [0, 1])


def test_the_top_region_holds_exactly_q_of_the_highest_pixels(maps):
    region = top_region(maps, 0.3, np.random.default_rng(0))
    count = round(0.3 * 64 * 64)
    assert (region.sum(axis=(1, 2)) == count).all()
    for heatmap, inside in zip(maps, region):
        assert heatmap[inside].min() >= heatmap[~inside].max()
    ties = top_region(np.zeros((3, 8, 8)), 0.25, np.random.default_rng(0))  # a flat map: at random
    assert (ties.sum(axis=(1, 2)) == 16).all() and not np.array_equal(ties[0], ties[1])
    with pytest.raises(InputError, match="q must be"):
        top_region(maps, 1.2, np.random.default_rng(0))


@pytest.mark.parametrize("fill", ["background", "noise"])
def test_only_the_top_region_outside_the_object_is_replaced(world, maps, fill):
    masked, replaced = mask_spurious(world.images, world.masks, maps, 0.3, fill=fill, seed=1)
    top = top_region(maps, 0.3, np.random.default_rng(1))
    assert masked.shape == world.images.shape and masked.dtype == np.uint8
    assert np.array_equal(replaced, top & ~world.masks)  # the count follows q, less the object
    assert not (replaced & world.masks).any()
    assert np.array_equal(masked[~replaced], world.images[~replaced])
    changed = (masked != world.images).any(-1)
    assert changed[replaced].mean() > 0.9 and not changed[~replaced].any()


def test_masking_checks_its_inputs(world, maps):
    masked, replaced = mask_spurious(world.images, world.masks, maps, 0)
    assert not replaced.any() and np.array_equal(masked, world.images)
    with pytest.raises(InputError, match="unknown fill"):
        mask_spurious(world.images, world.masks, maps, 0.3, fill="grey")
    with pytest.raises(InputError, match="must agree"):
        mask_spurious(world.images, world.masks[:3], maps, 0.3)


@pytest.mark.parametrize("q", [0.3, 0])
def test_one_epoch_of_fine_tuning_returns_a_new_frozen_classifier(classifier, world, q):
    before = {k: v.clone() for k, v in classifier.model.state_dict().items()}
    tuned = fine_tune(classifier, world, q=q, epochs=1, batch_size=16, layer="layer3")
    assert isinstance(tuned, FrozenClassifier) and tuned.class_names == ["kite", "balloon"]
    assert tuned.timm_name == "test_resnet" and tuned.training_seconds > 0
    assert all(not p.requires_grad for p in tuned.parameters()) and not tuned.model.training
    assert tuned.predict(list(world.images[:4])).logits.shape == (4, 2)
    after = classifier.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # the original is left as it was
    assert any(not torch.equal(before[k], v) for k, v in tuned.model.state_dict().items())
