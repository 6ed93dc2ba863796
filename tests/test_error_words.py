"""Error words: planted words in a written store, intervals and p-values against scipy, a real run."""

from collections import defaultdict

import numpy as np
import pytest
from discovery_support import planted_images, step_up, write_store
from runs_support import SETTINGS, image_folder, save_tiny_model
from scipy.stats import binomtest, fisher_exact

from texplain_widgets import ExplanationSet, explain_dataset
from texplain_widgets.errors import InputError
from texplain_widgets.runs.contrast import benjamini_hochberg, share_difference
from texplain_widgets.widgets.report_queries import DEMO_RUNS


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return write_store(tmp_path_factory.mktemp("planted") / "run", planted_images())


def test_the_planted_word_leads_and_the_even_word_does_not_pass(store):
    table = store.error_words(hide_class_words=True)
    balloon = table[table["group"] == "balloon"].set_index("word")
    assert balloon.index[0] == "grass"
    grass = balloon.loc["grass"]
    assert (grass["n_wrong_with"], grass["n_wrong"], grass["n_right_with"], grass["n_right"]) == (
        14,
        20,
        4,
        40,
    )
    assert (
        grass["difference"] == pytest.approx(0.6) and grass["difference_low"] > 0 and grass["q_value"] < 0.001
    )
    assert "sky" not in balloon.index  # used by half the wrong and half the right: a class word here
    sky = store.error_words(top=None).set_index(["group", "word"]).loc[("balloon", "sky")]
    assert (
        sky["difference"] == 0 and sky["difference_low"] < 0 < sky["difference_high"] and sky["q_value"] > 0.5
    )


def test_images_count_not_sentences(store):
    """mist is in 1 of 8 sentences of 8 wrong balloons: not used at 25%, used at 10%."""
    assert "mist" not in set(store.error_words(top=None)["word"])
    loose = store.error_words(top=None, min_share=0.1).set_index(["group", "word"])
    assert loose.loc[("balloon", "mist"), "n_wrong_with"] == 8
    assert loose.loc[("balloon", "mist"), "n_right_with"] == 0


def test_ranked_by_the_lower_bound_not_the_difference(store):
    """tiny: 2 of 3 wrong kites (difference 0.67) is less sure than grass's 14 of 20 vs 4 of 40 (0.6)."""
    table = store.error_words(top=None, min_images=2, hide_class_words=True).set_index("word")
    assert table.loc["tiny", "difference"] > table.loc["grass", "difference"]
    assert table.loc["tiny", "difference_low"] < table.loc["grass", "difference_low"]
    assert "tiny" not in set(store.error_words(top=None)["word"])  # 2 images: below min_images=5


def test_intervals_and_p_values_against_scipy(store):
    table = store.error_words(top=None, min_images=1)
    assert len(table) >= 6
    for row in table.itertuples():
        wrong = binomtest(row.n_wrong_with, row.n_wrong).proportion_ci(method="wilson")
        right = binomtest(row.n_right_with, row.n_right).proportion_ci(method="wilson")
        p1, p2 = row.share_wrong, row.share_right
        low = p1 - p2 - np.hypot(p1 - wrong.low, right.high - p2)  # Newcombe (1998), method 10
        high = p1 - p2 + np.hypot(wrong.high - p1, p2 - right.low)
        assert (row.difference_low, row.difference_high) == pytest.approx((low, high), abs=1e-9)
        exact = fisher_exact(
            [
                [row.n_wrong_with, row.n_wrong - row.n_wrong_with],
                [row.n_right_with, row.n_right - row.n_right_with],
            ],
            alternative="greater",
        )
        assert row.p_value == pytest.approx(exact.pvalue, rel=1e-9, abs=1e-15)
    assert table["q_value"].to_numpy() == pytest.approx(step_up(table["p_value"].to_numpy()))


