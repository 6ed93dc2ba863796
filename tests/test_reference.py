"""The reference word distribution and the trust columns (lift, Wilson interval, above_prior)."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from texplain_widgets.errors import InputError
from texplain_widgets.model.language import FrozenLanguageModel
from texplain_widgets.model.reference import REFERENCE, Reference, compute_reference, shuffled_vectors
from texplain_widgets.model.texplain import TExplain
from texplain_widgets.words.trust import add_trust, prior_note, wilson_interval

TRUST = ["reference_share", "lift", "share_low", "share_high", "above_prior"]


def _token(lm, word: str) -> int:
    return lm.tokenizer.convert_tokens_to_ids(word)


def _features(model, images) -> torch.Tensor:
    with torch.inference_mode():
        return model.classifier(model.classifier.preprocess(images))[0].float()


def _reference_set(features: torch.Tensor, planted: int) -> torch.Tensor:
    """Many copies of the other images' features and one of the planted image's."""
    others = torch.cat([features[:planted], features[planted + 1 :]])
    return torch.cat([others.repeat(20, 1), features[planted : planted + 1]])


@pytest.fixture
def planted(tiny_classifier, tiny_lm, photos):
    """A translator that gives the prefix 'water water ...' to one image's features only, the
    empty prefix to the others (a Tanh unit thresholded on that image's feature direction)."""
    torch.manual_seed(0)
    model = TExplain(tiny_classifier, tiny_lm, prefix_length=4, hidden_dim=8)
    images = list(photos.values())
    features = _features(model, images)
    margins = []
    for i in range(len(images)):
        u = features[i] - torch.cat([features[:i], features[i + 1 :]]).mean(0)
        projection = features @ u
        margins.append(float(projection[i] - torch.cat([projection[:i], projection[i + 1 :]]).max()))
    chosen = int(np.argmax(margins))
    u = features[chosen] - torch.cat([features[:chosen], features[chosen + 1 :]]).mean(0)
    projection = features @ u
    threshold = float(projection[chosen]) - margins[chosen] / 2
    water = tiny_lm.model.get_input_embeddings().weight[_token(tiny_lm, "water")].detach().float()
    first, last = model.translator.mapper[0], model.translator.mapper[2]
    with torch.no_grad():
        for layer in (first, last):
            layer.weight.zero_()
            layer.bias.zero_()
        scale = 50 / margins[chosen]
        first.weight[0], first.bias[0] = scale * u, -scale * threshold
        direction = (5 * water).repeat(4)  # tanh = +1: twice this prefix; -1: zero
        last.weight[:, 0], last.bias[:] = direction, direction
    return model, images, chosen, features


def test_wilson_interval_known_values():
    from scipy.stats import binomtest

    successes, n = [0, 5, 10, 81], [10, 10, 10, 263]
    low, high = wilson_interval(successes, n)
    np.testing.assert_allclose(low, [0.0, 0.236593, 0.722467, 0.255289], atol=1e-6)  # by hand
    np.testing.assert_allclose(high, [0.277533, 0.763407, 1.0, 0.366210], atol=1e-6)
    for k, size, lo, hi in zip(successes, n, low, high):
        interval = binomtest(k, size).proportion_ci(method="wilson")
        assert (lo, hi) == pytest.approx((interval.low, interval.high), abs=1e-12)
    assert wilson_interval(0, 0) == (0.0, 1.0)  # nothing seen: anything possible


def test_add_trust_smooths_the_lift_and_marks_the_prior():
    reference = Reference(
        pd.DataFrame({"word": ["photo", "grass"], "count": [400, 10], "share": [0.4, 0.01]}), 1000, 100
    )
    table = pd.DataFrame(
        {"word": ["photo", "grass", "kite"], "count": [45, 60, 30], "share": [0.45, 0.6, 0.3]}
    )
    out = add_trust(table, 100, reference)
    assert list(out["word"]) == ["photo", "grass", "kite"] and out.columns[-5:].tolist() == TRUST
    assert out["reference_share"].tolist() == [0.4, 0.01, 0.0]
    assert out["above_prior"].tolist() == [False, True, True]
    pseudo = 0.5 / 100  # half a sentence of the smaller side, the same share on both sides
    assert out["lift"].iloc[0] == pytest.approx((0.45 + pseudo) / (0.4 + pseudo))
    assert np.isfinite(out["lift"].iloc[2]) and out["lift"].iloc[2] == pytest.approx((0.3 + pseudo) / pseudo)
    note = prior_note(out.iloc[0].to_dict())
    assert note == "not above the language prior: 40% of reference sentences vs 45% here (lift 1.1)"


def test_shuffled_vectors_keep_each_coordinate_from_the_set():
    features = torch.arange(12.0).view(4, 3) * torch.tensor([1.0, 10.0, 100.0])
    vectors = shuffled_vectors(features, 50, seed=0)
    for j in range(3):
        assert set(vectors[:, j].tolist()) <= set(features[:, j].tolist())
    rows = (vectors[:, None, :] == features[None]).float().argmax(1)  # (vector, coordinate) -> its image
    assert len({tuple(r) for r in rows.tolist()}) > 10
    assert (rows != rows[:, :1]).any(1).float().mean() > 0.8  # most vectors mix images: none is one image
    torch.testing.assert_close(vectors, shuffled_vectors(features, 50, seed=0))


def test_a_word_planted_in_one_image_is_above_the_prior(planted):
    model, images, chosen, features = planted
    reference = model.compute_reference(_reference_set(features, chosen), max_new_tokens=6)
    assert reference.n_sentences == 128 * 8 and reference.n_vectors == 128
    assert reference.share("water") < 0.3  # the empty prefix rarely says it
    explanations = model.explain(images, 64, max_new_tokens=6)
    for i, explanation in enumerate(explanations):
        words = explanation.words.set_index("word")
        assert words.columns[-5:].tolist() == TRUST
        if i == chosen:
            assert words.loc["water", "share"] > 0.6 and bool(words.loc["water", "above_prior"])
            assert words.loc["water", "lift"] > 2
        elif "water" in words.index:
            assert not words.loc["water", "above_prior"]  # the others say it as the prior does
    record = json.loads(json.dumps(explanations[chosen].to_dict(n_words=3)))
    assert set(TRUST) <= set(record["words"][0]) and record["reference"]["n_vectors"] == 128


def test_a_word_planted_in_the_prior_is_not_above_it(tiny_classifier, tiny_lm_dir, photos):
    lm = FrozenLanguageModel.from_pretrained(tiny_lm_dir)  # its own copy: biased below
    head = lm.model.get_output_embeddings().weight
    with torch.no_grad():  # the last hidden state leans towards "sky" whatever the input
        lm.model.transformer.ln_f.bias += 8 * head[_token(lm, "sky")] / head[_token(lm, "sky")].norm()
    torch.manual_seed(0)
    model = TExplain(tiny_classifier, lm, prefix_length=4, hidden_dim=16)
    images = list(photos.values())
    model.compute_reference(_features(model, images).repeat(8, 1), max_new_tokens=6)
    assert model.reference.share("sky") > 0.8
    for explanation in model.explain(images, 64, max_new_tokens=6):
        sky = explanation.words.set_index("word").loc["sky"]
        assert sky["share"] > 0.7 and not sky["above_prior"] and sky["lift"] == pytest.approx(1, abs=0.25)


def test_reference_sentences_are_independent_across_vectors(planted):
    model, images, chosen, features = planted
    others = torch.cat([features[:chosen], features[chosen + 1 :]])
    reference = compute_reference(model, others, n_vectors=16, sentences_per_vector=4, max_new_tokens=6)
    # every vector's prefix is the empty one here: shared random streams would repeat 4 sentences
    assert len(reference.words) > 5 and reference.words["share"].max() < 1


def test_reference_round_trips_through_save_pretrained(planted, tiny_lm, tmp_path, photos):
    model, images, chosen, features = planted
    assert model.reference is None and "lift" not in model.explain(images[0], 8, max_new_tokens=4).words
    model.compute_reference(images, n_vectors=16, sentences_per_vector=4, max_new_tokens=6)
    model.save_pretrained(tmp_path / "m")
    assert (tmp_path / "m" / REFERENCE).is_file()
    loaded = TExplain.from_pretrained(tmp_path / "m", language_model=tiny_lm)
    pd.testing.assert_frame_equal(loaded.reference.words, model.reference.words)
    assert loaded.reference.settings["reference_set"] == len(images)
    model.reference = None  # a model without one leaves no stale file behind
    model.save_pretrained(tmp_path / "m")
    assert not (tmp_path / "m" / REFERENCE).exists()


def test_a_reference_of_other_weights_is_ignored(planted, tiny_lm, tmp_path):
    model, images, chosen, features = planted
    model.compute_reference(features, n_vectors=8, sentences_per_vector=2, max_new_tokens=4)
    model.save_pretrained(tmp_path / "m")
    stale = model.reference
    with torch.no_grad():
        model.translator.mapper[2].bias += 1
    model.reference = None
    model.save_pretrained(tmp_path / "m")
    stale.save(tmp_path / "m")
    with pytest.warns(UserWarning, match="other translator weights"):
        assert TExplain.from_pretrained(tmp_path / "m", language_model=tiny_lm).reference is None


def test_the_images_method_samples_real_images_of_the_set(planted):
    model, images, chosen, features = planted
    reference = compute_reference(model, features, method="images", n_vectors=8, max_new_tokens=6)
    assert reference.method == "images of the reference set" and reference.n_sentences == 64
    # each of the 4 images twice: the planted one in a quarter of the vectors
    assert 0.15 < reference.share("water") < 0.5


def test_bad_reference_sets_are_refused(planted):
    model, images, chosen, features = planted
    with pytest.raises(InputError, match="at least 2"):
        compute_reference(model, features[:1])
    with pytest.raises(InputError, match=r"\(N, 96\)"):
        compute_reference(model, features[:, :5])
    with pytest.raises(InputError, match="feature tensor or a list"):
        compute_reference(model, "folder")
    with pytest.raises(InputError, match="method must be"):
        compute_reference(model, features, method="mean")


@pytest.mark.parametrize("n, ref_n", [(64, 1024), (6400, 1024), (8, 8), (1, 100_000)])
def test_a_word_neither_side_says_has_lift_one_and_differences_keep_their_direction(n, ref_n):
    reference = Reference(
        pd.DataFrame({"word": ["sky", "grass", "photo"], "count": [1, 1, 1], "share": [0.1, 0.2, 0.5]}),
        ref_n,
        128,
    )
    table = pd.DataFrame(
        {
            "word": ["zeppelin", "sky", "grass", "kite", "photo"],
            "count": [0, 1, 1, 1, 1],
            "share": [0.0, 0.3, 0.05, 0.4, 0.0],
        }
    )
    lift = add_trust(table, n, reference).set_index("word")["lift"]
    assert lift["zeppelin"] == pytest.approx(1.0)  # said by neither side: no evidence either way
    assert lift["sky"] > 1 and lift["kite"] > 1  # said more here than in the reference
    assert lift["grass"] < 1 and lift["photo"] < 1  # said less here
    assert np.isfinite(lift).all()


def test_the_reference_interval_counts_distinct_images(planted):
    model, images, chosen, features = planted
    six = torch.cat([features, features[:2] * 1.5])  # 6 distinct images
    reference = compute_reference(model, six, n_vectors=128, sentences_per_vector=2, max_new_tokens=4)
    assert reference.n_vectors == 128 and reference.n_images == 6 and reference.interval_n == 6
    assert Reference.from_dict(json.loads(json.dumps(reference.to_dict()))).interval_n == 6
    twice = compute_reference(model, features.repeat(2, 1), n_vectors=8, sentences_per_vector=2)
    assert twice.n_images == len(images)  # the same image twice is one image
    table = pd.DataFrame({"word": ["water"], "count": [1], "share": [0.5]})
    out = add_trust(table, 64, reference)
    _, ref_high = wilson_interval(reference.share("water") * 6, 6)
    assert out["above_prior"].iloc[0] == (out["share_low"].iloc[0] > ref_high)


def test_an_old_saved_reference_falls_back_to_its_set_size():
    words = [{"word": "sky", "count": 3, "share": 0.25}]
    old = {"format": "texplain-reference/1", "method": "images of the reference set", "n_sentences": 1024}
    old |= {"n_vectors": 128, "words": words, "settings": {"reference_set": 6}}
    assert Reference.from_dict(old).interval_n == 6  # 128 draws from 6 images: 6
    assert Reference.from_dict(old | {"settings": {"reference_set": 4000}}).interval_n == 128
    assert Reference.from_dict(old | {"settings": {}}).interval_n == 128  # nothing known: its vectors


def test_a_reference_of_other_sampling_settings_leaves_lift_empty(planted, capsys):
    from texplain_widgets.cli.tables import print_explanation, short_words

    model, images, chosen, features = planted
    model.compute_reference(features, n_vectors=8, sentences_per_vector=2, max_new_tokens=6)
    assert model.explain(images[chosen], 16, max_new_tokens=6).words["lift"].notna().all()
    other = model.explain(images[chosen], 16, max_new_tokens=4)
    with pytest.warns(UserWarning, match="max_new_tokens 6 vs 4"):
        words = other.words
    assert words.columns[-5:].tolist() == TRUST
    assert words[["reference_share", "lift", "above_prior"]].isna().all().all()
    low, high = wilson_interval(words["share"] * 16, 16)  # the share's own interval needs no reference
    np.testing.assert_allclose(words["share_low"], low) and np.testing.assert_allclose(
        words["share_high"], high
    )
    assert "max_new_tokens 6 vs 4" in words.attrs["reference_note"]
    assert "not comparable" in words.attrs["reference_note"]
    record = json.loads(json.dumps(other.to_dict(n_words=2), allow_nan=False))
    assert record["words"][0]["lift"] is None and record["reference"]["comparable"] is False
    assert short_words(words.head(2)) == [f"{w} {s:.0%}" for w, s in words[["word", "share"]].head(2).values]
    print_explanation("img", other, 3)
    printed = capsys.readouterr().out
    assert "not comparable" in printed and "nan" not in printed
    with pytest.warns(UserWarning, match="top_p 0.9 vs 0.5"):
        assert model.explain(images[0], 4, max_new_tokens=6, top_p=0.5).words["lift"].isna().all()
    with pytest.warns(UserWarning, match="temperature 1.0 vs 0.7"):
        assert model.explain(images[0], 4, max_new_tokens=6, temperature=0.7).words["lift"].isna().all()
