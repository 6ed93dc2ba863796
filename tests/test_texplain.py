import json

import pytest
import torch

from texplain_widgets.errors import CheckpointMismatchError, InputError
from texplain_widgets.model.classifier import FrozenClassifier
from texplain_widgets.model.explanation import Explanation
from texplain_widgets.model.language import FrozenLanguageModel
from texplain_widgets.model.texplain import TExplain
from texplain_widgets.model.translator import Translator, TranslatorConfig


@pytest.fixture
def texplain(tiny_classifier, tiny_lm):
    torch.manual_seed(0)
    return TExplain(tiny_classifier, tiny_lm, prefix_length=4, hidden_dim=64)


@pytest.mark.parametrize("mapper", ["mlp", "transformer"])
def test_translator_maps_features_to_a_prefix(mapper):
    config = TranslatorConfig(feature_dim=96, embed_dim=32, prefix_length=5, mapper=mapper, num_heads=4)
    prefix = Translator(config)(torch.randn(3, 96))
    assert prefix.shape == (3, 5, 32)
    with pytest.raises(ValueError, match=r"features of shape \(N, 96\)"):
        Translator(config)(torch.randn(3, 95))


def test_explain_one_and_many(texplain, photo_files):
    one = texplain.explain(photo_files[0], n_sentences=20, max_new_tokens=6)
    assert isinstance(one, Explanation)
    assert len(one.sentences) == 20 and one.image == str(photo_files[0])
    assert one.class_name in ("landbird", "waterbird") and 0.5 <= one.probability <= 1
    assert set(one.words.columns) == {"word", "count", "share"}
    many = texplain.explain(photo_files, n_sentences=20, max_new_tokens=6)
    assert len(many) == len(photo_files)
    assert many[0].sentences == one.sentences  # same seed, and batching with others changes nothing
    record = json.loads(json.dumps(many[1].to_dict(n_words=3)))
    assert len(record["words"]) <= 3 and record["settings"]["n_sentences"] == 20


def test_explain_takes_the_sampling_engine(texplain, photo_files):
    eager = texplain.explain(photo_files[0], n_sentences=8, max_new_tokens=6)
    static = texplain.explain(photo_files[0], n_sentences=8, max_new_tokens=6, engine="static")
    assert static.settings["engine"] == "static" and "engine" not in eager.settings
    assert sum(a == b for a, b in zip(static.sentences, eager.sentences)) >= 7  # the same within rounding
    with pytest.raises(InputError, match="engine"):
        texplain.explain(photo_files[0], n_sentences=8, engine="vllm")


def test_explain_refuses_unreadable_images(texplain, tmp_path):
    fake = tmp_path / "notes.jpg"
    fake.write_text("not an image")
    with pytest.raises(InputError, match="notes.jpg"):
        texplain.explain(fake, n_sentences=4)


def test_save_and_load_round_trip(texplain, tiny_lm, tmp_path, photo_files):
    texplain.save_pretrained(tmp_path / "model")
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["classifier"]["timm_name"] == "test_resnet"
    assert config["language_model"]["fingerprint"] == tiny_lm.fingerprint()
    loaded = TExplain.from_pretrained(tmp_path / "model", language_model=tiny_lm)
    assert loaded.classifier.class_names == ["landbird", "waterbird"]
    a = texplain.explain(photo_files[1], n_sentences=12, max_new_tokens=5)
    b = loaded.explain(photo_files[1], n_sentences=12, max_new_tokens=5)
    assert a.sentences == b.sentences and a.probability == pytest.approx(b.probability, rel=1e-4)
    # without an LM given, it is rebuilt from the directory recorded as its source
    assert TExplain.from_pretrained(tmp_path / "model").language_model.source == tiny_lm.source


def test_loading_against_another_lm_or_classifier_fails_clearly(texplain, tiny_lm_dir, tmp_path):
    texplain.save_pretrained(tmp_path / "model")
    other_lm = FrozenLanguageModel.from_pretrained(tiny_lm_dir)
    with torch.no_grad():
        other_lm.model.get_input_embeddings().weight.add_(0.01)
    with pytest.raises(CheckpointMismatchError, match="trained for language model"):
        TExplain.from_pretrained(tmp_path / "model", language_model=other_lm)
    other = FrozenClassifier.from_timm("test_resnet", num_classes=2)
    with pytest.raises(CheckpointMismatchError, match="trained on another classifier"):
        TExplain.from_pretrained(tmp_path / "model", classifier=other)


def test_loading_something_else_is_refused(tmp_path):
    with pytest.raises(InputError, match="not a saved TExplain"):
        TExplain.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text('{"format": "other"}')
    with pytest.raises(InputError, match="unknown format"):
        TExplain.from_pretrained(tmp_path)


@pytest.mark.parametrize("missing", ["translator.safetensors", "classifier.safetensors"])
def test_loading_a_folder_without_its_weights_names_them(texplain, tiny_lm, tmp_path, missing):
    texplain.save_pretrained(tmp_path)
    (tmp_path / missing).unlink()
    with pytest.raises(InputError, match=f"{missing} is missing.*save_pretrained"):
        TExplain.from_pretrained(tmp_path, language_model=tiny_lm)
    if missing == "classifier.safetensors":  # a classifier given needs no file
        loaded = TExplain.from_pretrained(tmp_path, classifier=texplain.classifier, language_model=tiny_lm)
        assert loaded.translator.config == texplain.translator.config


