"""The report's errors view, slice card, pseudo-groups and mitigation text, on the shipped biased demo run.

The run is read as a user with labels only would: its error words, the slices of a word, the
pseudo-groups of the words chosen. The numbers are checked against the run's own queries and
the intervals against scipy (Wilson per accuracy, Newcombe's hybrid score for the gap).
"""

import warnings

import numpy as np
import pytest
from scipy.stats import binomtest

from texplain_widgets import DatasetReport, ExplanationSet
from texplain_widgets.widgets.report_chart import error_chart
from texplain_widgets.widgets.report_queries import DEMO_RUNS
from texplain_widgets.widgets.slice_card import RELIANCE_NEEDS_A_MODEL, SLICE_KEYS, SliceCard
from texplain_widgets.words.trust import wilson_interval

BIASED = DEMO_RUNS / "biased"


@pytest.fixture(scope="module")
def run():
    return ExplanationSet.open(BIASED)


@pytest.fixture(scope="module")
def report():
    widget = DatasetReport("demo")
    yield widget
    widget.close()


def wilson(k: int, n: int) -> tuple[float, float]:
    interval = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return interval.low, interval.high


def test_the_errors_view_puts_the_minority_backgrounds_words_up(report, run):
    report.by = "errors"
    assert report.error == "" and report.panel.by == "errors"
    assert report.panel.by_options == ["predicted", "label", "group", "errors"]
    words = report.chart.words
    top = {label: [r["word"] for r in words if r["group"] == label][:3] for label in ("balloon", "kite")}
    assert top == {"balloon": ["grass", "lawn", "field"], "kite": ["brick", "wall", "red"]}
    assert all(r["difference_low"] > 0 for r in words)  # only the words whose interval is above zero
    table = run.error_words(by="label", top=12).set_index(["group", "word"])
    for r in words:
        row = table.loc[(r["group"], r["word"])]
        assert r["difference"] == pytest.approx(row["difference"])
        assert (r["difference_low"], r["difference_high"]) == pytest.approx(
            (row["difference_low"], row["difference_high"])
        )
        assert (r["n_wrong_with"], r["n_wrong"]) == (row["n_wrong_with"], row["n_wrong"])
        assert r["class_word"] == row["class_word"]
    spec = report.chart.chart.to_dict()
    layers = spec["spec"]["layer"]
    assert layers[0]["mark"]["type"] == "bar" and layers[1]["mark"]["type"] == "rule"
    assert layers[1]["encoding"]["x2"]["field"] == "difference_high"  # the interval, drawn
    assert spec["facet"]["row"]["field"] == "group" and spec["background"] == "transparent"
    report.chart.selected_word = "lawn"  # a bar click selects the word as in the other views
    assert report.selected_word == "lawn" and len(report.images) > 0
    report.by = "predicted"
    assert "difference" not in report.chart.words[0] and report.chart.chart.to_dict()["hconcat"]


def test_class_words_are_pale_or_hidden():
    words = [
        {"group": "kite", "word": "brick", "difference": 0.9, "difference_low": 0.8, "difference_high": 0.95},
        {
            "group": "kite",
            "word": "balloon",
            "difference": 0.3,
            "difference_low": 0.1,
            "difference_high": 0.4,
        },
    ]
    words[0]["class_word"], words[1]["class_word"] = False, True
    shown = error_chart(words).to_dict()
    assert [r["word"] for r in shown["data"]["values"]] == ["brick", "balloon"]
    assert "class_word" in str(shown["spec"]["layer"][0]["encoding"]["color"])
    hidden = error_chart(words, hide_class_words=True).to_dict()
    assert [r["word"] for r in hidden["data"]["values"]] == ["brick"]


def test_the_slice_card_of_a_word_with_intervals_as_scipy_gives_them(report, run):
    report.by = "label"
    report.selected_word = "Grass"
    card = report.slice_card
    assert isinstance(card, SliceCard) and card.word == "grass" and report.error == ""
    table = run.slice("grass").set_index("label")
    assert card.n_images == int(table["n"].sum()) == 200
    balloon = next(r for r in card.labels if r["label"] == "balloon")
    assert (balloon["n"], balloon["correct"], balloon["n_outside"]) == (100, 5, 100)
    assert balloon["accuracy"] == pytest.approx(0.05) and balloon["accuracy_outside"] == pytest.approx(1.0)
    for r in card.labels:
        k, n = r["correct"], r["n"]
        k_out = int(round(r["accuracy_outside"] * r["n_outside"]))
        assert (r["accuracy_low"], r["accuracy_high"]) == pytest.approx(wilson(k, n))
        assert (r["accuracy_low"], r["accuracy_high"]) == pytest.approx(
            tuple(float(v) for v in wilson_interval(k, n))
        )
        assert (r["outside_low"], r["outside_high"]) == pytest.approx(wilson(k_out, r["n_outside"]))
        # Newcombe's hybrid score interval of (outside - inside), from the two Wilson intervals
        p1, (l1, u1) = k_out / r["n_outside"], wilson(k_out, r["n_outside"])
        p2, (l2, u2) = k / n, wilson(k, n)
        low = p1 - p2 - np.hypot(p1 - l1, u2 - p2)
        high = p1 - p2 + np.hypot(u1 - p1, p2 - l2)
        assert r["gap"] == pytest.approx(p1 - p2) and (r["gap_low"], r["gap_high"]) == pytest.approx(
            (low, high)
        )
    assert balloon["gap_low"] > 0.85  # balloons on grass: nearly always wrong
    expected = run.slice("grass")  # the card's slice, read from the grid's images, is the query's
    for column in SLICE_KEYS[1:]:
        assert [r[column] for r in card.labels] == pytest.approx(list(expected[column])), column
    assert [r["label"] for r in card.labels] == list(expected["label"])
    shown = report.panel.card
    assert shown["word"] == "grass" and shown["lines"] == card.lines() and shown["rows"] == card.rows()
    assert "+95%" in card.lines()[1] and card.reliance is None and "not measured" in shown["reliance"]
    assert all(isinstance(line, str) and "<" not in line for line in card.lines() + [shown["reliance"]])
    # no model: no button, and the card says how to give one
    assert shown["measure"] == "" and shown["measure_note"] == RELIANCE_NEEDS_A_MODEL
    assert report.measure_reliance() is None and "model" in report.error
    report.page = 1  # the next change clears the message
    assert report.error == ""


