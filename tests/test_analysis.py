import pandas as pd
import pytest

from texplain_widgets.model.explanation import Explanation
from texplain_widgets.words.ranking import (
    compare_models,
    naming_share,
    naming_shares,
    rank_words,
    word_counts,
)


def explanation(*sentences):
    return Explanation(list(sentences), predicted_class=0, probability=1.0)


@pytest.fixture
def dataset():
    water = [explanation("a bird over the water", "water and a bird", "a duck on water") for _ in range(3)]
    land = [explanation("a bird in the forest", "a bird on a tree", "trees and a bird") for _ in range(3)]
    return water + land, ["waterbird"] * 3 + ["landbird"] * 3


def test_counts_and_shares_per_group(dataset):
    counts = word_counts(*dataset).set_index(["group", "word"])
    assert counts.loc[("waterbird", "water"), "count"] == 9
    assert counts.loc[("waterbird", "bird"), "share"] == pytest.approx(2 / 3)
    assert counts.loc[("landbird", "bird"), "share"] == 1.0


def test_rank_words_puts_the_distinctive_word_first(dataset):
    ranked = rank_words(*dataset, top=None)
    assert ranked[ranked.group == "waterbird"].iloc[0]["word"] == "water"
    assert ranked[ranked.group == "landbird"].iloc[0]["word"] == "tree"
    bird = ranked[ranked.word == "bird"].set_index("group")["z"]
    # "bird" is shared by both groups: far less distinctive than either group's own word
    assert abs(bird["waterbird"]) < ranked[ranked.word == "water"]["z"].iloc[0] / 2
    assert (ranked.groupby("group").size() == ranked.groupby("group").word.nunique()).all()


def test_naming_shares(dataset):
    explanations, groups = dataset
    assert naming_share(explanations[0], {"water"}) == 1.0
    assert naming_share(explanations[0], {"duck"}) == pytest.approx(1 / 3)
    shares = naming_shares(explanations, groups, {"background": {"water"}, "object": {"bird"}})
    assert shares.loc["waterbird", "background"] == 1.0 and shares.loc["landbird", "background"] == 0.0
    assert shares.loc["landbird", "object"] == 1.0


def test_compare_models_side_by_side(dataset):
    explanations, groups = dataset
    table = compare_models({"a": explanations, "b": explanations[::-1]}, groups, top=2)
    assert list(table.columns) == ["a:word", "a:share", "a:z", "b:word", "b:share", "b:z"]
    assert table.loc[("waterbird", 1), "a:word"] == "water"
    assert table.loc[("waterbird", 1), "b:word"] == "tree"  # b's labels are reversed
    assert isinstance(table, pd.DataFrame)
