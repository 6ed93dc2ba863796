"""Saliency maps (Captum), word-grounded maps, overlays and faithfulness, on tiny real models."""

import io

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from texplain_widgets.attribution.drawing import colour_stops, overlay, spread, spread_caption, to_png_bytes
from texplain_widgets.attribution.faithfulness import deletion, insertion, random_map
from texplain_widgets.attribution.frame import ModelInput
from texplain_widgets.attribution.layers import TokenGrid, _default_layer
from texplain_widgets.attribution.maps import METHODS, saliency_map
from texplain_widgets.attribution.word_maps import (
    WordScore,
    word_occurrences,
    word_saliency,
)
from texplain_widgets.errors import InputError
from texplain_widgets.model.classifier import FrozenClassifier
from texplain_widgets.model.explanation import Explanation
from texplain_widgets.model.texplain import TExplain

FAST = {  # small settings, so that every method runs in a moment
    "integrated_gradients": {"n_steps": 8, "internal_batch_size": 4},
    "smoothgrad": {"nt_samples": 4},
    "occlusion": {"window": 32, "stride": 32},
}


@pytest.fixture(scope="module")
def photo(photos):
    return photos["chelsea"]  # 300 x 451, not square: maps must come back at this size


@pytest.fixture(scope="module")
def tiny_vit():
    torch.manual_seed(0)
    return FrozenClassifier.from_timm("test_vit", num_classes=2)


@pytest.fixture(scope="module")
def texplain(tiny_classifier, tiny_lm):
    torch.manual_seed(0)
    return TExplain(tiny_classifier, tiny_lm, prefix_length=4, hidden_dim=64)


@pytest.fixture(scope="module")
def explanation(texplain, photo):
    return texplain.explain(photo, 32, seed=0)


