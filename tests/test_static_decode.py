"""The static-cache engine (engine="static") on the CPU: same sentences as the eager engine."""

import pytest
import torch

from texplain_widgets.errors import Cancelled, InputError
from texplain_widgets.model import static_decode
from texplain_widgets.model.generate import SamplingSettings, sample_sentences
from texplain_widgets.model.nucleus import CANDIDATES, sample_top_p
from texplain_widgets.model.static_decode import bucket_rows, complete_step, decoder_for, sample_step


def prefixes(lm, n=2, k=4, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, lm.embed_dim, generator=generator)


def identical(first, second) -> float:
    pairs = [(a, b) for x, y in zip(first, second) for a, b in zip(x, y)]
    return sum(a == b for a, b in pairs) / len(pairs)


def test_static_pick_is_the_eager_pick_for_every_kind_of_row():
    """The top-64 pick in the graph plus the wider search outside it choose what sample_top_p does."""
    generator = torch.Generator().manual_seed(0)
    vocab, n = 4096, 200
    logits = torch.randn(3 * n, vocab, generator=generator)
    logits[:n, :8] += 10.0  # peaked rows: the nucleus lies within the top 64
    logits[n : 2 * n, :400] += 6.0  # within the top 1024
    logits[2 * n :] *= 0.05  # flat: wider than the top 1024, a full sort
    uniform = torch.rand(3 * n, generator=generator)
    for top_p, temperature in [(0.9, 1.0), (0.5, 0.7), (0.8, 1.2)]:
        chosen, covered = sample_step(logits, uniform, top_p, temperature)
        assert 0 < int(covered.sum()) < 3 * n  # both the in-graph and the outside path are exercised
        complete_step(chosen, covered, logits, uniform, top_p, temperature)
        assert torch.equal(chosen, sample_top_p(logits, uniform, top_p, temperature))
    widths = (torch.softmax(logits, -1).sort(-1, descending=True).values.cumsum(-1) < 0.9).sum(-1)
    assert widths[n : 2 * n].min() >= CANDIDATES[0] and widths[2 * n :].min() >= CANDIDATES[1]


def test_buckets_are_powers_of_two_up_to_1024():
    assert [bucket_rows(n) for n in (1, 32, 33, 100, 1000, 1024)] == [32, 32, 64, 128, 1024, 1024]
    with pytest.raises(ValueError, match="at most 1024"):
        bucket_rows(1025)


@pytest.mark.parametrize(
    "settings",
    [
        {"n_sentences": 70, "max_new_tokens": 8, "seed": 3, "batch_size": 64},
        {"n_sentences": 300, "max_new_tokens": 12, "seed": 1},
        {"n_sentences": 40, "max_new_tokens": 10, "seed": 2, "top_p": 0.7, "temperature": 1.5},
    ],
)
def test_static_engine_gives_the_eager_sentences(tiny_lm, settings):
    """fp32 on the CPU: the same noise and (within rounding) the same logits, so the same sentences."""
    eager = sample_sentences(tiny_lm, prefixes(tiny_lm), SamplingSettings(**settings))
    static = sample_sentences(tiny_lm, prefixes(tiny_lm), SamplingSettings(**settings, engine="static"))
    assert [len(s) for s in static] == [settings["n_sentences"]] * 2
    assert identical(eager, static) >= 0.95
    assert len({s for image in static for s in image}) > 10  # it samples, it does not repeat one sentence


def test_static_engine_is_exact_where_the_choice_is_clear(tiny_lm):
    """With a nucleus of one token (well-separated logits) the tokens cannot differ by rounding."""
    settings = {"n_sentences": 64, "max_new_tokens": 12, "seed": 5, "top_p": 1e-6}
    eager = sample_sentences(tiny_lm, prefixes(tiny_lm, seed=7), SamplingSettings(**settings))
    static = sample_sentences(
        tiny_lm, prefixes(tiny_lm, seed=7), SamplingSettings(**settings, engine="static")
    )
    assert static == eager


def test_static_rows_do_not_depend_on_the_batch_or_other_images(tiny_lm):
    """Finished rows are masked, not pruned, and batches are padded to buckets: neither changes a row."""
    settings = SamplingSettings(n_sentences=70, max_new_tokens=8, seed=3, batch_size=32, engine="static")
    both = sample_sentences(tiny_lm, prefixes(tiny_lm), settings)
    wide = sample_sentences(
        tiny_lm, prefixes(tiny_lm), SamplingSettings(**{**settings.to_dict(), "batch_size": 512})
    )
    assert wide == both
    alone = sample_sentences(tiny_lm, prefixes(tiny_lm)[1:], settings, image_ids=[1])
    assert alone[0] == both[1]
    other_seed = SamplingSettings(**{**settings.to_dict(), "seed": 4})
    assert sample_sentences(tiny_lm, prefixes(tiny_lm), other_seed) != both


