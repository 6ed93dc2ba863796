"""Reliance: masking the region a classifier reads against random regions; a real run end to end."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from runs_support import SETTINGS, image_folder, save_tiny_model
from scipy import stats
from torch import nn
from torchvision.transforms import ToTensor

from texplain_widgets import explain_dataset
from texplain_widgets.errors import Cancelled, InputError
from texplain_widgets.model.classifier import FrozenClassifier
from texplain_widgets.runs.region_masking import filling, measure, region_mask, shifted
from texplain_widgets.runs.reliance import summarise


class PatchNet(nn.Module):
    """Class 0 when the top-left 8 x 8 patch is clearly greener than red, class 1 otherwise."""

    def __init__(self):
        super().__init__()
        self.features = nn.Identity()
        self.head = nn.Linear(1, 2)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[8.0], [-8.0]]))
            self.head.bias.copy_(torch.tensor([-1.0, 1.0]))  # grey: class 1

    def forward(self, pixels):
        patch = pixels[:, :, :8, :8]
        return self.head(self.features((patch[:, 1] - patch[:, 0]).mean(dim=(1, 2))[:, None]))


@pytest.fixture(scope="module")
def patch_net():
    config = {"input_size": (3, 32, 32), "mean": (0.5, 0.5, 0.5)}
    return FrozenClassifier(PatchNet(), feature_layer="features", transform=ToTensor(), data_config=config)


def picture(rng) -> Image.Image:
    """Red noise with two green 8 x 8 patches: top-left (read) and bottom-right (ignored)."""
    pixels = np.zeros((32, 32, 3), np.uint8)
    pixels[..., 0] = rng.integers(150, 230, (32, 32))
    pixels[:8, :8] = pixels[-8:, -8:] = (0, 200, 0)
    return Image.fromarray(pixels)


def patch_map(rng, corner: str) -> np.ndarray:
    """All the weight on one 8 x 8 patch (slightly uneven, so no ties)."""
    heatmap = np.zeros((32, 32))
    patch = (slice(None, 8), slice(None, 8)) if corner == "top-left" else (slice(-8, None), slice(-8, None))
    heatmap[patch] = 1 + rng.random((8, 8)) * 0.01
    return heatmap


def test_masking_what_the_classifier_reads_drops_it_more_than_the_control(patch_net):
    rng = np.random.default_rng(0)
    q = 64 / 1024  # the patch's share of the pixels
    rows = {"read": [], "ignored": []}
    for i in range(12):
        image = picture(rng)
        class_map = patch_map(rng, "top-left")
        for word, corner in (("read", "top-left"), ("ignored", "bottom-right")):
            row = measure(
                image, patch_map(rng, corner), class_map, patch_net, q=q, fill="model_mean", trials=4, seed=i
            )
            rows[word].append({**row, "said": True})
    read, ignored = (pd.DataFrame(rows[w]) for w in ("read", "ignored"))
    assert (read["pixels"] == 64).all() and read["predicted"].eq(0).all()
    assert read["drop_word"].min() > 0.4 and read["flip_word"].all()
    assert read["drop_word"].mean() > read["drop_random"].mean() + 0.3
    assert ignored["drop_word"].abs().max() < 1e-6 and not ignored["flip_word"].any()
    assert (read["drop_class"] == read["drop_word"]).all() and (read["overlap_class"] == 1).all()
    relied, not_relied = summarise(read, "read"), summarise(ignored, "ignored")
    assert relied["relies"] and relied["difference_low"] > 0.2 and relied["p_value"] < 0.001
    assert not not_relied["relies"] and not_relied["difference"] <= 0 and not_relied["p_value"] > 0.5
    differences = read["drop_word"] - read["drop_random"]
    half = stats.t.ppf(0.975, len(read) - 1) * differences.std(ddof=1) / np.sqrt(len(read))
    assert (relied["difference_low"], relied["difference_high"]) == pytest.approx(
        (differences.mean() - half, differences.mean() + half)
    )
    flips = read["flip_word"].sum()
    wilson = stats.binomtest(int(flips), len(read)).proportion_ci(method="wilson")
    assert (relied["flip_word_low"], relied["flip_word_high"]) == pytest.approx((wilson.low, wilson.high))


def test_regions_shifts_and_fills(patch_net):
    rng = np.random.default_rng(1)
    heatmap = rng.random((10, 20))
    mask = region_mask(heatmap, 0.25)
    assert mask.sum() == 50 and heatmap[mask].min() > heatmap[~mask].max()  # the top quarter of the pixels
    heavy = region_mask(heatmap, 0.25, "weight")
    assert heatmap[heavy].min() > heatmap[~heavy].max()  # the top pixels, the fewest with 25% of the weight
    assert heatmap[heavy].sum() >= 0.25 * heatmap.sum() > heatmap[heavy].sum() - heatmap[heavy].min()
    assert not region_mask(np.zeros((4, 4)), 0.5, "weight").any()
    assert region_mask(np.eye(4), 0.99, "weight").sum() == 4
    moved = shifted(mask, rng)
    assert moved.sum() == mask.sum()
    image = Image.fromarray(rng.integers(0, 255, (10, 20, 3), dtype=np.uint8))
    assert (filling(image, "model_mean", patch_net, rng) == 128).all()  # 0.5 * 255, rounded
    mean = np.asarray(image).reshape(-1, 3).mean(axis=0).round()
    assert (filling(image, "image_mean", patch_net, rng)[3, 4] == mean).all()
    assert filling(image, "blur", patch_net, rng).shape == (10, 20, 3)
    assert filling(image, "noise", patch_net, rng).dtype == np.uint8
    with pytest.raises(InputError, match="does not fit the image"):
        measure(image, heatmap[:5], heatmap, patch_net, q=0.1, fill="blur", trials=1, seed=0)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tiny_classifier, tiny_lm):
    return save_tiny_model(tmp_path_factory.mktemp("tiny"), tiny_classifier, tiny_lm)


@pytest.fixture(scope="module")
def model(model_dir):
    from texplain_widgets.model.texplain import TExplain

    return TExplain.from_pretrained(model_dir)


@pytest.fixture
def run(model, tmp_path_factory):
    folder = image_folder(tmp_path_factory.mktemp("images"), 6)
    return explain_dataset(model, folder, tmp_path_factory.mktemp("run") / "out", progress=False, **SETTINGS)


def common_word(run) -> str:
    return run.words(by="label", top=1, prior_strength=1e9).sort_values("share")["word"].iloc[-1]


def test_a_real_run_is_measured_stored_and_reused(run, model, monkeypatch):
    word = common_word(run)
    result = run.reliance(word, model, max_images=3, trials=2, progress=False)
    assert len(result.images) == 3 and result.images["said"].all() and result.path.is_file()
    assert result.path.parent == run.directory / "reliance"
    assert {"drop_word", "drop_random", "drop_class", "flip_word"} <= set(result.images.columns)
    assert result.timings["maps"] > 0 and result.summary["n"] == 3 and word in str(result)
    from texplain_widgets.attribution import word_maps

    monkeypatch.setattr(word_maps, "word_saliency", lambda *a, **k: pytest.fail("measured again"))
    again = run.reliance(word, model, max_images=3, trials=2, progress=False)
    pd.testing.assert_frame_equal(again.images, result.images)
    with pytest.raises(InputError, match="q is the share of the image's pixels"):
        run.reliance(word, model, q=1.5)
    with pytest.raises(InputError, match="region must be one of pixels, weight"):
        run.reliance(word, model, region="blob")


def test_cancelled_keeps_what_was_measured(run, model):
    word = common_word(run)
    calls = iter([False, True])
    with pytest.raises(Cancelled, match="call again"):
        run.reliance(
            word,
            model,
            images=[0, 1, 2],
            trials=1,
            progress=False,
            batch_size=100,
            cancel=lambda: next(calls),
        )
    stored = pd.read_parquet(next((run.directory / "reliance").glob("*.parquet")))
    assert stored["id"].tolist() == [0]
    finished = run.reliance(word, model, images=[0, 1, 2], trials=1, progress=False)
    assert finished.images["id"].tolist() == [0, 1, 2]


def test_bad_requests_say_what_to_do(run, model, tiny_classifier, tiny_lm, tmp_path):
    word = common_word(run)
    with pytest.raises(InputError, match="no images with ids"):
        run.reliance(word, model, images=[999])
    with pytest.raises(InputError, match="images_with"):
        run.reliance("zebra", model)
    torch.manual_seed(5)
    from texplain_widgets.model.texplain import TExplain

    other = TExplain(tiny_classifier, tiny_lm, prefix_length=2)  # another translator
    with pytest.raises(InputError, match="translator differ"):
        run.reliance(word, other)


def test_the_reliance_command(run, model_dir, capsys):
    from texplain_widgets.cli import main

    word = common_word(run)
    argv = ["reliance", str(run.directory), "--model", str(model_dir), "--word", word, "--images", "0,1"]
    assert main([*argv, "--trials", "1", "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert (
        f"reliance on {word!r}, 2 images" in printed and "measured in" in printed and "stored in" in printed
    )
    assert main([*argv, "--trials", "1", "--device", "cpu", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["summary"]["n"] == 2 and out["settings"]["region"] == "pixels" and out["timings"]["maps"] == 0
    assert main([*argv[:-1], "3,x"]) == 2
    assert "--images takes image ids" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.smollm2
@pytest.mark.parametrize(("classifier", "relies"), [("biased", True), ("balanced", False)])
def test_the_demo_classifiers_and_grass(classifier, relies, smollm2_cache, tmp_path):
    """The biased classifier relies on grass (its shortcut), the balanced one does not."""
    import shutil

    from texplain_widgets import ExplanationSet
    from texplain_widgets.widgets.report_queries import DEMO_RUNS

    shutil.copytree(DEMO_RUNS / classifier, tmp_path / classifier)  # the package's run stays as shipped
    runs = ExplanationSet.open(tmp_path / classifier)
    summary = runs.reliance("grass", f"demo:{classifier}", max_images=12, progress=False).summary
    assert summary["n"] == 12 and summary["relies"] == relies
    if relies:
        assert summary["difference_low"] > 0.03 and summary["drop_word"] > summary["drop_random"] + 0.05
