"""Explorer widget: traits and glue, with the tiny TExplain (no browser; the view is tested in js/)."""

import threading
import time

import numpy as np
import pytest
import torch

from texplain_widgets import TExplain
from texplain_widgets.model.explanation import Explanation
from texplain_widgets.widgets.explorer import Explorer

PNG = b"\x89PNG\r\n\x1a\n"
TIMEOUT = 120  # seconds; the machine's speed varies a lot


@pytest.fixture(scope="module")
def texplain(tiny_classifier, tiny_lm):
    torch.manual_seed(0)
    return TExplain(tiny_classifier, tiny_lm, prefix_length=4, hidden_dim=64)


@pytest.fixture
def explorer(texplain, photo_files):
    widget = Explorer(texplain, photo_files[1], n_sentences=64, batch_size=32)
    yield widget
    widget.close()


def generated(widget: Explorer) -> Explanation:
    explanation = widget.generate().result(TIMEOUT)
    widget.wait(TIMEOUT)
    return explanation


def test_construction_shows_image_and_prediction(explorer, texplain, photos):
    assert explorer.image_png.startswith(PNG)
    assert explorer.image_name == "chelsea.png"
    with torch.inference_mode():
        logits = texplain.classifier.predict([photos["chelsea"]]).logits[0]
    assert explorer.predicted_class == int(logits.argmax())
    assert explorer.prediction == ["landbird", "waterbird"][explorer.predicted_class]
    assert explorer.probability == pytest.approx(float(logits.softmax(-1).max()), abs=1e-5)
    assert (explorer.status, explorer.words, explorer.sentences, explorer.error) == ("idle", [], [], "")
    explorer.wait(TIMEOUT)
    assert explorer.saliency_png.startswith(PNG)  # the default method's map, computed in the background


def test_images_travel_as_binary_buffers_not_base64(explorer):
    from ipywidgets.widgets.widget import _remove_buffers

    explorer.wait(TIMEOUT)
    state, paths, buffers = _remove_buffers(explorer.get_state())
    assert ["image_png"] in paths and ["saliency_png"] in paths
    assert all(isinstance(b, (bytes, memoryview, bytearray)) for b in buffers)
    assert "image_png" not in state


def test_large_images_are_shrunk_for_display(texplain, photos):
    import io

    from PIL import Image

    widget = Explorer(texplain, np.tile(photos["astronaut"], (2, 2, 1)))  # 1024 x 1024
    try:
        assert max(Image.open(io.BytesIO(widget.image_png)).size) == 384
        assert widget.image_name == ""
    finally:
        widget.close()


def test_generate_runs_in_background_and_fills_words_and_sentences(explorer):
    updates = []
    explorer.observe(
        lambda change: updates.append((change["new"], threading.current_thread())), "n_generated"
    )
    future = explorer.generate()
    assert explorer.status == "running"
    explanation = future.result(TIMEOUT)
    explorer.wait(TIMEOUT)
    assert explorer.status == "done" and explorer.error == ""
    assert explorer.explanation is explanation and len(explanation.sentences) == 64
    assert [n for n, _ in updates] == [32, 64]  # one update per batch of 32
    assert all(thread is not threading.main_thread() for _, thread in updates)
    assert explorer.progress == 1.0 and explorer.n_generated == 64
    expected = explanation.words.head(explorer.n_words)
    assert [w["word"] for w in explorer.words] == expected["word"].tolist()
    assert {type(v) for w in explorer.words for v in w.values()} == {str, int, float}
    assert explorer.sentences == explanation.sentences[: explorer.max_sentences]


def test_generation_settings_are_traits(explorer):
    explorer.n_sentences, explorer.top_p, explorer.temperature, explorer.seed = 32, 0.5, 0.7, 3
    explanation = generated(explorer)
    assert len(explanation.sentences) == 32
    assert explanation.settings["top_p"] == 0.5 and explanation.settings["temperature"] == 0.7
    assert explanation.settings["seed"] == 3


def test_the_frontend_buttons_are_messages(explorer):
    explorer._on_message(explorer, {"action": "generate"}, [])
    explorer.wait(TIMEOUT)
    assert explorer.status == "done" and explorer.n_generated == 64
    explorer._on_message(explorer, {"action": "explode"}, [])
    assert "unknown action" in explorer.error


