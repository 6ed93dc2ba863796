"""Dashboard (browser + word chart + explorer), static exports and the %texplain magic."""

import pytest
import torch
from IPython.core.error import UsageError
from IPython.testing import globalipapp
from PIL import Image

from texplain_widgets import InputError, TExplain
from texplain_widgets.widgets.dashboard import Dashboard
from texplain_widgets.widgets.word_chart import WordChart

TIMEOUT = 120
PNG = b"\x89PNG\r\n\x1a\n"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def texplain(tiny_classifier, tiny_lm):
    torch.manual_seed(0)
    return TExplain(tiny_classifier, tiny_lm, prefix_length=4, hidden_dim=64)


@pytest.fixture
def dashboard(texplain, photo_files):
    dash = Dashboard(texplain, photo_files, n_sentences=32, batch_size=32)
    yield dash
    dash.close()


def click_bar(chart: WordChart, word: str) -> None:
    """What the browser sends when a bar is clicked (vega's point-selection signal)."""
    chart._vl_selections = {
        "pick": {"value": {"vlPoint": {"or": [{"word": word}]}, "word": [word]}, "store": []}
    }


def test_selecting_an_image_shows_it_in_the_explorer(dashboard, texplain, photos):
    assert dashboard.selected_image == 0 and dashboard.explorer.image_name == "astronaut.png"
    dashboard.browser.selected = 1  # what a click on the second thumbnail does
    dashboard.wait(TIMEOUT)
    assert dashboard.explorer.image_name == "chelsea.png"
    with torch.inference_mode():
        predicted = int(texplain.classifier.predict([photos["chelsea"]]).logits.argmax())
    assert dashboard.explorer.predicted_class == predicted


def test_words_feed_the_chart_and_a_bar_click_selects_the_word_everywhere(dashboard):
    explanation = dashboard.generate().result(TIMEOUT)
    dashboard.wait(TIMEOUT)
    assert explanation is dashboard.explanation
    words = dashboard.explorer.words
    assert words and dashboard.chart.words == words
    assert [v["word"] for v in dashboard.chart.spec["data"]["values"]] == [w["word"] for w in words]
    word = words[1]["word"]
    click_bar(dashboard.chart, word)
    assert dashboard.selected_word == word and dashboard.explorer.selected_word == word
    dashboard.wait(TIMEOUT)
    assert dashboard.explorer.word_map_word == word and dashboard.explorer.word_map_png.startswith(PNG)
    assert dashboard.explorer.word_forms  # the sentences shown are those with the word, marked
    dashboard.selected_word = words[0]["word"]  # from Python: the chart highlights it
    assert dashboard.chart.params.selected == words[0]["word"]


def test_exports_are_static_and_keep_hostile_text_as_text(texplain, tmp_path, photos):
    path = tmp_path / f"{XSS}.png"
    Image.fromarray(photos["coffee"]).save(path)
    dash = Dashboard(texplain, [path], n_sentences=32)
    try:
        dash.generate().result(TIMEOUT)
        dash.selected_word = dash.explorer.words[0]["word"]
        dash.wait(TIMEOUT)
        dash.export_html(tmp_path / "state.html")
        page = (tmp_path / "state.html").read_text()
        assert "&lt;img src=x onerror=alert(1)&gt;.png" in page and XSS not in page
        assert "<script" not in page and "<svg" in page and "<mark>" in page
        assert page.count("data:image/png;base64,") == 3  # image, saliency map, word map
        dash.export_png(tmp_path / "state.png")
        snapshot = Image.open(tmp_path / "state.png")
        assert snapshot.size[0] >= 1000 and snapshot.getextrema() != ((255, 255),) * 4
        assert dash.snapshot().data.startswith(PNG)
    finally:
        dash.close()


@pytest.fixture
def shell():
    ip = globalipapp.get_ipython()  # looked up at each call: the module rebinds it once started
    yield ip
    ip.run_line_magic("unload_ext", "texplain_widgets")


def test_magic_opens_a_dashboard_loads_twice_and_unloads(shell, texplain, photo_files, tmp_path):
    shell.run_line_magic("load_ext", "texplain_widgets")
    shell.run_line_magic("load_ext", "texplain_widgets")  # harmless
    texplain.save_pretrained(tmp_path / "model")
    shell.user_ns["pictures"] = photo_files
    dash = shell.run_line_magic("texplain", f"pictures --model {tmp_path / 'model'} --sentences 16")
    try:
        assert isinstance(dash, Dashboard) and dash.browser.n_images == len(photo_files)
        assert dash.explorer.n_sentences == 16
        again = shell.run_line_magic("texplain", f"{photo_files[0].parent} --model {tmp_path / 'model'}")
        assert again.explorer.texplain is dash.explorer.texplain  # the model is loaded once
        again.close()
    finally:
        dash.close()
    with pytest.raises(UsageError, match="neither a variable"):
        shell.run_line_magic("texplain", "no_such_thing")
    with pytest.raises(UsageError, match="positive"):
        shell.run_line_magic("texplain", "pictures --sentences 0")
    with pytest.raises(UsageError, match="config.json|no such|not a saved"):
        shell.run_line_magic("texplain", f"pictures --model {tmp_path / 'nowhere'}")
    shell.run_line_magic("unload_ext", "texplain_widgets")
    assert "texplain" not in shell.magics_manager.magics["line"]
    shell.run_line_magic("load_ext", "texplain_widgets")  # and back
    assert "texplain" in shell.magics_manager.magics["line"]


def test_enter_on_a_thumbnail_generates_for_it_and_escape_cancels(dashboard):
    dashboard.browser._on_message(dashboard.browser, {"action": "activate", "index": 1}, [])
    assert dashboard.selected_image == 1 and dashboard.explorer.image_name == "chelsea.png"
    assert dashboard.explorer.status == "running"
    dashboard.browser._on_message(dashboard.browser, {"action": "cancel"}, [])
    dashboard.wait(TIMEOUT)
    assert dashboard.explorer.status in ("cancelled", "done")  # "done" when the one batch was quicker
    assert dashboard.explorer.explanation is not None or dashboard.explorer.status == "cancelled"


def test_the_grid_shows_the_rows_asked_for(texplain, photo_files):
    with pytest.raises(InputError, match="rows"):
        Dashboard(texplain, photo_files, rows=0)
    dash = Dashboard(texplain, photo_files, rows=3)
    try:
        assert dash.browser.rows == 3
        assert dash.children[1] is dash.explorer and dash.chart in dash.children[0].children
    finally:
        dash.close()


def test_closing_twice_is_harmless(texplain, photo_files):
    dash = Dashboard(texplain, photo_files)
    dash.close()
    dash.close()  # what ipywidgets' __del__ does after an explicit close
