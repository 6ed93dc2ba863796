"""DatasetReport on a small real run (tiny models): the Explorer with the stored explanation, another model refused."""

import time

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


def test_the_card_measures_reliance_in_the_background_cancellable_then_shows_it(
    run, model, monkeypatch, tmp_path
):
    from texplain_widgets.runs import reliance as reliance_module

    report = DatasetReport(run, model=model)
    report._data.reliance_images = 3
    used = run._query(
        """SELECT w.word, count(*) AS n FROM words w JOIN images i ON w.image_id = i.id
        WHERE w.sentences_with >= 0.25 * i.n_sentences GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"""
    )
    word = used["word"].iloc[0]
    report.selected_word = word
    card = report.slice_card
    assert card is not None and card.reliance is None
    assert (
        report.panel.card["measure"] == "measure reliance"
        and "up to 3 images" in report.panel.card["measure_title"]
    )
    assert report.panel.card["measure_note"] == ""

    slow = reliance_module.measure

    def measure(*args, **kwargs):  # each image waits a little: cancelled after the first
        time.sleep(0.3)
        return slow(*args, **kwargs)

    monkeypatch.setattr(reliance_module, "measure", measure)
    future = report.measure_reliance()
    assert not future.done() and report.reliance_status["state"] == "running"  # the report works meanwhile
    report.page = 0
    report.selected_word = word
    while report.reliance_status.get("done", 0) < 1 and not future.done():
        time.sleep(0.05)
    report.panel._handle_custom_msg({"action": "cancel"}, [])  # the card's Cancel button
    report.wait(120)
    status = report.reliance_status
    assert status["state"] == "cancelled" and status["word"] == word and 1 <= status["done"] < status["total"]
    partial = report.slice_card.reliance
    assert partial is not None and partial["n"] <= status["done"]  # what was measured is stored and shown

    report.panel._handle_custom_msg({"action": "measure"}, [])  # the button: resumes
    report.wait(120)
    assert report.reliance_status["state"] == "done"
    stored = reliance_module.stored_reliance(run, word)
    assert stored.path.parent == run.directory / "reliance" and len(stored.images) == min(3, card.n_images)
    assert report.slice_card.reliance == stored.summary and report.panel.card["reliance"].startswith(
        "Reliance ("
    )
    again = DatasetReport(run)  # another report, without a model: reads it back, no button
    again.selected_word = word
    assert again.slice_card.reliance == stored.summary and again.panel.card["measure"] == ""
    report.close()
    again.close()