def test_the_two_word_slices_a_word_belongs_to(report, run):
    report.selected_word = "field"
    report.wait(120)  # the two-word slices are searched in the background
    pairs = run.slices()
    pairs = pairs[
        (pairs["n_words"] == 2) & pairs["slice"].str.split(" + ", regex=False).map(lambda p: "field" in p)
    ]
    card = report.slice_card
    assert [(p["label"], p["slice"]) for p in card.pairs] == list(zip(pairs["label"], pairs["slice"]))
    assert ("balloon", "field + kite") in [(p["label"], p["slice"]) for p in card.pairs]
    assert all(p["gap_low"] > 0 for p in card.pairs) and report.panel.card["pairs"] == card.pair_lines()


def test_the_worst_pseudo_group_of_the_chosen_words_is_marked(report, run):
    report.selected_word = "grass"
    report.group_words = ["Brick", "brick", " "]
    assert report.group_words == ["brick"]
    rows = report.panel.accuracy
    pseudo = [r for r in rows if r["by"] == "pseudo-group"]
    expected = run.accuracy(groups=run.pseudo_groups(["grass", "brick"]))
    expected = expected[expected["by"] == "group"]
    assert [(r["name"], r["n"], r["correct"]) for r in pseudo] == list(
        zip(expected["name"], expected["n"], expected["correct"])
    )
    worst = [r["name"] for r in pseudo if r["worst"]]
    true_worst = [r["name"] for r in rows if r["by"] == "group" and r["worst"]]
    assert worst == true_worst == ["kite/brick"]  # the words give back the true worst group
    card = report.slice_card
    assert card.words == ("grass", "brick") and card.worst_pseudo_group["name"] == "kite/brick"
    worst_group = card.worst_pseudo_group
    interval = binomtest(worst_group["correct"], worst_group["n"]).proportion_ci(method="wilson")
    assert f"[{100 * interval.low:.0f}%, {100 * interval.high:.0f}%] of {worst_group['n']}" in (
        card.pseudo_group_line()
    )
    report.group_words = []  # the word alone: label x grass, from its slice, as the query gives it
    alone = run.accuracy(groups=run.pseudo_groups(["grass"]))
    alone = alone[alone["by"] == "group"]
    pseudo = [r for r in report.panel.accuracy if r["by"] == "pseudo-group"]
    assert [(r["name"], r["n"], r["correct"], r["worst"]) for r in pseudo] == list(
        zip(alone["name"], alone["n"], alone["correct"], alone["worst"])
    )
    report.selected_word = ""  # no word: no card, the true groups only
    assert report.slice_card is None and report.panel.card == {}
    assert not any(r["by"] == "pseudo-group" for r in report.panel.accuracy)
    report.group_words = []


def test_use_as_pseudo_groups_gives_the_command_and_the_python(report):
    report.selected_word = "grass"
    report.group_words = ["brick"]
    card = report.slice_card
    command, python = card.mitigation_command, card.mitigation_python
    assert command.startswith("texplain mitigate --model MODEL_DIR --train demo --run ")
    assert f"--run {BIASED}" in command and "--words grass,brick --method reweight" in command
    compile(python, "<slice card>", "exec")  # valid Python
    assert (
        'words=["grass", "brick"]' in python and f'run="{BIASED}"' in python and 'method="reweight"' in python
    )
    assert report.panel.card["command"] == command and report.panel.card["python"] == python
    report.group_words = []


def test_a_run_without_labels_has_no_errors_view_nor_card(tmp_path):
    from report_support import synthetic_run

    report = DatasetReport(synthetic_run(tmp_path / "unlabelled", 8, labels=False))
    assert "errors" not in report.panel.by_options
    report.by = "errors"
    assert report.by == "predicted" and "errors" in report.error
    report.selected_word = "water"
    assert report.slice_card is None and report.panel.card == {}
    report.close()


def test_pseudo_groups_of_a_word_no_image_uses_warns_nothing(run):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        groups = run.pseudo_groups(["zebra"])
    assert set(groups) == {"balloon/(none)", "kite/(none)"}


def test_the_exports_show_the_errors_chart_and_the_card(report, tmp_path):
    report.by = "errors"
    report.selected_word = "grass"
    report.export_html(tmp_path / "report.html")
    html = (tmp_path / "report.html").read_text()
    assert "<svg" in html and "wrong minus right images using it" in html and "<script" not in html
    assert "“grass”: 200 images use it" in html and "gap +95%" in html
    report.export_png(tmp_path / "report.png")
    assert (tmp_path / "report.png").read_bytes()[:4] == b"\x89PNG"
