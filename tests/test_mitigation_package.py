"""The mitigation package on a planted shortcut: reweight, mask and control, groups, saving, errors."""

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import timm
import torch
from mitigation_support import (
    CLASSES,
    ShortcutNet,
    as_collection,
    group_names,
    planted_images,
    shortcut_classifier,
)

from texplain_widgets import FrozenClassifier, TExplain, explain_dataset, mitigate, pseudo_groups
from texplain_widgets.errors import CheckpointMismatchError, InputError
from texplain_widgets.mitigation import word_use
from texplain_widgets.mitigation.head import find_head
from texplain_widgets.mitigation.reweight import group_weights, held_out

FAST = {"epochs": 5, "lr": 5e-2, "batch_size": 32}


@pytest.fixture(scope="module")
def planted():
    """Training images with the shortcut (95%), balanced validation and test images."""
    data = {
        name: planted_images(n, p, seed)
        for name, n, p, seed in (("train", 400, 0.95, 0), ("val", 200, 0.5, 1), ("test", 400, 0.5, 2))
    }
    return {name: (as_collection(*arrays), group_names(*arrays[1:])) for name, arrays in data.items()}


@pytest.fixture(scope="module")
def classifier():
    return shortcut_classifier()


def by_name(groups):
    return {f"img{i:04d}": g for i, g in enumerate(groups)}


@pytest.fixture(scope="module")
def results(classifier, planted):
    train, val, test = (planted[k][0] for k in ("train", "val", "test"))
    groups = by_name(planted["train"][1])
    val_groups = pd.Series(planted["val"][1])  # keyed by image id
    return {
        "reweight": mitigate(
            classifier, train, val, method="reweight", groups=groups, val_groups=val_groups, test=test
        ),
        "mask": mitigate(classifier, train, method="mask", test=test, **FAST),
        "control": mitigate(classifier, train, method="control", test=test, **FAST),
    }


def test_the_planted_classifier_reads_only_the_background(results):
    before, _ = results["reweight"].worst_group("true", "test")
    assert before == 0.0


def test_reweight_lifts_the_worst_group_and_the_control_lifts_it_less(results):
    worst = {name: r.worst_group("true", "test")[1] for name, r in results.items()}
    assert worst["reweight"] >= 0.95 and worst["mask"] >= 0.9
    assert worst["control"] < worst["mask"] - 0.5
    reweight = results["reweight"]
    assert reweight.worst_group("pseudo", "val")[1] >= 0.95  # the selection images' groups
    assert (
        reweight.settings["head"] == "fc"
        and str(reweight.settings["C"]) in reweight.settings["worst_group_by_C"]
    )
    assert "unchanged" in str(reweight) and "re-fitted" in results["mask"].note


def test_masking_can_fill_with_another_images_pixels(classifier, planted):
    train, test = planted["train"][0], planted["test"][0]
    result = mitigate(classifier, train, method="mask", test=test, fill="image", **FAST)
    assert result.settings["fill"] == "image" and result.worst_group("true", "test")[1] >= 0.5
    with pytest.raises(InputError, match="fill must be one of mean, image"):
        mitigate(classifier, train, method="mask", fill="grey", epochs=1)


def test_the_table_has_wilson_intervals(results):
    table = results["reweight"].table
    assert {"average", "class red", "class blue"} <= set(table["measure"])
    for row in table.itertuples():
        k = round(row.after * row.n)
        interval = scipy.stats.binomtest(k, row.n).proportion_ci(0.95, method="wilson")
        assert (row.after_low, row.after_high) == pytest.approx((interval.low, interval.high), abs=1e-9)


def test_reweight_keeps_the_features_and_replaces_only_the_head(classifier, results):
    new = results["reweight"].classifier
    probe = torch.rand(3, 3, 16, 16)
    with torch.no_grad():
        (z0, l0), (z1, l1) = classifier(probe), new(probe)
    assert torch.equal(z0, z1) and not torch.allclose(l0, l1)
    assert torch.equal(classifier.model.fc.weight, ShortcutNet().fc.weight)  # the original is untouched


def test_groups_weigh_each_group_equally_and_hold_out_part_of_each():
    groups = np.array(["a"] * 90 + ["b"] * 10)
    weights = group_weights(groups)
    assert weights[groups == "a"].sum() == pytest.approx(weights[groups == "b"].sum())
    out = held_out(groups, 0.5, 0)
    assert out[groups == "a"].sum() == 45 and out[groups == "b"].sum() == 5


