"""ImageBrowser: collections, paging, filters, selection and payload (the view is tested in js/)."""

import numpy as np
import pytest
import torch
import traitlets
from ipywidgets.widgets.widget import _remove_buffers
from PIL import Image

from texplain_widgets import ImageCollection, InputError
from texplain_widgets.demo.world import WorldConfig, make_world
from texplain_widgets.widgets.browser import ImageBrowser

JPEG = b"\xff\xd8\xff"
XSS = "<img src=x onerror=alert(1)>.png"


@pytest.fixture(scope="module")
def world():
    return make_world(WorldConfig(250, p_spurious=0.5, size=32, seed=3))


@pytest.fixture
def folder(tmp_path, photos):
    """An ImageFolder layout: two class subfolders, a hostile name and a broken file."""
    for label, names in {"cat": ["chelsea", "coffee"], "person": ["astronaut", "rocket"]}.items():
        (tmp_path / label).mkdir()
        for name in names:
            Image.fromarray(photos[name]).save(tmp_path / label / f"{name}.png")
    Image.fromarray(photos["coffee"]).save(tmp_path / "cat" / XSS)
    (tmp_path / "person" / "broken.jpg").write_bytes(b"not a jpeg at all")
    return tmp_path


def test_folder_classes_come_from_subfolders_and_a_broken_file_loses_nothing(folder):
    browser = ImageBrowser(folder)
    records = {r["name"]: r for r in browser.items}
    assert browser.n_images == 6 and browser.label_options == ["cat", "person"]
    assert records["cat/chelsea.png"]["label"] == "cat" and records["person/rocket.png"]["label"] == "person"
    assert records[f"cat/{XSS}"]["name"] == f"cat/{XSS}"  # kept as text: the view renders text only
    broken = records["person/broken.jpg"]
    assert "broken.jpg" in broken["error"]
    thumbs = dict(zip([r["name"] for r in browser.items], browser.thumbnails))
    assert thumbs["person/broken.jpg"] == b""
    assert all(thumbs[name].startswith(JPEG) for name in records if name != "person/broken.jpg")
    browser.filter_label = "cat"
    assert sorted(r["name"] for r in browser.items) == sorted(
        ["cat/chelsea.png", "cat/coffee.png", f"cat/{XSS}"]
    )


def test_bad_collections_raise_clear_errors(tmp_path):
    with pytest.raises(InputError, match="no image files"):
        ImageBrowser(tmp_path)
    with pytest.raises(InputError, match="empty"):
        ImageBrowser([])
    with pytest.raises(InputError, match="no such folder"):
        ImageBrowser(tmp_path / "missing")
    with pytest.raises(InputError, match="needs 2 labels"):
        ImageCollection(["a.png", "b.png"], ["a", "b"], ["x"], [None, None])


def test_pages_and_filters_over_a_world(world):
    browser = ImageBrowser(world, page_size=100)
    assert (browser.n_images, browser.n_shown, browser.n_pages) == (250, 250, 3)
    assert [r["index"] for r in browser.items] == list(range(100))
    browser.page = 2
    assert [r["index"] for r in browser.items] == list(range(200, 250))
    assert len(browser.thumbnails) == 50
    browser.page = 7  # past the end: the last page
    assert browser.page == 2
    browser.filter_group = "kite/brick"
    expected = np.flatnonzero(world.groups == world.group_names.index("kite/brick"))
    assert browser.page == 0 and browser.n_shown == len(expected)
    assert [r["index"] for r in browser.items] == expected[:100].tolist()
    assert all(r["group"] == "kite/brick" and r["label"] == "kite" for r in browser.items)
    browser.filter_group = ""
    browser.filter_name = "BALLOON"  # a substring of the name (the caption here), any case
    assert browser.n_shown > 0
    assert all("balloon" in r["name"] for r in browser.items)


