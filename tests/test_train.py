from pathlib import Path

import pytest
import torch

from texplain_widgets.data.captions import CaptionPairs
from texplain_widgets.errors import Cancelled, CheckpointMismatchError, InputError
from texplain_widgets.model.texplain import TExplain
from texplain_widgets.model.train import TrainConfig
from texplain_widgets.model.train_state import STATE_JSON

CAPTIONS = {
    "astronaut": "a small red bird sits on the grass",
    "chelsea": "a big cat sits near the tree",
    "coffee": "a dog runs on the sand",
    "rocket": "a blue bird flies over the water",
}


@pytest.fixture
def pairs(photo_files):
    return CaptionPairs([(path, CAPTIONS[path.stem]) for path in photo_files])


def quick(**settings) -> TrainConfig:
    """Training settings without the report card and the reference (each samples sentences)."""
    return TrainConfig(report_sentences=0, reference=False, **settings)


def fresh(tiny_classifier, tiny_lm):
    torch.manual_seed(0)
    return TExplain(tiny_classifier, tiny_lm, prefix_length=4, hidden_dim=64)


def test_training_lowers_the_caption_loss(tiny_classifier, tiny_lm, pairs):
    model = fresh(tiny_classifier, tiny_lm)
    config = quick(steps=60, batch_size=4, learning_rate=3e-3, eval_every=30)
    history = fit_quietly(model, pairs, pairs, config=config)
    assert [r["step"] for r in history if "val_loss" in r] == [30, 60]
    assert history[-1]["val_loss"] < 0.5 * history[0]["loss"]
    assert not model.translator.training
    # only the translator learned: the frozen parts have no gradients
    assert all(p.grad is None for p in model.language_model.parameters())


def test_training_is_deterministic_and_resumes_exactly(tiny_classifier, tiny_lm, pairs, tmp_path):
    config = quick(steps=8, batch_size=2, checkpoint_every=4)
    straight = fit_quietly(fresh(tiny_classifier, tiny_lm), pairs, config=config)
    assert straight == fit_quietly(fresh(tiny_classifier, tiny_lm), pairs, config=config)

    model = fresh(tiny_classifier, tiny_lm)
    calls = []
    with pytest.raises(Cancelled, match="step 5"):
        fit_quietly(
            model,
            pairs,
            config=config,
            checkpoint_dir=tmp_path,
            cancel=lambda: calls.append(1) or len(calls) > 5,
        )
    assert len(list(tmp_path.glob("features-train-*.safetensors"))) == 1
    resumed = fit_quietly(fresh(tiny_classifier, tiny_lm), pairs, config=config, checkpoint_dir=tmp_path)
    assert [r["loss"] for r in resumed] == pytest.approx([r["loss"] for r in straight], rel=1e-5)
    loaded = TExplain.from_pretrained(tmp_path, language_model=tiny_lm)
    assert loaded.translator.config.prefix_length == 4


def test_resuming_with_other_settings_is_refused(tiny_classifier, tiny_lm, pairs, tmp_path):
    fit_quietly(
        fresh(tiny_classifier, tiny_lm),
        pairs,
        config=quick(steps=2, batch_size=2),
        checkpoint_dir=tmp_path,
    )
    with pytest.raises(CheckpointMismatchError, match="resume=False"):
        fit_quietly(
            fresh(tiny_classifier, tiny_lm),
            pairs,
            config=quick(steps=3, batch_size=2),
            checkpoint_dir=tmp_path,
        )


def fit_quietly(model, train, val=None, **options):
    return model.fit(train, val, progress=False, **options)


def test_training_from_precomputed_features(tiny_classifier, tiny_lm, pairs):
    from texplain_widgets.model.train import CachedFeatures, compute_features

    cached = compute_features(tiny_classifier, pairs)
    assert cached.features.shape == (4, tiny_classifier.feature_dim) and cached.captions == pairs.captions
    config = quick(steps=8, batch_size=2)
    from_images = fit_quietly(fresh(tiny_classifier, tiny_lm), pairs, config=config)
    from_features = fit_quietly(fresh(tiny_classifier, tiny_lm), cached, config=config)
    assert [r["loss"] for r in from_features] == pytest.approx([r["loss"] for r in from_images], rel=1e-5)
    with pytest.raises(InputError, match="do not match 3 captions"):
        CachedFeatures(cached.features, cached.captions[:3])


