"""The translator's report card: scoring by hand, measuring on the tiny models, saving, printing."""

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from texplain_widgets.cli import main
from texplain_widgets.errors import InputError
from texplain_widgets.model.reference import Reference
from texplain_widgets.model.report_card import (
    format_report_card,
    measure_report_card,
    report_card_headline,
    score_sentences,
)
from texplain_widgets.model.texplain import TExplain
from texplain_widgets.model.train import CachedFeatures, compute_features
from texplain_widgets.widgets.explorer import Explorer

ROOT = Path(__file__).resolve().parent.parent
# Content words: {red, kite, grass} and {balloon, brick, wall} ("a", "small", "on", "the" are stop words).
CAPTIONS = ["a small red kite on the grass", "a balloon against a brick wall"]
SENTENCES = [
    ["a red kite over a wall", "grass", "the and a"],  # recall 2/3, 1/3, 0; precision 2/3, 1, (none)
    ["a kite on the grass", "a balloon near bricks"],  # recall 0, 2/3; precision 0, 1
]
TINY_CAPTIONS = [
    "a small red bird sits on the grass",
    "a big cat sits near the tree",
    "a dog runs on the sand",
    "a blue bird flies over the water",
]
HISTORY = [{"step": 1, "loss": 3.0}, {"step": 2, "loss": 2.5, "val_loss": 2.75}, {"step": 3, "loss": 2.0}]


def test_scores_are_the_hand_computed_ones():
    card = score_sentences(CAPTIONS, SENTENCES)
    assert card["n_captions"] == 2
    # recall: per caption the mean over its sentences (1/3 and 1/3), then the mean over captions.
    assert card["recall"] == pytest.approx(1 / 3, abs=1e-4)
    # recall_any: the caption's words any sentence uses: 3/3 and 2/3.
    assert card["recall_any"] == pytest.approx(5 / 6, abs=1e-4)
    # precision: over the sentences with content words, (2/3 + 1) / 2 and (0 + 1) / 2.
    assert card["precision"] == pytest.approx((5 / 6 + 1 / 2) / 2, abs=1e-4)
    assert card["per_class"] == {}


def test_scores_split_by_class():
    card = score_sentences(
        CAPTIONS * 2,
        SENTENCES + [["a red kite on the grass"], ["a kite"]],
        labels=["kite", "balloon", "kite", "balloon"],
    )
    kite, balloon = card["per_class"]["kite"], card["per_class"]["balloon"]
    assert kite["n_captions"] == balloon["n_captions"] == 2
    assert kite["recall"] == pytest.approx((1 / 3 + 1) / 2, abs=1e-4)
    assert kite["precision"] == pytest.approx((5 / 6 + 1) / 2, abs=1e-4)
    assert balloon["recall"] == pytest.approx((1 / 3 + 0) / 2, abs=1e-4)
    assert balloon["precision"] == pytest.approx((1 / 2 + 0) / 2, abs=1e-4)
    assert list(card["per_class"]) == ["balloon", "kite"]


def test_scoring_checks_its_input():
    with pytest.raises(InputError, match="2 captions"):
        score_sentences(CAPTIONS, SENTENCES[:1])
    with pytest.raises(InputError):
        score_sentences(CAPTIONS, SENTENCES, labels=["kite"])


@pytest.fixture(scope="module")
def texplain(tiny_classifier, tiny_lm):
    torch.manual_seed(0)
    return TExplain(tiny_classifier, tiny_lm, prefix_length=4, hidden_dim=64)


@pytest.fixture(scope="module")
def held_out(tiny_classifier, photos):
    return compute_features(tiny_classifier, zip(photos.values(), TINY_CAPTIONS))


def test_measures_what_explain_samples(texplain, held_out, photos):
    mode = texplain.translator.training
    card = measure_report_card(texplain, held_out, HISTORY, n_sentences=6, seed=3)
    assert texplain.translator.training is mode  # sampled in eval mode, then put back
    explanations = texplain.explain(list(photos.values()), 6, seed=3)
    predicted = [e.class_name for e in explanations]
    expected = score_sentences(TINY_CAPTIONS, [e.sentences for e in explanations], predicted)
    for key in ("n_captions", "recall", "recall_any", "precision", "per_class"):
        assert card[key] == expected[key], key
    assert card["classes_from"] == "predicted" and set(card["per_class"]) == set(predicted)
    assert card["val_loss"] == {"steps": [2], "values": [2.75]}
    assert card["final_val_loss"] == 2.75 and card["final_train_loss"] == 2.0 and card["steps"] == 3
    assert card["settings"]["n_sentences"] == 6 and card["settings"]["seed"] == 3
    assert json.loads(json.dumps(card)) == card


def test_labels_name_the_classes_and_max_captions_picks_a_subset(texplain, held_out):
    labelled = CachedFeatures(held_out.features, held_out.captions)
    labelled.labels = ["bird", "cat", "dog", "bird"]  # the lead's optional CachedFeatures field
    card = measure_report_card(texplain, labelled, [], n_sentences=2)
    assert card["classes_from"] == "labels"
    assert {k: v["n_captions"] for k, v in card["per_class"].items()} == {"bird": 2, "cat": 1, "dog": 1}
    assert card["final_val_loss"] is None and card["val_loss"] == {"steps": [], "values": []}
    subset = measure_report_card(texplain, labelled, [], n_sentences=2, max_captions=2)
    assert subset["n_captions"] == 2 and subset["settings"]["max_captions"] == 2
    with pytest.raises(InputError, match="max_captions"):
        measure_report_card(texplain, labelled, [], max_captions=0)


