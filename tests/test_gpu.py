"""GPU paths: training under bf16 autocast and sampling on CUDA (skipped without a GPU)."""

import pytest
import torch

from texplain_widgets.data.captions import CaptionPairs
from texplain_widgets.model.texplain import TExplain
from texplain_widgets.model.train import TrainConfig

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_fit_and_explain_on_the_gpu(tiny_classifier, tiny_lm, photo_files):
    torch.manual_seed(0)
    model = TExplain(tiny_classifier, tiny_lm, prefix_length=4, hidden_dim=64).to("cuda")
    pairs = CaptionPairs([(path, "a small red bird sits on the grass") for path in photo_files])
    config = TrainConfig(steps=40, batch_size=4, learning_rate=3e-3, eval_every=40)
    history = model.fit(pairs, pairs, config=config, progress=False)
    assert history[-1]["val_loss"] < 0.5 * history[0]["loss"]
    assert next(model.translator.parameters()).device.type == "cuda"
    explanation = model.explain(photo_files[0], n_sentences=300, max_new_tokens=8)
    assert len(explanation.sentences) == 300
    # it learned to say the caption's words
    assert len(set(explanation.top_words(5)) & {"small", "red", "bird", "sit", "grass"}) >= 3
    model.to("cpu")


def test_widgets_generate_and_map_on_the_gpu(tiny_classifier, tiny_lm, photo_files):
    """The dashboard's model work (browser predictions, Generate, saliency and word maps) on CUDA."""
    from texplain_widgets.widgets.browser import ImageBrowser
    from texplain_widgets.widgets.explorer import Explorer

    torch.manual_seed(0)
    model = TExplain(tiny_classifier, tiny_lm, prefix_length=4, hidden_dim=64).to("cuda")
    browser = ImageBrowser(photo_files, texplain=model)
    explorer = Explorer(model, photo_files[0], n_sentences=256, batch_size=64)
    try:
        browser.wait(120)
        assert None not in browser.predictions
        explanation = explorer.generate().result(120)
        assert len(explanation.sentences) == 256 and explorer.words
        explorer.selected_word = explorer.words[0]["word"]
        explorer.wait(120)
        assert explorer.error == ""
        assert explorer.word_map_png.startswith(b"\x89PNG") and explorer.saliency_png.startswith(b"\x89PNG")
        assert next(model.translator.parameters()).device.type == "cuda"
    finally:
        browser.close()
        explorer.close()
        model.to("cpu")


def test_static_engine_cuda_graphs_match_its_eager_steps(tiny_lm, monkeypatch):
    """engine="static" on CUDA: the captured graphs sample what the same steps run eagerly sample,
    rows refilled (900 sentences in a bucket of 64 rows) inside the replayed graph."""
    import time

    from texplain_widgets.model import static_decode
    from texplain_widgets.model.generate import SamplingSettings, sample_sentences

    prefixes = torch.randn(3, 4, tiny_lm.embed_dim, generator=torch.Generator().manual_seed(0))
    settings = SamplingSettings(n_sentences=300, max_new_tokens=12, seed=1, batch_size=64, engine="static")
    tiny_lm.to("cuda")
    static_decode._decoders.pop(tiny_lm.model, None)  # a fresh decoder: its step count is this call's
    try:
        graphs = sample_sentences(tiny_lm, prefixes, settings)
        decoder = static_decode.decoder_for(tiny_lm.model, 4, settings, torch.device("cuda", 0))
        assert (
            decoder.graphs_wanted and list(decoder.buckets) == [64] and decoder.buckets[64].graph is not None
        )
        assert decoder.forwards < 900 / 64 * 11  # rows were refilled: fewer steps than 15 batches in turn
        assert sample_sentences(tiny_lm, prefixes, settings) == graphs  # replayed graphs: same again
        eager = sample_sentences(
            tiny_lm, prefixes, SamplingSettings(n_sentences=300, max_new_tokens=12, seed=1)
        )
        monkeypatch.setattr(static_decode, "CUDA_GRAPHS", False)
        steps = sample_sentences(tiny_lm, prefixes, settings)
        assert steps == graphs
        pairs = [(a, b) for x, y in zip(eager, graphs) for a, b in zip(x, y)]
        assert sum(a == b for a, b in pairs) >= 0.95 * len(pairs)
        monkeypatch.setattr(static_decode, "CUDA_GRAPHS", True)
        timings = {}
        for engine in ("eager", "static"):
            timed = SamplingSettings(n_sentences=1024, max_new_tokens=20, seed=0, engine=engine)
            sample_sentences(tiny_lm, prefixes[:1], timed)  # warm-up, graph capture
            torch.cuda.synchronize()
            start = time.perf_counter()
            sample_sentences(tiny_lm, prefixes[:1], timed)
            torch.cuda.synchronize()
            timings[engine] = time.perf_counter() - start
        print(
            f"\ntiny GPT-2, 1024 sentences on CUDA: eager {timings['eager']:.3f} s, static {timings['static']:.3f} s"
        )
    finally:
        tiny_lm.to("cpu")