def test_cancel_stops_generation_and_keeps_what_was_generated(explorer):
    explorer.n_sentences = 32 * 50

    def cancel_after_first_batch(change):
        if change["new"] == 32:
            explorer._on_message(explorer, {"action": "cancel"}, [])  # as the Cancel button

    explorer.observe(cancel_after_first_batch, "n_generated")
    assert explorer.generate().result(TIMEOUT) is None
    explorer.wait(TIMEOUT)
    assert explorer.status == "cancelled" and explorer.error == ""
    assert explorer.n_generated == 32
    assert len(explorer.explanation.sentences) == 32  # a partial explanation, words included
    assert explorer.words and explorer.sentences
    explorer.unobserve(cancel_after_first_batch, "n_generated")
    explorer.n_sentences = 32
    generated(explorer)  # and it generates again
    assert explorer.status == "done" and explorer.n_generated == 32


def test_a_new_generate_replaces_a_running_one(explorer):
    explorer.n_sentences = 32 * 50
    first = explorer.generate()
    explorer.n_sentences = 32
    second = explorer.generate()
    assert first.result(TIMEOUT) is None
    assert len(second.result(TIMEOUT).sentences) == 32
    explorer.wait(TIMEOUT)
    assert explorer.status == "done" and explorer.n_generated == 32


def test_a_word_clicked_in_the_view_arrives_as_a_state_update(explorer):
    generated(explorer)
    word = explorer.words[1]["word"]
    explorer.set_state({"selected_word": word})  # what ipywidgets does with the view's update
    explorer.wait(TIMEOUT)
    assert explorer.selected_word == word and explorer.word_map_word == word
    assert explorer.word_map_png.startswith(PNG)


def test_selecting_a_word_highlights_it_and_computes_its_map(explorer):
    explanation = generated(explorer)
    word = explorer.words[0]["word"]
    explorer.selected_word = word
    assert all(word in _lemmas(s) for s in explorer.sentences)
    assert explorer.word_forms and all(form.casefold() == form for form in explorer.word_forms)
    assert explorer.word_map_word == ""  # being computed
    explorer.wait(TIMEOUT)
    assert explorer.error == ""
    assert explorer.word_map_word == word and explorer.word_map_png.startswith(PNG)
    first_map = explorer.word_map_png

    explorer.selected_word = ""
    assert (explorer.word_map_png, explorer.word_map_word) == (b"", "")
    assert explorer.sentences == explanation.sentences[: explorer.max_sentences]
    start = time.perf_counter()
    explorer.selected_word = word  # cached: no worker round trip
    assert time.perf_counter() - start < 0.3
    assert explorer.word_map_png == first_map and explorer.word_map_word == word


def test_a_selection_survives_a_new_generation_when_the_word_does(explorer):
    generated(explorer)
    word = explorer.words[0]["word"]
    explorer.selected_word = word
    generated(explorer)  # same seed and settings: the same sentences, so the word is still there
    assert explorer.selected_word == word
    assert explorer.word_map_word == word and explorer.word_map_png.startswith(PNG)
    explorer.explanation = Explanation(["a red sky over a road"], 0, 0.5)  # set from Python
    assert explorer.selected_word == ""  # the word is gone, so is the selection
    assert [w["word"] for w in explorer.words] == ["red", "road", "sky"]  # ties: alphabetical
    assert explorer.status == "done" and explorer.sentences == ["a red sky over a road"]


def test_the_view_and_the_export_mark_the_spans_words_py_finds(explorer):
    from texplain_widgets.widgets.export import snapshot_html
    from texplain_widgets.words import word_spans

    texts = ["Bricks, and a brick wall.", "grassland near the grass", "a 🐦 bird on bricks", "no such word"]
    explorer.explanation = Explanation(texts, 0, 0.5)
    explorer.selected_word = "brick"
    shown = [texts[0], texts[2]]  # those with the word, first
    assert explorer.marked_sentences == [
        {"text": s, "spans": [list(x) for x in word_spans(s, "brick")]} for s in shown
    ]
    assert explorer.marked_sentences[0]["spans"] == [[0, 6], [14, 19]]
    assert explorer.sentences == shown and explorer.word_forms == ["brick", "bricks"]
    page = snapshot_html(explorer)
    assert "<mark>Bricks</mark>, and a <mark>brick</mark> wall." in page
    assert "a 🐦 bird on <mark>bricks</mark>" in page and page.count("<mark>") == 3
    explorer.selected_word = "grass"  # a whole token only: "grassland" stays unmarked
    assert explorer.marked_sentences == [{"text": texts[1], "spans": [[19, 24]]}]
    assert "grassland near the <mark>grass</mark>" in snapshot_html(explorer)
    explorer.selected_word = ""
    assert explorer.marked_sentences == [{"text": s, "spans": []} for s in texts]
    explorer.wait(TIMEOUT)