def test_reweight_without_val_selects_on_a_held_out_part(classifier, planted):
    val, groups = planted["val"]
    result = mitigate(classifier, val, method="reweight", groups=by_name(groups))
    assert set(result.table["split"]) == {"held out"}
    assert result.worst_group("pseudo")[1] >= 0.9


def test_a_timm_classifier_gets_a_new_head_and_saves_and_loads(planted, tiny_lm, tmp_path):
    torch.manual_seed(0)
    config = {"input_size": (3, 16, 16), "crop_pct": 1.0}
    timm_classifier = FrozenClassifier(
        timm.create_model("test_resnet", num_classes=2),
        class_names=CLASSES,
        timm_name="test_resnet",
        data_config=config,
    )
    assert find_head(timm_classifier) == timm_classifier.model.pretrained_cfg.get("classifier", "fc")
    val, groups = planted["val"]
    model = TExplain(timm_classifier, tiny_lm, prefix_length=2)
    result = mitigate(model, val, method="reweight", groups=by_name(groups))
    assert result.model is model and result.classifier.fingerprint() != timm_classifier.fingerprint()
    result.save_pretrained(tmp_path / "fixed")
    loaded = TExplain.from_pretrained(tmp_path / "fixed", language_model=tiny_lm)
    assert loaded.classifier.fingerprint() == result.classifier.fingerprint()
    saved, original = loaded.translator.state_dict(), model.translator.state_dict()
    assert all(torch.equal(saved[k], original[k]) for k in original)  # the same translator
    assert (
        FrozenClassifier.from_pretrained(tmp_path / "fixed").fingerprint() == result.classifier.fingerprint()
    )
    assert (tmp_path / "fixed" / "mitigation.json").is_file()


def test_an_nn_module_classifier_saves_and_loads_with_its_module(results, tmp_path):
    result = results["mask"]
    result.save_pretrained(tmp_path / "masked")
    loaded = FrozenClassifier.from_pretrained(tmp_path / "masked", model=ShortcutNet())
    assert loaded.fingerprint() == result.classifier.fingerprint() and loaded.feature_layer == "flat"
    with pytest.raises(InputError, match="pass model="):
        FrozenClassifier.from_pretrained(tmp_path / "masked")
    with pytest.raises(InputError, match="without a translator"):
        TExplain.from_pretrained(tmp_path / "masked")


def test_with_classifier_keeps_the_translator_only_for_the_same_features(classifier, results, tiny_lm):
    model = TExplain(classifier, tiny_lm, prefix_length=2)
    kept = model.with_classifier(results["reweight"].classifier)
    assert not kept.needs_fit and kept.explain(np.zeros((16, 16, 3), np.uint8), 2, max_new_tokens=3).sentences
    with pytest.raises(CheckpointMismatchError, match="re-fit the translator"):
        model.with_classifier(results["mask"].classifier)
    refit = model.with_classifier(results["mask"].classifier, refit=True)
    with pytest.raises(CheckpointMismatchError, match="fit it first"):
        refit.explain(np.zeros((16, 16, 3), np.uint8), 2)


@pytest.fixture(scope="module")
def run(classifier, tiny_lm, planted, tmp_path_factory):
    """A run of a TExplain of the planted classifier over 24 validation images."""
    torch.manual_seed(1)
    model = TExplain(classifier, tiny_lm, prefix_length=2)
    images = planted["val"][0]
    subset = type(images)(images.sources[:24], images.names[:24], images.labels[:24], images.groups[:24])
    directory = tmp_path_factory.mktemp("run")
    explain_dataset(model, subset, directory, n_sentences=8, max_new_tokens=6, seed=3, progress=False)
    from texplain_widgets import ExplanationSet

    return model, subset, ExplanationSet.open(directory)


def test_pseudo_groups_are_label_by_word_use_from_a_run(run):
    _model, _images, stored = run
    word = stored.words(by="label", top=3)["word"].iloc[0]
    use = word_use(stored, [word])
    for image_id, uses in use[word].items():
        sentences = stored.explanation(image_id).sentences
        share = sum(word in s.lower().split() for s in sentences) / len(sentences)
        assert uses == (share >= 0.25)
    groups = pseudo_groups(stored, [word])
    labels = stored.images.set_index("id")["label"]
    expected = labels + "/" + use[word].map({True: word, False: "(none)"})
    assert groups.to_dict() == expected.to_dict()