class TopLeftEdges(nn.Module):
    """Class 0's logit grows with the edge energy of the input's top-left quadrant, and nothing else."""

    def __init__(self):
        super().__init__()
        self.edges = nn.Conv2d(3, 1, 3, bias=False)
        self.edges.weight.data[:] = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(1, 2)

    def forward(self, x):
        h, w = x.shape[-2:]
        return self.fc(self.pool(torch.relu(self.edges(x[..., : h // 2, : w // 2]))).flatten(1))


@pytest.fixture(scope="module")
def planted(photo):
    """A classifier on TopLeftEdges, calibrated to p(class 0) = 0.88 on the photo, 0.02 on no edges."""
    network = TopLeftEdges()
    classifier = FrozenClassifier(network, feature_layer="pool")
    edges = float(classifier.predict(photo).features[0, 0])
    with torch.no_grad():
        network.fc.weight[:] = torch.tensor([[6 / edges], [0.0]])
        network.fc.bias[:] = torch.tensor([-4.0, 0.0])
    return classifier


def mlp_classifier():
    model = nn.Sequential(
        nn.AdaptiveAvgPool2d(8),
        nn.Flatten(),
        nn.Linear(192, 16),
        nn.ReLU(),
        nn.Linear(16, 2),
    )
    return FrozenClassifier(model, feature_layer="3")


def hook_count(*modules):
    return sum(
        len(m._forward_hooks)
        + len(m._forward_pre_hooks)
        + len(m._backward_hooks)
        + len(m._backward_pre_hooks)
        for module in modules
        for m in module.modules()
    )


def check_map(heatmap, image):
    assert heatmap.dtype == np.float32 and heatmap.shape == image.shape[:2]
    assert np.isfinite(heatmap).all()
    assert heatmap.min() >= 0 and heatmap.max() <= 1
    assert heatmap.std() > 0, "the map is constant"


@pytest.mark.parametrize(
    "method",
    [
        "gradcam",
        "guided_gradcam",
        "integrated_gradients",
        "saliency",
        "smoothgrad",
        "occlusion",
    ],
)
def test_every_method_maps_the_image_at_its_size(tiny_classifier, photo, method):
    assert method in METHODS
    result = saliency_map(tiny_classifier, photo, method, **FAST.get(method, {}))
    check_map(result.heatmap, photo)
    assert result.method == method and result.word is None
    predicted = int(tiny_classifier.predict(photo).logits.argmax())
    assert result.target == predicted


@pytest.mark.parametrize("method", ["gradcam", "guided_gradcam"])
def test_gradcam_on_a_vit_reads_the_patch_tokens_as_a_grid(tiny_vit, photo, method):
    check_map(saliency_map(tiny_vit, photo, method).heatmap, photo)


def test_vit_tokens_become_a_map_without_the_class_token_and_back():
    grid = TokenGrid("blocks.0", prefix_tokens=1, input_size=(32, 48))  # 2 x 3 patches
    tokens = torch.randn(2, 1 + 6, 5)
    spatial = grid(tokens)
    assert spatial.shape == (2, 5, 2, 3)
    assert torch.equal(spatial[:, :, 1, 2], tokens[:, 6])
    assert torch.equal(grid.restore(tokens), tokens)


def test_the_default_cnn_layer_is_the_last_convolutional_stage(tiny_classifier):
    pixels = torch.zeros(1, *tiny_classifier.input_size)
    assert _default_layer(tiny_classifier.model, pixels) == "layer4"


def test_the_map_lies_where_the_centre_crop_was_taken(tiny_classifier, photo):
    view = ModelInput.from_image(tiny_classifier, photo)  # resize to 168 high, crop 160 x 160
    assert view.pixels.shape[-2:] == (160, 160)
    left, top, right, bottom = view.box
    assert right - left == pytest.approx(160 * 451 / 252) and bottom - top == pytest.approx(160 * 300 / 168)
    assert (left + right) / 2 == pytest.approx(451 / 2, abs=2) and (top + bottom) / 2 == pytest.approx(
        150, abs=2
    )
    heatmap = view.heatmap(torch.ones(1, 3, 5, 5))
    assert heatmap[:, : int(left) - 1].max() == 0 and heatmap[:, int(right) + 2 :].max() == 0
    assert heatmap[10:-10, int(left) + 2 : int(right) - 2].min() == 1


def test_a_preprocessed_tensor_gets_a_map_of_its_own_size(tiny_classifier):
    pixels = torch.randn(3, 64, 96)
    assert saliency_map(tiny_classifier, pixels, "saliency").heatmap.shape == (64, 96)


def test_the_target_class_changes_the_integrated_gradients_map(tiny_classifier, photo):
    first, second = (
        saliency_map(
            tiny_classifier,
            photo,
            "integrated_gradients",
            target=t,
            **FAST["integrated_gradients"],
        )
        for t in (0, 1)
    )
    assert (first.target, second.target) == (0, 1)
    assert not np.allclose(first.heatmap, second.heatmap, atol=1e-3)


@pytest.mark.parametrize("method", ["integrated_gradients", "saliency"])
def test_a_planted_signal_is_found_in_its_quadrant(planted, photo, method):
    heatmap = saliency_map(planted, photo, method).heatmap
    height, width = heatmap.shape
    assert heatmap[: height // 2, : width // 2].sum() > 0.9 * heatmap.sum()


def test_the_planted_map_deletes_better_than_a_random_one(planted, photo):
    heatmap = saliency_map(planted, photo, "integrated_gradients").heatmap
    noise = random_map(heatmap.shape, seed=0)
    curve = deletion(planted, photo, heatmap, steps=10)
    assert curve.target == 0 and curve.probabilities[0] == pytest.approx(0.88, abs=0.01)
    np.testing.assert_allclose(curve.fractions, np.linspace(0, 1, 11))
    assert curve.auc < deletion(planted, photo, noise, steps=10).auc - 0.3
    inserted = insertion(planted, photo, heatmap, steps=4, baseline="mean")  # a flat image: no edges
    assert inserted.probabilities[0] < 0.05 and inserted.probabilities[-1] == pytest.approx(0.88, abs=0.01)
    assert inserted.probabilities[1] > 0.5  # the top quarter of the map holds the evidence


def test_faithfulness_checks_its_inputs(planted, photo):
    assert np.array_equal(random_map((4, 5), seed=1), random_map((4, 5), seed=1))
    with pytest.raises(InputError, match="does not fit"):
        deletion(planted, photo, random_map((10, 10)))
    with pytest.raises(InputError, match="blur, mean"):
        deletion(planted, photo, random_map(photo.shape[:2]), baseline="zeros")
    with pytest.raises(InputError, match="0 to 1"):
        deletion(planted, photo, random_map(photo.shape[:2]), target=2)


def test_overlay_is_a_png_of_the_image_size(photo):
    data = to_png_bytes(overlay(photo, random_map(photo.shape[:2]), colormap="inferno", alpha=0.4))
    assert data.startswith(b"\x89PNG")
    decoded = Image.open(io.BytesIO(data))
    assert decoded.size == (photo.shape[1], photo.shape[0]) and decoded.mode == "RGB"
    with pytest.raises(InputError, match="does not fit"):
        overlay(photo, np.zeros((3, 3)))
    with pytest.raises(InputError, match="colormap"):
        overlay(photo, random_map(photo.shape[:2]), colormap="no-such-map")


def test_cold_regions_show_the_image_and_hot_ones_the_colormap(photo):
    heat = np.zeros(photo.shape[:2])
    heat[:10, :10] = 1.0
    drawn = np.asarray(overlay(photo, heat)).astype(int)
    assert np.array_equal(drawn[20:, 20:], photo[20:, 20:])  # opacity follows the heat: 0 where cold
    hot = np.round(255 * (0.15 * photo[:10, :10] / 255 + 0.85 * np.array([252, 255, 164]) / 255))
    assert np.abs(drawn[:10, :10] - hot).max() <= 1  # inferno's hottest colour, at 0.85
    flat = np.asarray(overlay(photo, heat, follow_heat=False, alpha=0.5)).astype(int)
    assert not np.array_equal(flat[20:, 20:], photo[20:, 20:])  # the old look: a tint everywhere


def test_spread_tells_a_focused_map_from_an_everywhere_map():
    focused = np.zeros((20, 20))
    focused[5:7, 5:7] = 1.0
    assert spread(focused) == 2 / 400  # half of the weight: 2 of the 4 hot pixels
    assert spread(np.ones((20, 20))) == 0.5
    assert spread(np.linspace(0, 1, 400).reshape(20, 20)) == pytest.approx(1 - 0.5**0.5, abs=0.01)
    assert np.isnan(spread(np.zeros((3, 3))))
    assert spread_caption(0.005).endswith("focused") and spread_caption(0.5).endswith(
        "everywhere, about uniform"
    )
    assert spread_caption(0.2).endswith("spread out") and "empty" in spread_caption(float("nan"))
    with pytest.raises(InputError, match="mass"):
        spread(focused, mass=0)


def test_colour_stops_run_from_cold_to_hot():
    stops = colour_stops("inferno", 5)
    assert stops[0] == "#000004" and stops[-1] == "#fcffa4" and len(stops) == 5
    with pytest.raises(InputError, match="colormap"):
        colour_stops("no-such-map")


@pytest.mark.parametrize(
    "method, options",
    [
        ("gradcam", {}),
        ("gradcam", {"layer": "layer4"}),
        ("guided_gradcam", {"layer": "layer4"}),
        ("integrated_gradients", FAST["integrated_gradients"]),
        ("smoothgrad", FAST["smoothgrad"]),
        ("occlusion", FAST["occlusion"]),
    ],
)
def test_hooks_are_released_after_success_and_after_an_error(
    tiny_classifier, photo, monkeypatch, method, options
):
    before = hook_count(tiny_classifier)
    saliency_map(tiny_classifier, photo, method, target=1, **options)
    assert hook_count(tiny_classifier) == before

    def broken(_features):
        raise RuntimeError("broken head")

    tiny_classifier.num_classes  # noqa: B018 (computed while the head still works)
    monkeypatch.setattr(tiny_classifier.model.global_pool, "forward", broken)
    with pytest.raises(RuntimeError, match="broken head"):
        saliency_map(tiny_classifier, photo, method, target=1, **options)
    assert hook_count(tiny_classifier) == before


def test_a_vit_releases_its_token_hook(tiny_vit, photo):
    before = hook_count(tiny_vit)
    saliency_map(tiny_vit, photo, "gradcam", layer="blocks.2")
    assert hook_count(tiny_vit) == before


@pytest.mark.parametrize(
    "method, options, message",
    [
        (
            "lime",
            {},
            "unknown saliency method 'lime'; choose one of gradcam, guided_gradcam",
        ),
        (
            "gradcam",
            {"layer": "layer9"},
            "layer 'layer9' not found in ResNet; some of its layers: conv1",
        ),
        (
            "gradcam",
            {"target": 2},
            "target 2 is out of range: the classifier has 2 classes, 0 to 1",
        ),
        ("gradcam", {"target": -1}, "0 to 1"),
        (
            "integrated_gradients",
            {"steps": 4},
            "no option 'steps'; its options: n_steps, baselines",
        ),
        ("gradcam", {"layer": "fc"}, "needs a layer with a spatial output"),
    ],
)
def test_bad_requests_are_input_errors(tiny_classifier, photo, method, options, message):
    with pytest.raises(InputError, match=message):
        saliency_map(tiny_classifier, photo, method, **options)


def test_gradcam_on_a_classifier_without_convolutions_is_an_input_error(photo):
    classifier = mlp_classifier()
    with pytest.raises(InputError, match="GradCAM needs a convolutional layer or a ViT-style model"):
        saliency_map(classifier, photo, "gradcam")
    check_map(saliency_map(classifier, photo, "saliency").heatmap, photo)  # gradients still work


def test_a_word_is_found_by_its_lemma_in_any_case():
    explanation = Explanation(["A Bird sits.", "two birds over a bird", "the dog runs"], 0, 0.5)
    lemma, occurrences = word_occurrences(explanation, "BIRDS")
    assert lemma == "bird"
    assert occurrences == [
        ("A ", "Bird"),
        ("two ", "birds"),
        ("two birds over a ", "bird"),
    ]
    with pytest.raises(
        InputError,
        match="the word 'zebra' does not occur in the 3 sentences; words that do: bird",
    ):
        word_occurrences(explanation, "zebra")


def test_a_word_the_lemmatiser_would_change_again_is_found_as_it_is():
    explanation = Explanation(["a bridge spanned the river", "they spin"], 0, 0.5)
    assert "span" in explanation.top_words()  # "spanned" -> "span", but lemma("span") == "spin"
    assert word_occurrences(explanation, "span") == ("span", [("a bridge ", "spanned")])
    assert word_occurrences(explanation, "spin") == ("spin", [("they ", "spin")])


def test_the_word_score_is_the_lm_log_probability_of_the_word(texplain, tiny_lm, photo):
    occurrences = [("a small red ", "bird"), ("", "dog"), ("a small red ", "bird")]
    pixels = texplain.classifier.preprocess([photo, photo[::-1].copy()])
    with torch.no_grad():
        scores = WordScore(texplain, occurrences)(pixels)
        prefix, _ = texplain.prefix(pixels)
        expected = []
        for image in range(2):
            total = 0.0
            for before, word in occurrences:
                context = tiny_lm.tokenizer(before, add_special_tokens=False).input_ids if before else []
                target = tiny_lm.tokenizer(word, add_special_tokens=False).input_ids
                ids = torch.tensor([context + target])
                embeds = torch.cat([prefix[image : image + 1], tiny_lm.embed(ids)], dim=1)
                log_probs = tiny_lm.model(inputs_embeds=embeds).logits[0].log_softmax(-1)
                position = prefix.shape[1] + len(context) - 1
                total += float(log_probs[position, target[0]])
            expected.append(total / len(occurrences))
    torch.testing.assert_close(scores, torch.tensor(expected), atol=1e-4, rtol=0)


@pytest.mark.parametrize("method, options", [("gradcam", {}), ("integrated_gradients", {"n_steps": 4})])
def test_word_maps_have_the_image_size_and_depend_on_the_word(texplain, explanation, photo, method, options):
    first, second = explanation.top_words(2)
    before = hook_count(texplain)
    maps = [word_saliency(texplain, photo, explanation, w, method=method, **options) for w in (first, second)]
    assert hook_count(texplain) == before
    for result, word in zip(maps, (first, second)):
        assert result.heatmap.shape == photo.shape[:2] and result.heatmap.dtype == np.float32
        assert result.heatmap.min() >= 0 and result.heatmap.max() <= 1 and np.isfinite(result.heatmap).all()
        assert result.word == word and result.target is None and result.method == method
    assert not np.allclose(maps[0].heatmap, maps[1].heatmap)


def test_maps_work_inside_inference_mode(texplain, explanation, photo):
    with torch.inference_mode():
        check_map(saliency_map(texplain.classifier, photo, "saliency").heatmap, photo)
        word = explanation.top_words(1)[0]
        heatmap = word_saliency(texplain, photo, explanation, word, method="saliency").heatmap
    check_map(heatmap, photo)


def test_a_word_never_generated_is_an_input_error(texplain, explanation, photo):
    with pytest.raises(InputError, match="'zebra' does not occur in the 32 sentences; words that do: "):
        word_saliency(texplain, photo, explanation, "zebra")
