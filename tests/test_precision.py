"""bfloat16 only where it is fast: native_bf16, and one warning where bf16 would be emulated."""

import warnings
from pathlib import Path

import pytest
import torch

import texplain_widgets
from texplain_widgets.data.captions import CaptionPairs
from texplain_widgets.model import precision
from texplain_widgets.model.generate import SamplingSettings, sample_sentences
from texplain_widgets.model.language import FrozenLanguageModel
from texplain_widgets.model.texplain import TExplain
from texplain_widgets.model.train import TrainConfig


@pytest.fixture
def cpu(monkeypatch):
    """Set the CPU's native-bf16 features (none: emulated) and forget any earlier warning."""

    def features(*names):
        monkeypatch.setattr(precision, "_cpu_bf16_features", lambda: names)
        monkeypatch.setattr(precision, "_warned", False)

    return features


def emulation_warnings(action) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # so that "once" is the package's doing, not the filter's
        action()
    return [str(w.message) for w in caught if "bfloat16 is emulated" in str(w.message)]


def test_native_bf16_follows_the_cpu_flags():
    assert texplain_widgets.native_bf16 is precision.native_bf16
    flags = set(Path("/proc/cpuinfo").read_text().split()) if Path("/proc/cpuinfo").is_file() else set()
    if flags:
        assert precision.native_bf16() == bool(flags & {"amx_bf16", "avx512_bf16"})
        assert precision.native_bf16("cpu") == precision.native_bf16(torch.device("cpu"))
    if not torch.cuda.is_available():
        assert not precision.native_bf16("cuda")


def test_training_in_bf16_on_an_emulating_cpu_warns_once(cpu, tiny_classifier, tiny_lm, photo_files):
    pairs = CaptionPairs([(path, "a bird sits on the grass") for path in photo_files])
    model = TExplain(tiny_classifier, tiny_lm, prefix_length=4, hidden_dim=64)

    def train(bf16):
        return lambda: model.fit(
            pairs, config=TrainConfig(steps=1, batch_size=2, bf16=bf16, reference=False), progress=False
        )

    cpu()
    assert not precision.native_bf16("cpu")
    assert emulation_warnings(train(False)) == []  # float32: nothing to say
    messages = emulation_warnings(lambda: (train(True)(), train(True)()))
    assert len(messages) == 1 and "no AMX or AVX512-BF16" in messages[0] and "training" in messages[0]
    cpu("avx512_bf16")
    assert precision.native_bf16("cpu") and emulation_warnings(train(True)) == []


def test_sampling_with_a_bf16_lm_on_an_emulating_cpu_warns_once(cpu, tiny_lm_dir):
    """Sampling warns, not loading: a bf16 LM loaded on the CPU may be bound for a GPU."""
    lm = FrozenLanguageModel.from_pretrained(tiny_lm_dir)
    prefix = torch.randn(1, 3, lm.embed_dim, generator=torch.Generator().manual_seed(0))
    settings = SamplingSettings(n_sentences=4, max_new_tokens=3)

    def sample():
        return sample_sentences(lm, prefix, settings)

    cpu()
    assert emulation_warnings(sample) == []  # float32
    lm.to(torch.bfloat16)
    messages = emulation_warnings(lambda: (sample(), sample()))
    assert len(messages) == 1 and "sampling" in messages[0] and "no AMX or AVX512-BF16" in messages[0]
    cpu("amx_bf16")
    assert emulation_warnings(sample) == []