def test_the_cache_is_static_and_reused_across_batches_and_calls(tiny_lm):
    settings = SamplingSettings(n_sentences=96, max_new_tokens=6, batch_size=32, engine="static")
    sample_sentences(tiny_lm, prefixes(tiny_lm), settings)
    decoder = decoder_for(tiny_lm.model, 4, settings, "cpu")
    assert list(decoder.buckets) == [32]  # six batches of 32 rows, one bucket
    layer = decoder.buckets[32].cache.layers[0]
    address = layer.keys.data_ptr()
    assert tuple(layer.keys.shape[::2]) == (32, 4 + 6)  # rows, prefix + max_new_tokens
    sample_sentences(tiny_lm, prefixes(tiny_lm, seed=1), settings)
    assert decoder_for(tiny_lm.model, 4, settings, "cpu") is decoder
    assert decoder.buckets[32].cache.layers[0].keys.data_ptr() == address  # filled in place
    longer = SamplingSettings(**{**settings.to_dict(), "max_new_tokens": 7})
    assert decoder_for(tiny_lm.model, 4, longer, "cpu") is not decoder


def test_static_engine_reports_progress_and_cancels(tiny_lm):
    seen = []
    settings = SamplingSettings(n_sentences=64, max_new_tokens=6, batch_size=32, engine="static")
    sample_sentences(tiny_lm, prefixes(tiny_lm), settings, on_batch=lambda d, t, s: seen.append((d, t)))
    assert seen == [(32, 128), (64, 128), (96, 128), (128, 128)]
    with pytest.raises(Cancelled, match="after 0 of 128"):
        sample_sentences(tiny_lm, prefixes(tiny_lm), settings, cancel=lambda: True)


def test_engine_setting_is_checked_and_saved_only_when_not_the_default():
    with pytest.raises(InputError, match="engine must be one of eager, static"):
        SamplingSettings(engine="graphs")
    assert "engine" not in SamplingSettings().to_dict()  # saved runs' manifests are unchanged
    assert SamplingSettings(engine="static").to_dict()["engine"] == "static"
    assert SamplingSettings(**SamplingSettings(engine="static").to_dict()).engine == "static"


def test_graphs_are_only_wanted_on_cuda(monkeypatch):
    assert not static_decode._graphs_wanted("cpu")
    assert static_decode._graphs_wanted("cuda")
    monkeypatch.setattr(static_decode, "CUDA_GRAPHS", False)
    assert not static_decode._graphs_wanted("cuda")


@pytest.mark.smollm2
def test_static_engine_gives_smollm2s_eager_sentences(smollm2):
    """The real 30-layer Llama-style LM, fp32: the static cache and masks give the eager sentences."""
    ids = smollm2.tokenizer("Describe the photo: a small bird standing on", return_tensors="pt").input_ids
    settings = {"n_sentences": 64, "max_new_tokens": 12, "seed": 0}
    eager = sample_sentences(smollm2, smollm2.embed(ids), SamplingSettings(**settings))
    static = sample_sentences(smollm2, smollm2.embed(ids), SamplingSettings(**settings, engine="static"))
    assert identical(eager, static) >= 0.9


def test_a_deleted_lm_frees_its_decoder(tiny_lm_dir):
    """The decoders (static caches, graphs) are kept per LM without keeping the LM alive."""
    import gc

    from texplain_widgets.model.language import FrozenLanguageModel

    lm = FrozenLanguageModel.from_pretrained(tiny_lm_dir)
    settings = SamplingSettings(n_sentences=32, max_new_tokens=4, engine="static")
    sample_sentences(lm, prefixes(lm), settings)
    assert lm.model in static_decode._decoders
    before = len(static_decode._decoders)
    del lm
    gc.collect()
    assert len(static_decode._decoders) == before - 1


def test_threads_sampling_on_one_lm_get_their_single_threaded_sentences(tiny_lm):
    """Two threads share a decoder (same shapes and settings), a third uses another: none crashes
    and each gets exactly the sentences it gets alone."""
    from concurrent.futures import ThreadPoolExecutor

    shared = {"n_sentences": 96, "max_new_tokens": 8, "batch_size": 32, "engine": "static"}
    jobs = [
        (prefixes(tiny_lm, n=2, k=4, seed=0), SamplingSettings(**shared, seed=1)),
        (prefixes(tiny_lm, n=3, k=4, seed=1), SamplingSettings(**shared, seed=2)),
        (prefixes(tiny_lm, n=2, k=3, seed=2), SamplingSettings(**{**shared, "top_p": 0.7}, seed=3)),
    ]
    alone = [sample_sentences(tiny_lm, p, s) for p, s in jobs]
    with ThreadPoolExecutor(len(jobs)) as pool:
        for _ in range(3):
            together = list(pool.map(lambda job: sample_sentences(tiny_lm, *job), jobs))
            assert together == alone