def test_words_drive_reweight_and_the_masked_region(run):
    model, images, stored = run
    word = stored.words(by="label", top=3)["word"].iloc[0]
    result = mitigate(model, images, method="mask", words=[word], run=stored, epochs=1, batch_size=8)
    assert result.settings["region"] == "the words' maps" and result.settings["words"] == [word]
    try:
        reweighted = mitigate(model, images, method="reweight", words=[word], run=stored)
    except InputError as err:  # a random LM may give every image of a label the same use
        assert "one group" in str(err) or "at least two" in str(err)
    else:
        assert reweighted.settings["C"] is not None


def test_bad_input_is_refused_clearly(classifier, planted):
    train, groups = planted["train"]
    with pytest.raises(InputError, match="lack 1 of the 400 training images, e.g. 'img0000'"):
        mitigate(
            classifier,
            train,
            method="reweight",
            groups={k: v for k, v in by_name(groups).items() if k != "img0000"},
        )
    with pytest.raises(InputError, match="all training images fall in one group"):
        mitigate(classifier, train, method="reweight", groups=dict.fromkeys(by_name(groups), "one"))
    other = type(train)(train.sources, train.names, ["kite"] * len(train), train.groups)
    with pytest.raises(InputError, match="not the classifier's classes"):
        mitigate(classifier, other, method="reweight", groups=by_name(groups))
    with pytest.raises(InputError, match="reweight needs groups"):
        mitigate(classifier, train, method="reweight")
    with pytest.raises(InputError, match="method must be one of"):
        mitigate(classifier, train, method="dro")
    with pytest.raises(InputError, match="words need the run"):
        mitigate(classifier, train, method="reweight", words=["grass"])
    with pytest.raises(InputError, match="takes no option"):
        mitigate(classifier, train, method="mask", epoch=1)


def test_a_module_without_a_linear_head_is_refused(planted):
    class NoHead(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 2, 1)
            self.pool = torch.nn.AdaptiveAvgPool2d(1)

        def forward(self, x):
            return self.pool(self.conv(x)).flatten(1)

    config = {"input_size": (3, 16, 16), "crop_pct": 1.0}
    odd = FrozenClassifier(NoHead(), feature_layer="pool", class_names=CLASSES, data_config=config)
    train, groups = planted["val"]
    with pytest.raises(InputError, match="name the last layer with head="):
        mitigate(odd, train, method="reweight", groups=by_name(groups))


def test_the_command_mitigates_a_saved_classifier_from_a_groups_csv(planted, tmp_path, capsys):
    from PIL import Image

    from texplain_widgets.cli import main

    torch.manual_seed(0)
    config = {"input_size": (3, 16, 16), "crop_pct": 1.0}
    saved = FrozenClassifier(
        timm.create_model("test_resnet", num_classes=2),
        class_names=CLASSES,
        timm_name="test_resnet",
        data_config=config,
    ).save_pretrained(tmp_path / "model")
    images, groups = planted["val"]
    rows = ["image,group"]
    for i, (array, label) in enumerate(zip(images.sources, images.labels)):
        path = tmp_path / "val" / label / f"img{i:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(array).save(path)
        rows.append(f"{label}/{path.name},{groups[i]}")
    (tmp_path / "val" / "groups.csv").write_text("\n".join(rows) + "\n")
    argv = [
        "mitigate",
        "--model",
        str(saved),
        "--train",
        str(tmp_path / "val"),
        "--out",
        str(tmp_path / "out"),
    ]
    assert main([*argv, "--groups", str(tmp_path / "val" / "groups.csv")]) == 0
    printed = capsys.readouterr().out
    assert "worst pseudo group" in printed and "unchanged" in printed
    assert FrozenClassifier.from_pretrained(tmp_path / "out").class_names == CLASSES
    assert (tmp_path / "out" / "table.csv").is_file()
    assert main([*argv, "--words", "grass"]) == 2
    assert "--words needs --run" in capsys.readouterr().err