def test_benjamini_hochberg_and_newcombe_published_values():
    p = np.array([0.01, 0.04, 0.03, 0.2])
    assert benjamini_hochberg(p) == pytest.approx([0.04, 0.0533333, 0.0533333, 0.2], rel=1e-5)
    assert benjamini_hochberg([]).size == 0
    # Newcombe (1998), Table II, method 10: examples (a), (b), (e), (h)
    for (k1, n1, k2, n2), expected in (
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
        ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ):
        _, low, high = share_difference(k1, n1, k2, n2)
        assert (float(low), float(high)) == pytest.approx(expected, abs=5e-5)


def test_class_words_are_marked_and_can_be_hidden(store):
    table = store.error_words(top=None)
    kite = table.set_index(["group", "word"]).loc[("balloon", "kite")]
    assert kite["class_word"] and kite["difference_low"] > 0.8  # wrong balloons are described as kites
    assert table.iloc[0]["word"] == "kite"
    assert not table.set_index(["group", "word"]).loc[("balloon", "grass"), "class_word"]
    hidden = store.error_words(top=None, hide_class_words=True)
    assert not hidden["class_word"].any() and "kite" not in set(hidden["word"])


def test_by_predicted_contrasts_false_and_true_positives(store):
    """Predicted kite: 20 false positives (balloons), 57 true; grass in 14 of the former, 0 of the latter."""
    table = store.error_words(by="predicted", top=None).set_index(["group", "word"])
    grass = table.loc[("kite", "grass")]
    assert (grass["n_wrong_with"], grass["n_wrong"], grass["n_right_with"], grass["n_right"]) == (
        14,
        20,
        0,
        57,
    )


def test_bad_arguments_say_what_to_do(store, tmp_path):
    with pytest.raises(InputError, match="by must be 'label'"):
        store.error_words(by="group")
    with pytest.raises(InputError, match=r"in \(0, 1\]"):
        store.error_words(min_share=0)
    with pytest.raises(InputError, match="whole number"):
        store.error_words(min_images=0)
    unlabelled = [{**image, "label": None} for image in planted_images()[:4]]
    with pytest.raises(InputError, match="no labels"):
        write_store(tmp_path / "unlabelled", unlabelled).error_words()


def test_lift_columns_where_the_run_has_a_reference():
    runs = ExplanationSet.open(DEMO_RUNS / "biased")
    table = runs.error_words(top=3)
    assert {"sentence_share", "reference_share", "lift", "above_prior"} <= set(table.columns)
    grass = table.set_index(["group", "word"]).loc[("balloon", "grass")]
    assert grass["lift"] > 1 and grass["above_prior"]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory, tiny_classifier, tiny_lm):
    model = save_tiny_model(tmp_path_factory.mktemp("tiny-texplain"), tiny_classifier, tiny_lm)
    folder = image_folder(tmp_path_factory.mktemp("images"), 16)
    return explain_dataset(model, folder, tmp_path_factory.mktemp("run") / "out", chunk_size=5, **SETTINGS)


def test_a_real_run_counts_what_its_stored_explanations_say(real_run):
    """The DuckDB counts against a recount from each stored image's own word table, by true
    label and by predicted class (the tiny classifier may predict one class for all)."""
    images = real_run.images
    wrong = images["class_name"] != images["label"]
    used = {
        i: set(t.loc[t["share"] >= 0.25, "word"])
        for i in images["id"]
        for t in [real_run.explanation(i).words]
    }
    tested = 0
    for by, key in (("label", images["label"]), ("predicted", images["class_name"])):
        counts = defaultdict(lambda: [0, 0])
        mixed = {g for g in set(key) if 0 < wrong[key == g].sum() < (key == g).sum()}
        for image_id, group, is_wrong in zip(images["id"], key, wrong):
            for word in used[image_id] if group in mixed else ():
                counts[(group, word)][0 if is_wrong else 1] += 1
        table = real_run.error_words(by=by, top=None, min_images=1)
        assert {(r.group, r.word): [r.n_wrong_with, r.n_right_with] for r in table.itertuples()} == dict(
            counts
        )
        assert table.groupby("group")["difference_low"].apply(lambda s: s.is_monotonic_decreasing).all()
        tested += len(table)
    assert tested > 0, "the tiny run should have a group with wrong and right images"