def hf_caption_loss(captions, indices):
    """The reference: HF's own labels loss over every position, with an attention mask."""
    lm = captions.model.language_model
    ids, mask = captions.padded(indices)
    prefix = captions.model.translator(captions.features[indices])
    k = prefix.shape[1]
    inputs = torch.cat([prefix, lm.embed(ids)], dim=1)
    attention = torch.cat([torch.ones(len(ids), k, dtype=torch.long), mask.long()], dim=1)
    labels = torch.cat([torch.full((len(ids), k), -100), ids.masked_fill(~mask, -100)], dim=1)
    return lm.model(inputs_embeds=inputs, attention_mask=attention, labels=labels).loss


def test_the_step_computes_hf_loss_with_less_work(tiny_classifier, tiny_lm):
    """Logits only where a caption token is predicted, no mask: the same loss and gradients."""
    from texplain_widgets.model.train import CachedFeatures, _Captions

    model = fresh(tiny_classifier, tiny_lm)
    texts = ["a bird", "a small red bird sits on the grass near a tree", "a cat sits"]
    cached = CachedFeatures(torch.randn(3, tiny_classifier.feature_dim), texts)
    captions = _Captions(model, cached, TrainConfig(batch_size=3))
    assert len(set(captions.lengths.tolist())) == 3  # the batch is padded
    indices = torch.arange(3)
    ours = captions.loss(indices)
    ours.backward()
    ours_grad = [p.grad.clone() for p in model.translator.parameters()]
    model.translator.zero_grad()
    reference = hf_caption_loss(captions, indices)
    reference.backward()
    assert ours.item() == pytest.approx(reference.item(), rel=1e-5)
    for mine, theirs in zip(ours_grad, (p.grad for p in model.translator.parameters())):
        torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-6)


def test_batches_group_similar_lengths_and_cover_each_epoch_once(tiny_classifier, tiny_lm):
    from texplain_widgets.model.train import BUCKET_POOL, CachedFeatures, _Captions

    model = fresh(tiny_classifier, tiny_lm)
    generator = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 30, (256,), generator=generator).tolist()
    texts = [" ".join(["bird"] * n) for n in lengths]
    cached = CachedFeatures(torch.randn(256, tiny_classifier.feature_dim), texts)
    captions = _Captions(model, cached, TrainConfig(batch_size=8, seed=3))
    per_epoch = 256 // 8
    epoch = [captions.batch_indices(step) for step in range(per_epoch)]
    assert sorted(torch.cat(epoch).tolist()) == list(range(256))  # each caption once per epoch
    assert torch.equal(captions.batch_indices(5), epoch[5])  # a function of the step: resumable
    assert not torch.equal(captions.batch_indices(per_epoch + 5), epoch[5])  # a new epoch, new order
    spread = [int(captions.lengths[b].max() - captions.lengths[b].min()) for b in epoch]
    random_spread = [
        int(captions.lengths[b].max() - captions.lengths[b].min()) for b in torch.randperm(256).view(-1, 8)
    ]
    assert sum(spread) < 0.5 * sum(random_spread)
    # batches of one pool are not served shortest first
    first_pool = [int(captions.lengths[b].min()) for b in epoch[:BUCKET_POOL]]
    assert first_pool != sorted(first_pool)


def test_training_stops_when_the_val_loss_stops_falling(tiny_classifier, tiny_lm, pairs, tmp_path):
    from texplain_widgets.model.train import _plateaued

    assert not _plateaued([{"val_loss": 3.0}, {"val_loss": 2.0}, {"val_loss": 2.5}], 2)
    assert _plateaued([{"val_loss": 2.0}, {"val_loss": 2.1}, {"val_loss": 2.0}], 2)
    assert not _plateaued([{"val_loss": 2.0}, {"val_loss": 2.1}], None)
    # learning rate 0: the val loss never improves, so training stops after patience + 1 evaluations
    config = quick(steps=50, batch_size=2, learning_rate=0.0, eval_every=2, patience=2)
    history = fit_quietly(
        fresh(tiny_classifier, tiny_lm), pairs, pairs, config=config, checkpoint_dir=tmp_path
    )
    assert history[-1]["step"] == 6 and len([r for r in history if "val_loss" in r]) == 3
    # resuming a run that stopped trains no further
    again = fit_quietly(fresh(tiny_classifier, tiny_lm), pairs, pairs, config=config, checkpoint_dir=tmp_path)
    assert again == history


