"""The static-cache engine (engine="static") on the CPU: same sentences as the eager engine."""

import pytest
import torch

from texplain_widgets.errors import Cancelled, InputError
from texplain_widgets.model import row_cache, static_decode
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


def static_run(lm, settings: SamplingSettings, n_images: int = 3, **options):
    """Sentences of a fresh decoder (a new cache) and the decode steps it ran."""
    static_decode._decoders.pop(lm.model, None)
    sentences = sample_sentences(lm, prefixes(lm, n=n_images), settings, **options)
    return sentences, decoder_for(lm.model, 4, settings, "cpu").forwards


MANY = {"n_sentences": 100, "max_new_tokens": 12, "seed": 1, "batch_size": 32}  # 300 sentences, 3 images


def test_refilled_rows_give_exactly_the_eager_sentences(tiny_lm):
    """300 sentences of 3 images in a bucket of 32 rows: each row takes about 9 sentences in turn,
    of one image and then the next, ending at different steps; each is the eager engine's."""
    eager = sample_sentences(tiny_lm, prefixes(tiny_lm, n=3), SamplingSettings(**MANY))
    static, forwards = static_run(tiny_lm, SamplingSettings(**MANY, engine="static"))
    assert static == eager
    assert len({len(s.split()) for image in static for s in image}) >= 8  # many different lengths
    assert forwards < 300 / 32 * 11  # fewer steps than 300 / 32 batches of up to 11 steps each


@torch.inference_mode()  # as sample_sentences decodes
def test_refilling_keeps_the_bucket_full(tiny_lm):
    """Each sentence's length as it ends: batches of 32 decoded in turn, each until its longest
    sentence ends (the engine before refilling), take far more steps than the refilled rows."""
    from texplain_widgets.model.continuous import Pending
    from texplain_widgets.model.generate import _noise_blocks, _run_prefixes

    settings = SamplingSettings(**MANY, engine="static")
    lm = tiny_lm.model
    prefix_cache, first_logits = _run_prefixes(lm, prefixes(tiny_lm, n=3))
    blocks = [(image, block) for image in range(3) for block in range(4)]
    pending = Pending(_noise_blocks(blocks, settings, "cpu", [0, 1, 2]))
    ended = {}
    decoder = decoder_for(lm, 4, settings, "cpu")
    before = decoder.forwards
    finish = lambda index, tokens, lengths: ended.update(zip(index.tolist(), lengths.tolist()))  # noqa: E731
    decoder.decode(lm, prefix_cache, first_logits, pending, tiny_lm.stop_token_mask, 32, finish)
    forwards = decoder.forwards - before
    lengths = [ended[i] for i in range(300)]
    batches = sum(max(lengths[start : start + 32]) - 1 for start in range(0, 300, 32))
    assert sum(n - 1 for n in lengths) / 32 <= forwards < 0.85 * batches
    assert len(set(lengths)) >= 8  # sentences end at many different steps


@pytest.mark.parametrize("batch_size", [64, 256, 1024])
def test_refilled_sentences_do_not_depend_on_the_bucket(tiny_lm, batch_size):
    base, _ = static_run(tiny_lm, SamplingSettings(**MANY, engine="static"))
    other = SamplingSettings(**{**MANY, "batch_size": batch_size}, engine="static")
    assert static_run(tiny_lm, other)[0] == base
    alone, _ = static_run(tiny_lm, other, n_images=3, image_ids=[0, 1, 5])
    assert alone[:2] == base[:2] and alone[2] != base[2]  # image 2's sentences come from its id


def test_row_cache_writes_and_masks_each_row_at_its_own_position(tiny_lm):
    cache = row_cache.RowCache(tiny_lm.model.config, max_cache_len=6, rows=3, device="cpu")
    assert all(isinstance(layer, row_cache.RowLayer) for layer in cache.layers)
    cache.positions.copy_(torch.tensor([0, 2, 5]))
    keys = torch.arange(1.0, 4.0).view(3, 1, 1, 1).expand(3, 2, 1, 16)
    stored, _ = cache.update(keys, -keys, 0)
    assert stored[:, 0, :, 0].tolist() == [[1, 0, 0, 0, 0, 0], [0, 0, 2, 0, 0, 0], [0, 0, 0, 0, 0, 3]]
    options = cache.step_options()
    assert options["attention_mask"].sum(1).tolist() == [1, 3, 6]  # positions up to each row's own
    assert options["position_ids"].flatten().tolist() == [0, 2, 5]
    cache.advance()
    assert cache.positions.tolist() == [1, 3, 5]  # held at the last position


def test_refilled_llama_rows_give_the_eager_sentences(tiny_llama):
    """Llama's rotary embedding takes each row's own position ids."""
    eager = sample_sentences(tiny_llama, prefixes(tiny_llama, n=3), SamplingSettings(**MANY))
    static, _ = static_run(tiny_llama, SamplingSettings(**MANY, engine="static"))
    assert static_decode.supports(tiny_llama.model)
    assert static == eager
    assert len({s for image in static for s in image}) > 50


def test_sliding_window_layers_fall_back_to_the_eager_engine(tiny_lm, tiny_lm_dir, tmp_path):
    """Mistral's sliding-window cache layers cannot take per-row positions: the eager engine samples."""
    from conftest import tiny_causal_lm
    from transformers import MistralConfig

    mistral = tiny_causal_lm(tiny_lm_dir, tmp_path, MistralConfig, sliding_window=8)
    assert not static_decode.supports(mistral.model) and static_decode.supports(tiny_lm.model)
    eager = sample_sentences(mistral, prefixes(mistral, n=3), SamplingSettings(**MANY))
    static = sample_sentences(mistral, prefixes(mistral, n=3), SamplingSettings(**MANY, engine="static"))
    assert static == eager and mistral.model not in static_decode._decoders
    with pytest.raises(ValueError, match="StaticSlidingWindowLayer"):
        row_cache.RowCache(mistral.model.config, max_cache_len=16, rows=32, device="cpu")


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
