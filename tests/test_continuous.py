"""Continuous batching (the eager engine): each sentence is what a plain decode of it gives."""

import math

import pytest
import torch

from texplain_widgets.model import continuous
from texplain_widgets.model.generate import (
    BLOCK,
    SamplingSettings,
    _batch_rows,
    sample_sentences,
    sample_top_p,
)


def prefixes(lm, n=2, k=4, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, lm.embed_dim, generator=generator)


@torch.inference_mode()
def plain_decode(language_model, prefixes, settings, image_ids=None):
    """The sentences without the engine's shortcuts: no cache, no slots, the whole sequence re-run.

    Every sentence of every image decodes in one lock-step batch (ended ones carried along),
    reading its own noise row, the one the engine's blocks give it.
    """
    lm, n_images = language_model.model, prefixes.shape[0]
    blocks = [(i, b) for i in range(n_images) for b in range(math.ceil(settings.n_sentences / BLOCK))]
    rows_image, noise = _batch_rows(blocks, settings, "cpu", image_ids or list(range(n_images)))
    embeds = prefixes[rows_image].to(language_model.dtype)
    stop = language_model.stop_token_mask
    tokens, lengths = [], torch.full((len(rows_image),), settings.max_new_tokens)
    ended = torch.zeros(len(rows_image), dtype=torch.bool)
    for step in range(settings.max_new_tokens):
        logits = lm(inputs_embeds=embeds).logits[:, -1].float()
        chosen = sample_top_p(logits, noise[:, step], settings.top_p, settings.temperature)
        tokens.append(chosen)
        newly = stop[chosen] & ~ended
        lengths[newly], ended = step + 1, ended | newly
        embeds = torch.cat([embeds, language_model.embed(chosen)[:, None]], dim=1)
    tokens = torch.stack(tokens, dim=1)
    texts = language_model.tokenizer.batch_decode(
        [row[:n].tolist() for row, n in zip(tokens, lengths)], skip_special_tokens=True
    )
    sentences = [[] for _ in range(n_images)]
    for image, text in zip(rows_image.tolist(), texts):
        sentences[image].append(" ".join(text.split()))
    return sentences


SETTINGS = [
    {"n_sentences": 70, "max_new_tokens": 8, "seed": 3, "batch_size": 16},
    {"n_sentences": 40, "max_new_tokens": 12, "seed": 1, "batch_size": 7},
    {"n_sentences": 33, "max_new_tokens": 10, "seed": 2, "top_p": 0.7, "temperature": 1.5},
]


@pytest.mark.parametrize("settings", SETTINGS)
@pytest.mark.parametrize("lm_name", ["tiny_lm", "tiny_llama"])
def test_each_sentence_is_its_plain_decode(request, lm_name, settings):
    """GPT-2 (learned positions) and Llama (rotary): refilled slots sit at their own positions."""
    lm = request.getfixturevalue(lm_name)
    settings = SamplingSettings(**settings)
    engine = sample_sentences(lm, prefixes(lm), settings)
    assert engine == plain_decode(lm, prefixes(lm), settings)
    assert len({s for image in engine for s in image}) > 10  # it samples, it does not repeat one sentence


def test_sentences_do_not_depend_on_the_slots_or_the_other_images(tiny_lm):
    first = SamplingSettings(n_sentences=50, max_new_tokens=10, seed=4, batch_size=1)
    three = prefixes(tiny_lm, n=3)
    reference = sample_sentences(tiny_lm, three, first, image_ids=[7, 8, 9])
    for batch_size in (5, 32, 64, 256):
        settings = SamplingSettings(n_sentences=50, max_new_tokens=10, seed=4, batch_size=batch_size)
        assert sample_sentences(tiny_lm, three, settings, image_ids=[7, 8, 9]) == reference
    assert sample_sentences(tiny_lm, three[1:2], first, image_ids=[8])[0] == reference[1]


