"""%texplain: the dashboard's saliency options come from the model's saved config, not its name."""

import pytest
import torch
from IPython.core.error import UsageError
from IPython.testing import globalipapp

from texplain_widgets import TExplain

GRADCAM_LAYER3 = {"gradcam": {"layer": "layer3"}, "guided_gradcam": {"layer": "layer3"}}


@pytest.fixture
def shell():
    ip = globalipapp.get_ipython()  # looked up at each call: the module rebinds it once started
    ip.run_line_magic("load_ext", "texplain_widgets")
    yield ip
    ip.run_line_magic("unload_ext", "texplain_widgets")


def saved_model(directory, tiny_classifier, tiny_lm, display=None):
    torch.manual_seed(0)
    model = TExplain(tiny_classifier, tiny_lm, prefix_length=4, hidden_dim=64)
    model.display = display or {}
    return model.save_pretrained(directory)


@pytest.mark.parametrize("display", [{"method_options": GRADCAM_LAYER3}, {}], ids=["saved options", "none"])
def test_the_dashboard_takes_the_saved_method_options(
    shell, tiny_classifier, tiny_lm, photo_files, tmp_path, display
):
    directory = saved_model(tmp_path / "model", tiny_classifier, tiny_lm, display)
    shell.user_ns["pictures"] = photo_files
    dash = shell.run_line_magic("texplain", f"pictures --model {directory} --sentences 8")
    try:
        assert dash.explorer.method_options == display.get("method_options", {})
    finally:
        dash.close()


def test_an_unknown_demo_name_is_one_clear_line(shell, photo_files):
    shell.user_ns["pictures"] = photo_files
    with pytest.raises(UsageError, match="no demo model 'demo:foo': use demo, demo:biased or demo:balanced"):
        shell.run_line_magic("texplain", "pictures --model demo:foo")
