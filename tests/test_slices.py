"""Word slices: accuracy inside and outside a word's images, two-word slices, the demo runs, the CLI."""

import json

import numpy as np
import pytest
from discovery_support import planted, planted_images, step_up, write_store
from scipy.stats import binomtest, fisher_exact

from texplain_widgets import ExplanationSet
from texplain_widgets.cli import main
from texplain_widgets.demo.world import BACKGROUND_WORDS
from texplain_widgets.errors import InputError
from texplain_widgets.runs.slices import search
from texplain_widgets.widgets.report_queries import DEMO_RUNS


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return write_store(tmp_path_factory.mktemp("planted") / "run", planted_images())


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """Balloons: dusk alone or haze alone, a few errors; both together, nearly all wrong.
    evening always comes with dusk (a pair that only repeats dusk)."""
    images = [
        *planted(9, "balloon", "kite", dusk=4, haze=4, evening=4),
        *planted(1, "balloon", "balloon", dusk=4, haze=4, evening=4),
        *planted(4, "balloon", "kite", dusk=4, evening=4),
        *planted(16, "balloon", "balloon", dusk=4, evening=4),
        *planted(4, "balloon", "kite", haze=4),
        *planted(16, "balloon", "balloon", haze=4),
        *planted(3, "balloon", "kite"),
        *planted(27, "balloon", "balloon"),
        *planted(20, "kite", "kite", dusk=4, evening=4),
    ]
    return write_store(tmp_path_factory.mktemp("pairs") / "run", images)


def test_a_slice_against_scipy(store):
    """grass: 14 wrong and 4 right balloons inside; 6 wrong and 36 right outside."""
    table = store.slice("Grasses").set_index("label")  # any spelling: the stored lemma is read
    row = table.loc["balloon"]
    assert (row["slice"], row["n"], row["correct"], row["n_outside"]) == ("grass", 18, 4, 42)
    inside = binomtest(4, 18).proportion_ci(method="wilson")
    outside = binomtest(36, 42).proportion_ci(method="wilson")
    assert (row["accuracy_low"], row["accuracy_high"]) == pytest.approx((inside.low, inside.high))
    assert (row["outside_low"], row["outside_high"]) == pytest.approx((outside.low, outside.high))
    p_out, p_in = 36 / 42, 4 / 18
    assert row["gap"] == pytest.approx(p_out - p_in)
    assert row["gap_low"] == pytest.approx(p_out - p_in - np.hypot(p_out - outside.low, inside.high - p_in))
    assert row["gap_high"] == pytest.approx(p_out - p_in + np.hypot(outside.high - p_out, p_in - inside.low))
    assert row["p_value"] == pytest.approx(fisher_exact([[14, 4], [6, 36]], alternative="greater").pvalue)
    kite = table.loc["kite"]  # no kite uses grass: an empty slice, no gap
    assert kite["n"] == 0 and np.isnan(kite["accuracy"]) and np.isnan(kite["gap"]) and kite["n_outside"] == 60


def test_a_two_word_slice_holds_the_images_using_both(pairs):
    both = pairs.slice("dusk", "haze").set_index("label").loc["balloon"]
    assert (both["slice"], both["n_words"], both["n"], both["correct"]) == ("dusk + haze", 2, 10, 1)
    with pytest.raises(InputError, match="in \\(0, 1\\]"):
        pairs.slice("dusk", min_share=1.5)


def test_slices_rank_by_the_gap_lower_bound_and_keep_pairs_that_add(pairs):
    table = pairs.slices(words=["dusk", "haze", "evening"], min_images=5)
    assert table["gap_low"].is_monotonic_decreasing
    first = table.iloc[0]
    assert (first["label"], first["slice"], first["n"], first["correct"]) == ("balloon", "dusk + haze", 10, 1)
    balloon = table[table["label"] == "balloon"].set_index("slice")
    assert {"dusk", "haze", "evening"} <= set(balloon.index)
    assert "dusk + evening" not in balloon.index  # as bad as dusk alone: it only repeats it
    assert "evening + haze" in balloon.index  # the same images as dusk + haze
    kept = search(pairs, ["dusk", "haze", "evening"], min_share=0.25, min_images=5, pairs=True)
    for row in kept[kept["n_words"] == 2].itertuples():
        words = row.slice.split(" + ")
        singles = kept[(kept["label"] == row.label) & kept["slice"].isin(words)]
        assert (
            len(singles) == 2 and (row.n <= singles["n"]).all() and (row.gap_low > singles["gap_low"]).all()
        )


def test_min_images_drops_small_slices_and_q_values_are_bh(pairs):
    table = pairs.slices(words=["dusk", "haze"], min_images=11)
    assert "dusk + haze" not in set(table["slice"]) and (table["n"] >= 11).all()
    singles = search(pairs, ["dusk", "haze", "evening"], min_share=0.25, min_images=1, pairs=False)
    assert set(singles["n_words"]) == {1}
    assert singles["q_value"].to_numpy() == pytest.approx(step_up(singles["p_value"].to_numpy()))


def test_slices_default_to_the_top_error_words(store):
    table = store.slices(hide_class_words=True)
    first = table.iloc[0]
    assert (first["label"], first["slice"]) == ("balloon", "grass") and first["gap_low"] > 0.3
    assert "kite" in set(store.slices()["slice"])  # class words are candidates unless hidden
    with pytest.raises(InputError, match="whole number"):
        store.slices(min_images=2.5)


def test_the_demo_runs_without_their_groups():
    """The biased classifier's errors go with the other background; the balanced one's with none."""
    biased, balanced = (ExplanationSet.open(DEMO_RUNS / name) for name in ("biased", "balanced"))
    errors = biased.error_words(hide_class_words=True, top=3)
    top = errors.groupby("group")["word"].apply(list)
    assert set(top["balloon"][:2]) <= BACKGROUND_WORDS["grass"] and top["kite"][:2] == ["brick", "wall"]
    gaps = biased.slices(hide_class_words=True).set_index(["label", "slice"])["gap_low"]
    assert gaps[("balloon", "grass")] > 0.8 and gaps[("kite", "brick")] > 0.8
    background = set().union(*BACKGROUND_WORDS.values())
    found = balanced.slices(words=sorted(background), min_images=5)
    assert len(found) >= 4 and (found["gap_low"] <= 0).all()


def test_the_slices_command_prints_error_words_and_slices(store, capsys):
    assert main(["slices", str(store.directory), "--top", "2", "--hide-class-words"]) == 0
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    balloon = lines.index("balloon: 20 wrong, 40 right")
    assert lines[balloon + 2].split()[:3] == ["grass", "14/20", "4/40"]
    heading = next(k for k, line in enumerate(lines) if line.startswith("Slices"))
    first_slice = lines[heading + 2].split()
    assert first_slice[:3] == ["balloon", "grass", "18"] and "+63% [" in printed


def test_the_slices_command_with_words_and_json(store, capsys):
    assert main(["slices", str(store.directory), "--words", "grass,Sky", "--json", "--by", "predicted"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["by"] == "predicted" and {r["word"] for r in out["error_words"]} <= {"grass", "sky"}
    assert {r["slice"] for r in out["slices"]} >= {"grass", "sky"}
    grass = next(r for r in out["slices"] if r["slice"] == "grass" and r["label"] == "balloon")
    assert grass["n"] == 18 and grass["gap_low"] > 0.3
    assert main(["slices", str(store.directory), "--words", " , "]) == 2
    assert "--words needs at least one word" in capsys.readouterr().err
    assert main(["slices", str(store.directory / "images")]) == 2
    assert "is not a texplain run" in capsys.readouterr().err