def test_fit_measures_the_report_card_and_the_reference_and_saves_them(
    tiny_classifier, tiny_lm, pairs, tmp_path
):
    config = TrainConfig(steps=4, batch_size=2, report_sentences=2)
    model = fresh(tiny_classifier, tiny_lm)
    history = fit_quietly(model, pairs, pairs, config=config, checkpoint_dir=tmp_path)
    card = model.report_card
    assert card["n_captions"] == 4 and card["final_val_loss"] == round(history[-1]["val_loss"], 4)
    assert model.reference is not None and model.reference.n_sentences > 0
    loaded = TExplain.from_pretrained(tmp_path, language_model=tiny_lm)
    assert loaded.report_card == card
    assert loaded.reference.to_dict() == model.reference.to_dict()
    # resuming the finished run measures nothing again: the saved card and reference come back
    again = fresh(tiny_classifier, tiny_lm)
    assert fit_quietly(again, pairs, pairs, config=config, checkpoint_dir=tmp_path) == history
    assert again.report_card == card and again.reference.to_dict() == model.reference.to_dict()
    # without a val split there is no card; reference=False computes no reference
    plain = fresh(tiny_classifier, tiny_lm)
    fit_quietly(plain, pairs, config=TrainConfig(steps=2, batch_size=2, reference=False))
    assert plain.report_card is None and plain.reference is None


class Killed(BaseException):
    """A kill -9 between two writes of a checkpoint (BaseException: nothing catches it)."""


def test_a_kill_between_the_checkpoint_writes_resumes_exactly(
    tiny_classifier, tiny_lm, pairs, tmp_path, monkeypatch
):
    """Killed after step 4's translator was written, before its optimizer and trainer state: the
    resume restarts from step 2 with step 2's weights, never step 2 with step 4's weights."""
    config = quick(steps=8, batch_size=2, checkpoint_every=2)
    straight = fit_quietly(fresh(tiny_classifier, tiny_lm), pairs, config=config)
    original, saves = TExplain.save_pretrained, []

    def killed_after_the_weights(self, directory, **options):
        written = original(self, directory, **options)
        saves.append(directory)
        if len(saves) == 2:
            raise Killed
        return written

    with monkeypatch.context() as patch:
        patch.setattr(TExplain, "save_pretrained", killed_after_the_weights)
        with pytest.raises(Killed):
            fit_quietly(fresh(tiny_classifier, tiny_lm), pairs, config=config, checkpoint_dir=tmp_path)
    resumed = fit_quietly(fresh(tiny_classifier, tiny_lm), pairs, config=config, checkpoint_dir=tmp_path)
    assert [r["step"] for r in resumed] == list(range(1, 9))
    assert [r["loss"] for r in resumed] == pytest.approx([r["loss"] for r in straight], rel=1e-5)


@pytest.mark.parametrize("killed_at", ["translator.safetensors", "config.json", "trainer_state-", STATE_JSON])
def test_a_kill_at_any_write_of_a_checkpoint_resumes_exactly(
    tiny_classifier, tiny_lm, pairs, tmp_path, monkeypatch, killed_at
):
    """Every file is renamed into place whole; a kill before step 4's state file resumes from step 2."""
    import os

    config = quick(steps=6, batch_size=2, checkpoint_every=2)
    straight = fit_quietly(fresh(tiny_classifier, tiny_lm), pairs, config=config)
    replace, seen = os.replace, []

    def killed_at_the_second_save(source, target):
        if Path(target).name.startswith(killed_at):
            seen.append(target)
            if len(seen) == 2:
                raise Killed
        return replace(source, target)

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", killed_at_the_second_save)
        with pytest.raises(Killed):
            fit_quietly(fresh(tiny_classifier, tiny_lm), pairs, config=config, checkpoint_dir=tmp_path)
    assert not list(tmp_path.glob(".*.tmp"))  # no half-written file is left behind
    resumed = fit_quietly(fresh(tiny_classifier, tiny_lm), pairs, config=config, checkpoint_dir=tmp_path)
    assert [r["loss"] for r in resumed] == pytest.approx([r["loss"] for r in straight], rel=1e-5)
    assert len(list(tmp_path.glob("trainer_state-*.safetensors"))) == 1  # the older saves are gone


def test_a_damaged_training_state_is_refused(tiny_classifier, tiny_lm, pairs, tmp_path):
    config = quick(steps=4, batch_size=2, checkpoint_every=2)
    fit_quietly(fresh(tiny_classifier, tiny_lm), pairs, config=config, checkpoint_dir=tmp_path)
    (state,) = tmp_path.glob("trainer_state-4-*.safetensors")
    data = bytearray(state.read_bytes())
    data[-1] ^= 1
    state.write_bytes(bytes(data))
    with pytest.raises(CheckpointMismatchError, match="step 4 cannot be restored.*resume=False"):
        fit_quietly(fresh(tiny_classifier, tiny_lm), pairs, config=config, checkpoint_dir=tmp_path)
    state.unlink()
    with pytest.raises(CheckpointMismatchError, match="is missing"):
        fit_quietly(fresh(tiny_classifier, tiny_lm), pairs, config=config, checkpoint_dir=tmp_path)
    # resume=False starts over and replaces the state
    fit_quietly(fresh(tiny_classifier, tiny_lm), pairs, config=config, checkpoint_dir=tmp_path, resume=False)
    assert fit_quietly(fresh(tiny_classifier, tiny_lm), pairs, config=config, checkpoint_dir=tmp_path)