def test_predictions_drive_the_correctness_filters(world, tiny_classifier):
    names = tiny_classifier.class_names
    labels = [names[i % 2] for i in range(90)]  # the tiny classifier's own classes, so both verdicts occur
    collection = ImageCollection.from_images(list(world.images[:90]), labels=labels)
    browser = ImageBrowser(collection, classifier=tiny_classifier, chunk=32)
    browser.wait(120)
    assert browser.n_predicted == 90
    with torch.inference_mode():
        expected = tiny_classifier.predict([Image.fromarray(a) for a in world.images[:90]]).logits.argmax(-1)
    assert browser.predictions == [names[i] for i in expected.tolist()]
    right = [p == lab for p, lab in zip(browser.predictions, labels)]
    assert 0 < right.count(True) < 90
    browser.filter_correct = "incorrect"
    assert browser.n_shown == right.count(False)
    assert all(r["correct"] is False for r in browser.items)
    browser.filter_correct = "correct"
    assert browser.n_shown == right.count(True)
    browser.filter_correct = ""
    browser.filter_predicted = names[0]
    assert browser.n_shown == browser.predictions.count(names[0])
    assert all(r["predicted"] == names[0] for r in browser.items)


def test_selection_is_validated_and_named(world):
    browser = ImageBrowser(world)
    browser.selected = 5
    assert browser.selected_name == browser.collection.names[5]
    assert np.array_equal(np.asarray(browser.image()), world.images[5])
    with pytest.raises(traitlets.TraitError, match="no image 250"):
        browser.selected = 250
    assert browser.selected == 5


def test_a_page_of_100_photo_thumbnails_is_binary_and_under_1_mb(photos):
    # 100 real 512-pixel photos (four scikit-image photos, flipped and shifted so none repeats).
    base = list(photos.values())
    images = [np.roll(base[i % 4], 5 * i, axis=1)[:, :: 1 if i % 2 else -1] for i in range(100)]
    browser = ImageBrowser(images)
    state, paths, buffers = _remove_buffers(browser.get_state())
    assert len(browser.thumbnails) == 100 and [["thumbnails", i] for i in range(100)] == [
        p for p in paths if p[0] == "thumbnails"
    ]
    size = sum(len(b) for b in buffers) + len(str(state))
    assert size < 1_000_000, f"{size} bytes for a page of 100 thumbnails"
    assert all(bytes(b[:3]) == JPEG for b in buffers)


class _BrokenNet(torch.nn.Module):
    """A classifier whose forward always fails (a stand-in for a model that runs out of memory)."""

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Conv2d(3, 4, 3)

    def forward(self, pixels):
        raise RuntimeError("the forward pass broke")


def test_wait_raises_at_once_when_predictions_fail(world):
    import threading

    from texplain_widgets import TExplainError
    from texplain_widgets.model.classifier import FrozenClassifier

    classifier = FrozenClassifier(_BrokenNet(), feature_layer="body", class_names=["a", "b"])
    browser = ImageBrowser(world, classifier=classifier, chunk=16)
    outcome = []

    def wait():
        try:
            browser.wait(timeout=30)
            outcome.append(None)
        except Exception as error:  # noqa: BLE001 - the test inspects it
            outcome.append(error)

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    waiter.join(10)
    browser.close()
    assert not waiter.is_alive(), "wait() still running 10 s after the prediction failed"
    assert isinstance(outcome[0], TExplainError) and "the forward pass broke" in str(outcome[0])
    assert "the forward pass broke" in browser.error and browser.n_predicted == 0


def test_records_carry_the_predicted_probability_and_rows_is_a_trait(world, tiny_classifier):
    browser = ImageBrowser(list(world.images[:8]), classifier=tiny_classifier, rows=3)
    browser.wait(120)
    with torch.inference_mode():
        best = (
            tiny_classifier.predict([Image.fromarray(a) for a in world.images[:8]]).logits.softmax(-1).max(-1)
        )
    assert [r["probability"] for r in browser.items] == pytest.approx(best.values.tolist(), abs=1e-4)
    assert browser.rows == 3 and "rows" in browser.keys


def test_enter_and_escape_reach_the_kernel_as_actions(world):
    browser = ImageBrowser(list(world.images[:5]))
    heard = []
    browser.on_action(lambda action, index: heard.append((action, index)))
    browser.selected = 2
    browser._on_message(browser, {"action": "activate", "index": 4}, [])
    browser._on_message(browser, {"action": "cancel"}, [])
    assert heard == [("activate", 4), ("cancel", 2)] and browser.error == ""
    browser._on_message(browser, {"action": "activate", "index": 99}, [])
    assert heard[-1] == ("cancel", 2) and "no image 99" in browser.error
    browser._on_message(browser, {"action": "explode"}, [])
    assert "unknown action 'explode'" in browser.error
