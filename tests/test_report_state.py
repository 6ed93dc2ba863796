"""The DatasetReport's one state: its transitions, the view derived from it, and the widget kept in step.

A synthetic run (tests/report_support.py): 24 images, "water" in the sentences of 12, "grass" in
those of the other 12; pages of 5 images.
"""

import pytest
from report_support import synthetic_run

from texplain_widgets import DatasetReport, ExplanationSet
from texplain_widgets.widgets.report_view import ReportData, ReportState, derive_view, transition


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("report-state")
    images = root / "images"
    return {
        "biased": synthetic_run(root / "biased", 24, images=images),
        "unlabelled": synthetic_run(root / "unlabelled", 8, images=images, labels=False),
    }


@pytest.fixture(scope="module")
def data(runs):
    return ReportData(ExplanationSet.open(runs["biased"]), page_size=5)


@pytest.fixture
def report(runs):
    widget = DatasetReport(runs["biased"], page_size=5)
    yield widget
    widget.close()


def ids_with(data, word: str) -> list[int]:
    return [int(i) for i in ExplanationSet.open(data.run.directory).images_with(word)["id"]]


def in_step(report) -> None:
    """The traits, the panel and the chart show one and the same state."""
    panel, chart = report.panel, report.chart
    assert report.shown == [item["id"] for item in panel.items] and len(panel.thumbnails) == len(report.shown)
    assert report.selected_word == panel.selected_word == chart.selected_word
    assert (report.by, report.page, report.selected_image) == (panel.by, panel.page, panel.selected_image)
    assert (report.error, report.note) == (panel.error, panel.note)
    assert (
        panel.n_with == len(report.images)
        and report.shown == list(report.images["id"])[report.page * 5 : report.page * 5 + 5]
    )


# -- the transitions and the derived view, alone ----------------------------------------------


def test_a_word_then_a_page_then_another_word(data):
    water = ids_with(data, "water")
    state = transition(ReportState(), "selected_word", " Water ", data)
    assert state == ReportState(selected_word="water")  # the stored lemma, from the first page
    state = transition(state, "page", 9, data)
    assert state.page == 2  # within the word's 3 pages
    view = derive_view(state, data)
    assert view.shown == water[10:] and view.n_pages == 3 and len(view.frame) == 12
    state = transition(state, "selected_word", "grass", data)
    assert state.page == 0 and state.chosen is None
    assert derive_view(state, data).shown == ids_with(data, "grass")[:5]


def test_an_error_then_a_valid_word(data):
    state = transition(ReportState(selected_word="water"), "shown", [3, 999], data)
    view = derive_view(state, data)
    assert state.chosen == (3,) and "999" in view.error and view.shown == [3]
    state = transition(state, "selected_word", "zebra", data)
    view = derive_view(state, data)
    assert view.error == "" and "zebra" in view.note and view.shown == []
    state = transition(state, "selected_word", "lake", data)
    view = derive_view(state, data)
    assert view.error == view.note == "" and view.shown == ids_with(data, "lake")[:5]


def test_shown_holds_the_images_given_with_the_words_share_and_count(data):
    water = ExplanationSet.open(data.run.directory).images_with("water").set_index("id")
    uses, does_not = int(water.index[0]), next(i for i in range(24) if i not in water.index)
    chosen = [does_not, uses, *[int(i) for i in water.index[1:6]]]
    state = transition(ReportState(selected_word="water", page=2), "shown", chosen + [uses], data)
    assert state.chosen == tuple(chosen) and state.page == 0 and state.problem == ""
    view = derive_view(state, data)
    assert view.shown == chosen[:5] and view.n_pages == 2
    assert view.items[1]["count"] == water.loc[uses, "count"] > 0
    assert view.items[1]["share"] == pytest.approx(water.loc[uses, "share"])
    assert view.items[0]["count"] == 0 and view.items[0]["share"] == 0.0  # does not use "water"
    assert derive_view(transition(state, "page", 1, data), data).shown == chosen[5:]


def test_by_changes_the_chart_only_and_is_refused_without_its_column(data, runs):
    state = ReportState(selected_word="water", page=1, selected_image=4)
    moved = transition(state, "by", "group", data)
    assert moved == ReportState(selected_word="water", page=1, selected_image=4, by="group")
    before, after = derive_view(state, data), derive_view(moved, data)
    assert {row["group"] for row in before.chart_words} == set(data.run.images["class_name"])
    assert after.chart_words != before.chart_words and after.shown == before.shown
    assert "landbird/water" in after.note  # 6 images a group: no word ranked above zero there
    unlabelled = ReportData(ExplanationSet.open(runs["unlabelled"]))
    refused = transition(ReportState(), "by", "label", unlabelled)
    assert refused.by == "predicted" and "label" in derive_view(refused, unlabelled).error
    assert derive_view(transition(refused, "selected_word", "water", unlabelled), unlabelled).error == ""