def test_the_batch_stays_full_and_the_window_bounded(tiny_lm, monkeypatch):
    """Rows per forward stay at the slot count until the work runs out; the window never grows."""
    seen = []
    forward = continuous.Slots._forward

    def recording(self):
        logits = forward(self)
        seen.append((logits.shape[0], self.cache.get_seq_length(), bool(self.pending_left)))
        return logits

    monkeypatch.setattr(continuous.Slots, "_forward", recording)
    original_run = continuous.Slots.run

    def run(self, pending, slots):
        self.pending_left = pending
        original_run(self, pending, slots)

    monkeypatch.setattr(continuous.Slots, "run", run)
    settings = SamplingSettings(n_sentences=100, max_new_tokens=9, seed=0, batch_size=24)
    sample_sentences(tiny_lm, prefixes(tiny_lm, k=5), settings)
    assert all(rows == 24 for rows, _, left in seen if left)
    assert max(length for _, length, _ in seen) <= 5 + 9  # prefix + max_new_tokens - 1, the new token
    tail = [rows for rows, _, left in seen if not left]
    assert len(tail) <= 9 and len(seen) - len(tail) >= 20  # only the last sentences decode in a thin batch


def test_a_cache_that_cannot_refill_decodes_batch_after_batch(tiny_lm, monkeypatch):
    """Models with other cache layers (sliding windows) refill only an empty batch: same sentences."""
    settings = SamplingSettings(n_sentences=45, max_new_tokens=8, seed=6, batch_size=20)
    refilled = sample_sentences(tiny_lm, prefixes(tiny_lm), settings)
    monkeypatch.setattr(continuous, "refillable", lambda cache: False)
    assert sample_sentences(tiny_lm, prefixes(tiny_lm), settings) == refilled


def test_one_token_sentences(tiny_lm):
    """max_new_tokens=1: every sentence ends at its first token, and no forward runs."""
    settings = SamplingSettings(n_sentences=40, max_new_tokens=1, seed=2, batch_size=8)
    assert sample_sentences(tiny_lm, prefixes(tiny_lm), settings) == plain_decode(
        tiny_lm, prefixes(tiny_lm), settings
    )


def test_progress_reports_every_batch_of_ended_sentences(tiny_lm):
    seen = []
    settings = SamplingSettings(n_sentences=50, max_new_tokens=8, batch_size=16)

    def on_batch(done, total, sentences):
        seen.append((done, total, sum(map(len, sentences))))

    result = sample_sentences(tiny_lm, prefixes(tiny_lm), settings, on_batch=on_batch)
    assert seen == [(d, 100, d) for d in (16, 32, 48, 64, 80, 96, 100)]
    assert [len(s) for s in result] == [50, 50]


@pytest.mark.smollm2
def test_smollm2_sentences_are_their_plain_decode(smollm2):
    """Real LM, fp32: refills and batch sizes change the rounding only; nearly every sentence equal."""
    ids = smollm2.tokenizer(
        "Describe the photo in one sentence: a small bird standing on", return_tensors="pt"
    )
    prefix = smollm2.embed(ids.input_ids)
    two = torch.cat([prefix, prefix + 0.05 * prefix.std() * torch.randn_like(prefix)])
    settings = SamplingSettings(n_sentences=48, max_new_tokens=16, seed=0, batch_size=24)
    engine = sample_sentences(smollm2, two, settings)
    plain = plain_decode(smollm2, two, settings)
    wide = sample_sentences(smollm2, two, SamplingSettings(**{**settings.to_dict(), "batch_size": 96}))
    pairs = [(a, b, c) for x, y, z in zip(engine, plain, wide) for a, b, c in zip(x, y, z)]
    same_as_plain = sum(a == b for a, b, _ in pairs) / len(pairs)
    same_across_slots = sum(a == c for a, _, c in pairs) / len(pairs)
    print(f"equal to the plain decode: {same_as_plain:.1%}; across slot counts: {same_across_slots:.1%}")
    assert same_as_plain >= 0.9 and same_across_slots >= 0.9
