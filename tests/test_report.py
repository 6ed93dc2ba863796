"""DatasetReport on synthetic runs with planted words: words, grid, stored explanation, bad input."""

from pathlib import Path

import pytest
from report_support import synthetic_run
from scipy.stats import norm

from texplain_widgets import DatasetReport, ExplanationSet
from texplain_widgets.widgets.report_queries import compare_words, difference_z
from texplain_widgets.widgets.report_view import ABOVE_ZERO
from texplain_widgets.words import sentence_words
from texplain_widgets.words.trust import Z95


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    images = root / "images"
    return {
        "biased": synthetic_run(root / "biased", 24, images=images),
        "balanced": synthetic_run(root / "balanced", 24, images=images, flip=True),
        "unlabelled": synthetic_run(root / "unlabelled", 8, images=images, labels=False),
        "other": synthetic_run(root / "other", 8, images=images, digest="other images"),
        # 24 images a group: enough for the comparison's differences to be above zero
        "biased 96": synthetic_run(root / "biased 96", 96, images=images),
        "balanced 96": synthetic_run(root / "balanced 96", 96, images=images, flip=True),
    }


@pytest.fixture
def report(runs):
    widget = DatasetReport(runs["biased"], page_size=5)
    yield widget
    widget.close()


def stored_words(run_dir: Path, image_id: int) -> set[str]:
    sentences = ExplanationSet.open(run_dir).explanation(image_id).sentences
    return {word for sentence in sentences for word in sentence_words(sentence)}


def test_opens_with_accuracy_and_words_per_predicted_class(report):
    assert report.error == "" and report.note == ""
    assert report.panel.by_options == ["predicted", "label", "group", "errors"]
    worst = {row["name"] for row in report.panel.accuracy if row["worst"]}
    assert worst == {
        "landbird/water",
        "waterbird/land",
    }  # the shortcut fails where background and bird differ
    top = {}
    for row in report.chart.words:
        top.setdefault(row["group"], row["word"])
    assert top == {"landbird": "grass", "waterbird": "water"}  # background words top both classes
    assert all({"z", "share", "count"} <= set(row) for row in report.chart.words)


def test_a_word_fills_the_grid_with_its_images_by_share(report, runs):
    report.selected_word = "Water"  # any spelling: the stored lemma
    assert report.selected_word == report.panel.selected_word == report.chart.selected_word == "water"
    frame = report.images
    assert len(frame) == report.panel.n_with == 12 and report.panel.n_pages == 3
    assert list(frame["share"]) == sorted(frame["share"], reverse=True)
    assert report.shown == list(frame["id"][:5]) == [item["id"] for item in report.panel.items]
    for image_id in frame["id"]:
        assert "water" in stored_words(runs["biased"], image_id)
    assert all(thumb[:2] == b"\xff\xd8" for thumb in report.panel.thumbnails)  # JPEG buffers
    item = report.panel.items[0]
    assert (
        item["predicted"] == "waterbird" and item["label"] in ("landbird", "waterbird") and item["share"] > 0
    )


def test_pages_and_a_click_from_the_view(report):
    report.panel.selected_word = "grass"  # what a bar click does through the view
    assert report.selected_word == "grass"
    first = report.shown
    report.page = 1
    assert report.panel.page == 1 and report.shown != first and len(report.shown) == 5
    report.panel.page = 9  # past the end: the last page
    assert report.page == 2 and report.shown == list(report.images["id"][10:])


def test_a_word_no_sentence_uses_is_a_note_and_the_report_goes_on(report):
    report.selected_word = "zebra"
    assert "zebra" in report.note and report.shown == [] and report.panel.items == []
    report.selected_word = "lake"
    assert report.note == "" and report.shown


def test_search_lists_stored_words(report):
    report.panel.search = "LA"
    assert report.panel.matches == ["lake"]
    report.panel.search = "a"
    assert report.panel.matches[:2] == ["lake", "sparrow"] or "grass" in report.panel.matches


def test_a_click_on_an_image_shows_its_stored_explanation_without_a_model(report, runs):
    report.selected_word = "duck"
    image_id = report.shown[0]
    report.panel.selected_image = image_id
    stored = report.panel.stored
    expected = ExplanationSet.open(runs["biased"]).explanation(image_id)
    assert stored["id"] == image_id and stored["prediction"] == expected.class_name
    assert {s["text"] for s in stored["sentences"]} <= set(expected.sentences)
    assert stored["sentences"][0]["spans"]  # the selected word is marked
    assert "model" in stored["maps"] and report.explorer is None


def test_grouping_switch_and_shown_settable(report, tmp_path):
    groups = {"landbird/land", "landbird/water", "waterbird/land", "waterbird/water"}
    report.by = "group"  # 6 images a group: no word ranked above zero, and the note says so
    assert report.chart.words == [] and all(group in report.note for group in groups)
    larger = DatasetReport(synthetic_run(tmp_path / "larger", 48, images=tmp_path / "images"))
    larger.by = "group"
    assert {row["group"] for row in larger.chart.words} == groups and larger.note == ""
    report.shown = [3, 1, 999]
    assert report.shown == [3, 1] and "999" in report.error


