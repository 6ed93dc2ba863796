import pytest
import torch

from texplain_widgets.errors import Cancelled, InputError
from texplain_widgets.model.generate import CANDIDATES, SamplingSettings, sample_sentences, sample_top_p


def prefixes(lm, n=2, k=4, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, lm.embed_dim, generator=generator)


def test_top_p_keeps_only_the_nucleus():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]])).expand(1000, -1)
    uniform = torch.rand(1000, generator=torch.Generator().manual_seed(0))
    chosen = sample_top_p(logits, uniform, top_p=0.8, temperature=1.0)
    # nucleus = {0, 1} (0.5 + 0.3 reaches 0.8); renormalised 0.625 / 0.375
    assert set(chosen.tolist()) == {0, 1}
    assert abs((chosen == 0).float().mean().item() - 0.625) < 0.05


def test_top_p_falls_back_to_a_full_sort_for_wide_nuclei():
    """A nucleus wider than the top 1024 tokens is sampled over all of it, in proportion."""
    vocab, rows, top_p = 4096, 2000, 0.9
    logits = torch.linspace(0.0, -0.5, vocab)  # near-uniform, token i is the i-th most likely
    probs = torch.softmax(logits.double(), -1)
    nucleus = int((probs.cumsum(-1) - probs < top_p).sum())  # tokens kept by top-p
    assert CANDIDATES[-1] < nucleus < vocab
    kept = probs[:nucleus] / probs[:nucleus].sum()
    outside_top = float(kept[CANDIDATES[-1] :].sum())  # the nucleus' mass beyond the top 1024: ~0.66
    generator = torch.Generator().manual_seed(0)
    chosen = torch.cat(
        [
            sample_top_p(logits.expand(rows, -1), torch.rand(rows, generator=generator), top_p, 1.0)
            for _ in range(5)
        ]
    )
    assert chosen.max() < nucleus  # never beyond the nucleus
    share = (chosen >= CANDIDATES[-1]).double().mean().item()
    assert abs(share - outside_top) < 0.03  # 10000 draws: the standard error is 0.005
    # and in proportion within the nucleus: its two halves get their probability mass
    half = nucleus // 2
    assert abs((chosen < half).double().mean().item() - float(kept[:half].sum())) < 0.03


def test_sentences_stop_at_their_end(tiny_lm):
    settings = SamplingSettings(n_sentences=40, max_new_tokens=12, seed=1)
    sentences = sample_sentences(tiny_lm, prefixes(tiny_lm), settings)
    assert [len(s) for s in sentences] == [40, 40]
    flat = [s for image in sentences for s in image]
    # a sentence ends at its first '.', and never runs past max_new_tokens words
    assert all(s.count(".") <= 1 and (s.endswith(".") or "." not in s) for s in flat)
    assert all(len(s.replace(".", " .").split()) <= 12 for s in flat)
    assert any(s.endswith(".") for s in flat) and any(not s.endswith(".") for s in flat)


def test_same_seed_same_sentences_and_images_do_not_interfere(tiny_lm):
    settings = SamplingSettings(n_sentences=70, max_new_tokens=8, seed=3, batch_size=64)
    both = sample_sentences(tiny_lm, prefixes(tiny_lm), settings)
    assert both == sample_sentences(tiny_lm, prefixes(tiny_lm), settings)
    alone = sample_sentences(tiny_lm, prefixes(tiny_lm)[1:], settings, image_ids=[1])
    assert alone[0] == both[1]
    other_seed = SamplingSettings(n_sentences=70, max_new_tokens=8, seed=4, batch_size=64)
    assert sample_sentences(tiny_lm, prefixes(tiny_lm), other_seed) != both


def test_each_image_draws_from_streams_of_its_own(tiny_lm):
    """The same prefix at two ids gives independent sentences; the same id gives the same ones."""
    one = prefixes(tiny_lm)[:1]
    twice = torch.cat([one, one])
    settings = SamplingSettings(n_sentences=40, max_new_tokens=8, seed=3)
    first, second = sample_sentences(tiny_lm, twice, settings)
    assert first != second
    assert sum(a == b for a, b in zip(first, second)) < 20  # not the same draws at the same index
    same = sample_sentences(tiny_lm, twice, settings, image_ids=[5, 5])
    assert same[0] == same[1]
    assert sample_sentences(tiny_lm, one, settings, image_ids=[1])[0] == second
    with pytest.raises(InputError, match="image_ids"):
        sample_sentences(tiny_lm, twice, settings, image_ids=[0])


def test_progress_per_batch_and_cancel_between_batches(tiny_lm):
    seen = []
    settings = SamplingSettings(n_sentences=64, max_new_tokens=6, batch_size=32)
    sample_sentences(tiny_lm, prefixes(tiny_lm), settings, on_batch=lambda d, t, s: seen.append((d, t)))
    assert seen == [(32, 128), (64, 128), (96, 128), (128, 128)]
    calls = []
    with pytest.raises(Cancelled, match="after 64 of 128"):
        sample_sentences(
            tiny_lm, prefixes(tiny_lm), settings, cancel=lambda: calls.append(1) or len(calls) > 2
        )


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("n_sentences", 0, "n_sentences"),
        ("top_p", 1.5, "top_p"),
        ("temperature", 0, "temperature"),
        ("max_new_tokens", 0, "max_new_tokens"),
        ("batch_size", 0, "batch_size"),
        ("seed", -1, "seed"),
    ],
)
def test_bad_settings_are_refused(field, value, message):
    with pytest.raises(InputError, match=message):
        SamplingSettings(**{field: value})