def test_saliency_method_is_a_trait_and_errors_land_in_error(explorer):
    explorer.wait(TIMEOUT)
    gradcam = explorer.saliency_png
    explorer.saliency_method = "occlusion"
    explorer.wait(TIMEOUT)
    assert explorer.saliency_png.startswith(PNG) and explorer.saliency_png != gradcam

    explorer.saliency_method = "no_such_method"
    explorer.wait(TIMEOUT)
    assert "unknown saliency method 'no_such_method'" in explorer.error
    assert explorer.saliency_png == b""

    explorer.saliency_method = "gradcam"  # a good request clears the error; the map is cached
    assert explorer.error == "" and explorer.saliency_png == gradcam
    generated(explorer)  # and the widget still generates
    assert explorer.status == "done" and explorer.words


def test_method_options_reach_both_maps(explorer):
    generated(explorer)
    explorer.selected_word = explorer.words[0]["word"]
    explorer.wait(TIMEOUT)
    default_saliency, default_word_map = explorer.saliency_png, explorer.word_map_png
    explorer.method_options = {"gradcam": {"layer": "layer1"}}  # an earlier, finer layer
    explorer.wait(TIMEOUT)
    assert explorer.error == ""
    assert explorer.saliency_png.startswith(PNG) and explorer.saliency_png != default_saliency
    assert explorer.word_map_png.startswith(PNG) and explorer.word_map_png != default_word_map
    explorer.method_options = {"gradcam": {"no_such_option": 1}}
    explorer.wait(TIMEOUT)
    assert "gradcam has no option 'no_such_option'" in explorer.error


def test_bad_settings_and_missing_words_are_shown_not_raised(explorer):
    explorer.top_p = 1.5
    assert explorer.generate().result(TIMEOUT) is None
    assert explorer.status == "error" and "top_p must be in (0, 1]" in explorer.error
    explorer.top_p = 0.9
    generated(explorer)
    assert explorer.error == ""
    explorer.selected_word = "zebra"
    explorer.wait(TIMEOUT)
    assert "does not occur" in explorer.error
    assert (explorer.word_map_word, explorer.word_map_png) == ("zebra", b"")


def test_set_image_resets_and_predicts(explorer, photo_files):
    generated(explorer)
    explorer.selected_word = explorer.words[0]["word"]
    future = explorer.set_image(photo_files[2], name="<img src=x onerror=alert(1)>.png")
    assert (explorer.words, explorer.sentences, explorer.selected_word, explorer.status) == (
        [],
        [],
        "",
        "idle",
    )
    assert explorer.image_name == "<img src=x onerror=alert(1)>.png"  # text; the view shows it as text
    future.result(TIMEOUT)
    explorer.wait(TIMEOUT)
    assert explorer.prediction in ("landbird", "waterbird") and explorer.saliency_png.startswith(PNG)
    assert explorer.set_image(photo_files[0].parent / "missing.png") is None
    assert "missing.png" in explorer.error


def test_construct_with_an_explanation_and_a_selection(texplain, photo_files):
    explanation = texplain.explain(photo_files[1], 32, seed=0)
    word = explanation.top_words(1)[0]
    widget = Explorer(
        texplain, photo_files[1], explanation=explanation, selected_word=word, saliency_method="occlusion"
    )
    try:
        assert widget.explanation is explanation and widget.status == "done"
        assert widget.selected_word == word and widget.words[0]["word"] == word
        widget.wait(TIMEOUT)
        assert widget.word_map_word == word and widget.word_map_png.startswith(PNG)
        assert widget.saliency_png.startswith(PNG) and widget.error == ""
    finally:
        widget.close()


def test_a_bad_image_raises_at_construction(texplain, tmp_path):
    from texplain_widgets import InputError

    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(InputError, match="notes.png"):
        Explorer(texplain, tmp_path / "notes.png")


def _lemmas(sentence):
    from texplain_widgets.words import sentence_words

    return sentence_words(sentence)


def test_each_map_comes_with_its_spread_and_the_scale_colours(explorer):
    explorer.wait(TIMEOUT)
    assert 0 < explorer.saliency_spread <= 0.5 + 1e-9  # half the weight on at most half the pixels
    assert explorer.word_map_spread == -1  # no word: no map
    generated(explorer)
    explorer.word_method = (
        "saliency"  # gradient magnitudes: never a map without weight (GradCAM's ReLU can be)
    )
    explorer.selected_word = explorer.words[0]["word"]
    explorer.wait(TIMEOUT)
    assert 0 < explorer.word_map_spread <= 0.5 + 1e-9
    spread = explorer.word_map_spread
    explorer.selected_word = ""
    assert explorer.word_map_spread == -1
    explorer.selected_word = explorer.words[0]["word"]  # cached, with its spread
    assert explorer.word_map_spread == spread
    assert explorer.map_scale[0] == "#000004" and len(explorer.map_scale) == 8  # inferno, cold to hot
    assert "Enter" in explorer.help and "Escape" in explorer.help
