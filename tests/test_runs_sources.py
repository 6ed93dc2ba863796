"""Sources of a run: folders, CSVs, collections and the demo, checked before any model loads."""

import numpy as np
import pytest
from runs_support import image_folder

from texplain_widgets.data.collection import ImageCollection
from texplain_widgets.errors import InputError
from texplain_widgets.runs.sources import resolve_source


def test_folder_subfolders_name_the_classes(tmp_path):
    source = resolve_source(image_folder(tmp_path, 4))
    assert [item.label for item in source.items] == ["landbird", "landbird", "waterbird", "waterbird"]
    assert [item.id for item in source.items] == [0, 1, 2, 3]
    assert all(item.path.startswith(str(tmp_path.resolve())) for item in source.items)
    assert source.description["kind"] == "folder" and source.description["n_images"] == 4


def test_labels_csv_relabels_a_folder_and_names_missing_files(tmp_path):
    folder = image_folder(tmp_path / "images", 2)
    labels = tmp_path / "labels.csv"
    labels.write_text("image,label,group\nlandbird/img00.png,duck,water\n")
    source = resolve_source(folder, labels)
    assert (source.items[0].label, source.items[0].group) == ("duck", "water")
    assert source.items[1].label == "waterbird"
    assert source.description["digest"] != resolve_source(folder).description["digest"]
    labels.write_text("image,label\nlandbird/img00.png,duck\nlandbird/gone.png,duck\n")
    with pytest.raises(InputError, match=r"names 1 image\(s\) not in .*gone\.png"):
        resolve_source(folder, labels)


def test_csv_source_and_its_errors(tmp_path):
    folder = image_folder(tmp_path / "images", 2)
    listing = tmp_path / "list.csv"
    listing.write_text("image,label,group\nimages/landbird/img00.png,a,g\nimages/waterbird/img01.png,,\n")
    items = resolve_source(listing).items
    assert [(i.label, i.group) for i in items] == [("a", "g"), (None, None)]
    assert items[0].path == str((folder / "landbird" / "img00.png").resolve())
    listing.write_text("file,label\nx.png,a\n")
    with pytest.raises(InputError, match="column"):
        resolve_source(listing)
    listing.write_text("image\n")
    with pytest.raises(InputError, match="no images listed"):
        resolve_source(listing)


def test_collections_and_errors(tmp_path):
    images = [np.zeros((16, 16, 3), np.uint8), np.full((16, 16, 3), 9, np.uint8)]
    source = resolve_source(ImageCollection.from_images(images, labels=["a", "b"]))
    assert source.items[1].image is images[1] and source.items[1].path is None
    assert (
        source.description["digest"]
        != resolve_source(ImageCollection.from_images(images[::-1])).description["digest"]
    )
    with pytest.raises(InputError, match="no such folder"):
        resolve_source(tmp_path / "missing")
    with pytest.raises(InputError, match="labels"):
        resolve_source(ImageCollection.from_images(images), labels=tmp_path / "l.csv")


def test_demo_is_100_test_images_per_group_with_labels_and_groups():
    source = resolve_source("demo")
    assert len(source) == 400 and source.description["kind"] == "demo"
    groups = {item.group for item in source.items}
    assert len(groups) == 4 and {item.label for item in source.items} == {"kite", "balloon"}
    per_group = [sum(item.group == g for item in source.items) for g in groups]
    assert per_group == [100] * 4


def test_an_image_named_twice_with_other_labels_is_refused_naming_the_lines(tmp_path):
    folder = image_folder(tmp_path / "images", 4)
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "image,label\nlandbird/img00.png,duck\nwaterbird/img01.png,swan\n\nlandbird/img00.png,goose\n"
    )
    with pytest.raises(InputError, match=r"labels\.csv.*landbird/img00\.png.*lines 2 and 5.*duck.*goose"):
        resolve_source(folder, labels)
    labels.write_text("image,label,group\nlandbird/img00.png,duck,a\n./landbird/img00.png,duck,b\n")
    with pytest.raises(InputError, match=r"lines 2 and 3.*group"):  # the same label, another group
        resolve_source(folder, labels)
    labels.write_text("image,label\nlandbird/img00.png,duck\n./landbird/img00.png,duck\n")
    assert resolve_source(folder, labels).items[0].label == "duck"  # the same label twice: no clash
    listing = tmp_path / "list.csv"  # a CSV source is held to the same rule
    listing.write_text("image,label\nimages/landbird/img00.png,a\nimages/waterbird/img01.png,b\n")
    listing.write_text(listing.read_text() + "images/landbird/img00.png,b\n")
    with pytest.raises(InputError, match=r"list\.csv.*images/landbird/img00\.png.*lines 2 and 4"):
        resolve_source(listing)


def test_labels_that_name_none_of_the_classes_are_described():
    from texplain_widgets.runs.sources import label_problem

    none = label_problem(["cat", "dog", None, "cat"], ["landbird", "waterbird"], 2)
    assert "none of the 2 labels" in none and "cat, dog" in none and "landbird, waterbird" in none
    some = label_problem(["landbird", "Waterbird"], ["landbird", "waterbird"], 2)
    assert some.startswith("1 of the 2 labels") and "Waterbird" in some
    assert label_problem(["landbird", "waterbird", None], ["landbird", "waterbird"], 2) is None
    assert label_problem([None, None], ["landbird"], 1) is None  # no labels: nothing to say
    assert label_problem(["0", "1"], None, 2) is None  # a model without names predicts indices
    many = label_problem([f"c{i}" for i in range(20)], None, 2)
    assert "c0, c1, c10, c11, c12 ..." in many and "0, 1" in many