def test_the_view_is_a_function_of_the_state(data):
    state = ReportState(selected_word="grass", page=1, selected_image=0)
    one, two = derive_view(state, data), derive_view(state, data)
    assert one.shown == two.shown and one.items == two.items and one.stored == two.stored
    assert one.stored["id"] == 0 and any(s["spans"] for s in one.stored["sentences"])
    with pytest.raises(ValueError, match="state"):
        transition(state, "note", "x", data)


# -- the widget: traits, panel and chart in step ----------------------------------------------


def test_widget_a_word_then_a_page_then_another_word(report):
    report.selected_word = "Water"
    report.page = 2
    in_step(report)
    assert report.page == 2 and len(report.shown) == 2
    report.selected_word = "grass"
    in_step(report)
    assert report.page == 0 and len(report.shown) == 5 and report.images["share"].gt(0).all()
    report.chart.selected_word = "lake"  # a bar click
    in_step(report)
    assert report.selected_word == "lake" and report.page == 0


def test_widget_an_error_then_a_valid_word(report):
    report.shown = [999]
    assert "999" in report.error and report.shown == []
    in_step(report)
    report.panel.selected_word = "zebra"  # typed in the view
    assert report.error == "" and "zebra" in report.note and report.shown == []
    in_step(report)
    report.selected_word = "water"
    assert report.error == report.note == "" and len(report.shown) == 5
    in_step(report)


def test_widget_shown_set_from_python_pages_over_those_images(report):
    report.selected_word = "water"
    water = report.images.set_index("id")
    chosen = [int(i) for i in water.index[:7]][::-1]
    report.shown = chosen
    assert report.shown == chosen[:5] and report.page == 0 and report.panel.n_pages == 2
    assert [item["count"] for item in report.panel.items] == [int(water.loc[i, "count"]) for i in chosen[:5]]
    in_step(report)
    report.panel.page = 1  # the view's next page: the rest of those images
    assert report.shown == chosen[5:]
    in_step(report)
    report.selected_word = "grass"  # a word: its images again
    assert len(report.images) == 12 and set(report.images["id"]).isdisjoint(chosen)
    in_step(report)


def test_widget_by_changed_keeps_the_word_page_and_image(report):
    report.selected_word = "water"
    report.page = 1
    report.selected_image = report.shown[0]
    shown, stored = report.shown, report.panel.stored
    report.panel.by = "label"  # the view's switch
    assert report.by == "label" and report.shown == shown and report.panel.stored == stored
    assert {row["group"] for row in report.chart.words} == set(report.run.images["label"])
    in_step(report)
    report.selected_word = "lake"  # the image stays open, the new word marked in its sentences
    assert report.panel.stored["id"] == stored["id"] and report.selected_image == stored["id"]
    in_step(report)


# -- the errors view, the slice card and the pseudo-groups, as state -------------------------


def test_errors_view_and_the_card_of_its_top_word(data):
    state = transition(ReportState(selected_word="water"), "by", "errors", data)
    assert state.by == "errors" and state.selected_word == "water"
    view = derive_view(state, data)
    top = {}
    for row in view.chart_words:
        top.setdefault(row["group"], row["word"])
    assert top["landbird"] in ("water", "lake") and top["waterbird"] in ("grass", "tree")  # the shortcut
    card = view.slice_card
    assert card.word == "water" and view.card["word"] == "water" and card.n_images == 12
    rows = {r["label"]: r for r in card.labels}
    assert (rows["landbird"]["n"], rows["landbird"]["correct"]) == (6, 0)  # landbirds on water: all wrong
    assert (rows["waterbird"]["n"], rows["waterbird"]["correct"]) == (6, 6)
    assert rows["landbird"]["gap"] == pytest.approx(1.0) and rows["landbird"]["gap_low"] > 0


def test_group_words_add_the_pseudo_groups_and_mark_the_worst(data):
    state = transition(ReportState(selected_word="water"), "group_words", ["Lake", "", "lake"], data)
    assert state.group_words == ("lake",)
    view = derive_view(state, data)
    assert view.group_words == ["lake"] and view.slice_card.words == ("water", "lake")
    pseudo = [r for r in view.accuracy if r["by"] == "pseudo-group"]
    worst = [r["name"] for r in pseudo if r["worst"]]
    assert set(worst) == {"landbird/water+lake", "waterbird/(none)"}  # the true worst groups, 0% each
    assert sum(r["n"] for r in pseudo) == 24
    assert not any(r["by"] == "pseudo-group" for r in derive_view(ReportState(), data).accuracy)


def test_widget_group_words_and_the_card_in_step(report):
    report.selected_word = "water"
    report.group_words = ["lake"]
    in_step(report)
    assert report.panel.card == {**report.panel.card, "word": "water", "words": ["water", "lake"]}
    assert any(r["by"] == "pseudo-group" and r["worst"] for r in report.panel.accuracy)
    report.by = "errors"
    in_step(report)
    assert report.slice_card.word == "water" and report.group_words == ["lake"]
