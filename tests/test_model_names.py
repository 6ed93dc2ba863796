"""Model names: one resolver with a per-process cache for the CLI, the magic and the benchmarks."""

import pytest
import torch

from texplain_widgets.errors import InputError
from texplain_widgets.model.texplain import TExplain
from texplain_widgets.model_names import clear_cache, resolve_model


@pytest.fixture
def saved(tmp_path, tiny_classifier, tiny_lm):
    torch.manual_seed(0)
    return TExplain(tiny_classifier, tiny_lm, prefix_length=4, hidden_dim=64).save_pretrained(tmp_path / "m")


def test_a_directory_is_loaded_once_under_any_spelling(saved):
    model = resolve_model(saved)
    assert isinstance(model, TExplain)
    assert resolve_model(str(saved / ".." / "m")) is model and resolve_model(f"{saved}/") is model
    clear_cache()
    assert resolve_model(saved) is not model  # reloaded after the cache is cleared


@pytest.mark.parametrize("name", ["demo:foo", "demo:", "demo:Biased"])
def test_an_unknown_demo_name_lists_the_known_ones(name):
    with pytest.raises(InputError, match=f"no demo model '{name}': use demo, demo:biased or demo:balanced"):
        resolve_model(name)


def test_what_is_not_a_saved_texplain_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such directory; a model is demo, demo:biased, demo:balanced"):
        resolve_model(tmp_path / "nowhere")
    (tmp_path / "weights.safetensors").write_bytes(b"")
    with pytest.raises(InputError, match="weights.safetensors: a file; a model is demo"):
        resolve_model(tmp_path / "weights.safetensors")
    with pytest.raises(InputError, match="is not a saved TExplain: config.json not found"):
        resolve_model(tmp_path)
    with pytest.raises(InputError, match="a model name must be"):
        resolve_model("")


@pytest.mark.smollm2
def test_the_demo_names_share_one_language_model(smollm2_cache):
    clear_cache()
    biased = resolve_model("demo")
    assert resolve_model("demo:biased") is biased
    balanced = resolve_model("demo:balanced")
    assert balanced is not biased and balanced.language_model is biased.language_model
    assert biased.display["method_options"]["gradcam"] == {"layer": "layer3"}  # from the shipped config