def test_save_in_half_precision_loads_back_as_float32(tiny_lm, tmp_path):
    from safetensors import safe_open

    torch.manual_seed(1)
    texplain = TExplain(FrozenClassifier.from_timm("test_resnet", num_classes=2), tiny_lm, prefix_length=4)
    texplain.save_pretrained(tmp_path / "half", dtype=torch.float16)
    with safe_open(tmp_path / "half" / "translator.safetensors", "pt") as weights:
        names = weights.keys()  # safetensors 0.8: safe_open is not iterable
        assert {weights.get_tensor(k).dtype for k in names} == {torch.float16}
    with pytest.raises(CheckpointMismatchError):  # the classifier's weights were rounded too
        TExplain.from_pretrained(tmp_path / "half", language_model=tiny_lm)
    texplain.classifier.model.half().float()  # fp16-exact weights: now the round trip is lossless
    texplain.save_pretrained(tmp_path / "half", dtype=torch.float16)
    loaded = TExplain.from_pretrained(tmp_path / "half", language_model=tiny_lm)
    original = texplain.translator.state_dict()
    for name, tensor in loaded.translator.state_dict().items():
        assert tensor.dtype == torch.float32
        torch.testing.assert_close(tensor, original[name].half().float())


def test_preprocessing_is_saved_with_the_model(tiny_lm, tmp_path, photos):
    torch.manual_seed(2)
    small = FrozenClassifier.from_timm(
        "test_resnet", num_classes=2, data_config={"input_size": (3, 64, 64), "crop_pct": 1.0}
    )
    assert small.preprocess(photos["coffee"]).shape == (1, 3, 64, 64)
    TExplain(small, tiny_lm, prefix_length=4).save_pretrained(tmp_path)
    loaded = TExplain.from_pretrained(tmp_path, language_model=tiny_lm).classifier
    assert loaded.input_size == (3, 64, 64)
    torch.testing.assert_close(loaded.preprocess(photos["coffee"]), small.preprocess(photos["coffee"]))


def test_checkpoint_config_round_trip_keeps_display_and_unknown_keys(texplain, tiny_lm, tmp_path):
    from texplain_widgets.model.checkpoint import CheckpointConfig

    texplain.display = {"method_options": {"gradcam": {"layer": "layer3"}}}
    texplain.save_pretrained(tmp_path)
    config = CheckpointConfig.read(tmp_path)
    assert config.display == texplain.display
    assert config.classifier.fingerprint == texplain.classifier.fingerprint()
    assert config.language_model.source == tiny_lm.source
    raw = json.loads((tmp_path / "config.json").read_text())
    raw["training_report"] = {"steps": 12, "val_loss": 1.5}
    raw["classifier"]["trained_on"] = "the demo world"
    (tmp_path / "config.json").write_text(json.dumps(raw))
    CheckpointConfig.read(tmp_path).write(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text()) == raw
    # a loaded model keeps the unknown top-level keys too, and saves them back with its display defaults
    loaded = TExplain.from_pretrained(tmp_path, language_model=tiny_lm)
    assert loaded.display == texplain.display
    loaded.save_pretrained(tmp_path / "again")
    again = json.loads((tmp_path / "again" / "config.json").read_text())
    assert again["training_report"] == raw["training_report"] and again["display"] == raw["display"]


def test_checkpoint_config_checks_format_and_fingerprints(texplain, tiny_lm, tiny_lm_dir, tmp_path):
    from texplain_widgets.model.checkpoint import CheckpointConfig

    texplain.save_pretrained(tmp_path)
    config = CheckpointConfig.read(tmp_path)
    assert config.display == {} and "display" not in json.loads((tmp_path / "config.json").read_text())
    config.classifier.check(texplain.classifier, tmp_path)  # the right parts pass
    config.language_model.check(tiny_lm, tmp_path)
    config.language_model.fingerprint = "0123456789abcdef"
    with pytest.raises(CheckpointMismatchError, match="0123456789abcdef"):
        config.language_model.check(tiny_lm, tmp_path)
    config.write(tmp_path)
    with pytest.raises(CheckpointMismatchError, match="trained for language model"):
        TExplain.from_pretrained(tmp_path, language_model=tiny_lm)
    raw = json.loads((tmp_path / "config.json").read_text())
    for bad, message in [
        ({**raw, "format": "texplain-widgets/0"}, "unknown format"),
        ([raw], "unknown format"),
    ]:
        (tmp_path / "config.json").write_text(json.dumps(bad))
        with pytest.raises(InputError, match=message):
            CheckpointConfig.read(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"format": raw["format"], "translator": {}}))
    with pytest.raises(InputError, match="incomplete"):
        CheckpointConfig.read(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        CheckpointConfig.read(tmp_path)


def test_shipped_demo_configs_still_read():
    from pathlib import Path

    import texplain_widgets
    from texplain_widgets.model.checkpoint import FORMAT, CheckpointConfig

    weights = Path(texplain_widgets.__file__).parent / "demo" / "weights"
    folders = sorted(p.parent for p in weights.glob("*/config.json"))
    assert folders, "no demo weights shipped"
    for folder in folders:
        raw = json.loads((folder / "config.json").read_text())
        config = CheckpointConfig.read(folder)
        assert raw["format"] == FORMAT and config.classifier.weights == "classifier.safetensors"
        assert config.to_dict() == raw  # nothing lost or added
