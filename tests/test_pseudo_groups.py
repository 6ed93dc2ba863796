"""Pseudo-groups: label x the words an image uses, accuracy over them, a labels CSV."""

import pandas as pd
import pytest
from discovery_support import planted_images, write_store

from texplain_widgets import ExplanationSet
from texplain_widgets.errors import InputError
from texplain_widgets.runs.sources import resolve_source
from texplain_widgets.widgets.report_queries import DEMO_RUNS


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return write_store(tmp_path_factory.mktemp("planted") / "run", planted_images())


def test_each_image_is_its_label_and_the_words_it_uses(store):
    groups = store.pseudo_groups(["grass", "Sky"])
    assert groups.index.name == "id" and groups.index.tolist() == store.images["id"].tolist()
    counts = groups.value_counts().to_dict()
    # balloons: 8 wrong with grass and sky, 6 wrong with grass, 2 wrong with sky, 4 wrong with
    # neither; 4 right with both, 16 right with sky, 20 right with neither; kites: 3 + 57, 1
    # using sky in 1 of 8 sentences only (below 25%)
    assert counts == {
        "balloon/grass+sky": 12,
        "balloon/grass": 6,
        "balloon/sky": 18,
        "balloon/(none)": 24,
        "kite/(none)": 60,
    }
    assert store.pseudo_groups("sky").value_counts()["balloon/sky"] == 30


def test_accuracy_marks_the_worst_pseudo_group(store):
    table = store.accuracy(groups=store.pseudo_groups(["grass", "sky"]))
    groups = table[table["by"] == "group"].set_index("name")
    assert groups.loc["balloon/grass", "accuracy"] == 0 and groups.loc["balloon/grass", "n"] == 6
    assert groups["worst"].sum() == 1 and groups.loc["balloon/grass", "worst"]
    assert table[table["by"] == "class"]["n"].tolist() == [60, 60]
    by_dict = store.accuracy(groups=dict(store.pseudo_groups(["grass"])))
    assert by_dict[by_dict["by"] == "group"]["name"].tolist() == [
        "balloon/(none)",
        "balloon/grass",
        "kite/(none)",
    ]
    with pytest.raises(InputError, match="indexed by image id"):
        store.accuracy(groups=pd.Series(["a"], index=["not an id"]))
    with pytest.raises(InputError, match="Series or a dict"):
        store.accuracy(groups=["balloon/grass"] * 120)


def test_the_demo_pseudo_groups_are_its_true_groups():
    runs = ExplanationSet.open(DEMO_RUNS / "biased")
    groups = runs.pseudo_groups(["grass", "brick"])
    assert (groups.to_numpy() == runs.images.set_index("id")["group"].reindex(groups.index).to_numpy()).all()
    worst = runs.accuracy(groups=groups)
    assert (
        worst.loc[worst["worst"], "name"].tolist()
        == runs.accuracy().loc[runs.accuracy()["worst"], "name"].tolist()
    )


def test_a_labels_csv_a_later_run_reads(store, tmp_path):
    groups = store.pseudo_groups(["grass"])
    path = store.to_labels_csv(tmp_path / "labels.csv", groups=groups)
    written = pd.read_csv(path)
    assert written.columns.tolist() == ["image", "label", "group", "id"]
    assert written["group"].tolist() == groups.tolist() and written["image"][0] == "/images/0000.png"
    for i in range(3):  # the CSV source needs the files
        (tmp_path / f"{i}.png").write_bytes(b"")
    written.head(3).assign(image=[f"{i}.png" for i in range(3)]).to_csv(tmp_path / "three.csv", index=False)
    items = resolve_source(tmp_path / "three.csv").items
    assert [item.group for item in items] == groups.head(3).tolist()
    stored = pd.read_csv(store.to_labels_csv(tmp_path / "stored.csv"))
    assert stored["group"].isna().all()  # the store has no groups of its own
    with pytest.raises(InputError, match="is a folder"):
        store.to_labels_csv(tmp_path)
