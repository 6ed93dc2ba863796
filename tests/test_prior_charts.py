"""Words not above the language prior in the widgets: pale in the charts, hidden on request."""

import pandas as pd
import pytest
import torch

from texplain_widgets import TExplain, explain_dataset
from texplain_widgets.model.reference import Reference
from texplain_widgets.widgets.explorer import Explorer
from texplain_widgets.widgets.report_chart import RankedChart, ranked_chart
from texplain_widgets.widgets.report_queries import ranked_words
from texplain_widgets.widgets.word_chart import OTHER, PRIOR, SELECTED, WordChart, word_chart
from texplain_widgets.widgets.word_view import word_records

REFERENCE = Reference(pd.DataFrame({"word": ["sky"], "count": [99], "share": [0.99]}), 1000, 100)
TEXTS = ["sky bird"] * 30 + ["sky"] * 30
NOTE = "not above the language prior: 99% of reference sentences vs 100% here (lift 1.0)"


def _values(spec: dict) -> list[dict]:
    return (
        spec["data"]["values"] if "values" in spec.get("data", {}) else spec["datasets"][spec["data"]["name"]]
    )


def test_word_records_carry_the_prior_and_its_reason():
    records = word_records(TEXTS, 5, reference=REFERENCE)
    sky, bird = records
    assert sky["word"] == "sky" and sky["above_prior"] is False and sky["note"] == NOTE
    assert bird["above_prior"] is True and bird["reference_share"] == 0.0 and bird["note"].startswith("above")
    assert set(word_records(TEXTS, 5)[0]) == {"word", "count", "share"}  # no reference: as before


def test_the_word_chart_greys_words_not_above_the_prior_and_hides_them():
    records = word_records(TEXTS, 5, reference=REFERENCE)
    spec = word_chart(records, "bird").to_dict()
    colour = spec["encoding"]["color"]
    assert colour["condition"][0]["value"] == SELECTED and colour["value"] == OTHER
    assert colour["condition"][1] == {"test": "(datum.above_prior === false)", "value": PRIOR}
    assert {"field": "note", "title": "prior", "type": "nominal"} in spec["encoding"]["tooltip"]
    assert [r["word"] for r in _values(spec)] == ["sky", "bird"]
    chart = WordChart(records)
    assert [r["word"] for r in _values(chart.spec)] == ["sky", "bird"]
    chart.hide_prior = True
    assert [r["word"] for r in _values(chart.spec)] == ["bird"]
    chart.hide_prior = False
    assert len(_values(chart.spec)) == 2


def test_the_ranked_chart_shows_lift_and_hides_the_prior():
    words = [
        {"group": "a", "word": "sky", "z": 1.0, "share": 0.99, "count": 9, "lift": 1.0, "above_prior": False},
        {"group": "a", "word": "kite", "z": 3.0, "share": 0.5, "count": 5, "lift": 9.0, "above_prior": True},
    ]
    words = [{**w, "note": "why"} for w in words]
    spec = ranked_chart(words).to_dict()
    left = spec["hconcat"][0]
    assert {"field": "lift", "format": ".1f", "type": "quantitative"} in left["encoding"]["tooltip"]
    assert left["encoding"]["color"]["condition"][1]["value"] == PRIOR
    chart = RankedChart(words)
    chart.hide_prior = True
    assert [r["word"] for r in _values(chart.spec)] == ["kite"]


def test_a_report_of_a_run_ranks_with_lift(tiny_classifier, tiny_lm, photo_files, tmp_path):
    torch.manual_seed(0)
    model = TExplain(tiny_classifier, tiny_lm, prefix_length=4, hidden_dim=16)
    run = explain_dataset(
        model, photo_files, tmp_path / "run", n_sentences=8, max_new_tokens=6, progress=False
    )
    records = ranked_words(run, "predicted", 5)
    assert records and {"lift", "above_prior", "reference_share", "note"} <= set(records[0])
    assert all(isinstance(r["above_prior"], bool) for r in records)


def test_the_explorer_words_carry_the_model_reference(tiny_classifier, tiny_lm, photo_files):
    torch.manual_seed(0)
    model = TExplain(tiny_classifier, tiny_lm, prefix_length=4, hidden_dim=16)
    model.compute_reference(photo_files, n_vectors=16, sentences_per_vector=4, max_new_tokens=6)
    widget = Explorer(model, photo_files[0], n_sentences=32, batch_size=32, max_new_tokens=6)
    try:
        explanation = widget.generate().result(120)
        widget.wait(120)
        assert "lift" in explanation.words
        assert widget.words and all("above_prior" in w and "note" in w for w in widget.words)
        widget.max_new_tokens = 4  # not the reference's 6: its lift would compare unlike things
        with pytest.warns(UserWarning, match="not comparable"):  # when the widget reads the words
            explanation = widget.generate().result(120)
            widget.wait(120)
        assert explanation.words["lift"].isna().all()
        assert widget.words and not any("above_prior" in w or "lift" in w for w in widget.words)
        widget.n_words = 3  # the records are rebuilt from the finished table: still no lift
        assert widget.words and not any("above_prior" in w for w in widget.words)
    finally:
        widget.close()
