"""DatasetReport on a small real run (tiny models): the Explorer with the stored explanation, another model refused."""

import pytest
import torch
from runs_support import SETTINGS, image_folder, save_tiny_model

from texplain_widgets import DatasetReport, explain_dataset
from texplain_widgets.model.texplain import TExplain


@pytest.fixture(scope="module")
def model(tmp_path_factory, tiny_classifier, tiny_lm):
    return TExplain.from_pretrained(
        save_tiny_model(tmp_path_factory.mktemp("tiny-texplain"), tiny_classifier, tiny_lm)
    )


@pytest.fixture(scope="module")
def run(model, tmp_path_factory):
    folder = image_folder(tmp_path_factory.mktemp("images"), 6)
    return explain_dataset(model, folder, tmp_path_factory.mktemp("run") / "out", progress=False, **SETTINGS)


def test_a_clicked_image_opens_in_the_explorer_with_its_stored_explanation(run, model, monkeypatch):
    report = DatasetReport(run, model=model)
    assert report.error == "" and report.model is model
    ranked = list(run.words(top=2)["word"])  # a random tiny model: no word ranked above zero in the chart
    word = ranked[0]
    report.selected_word = word
    assert report.shown
    image_id = report.shown[0]
    monkeypatch.setattr(model, "explain", lambda *a, **k: pytest.fail("the report must not generate"))
    report.selected_image = image_id
    explorer = report.explorer
    assert explorer is not None and explorer in report.children
    stored = run.explanation(image_id)
    assert explorer.status == "done" and explorer.explanation.sentences == stored.sentences
    assert explorer.marked_sentences and {s["text"] for s in explorer.marked_sentences} <= set(
        stored.sentences
    )
    assert report.panel.stored["maps"] == ""
    report.wait(60)
    assert explorer.saliency_png[:4] == b"\x89PNG"  # the class map, computed on demand
    load = explorer.set_image
    monkeypatch.setattr(
        explorer, "set_image", lambda *a, **k: pytest.fail("the same image: not loaded again")
    )
    second = ranked[1]
    report.selected_word = second  # another word: the Explorer marks it, on the same image
    if report.shown and image_id in report.shown:
        assert explorer.selected_word in (second, "")
    monkeypatch.setattr(explorer, "set_image", load)
    other = report.shown[-1]
    report.selected_image = other
    assert report.explorer is explorer and explorer.explanation.sentences == run.explanation(other).sentences
    report.close()


def test_a_model_that_is_not_the_runs_is_refused_in_the_widget(run, tiny_classifier, tiny_lm):
    torch.manual_seed(7)
    stranger = TExplain(tiny_classifier, tiny_lm, prefix_length=2)
    report = DatasetReport(run, model=stranger)
    assert "not the run's" in report.error and "translator.fingerprint" in report.error
    assert report.model is None
    report.selected_word = run.words(top=1)["word"].iloc[0]
    report.selected_image = report.shown[0]
    assert report.explorer is None and "model" in report.panel.stored["maps"]
    assert "not the run's" in report.error  # still said after other clicks