def test_a_translator_only_model_is_scored_overall(texplain, held_out):
    class TranslatorOnly:  # what scripts/build_demo.py trains: no classifier
        translator, language_model, device = texplain.translator, texplain.language_model, texplain.device

    card = measure_report_card(TranslatorOnly(), held_out, HISTORY, n_sentences=2)
    assert card["classes_from"] is None and card["per_class"] == {}
    assert card["n_captions"] == 4 and card["recall"] is not None


def test_the_card_is_saved_in_the_config_and_loads_back(
    texplain, held_out, tiny_classifier, tiny_lm, tmp_path
):
    card = measure_report_card(texplain, held_out, HISTORY, n_sentences=2)
    texplain.report_card = card
    try:
        texplain.save_pretrained(tmp_path)
    finally:
        texplain.report_card = None
    assert texplain.report_card is None
    assert json.loads((tmp_path / "config.json").read_text())["report_card"] == card
    loaded = TExplain.from_pretrained(tmp_path, classifier=tiny_classifier, language_model=tiny_lm)
    assert loaded.report_card == card
    loaded.save_pretrained(tmp_path / "again")
    assert json.loads((tmp_path / "again" / "config.json").read_text())["report_card"] == card
    with pytest.raises(InputError, match="JSON"):
        loaded.report_card = {"recall": float("nan")}
    with pytest.raises(InputError, match="JSON"):
        loaded.report_card = {"words": {"kite"}}
    assert loaded.report_card == card


def test_inspect_prints_the_card_and_an_old_checkpoint_still_inspects(texplain, held_out, tmp_path, capsys):
    old = texplain.save_pretrained(tmp_path / "old")
    assert main(["inspect", str(old)]) == 0
    out = capsys.readouterr().out
    assert "test_resnet" in out and "landbird" in out and "report card: none" in out
    assert "reference: none" in out
    card = score_sentences(CAPTIONS, SENTENCES, ["kite", "balloon"]) | {"final_val_loss": 2.75}
    texplain.report_card = card
    try:
        new = texplain.save_pretrained(tmp_path / "new")
    finally:
        texplain.report_card = None
    assert main(["inspect", str(new)]) == 0
    out = capsys.readouterr().out
    assert "report card: recall 33%, precision 67% on 2 held-out captions; val loss 2.750" in out
    assert "kite" in out and "balloon" in out
    words = pd.DataFrame({"word": ["photo", "kite"], "count": [30, 10], "share": [0.3, 0.1]})
    Reference(words, 100, 20, "images of the reference set").save(new)
    assert main(["inspect", str(new)]) == 0
    assert "reference: 100 sentences from 20 images of the reference set: photo 30%, kite 10%" in (
        capsys.readouterr().out
    )
    Reference(words, 100, 20, "images of the reference set", {"reference_set": 6}).save(new)
    assert main(["inspect", str(new)]) == 0
    assert "reference: 100 sentences from 20 images of the reference set (6 distinct): photo 30%" in (
        capsys.readouterr().out
    )
    assert main(["inspect", str(tmp_path / "nothing")]) == 2
    assert "not a saved TExplain" in capsys.readouterr().err


def test_train_prints_the_card_fit_set(monkeypatch, capsys, tiny_lm_dir, photo_files, tmp_path):
    from texplain_widgets.model import train as training

    captions = tmp_path / "captions.csv"
    captions.write_text(
        "image,caption\n" + "".join(f"{p.name},{c}\n" for p, c in zip(photo_files, TINY_CAPTIONS))
    )
    fit = training.fit

    def fit_with_card(model, *args, **options):  # what the lead's hook in fit does
        history = fit(model, *args, **options)
        model.report_card = score_sentences(CAPTIONS, SENTENCES)
        return history

    monkeypatch.setattr(training, "fit", fit_with_card)
    arguments = ["--classifier", "test_resnet", "--lm", str(tiny_lm_dir), "--captions", str(captions)]
    arguments += ["--out", str(tmp_path / "run"), "--steps", "2", "--batch-size", "2", "--device", "cpu"]
    assert main(["train", *arguments]) == 0
    assert "report card: recall 33%, precision 67% on 2 held-out captions" in capsys.readouterr().out


def test_the_explorer_shows_the_headline_and_nothing_without_a_card(texplain, photo_files):
    plain = Explorer(texplain, photo_files[0])
    try:
        assert plain.report_card == "" and plain.report_card_detail == ""
    finally:
        plain.close()
    texplain.report_card = score_sentences(CAPTIONS, SENTENCES) | {"final_val_loss": 2.75}
    try:
        widget = Explorer(texplain, photo_files[0])
    finally:
        texplain.report_card = None
    try:
        assert widget.report_card == "recall 33%, precision 67% on 2 held-out captions; val loss 2.750"
        assert widget.report_card_detail.startswith("report card: recall 33%")
    finally:
        widget.close()


def test_formatting_a_card_without_losses_or_classes():
    assert report_card_headline(None) == "" and "none" in format_report_card(None)
    text = format_report_card(score_sentences(CAPTIONS, SENTENCES))
    assert text.splitlines()[0] == "report card: recall 33%, precision 67% on 2 held-out captions"
    assert "recall_any (any of a caption's sentences): 83%" in text


def _benchmark():
    spec = importlib.util.spec_from_file_location(
        "report_card_benchmark", ROOT / "benchmarks" / "report_card.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_wrong_background_share_counts_sentences_naming_the_other_background():
    share = _benchmark().wrong_background_share
    sentences = ["a kite in front of a brick wall", "a kite on a lawn", "walls everywhere", "a red kite"]
    assert share(sentences, "grass") == pytest.approx(2 / 4)
    assert share(sentences, "brick") == pytest.approx(1 / 4)  # "lawn" is grass
    assert share([], "grass") == 0.0