@pytest.fixture(scope="module")
def file_run(run, planted, tmp_path_factory):
    """The run's model over 8 validation images saved as files (reliance reads the pictures again)."""
    from PIL import Image

    from texplain_widgets import ExplanationSet

    model = run[0]
    images = planted["val"][0]
    folder = tmp_path_factory.mktemp("files")
    for i in range(8):
        (folder / images.labels[i]).mkdir(exist_ok=True)
        Image.fromarray(images.sources[i]).save(folder / images.labels[i] / f"img{i:04d}.png")
    directory = tmp_path_factory.mktemp("file_run")
    explain_dataset(model, folder, directory, n_sentences=8, max_new_tokens=6, seed=3, progress=False)
    return model, ExplanationSet.open(directory)


def test_reliance_of_a_reweighted_classifier_on_the_original_run(file_run, results, tiny_lm, tmp_path):
    """The same features and translator say the run's sentences: reliance reads the new head."""
    from texplain_widgets.runs.pictures import Pictures

    model, stored = file_run
    word = stored.words(by="label", top=1, prior_strength=1e9).sort_values("share")["word"].iloc[-1]
    swapped = model.with_classifier(results["reweight"].classifier)
    before = stored.reliance(word, model, max_images=4, trials=1, progress=False)
    after = stored.reliance(word, swapped, max_images=4, trials=1, progress=False)
    assert after.images["id"].tolist() == before.images["id"].tolist() and after.path != before.path
    assert after.images["pixels"].tolist() == before.images["pixels"].tolist()  # the same word maps
    pictures = Pictures(stored)
    new = results["reweight"].classifier
    with torch.no_grad():
        pixels = new.preprocess([pictures(i).convert("RGB") for i in after.images["id"]])
        expected = new(pixels).logits.softmax(-1).max(-1).values.numpy()
    assert after.images["probability"].to_numpy() == pytest.approx(expected, abs=1e-5)
    assert not np.allclose(after.images["probability"], before.images["probability"])
    saved = swapped.save_pretrained(tmp_path / "reweighted", save_classifier=False)
    loaded = TExplain.from_pretrained(saved, classifier=new, language_model=tiny_lm)
    assert stored.reliance(word, loaded, max_images=4, trials=1, progress=False).path == after.path
    unfitted = model.with_classifier(results["mask"].classifier, refit=True)
    with pytest.raises(InputError, match="classifier differ"):
        stored.reliance(word, unfitted, max_images=4, trials=1, progress=False)
    lookalike = TExplain(new, tiny_lm, model.translator)  # the same parts, but no record of its features
    with pytest.raises(InputError, match="classifier differ"):
        stored.reliance(word, lookalike, max_images=4, trials=1, progress=False)


def test_after_mask_the_translator_is_refitted_from_the_old_one_and_gets_a_card(
    classifier, results, planted, tiny_lm, tmp_path
):
    """with_classifier(new, refit=True).fit(captions): a copy of the old translator, fine-tuned."""
    from texplain_widgets.model.train import TrainConfig

    torch.manual_seed(2)
    model = TExplain(classifier, tiny_lm, prefix_length=2)
    old = {k: v.clone() for k, v in model.translator.state_dict().items()}
    new = results["mask"].classifier
    refit = model.with_classifier(new, refit=True)
    assert refit.needs_fit and refit.report_card is None and refit.same_features_as == []
    assert refit.translator is not model.translator
    assert all(torch.equal(refit.translator.state_dict()[k], old[k]) for k in old)  # starts from the old one
    images, groups = planted["train"][0], planted["train"][1]
    pairs = [(images.sources[i], f"a {groups[i].replace('/', ' square on ')}") for i in range(48)]
    config = TrainConfig(steps=6, batch_size=8, learning_rate=1e-2, eval_every=3, report_sentences=2)
    history = refit.fit(pairs, pairs[:16], config=config, progress=False)
    assert [r["step"] for r in history if "val_loss" in r] == [3, 6]
    card = refit.report_card
    assert not refit.needs_fit and card["n_captions"] == 16
    assert card["final_val_loss"] == pytest.approx(history[-1]["val_loss"], abs=1e-4)  # rounded
    assert not all(torch.equal(refit.translator.state_dict()[k], old[k]) for k in old)
    assert all(torch.equal(model.translator.state_dict()[k], old[k]) for k in old)  # the original kept
    assert refit.explain(images.sources[0], 2, max_new_tokens=3).sentences
    saved = refit.save_pretrained(tmp_path / "refit", save_classifier=False)
    loaded = TExplain.from_pretrained(saved, classifier=new, language_model=tiny_lm)
    assert loaded.report_card == card and not loaded.needs_fit
