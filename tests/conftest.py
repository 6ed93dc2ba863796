"""Shared fixtures: tiny real models (timm test architectures, a random GPT-2) and real photos."""

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# fmt: off
WORDS = [
    "a", "the", "bird", "dog", "cat", "on", "in", "over", "near", "water", "grass", "field", "sky",
    "small", "big", "red", "blue", "flies", "sits", "runs", "stands", "lake", "tree", "road",
    "sand", "snow", "with", "and", "is",
]
# fmt: on


@pytest.fixture(scope="session", autouse=True)
def matplotlib_config(tmp_path_factory):
    """Captum imports matplotlib (once per process): keep its caches out of the home directory."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MPLCONFIGDIR", str(tmp_path_factory.mktemp("matplotlib")))
        yield


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory):
    """A word-level tokenizer and a 2-layer GPT-2 with random weights, saved as a directory."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    vocab = {"<eos>": 0, "<unk>": 1, ".": 2, **{w: i + 3 for i, w in enumerate(WORDS)}}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()]
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<eos>", unk_token="<unk>")
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(vocab),
        n_positions=64,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=0,
        eos_token_id=0,
        initializer_range=0.3,  # peaked enough to steer
    )
    model = GPT2LMHeadModel(config)
    directory = tmp_path_factory.mktemp("tiny-gpt2")
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_lm(tiny_lm_dir):
    from texplain_widgets.model.language import FrozenLanguageModel

    return FrozenLanguageModel.from_pretrained(tiny_lm_dir)


@pytest.fixture(scope="session")
def smollm2_cache(tmp_path_factory):
    """TEXPLAIN_CACHE for the tests that load the real SmolLM2: dequantised once per session."""
    cache = tmp_path_factory.mktemp("texplain-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEXPLAIN_CACHE", str(cache))
        yield cache


@pytest.fixture(scope="session")
def smollm2(smollm2_cache):
    from texplain_widgets.model.language import FrozenLanguageModel

    return FrozenLanguageModel.from_pretrained("smollm2")


@pytest.fixture(scope="session")
def tiny_classifier():
    from texplain_widgets.model.classifier import FrozenClassifier

    torch.manual_seed(0)
    return FrozenClassifier.from_timm("test_resnet", class_names=["landbird", "waterbird"])


@pytest.fixture(scope="session")
def photos():
    """Real photos bundled with scikit-image, as uint8 arrays."""
    from skimage import data

    return {name: getattr(data, name)() for name in ("astronaut", "chelsea", "coffee", "rocket")}


@pytest.fixture
def photo_files(tmp_path, photos):
    from PIL import Image

    paths = []
    for name, array in photos.items():
        path = tmp_path / f"{name}.png"
        Image.fromarray(np.asarray(array)).save(path)
        paths.append(path)
    return paths


def pytest_collection_modifyitems(items):
    """Markers for the quick inner loop: notebooks (nbval items) and tests of the real SmolLM2 (slow)."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebook)
        if item.get_closest_marker("smollm2"):
            item.add_marker(pytest.mark.slow)


def tiny_causal_lm(tiny_lm_dir, directory, config_class, **options):
    """A random 2-layer LM of this architecture with the tiny GPT-2's tokenizer."""
    import shutil

    import transformers

    from texplain_widgets.model.language import FrozenLanguageModel

    for name in tiny_lm_dir.iterdir():
        if name.name.startswith(("tokenizer", "special_tokens")):
            shutil.copy(name, directory)
    vocab = FrozenLanguageModel.from_pretrained(tiny_lm_dir).model.config.vocab_size
    config = config_class(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        bos_token_id=0,
        eos_token_id=0,
        initializer_range=0.3,
        **options,
    )
    torch.manual_seed(0)
    transformers.AutoModelForCausalLM.from_config(config).save_pretrained(directory)
    return FrozenLanguageModel.from_pretrained(directory)


@pytest.fixture(scope="session")
def tiny_llama(tiny_lm_dir, tmp_path_factory):
    """Llama: rotary positions, grouped keys (SmolLM2's architecture)."""
    from transformers import LlamaConfig

    return tiny_causal_lm(tiny_lm_dir, tmp_path_factory.mktemp("tiny-llama"), LlamaConfig)