def test_a_checkpoint_of_the_older_format_still_resumes_with_a_warning(
    tiny_classifier, tiny_lm, pairs, tmp_path
):
    import json

    from safetensors.torch import load_file, save_file

    config = quick(steps=4, batch_size=2, checkpoint_every=2)
    straight = fit_quietly(fresh(tiny_classifier, tiny_lm), pairs, config=config)
    calls = []
    with pytest.raises(Cancelled):
        fit_quietly(
            fresh(tiny_classifier, tiny_lm),
            pairs,
            config=config,
            checkpoint_dir=tmp_path,
            cancel=lambda: calls.append(1) or len(calls) > 2,
        )
    # as the older version wrote it: optimizer tensors in trainer_state.safetensors, no tensors entry
    meta = json.loads((tmp_path / STATE_JSON).read_text())
    (state,) = tmp_path.glob(meta.pop("tensors"))
    del meta["tensors_blake2b"]
    tensors = load_file(state)
    optimizer = {k.split(".", 1)[1]: v for k, v in tensors.items() if k.startswith("optimizer.")}
    save_file(optimizer, tmp_path / "trainer_state.safetensors")
    state.unlink()
    (tmp_path / STATE_JSON).write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match="older version"):
        resumed = fit_quietly(fresh(tiny_classifier, tiny_lm), pairs, config=config, checkpoint_dir=tmp_path)
    assert [r["loss"] for r in resumed] == pytest.approx([r["loss"] for r in straight], rel=1e-5)
    assert not (tmp_path / "trainer_state.safetensors").exists()  # the next save wrote the new format


def some_captions(tiny_classifier, n: int, per_image: int = 1, seed: int = 0):
    """n captions of n / per_image random feature vectors (an image's captions share its features)."""
    from texplain_widgets.model.train import CachedFeatures

    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(n // per_image, tiny_classifier.feature_dim, generator=generator)
    words = ["a", "bird", "dog", "sits", "on", "the", "grass", "water", "tree"]
    chosen = torch.randint(len(words), (n, 5), generator=generator).tolist()
    captions = [f"{' '.join(words[w] for w in row)} {i}" for i, row in enumerate(chosen)]
    return CachedFeatures(images.repeat_interleave(per_image, 0), captions)


def test_fit_without_val_pairs_holds_out_captions_for_the_val_loss_and_the_card(tiny_classifier, tiny_lm):
    cached = some_captions(tiny_classifier, 60)
    model = fresh(tiny_classifier, tiny_lm)
    config = TrainConfig(steps=2, batch_size=8, eval_every=1, report_sentences=1, reference=False)
    history = model.fit(cached, config=config, progress=False)
    assert [r["val_loss"] > 0 for r in history] == [True, True]
    assert model.report_card is not None and model.report_card["n_captions"] == 6  # 10% of 60
    # val_pairs=None is the explicit opt-out: everything trains, nothing is measured
    plain = fresh(tiny_classifier, tiny_lm)
    history = plain.fit(cached, None, config=config, progress=False)
    assert plain.report_card is None and not any("val_loss" in r for r in history)


def test_the_held_out_captions_are_seeded_disjoint_and_whole_images(tiny_classifier):
    from texplain_widgets.model.train import VAL_MAX, hold_out

    cached = some_captions(tiny_classifier, 300, per_image=3)
    train, val = hold_out(cached, seed=0)
    assert len(val.captions) == 30 and len(train.captions) == 270
    assert not set(train.captions) & set(val.captions)
    assert sorted(train.captions + val.captions) == sorted(cached.captions)
    val_images = {tuple(row.tolist()) for row in val.features}
    assert not val_images & {
        tuple(row.tolist()) for row in train.features
    }  # an image's captions stay together
    assert hold_out(cached, seed=0)[1].captions == val.captions
    assert hold_out(cached, seed=1)[1].captions != val.captions
    assert len(hold_out(some_captions(tiny_classifier, 5000), seed=0)[1].captions) == VAL_MAX
    small = some_captions(tiny_classifier, 10)
    with pytest.warns(UserWarning, match="only 10 caption pairs.*val_pairs"):
        train, val = hold_out(small, seed=0)
    assert val is None and train is small