def test_a_run_without_labels_has_no_accuracy_and_no_error(runs):
    report = DatasetReport(runs["unlabelled"])
    assert report.error == "" and report.panel.accuracy == [] and "no labels" in report.note
    assert report.panel.by_options == ["predicted"]
    report.by = "label"
    assert report.by == "predicted" and "label" in report.error
    report.selected_word = "water"
    assert report.shown and report.images["label"].isna().all()


def test_not_a_run_is_a_message(tmp_path):
    report = DatasetReport(tmp_path)
    assert "not a texplain run" in report.error and report.run is None
    report.selected_word = "water"  # the widget keeps working: nothing to show
    assert report.shown == []


def test_compare_mode_words_per_group_side_by_side(runs):
    report = DatasetReport(runs["biased 96"], compare=runs["balanced 96"])
    assert report.panel.compare_names == ["biased 96", "balanced 96"] and report.error == ""
    rows = report.panel.compare
    by_group = {}
    for row in rows:
        by_group.setdefault(row["group"], []).append(row)
    assert set(by_group) == {"landbird/land", "landbird/water", "waterbird/land", "waterbird/water"}
    water = next(r for r in by_group["waterbird/water"] if r["word"] == "water")
    assert water["share"] > water["other_share"] and water["difference"] > 0
    duck = next(r for r in by_group["waterbird/water"] if r["word"] == "duck")
    assert duck["difference"] < 0


def test_compare_with_other_images_is_refused_in_the_widget(runs):
    report = DatasetReport(runs["biased"], compare=runs["other"])
    assert "other images" in report.error and report.panel.compare == []
    report.selected_word = "water"
    assert report.shown


def test_static_exports_show_the_state_without_scripts(runs, tmp_path):
    report = DatasetReport(runs["biased 96"], compare=runs["balanced 96"], page_size=4)
    report.selected_word = "brick"  # unused: its note is exported too
    report.selected_word = "lake"
    report.selected_image = report.shown[0]
    report.note = "<script>alert(1)</script>"  # any text is escaped
    report.export_html(tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    assert "<script" not in page and "&lt;script&gt;" in page
    assert page.count("data:image/jpeg;base64,") == 4 and "<mark>lake</mark>" in page
    assert "(worst group)" in page and "more in balanced 96" in page and "<svg" in page
    report.export_png(tmp_path / "report.png")
    assert (tmp_path / "report.png").read_bytes()[:4] == b"\x89PNG"
    assert report.snapshot().data[:4] == b"\x89PNG"


def test_a_run_of_the_demo_source_shows_the_demo_images(tmp_path):
    from texplain_widgets.data.images import load_image
    from texplain_widgets.runs.sources import resolve_source
    from texplain_widgets.widgets.report_queries import jpeg_thumbnail

    report = DatasetReport(synthetic_run(tmp_path / "demo-run", 6, demo=True), page_size=3)
    report.selected_word = "water"
    assert all(item["error"] == "" for item in report.panel.items)
    first = report.shown[0]
    expected = jpeg_thumbnail(load_image(resolve_source("demo").items[first].image), report.thumb_size)
    assert report.panel.thumbnails[0] == expected  # the image the run explained, drawn again


def test_the_chart_shows_only_words_ranked_above_zero(report, runs):
    ranked = ExplanationSet.open(runs["biased"]).words(by="predicted", top=report.top)
    assert (ranked["z"] < ABOVE_ZERO).any()  # "bird", "photo", the birds: as often in both classes
    shown = report.chart.words
    assert shown and all(row["z"] >= ABOVE_ZERO for row in shown)
    assert {(r["group"], r["word"]) for r in shown} == {
        (g, w) for g, w, z in ranked[["group", "word", "z"]].itertuples(index=False) if z >= ABOVE_ZERO
    }
    assert pytest.approx(norm.ppf(0.95)) == ABOVE_ZERO


def test_compare_lists_only_differences_above_zero_its_z_as_scipys(runs):
    from scipy.stats import chi2_contingency

    z = difference_z([0.3, 0.001, 0.0], [0.1, 0.0, 0.0], [40, 100, 5], [60, 100, 5])
    for value, (p, q, n, m) in zip(z[:2], [(0.3, 0.1, 40, 60), (0.001, 0.0, 100, 100)]):
        table = [[p * n, n - p * n], [q * m, m - q * m]]
        assert value**2 == pytest.approx(chi2_contingency(table, correction=False).statistic)
    assert z[2] == 0.0  # neither varies: no difference
    assert abs(z[1]) < Z95  # "huge: 0% vs 0%" (one image in 100 against none) is no difference
    rows = compare_words(ExplanationSet.open(runs["biased"]), ExplanationSet.open(runs["balanced"]))
    assert rows == []  # 6 images per group: 75% against 25% of their sentences is not shown as sure
    rows = compare_words(ExplanationSet.open(runs["biased 96"]), ExplanationSet.open(runs["balanced 96"]))
    assert rows and all(abs(row["z"]) >= Z95 for row in rows)
