import pytest
import torch

from texplain_widgets.data.captions import CaptionPairs
from texplain_widgets.errors import Cancelled, CheckpointMismatchError, InputError
from texplain_widgets.model.texplain import TExplain
from texplain_widgets.model.train import TrainConfig

CAPTIONS = {
    "astronaut": "a small red bird sits on the grass",
    "chelsea": "a big cat sits near the tree",
    "coffee": "a dog runs on the sand",
    "rocket": "a blue bird flies over the water",
}


@pytest.fixture
def pairs(photo_files):
    return CaptionPairs([(path, CAPTIONS[path.stem]) for path in photo_files])


def fresh(tiny_classifier, tiny_lm):
    torch.manual_seed(0)
    return TExplain(tiny_classifier, tiny_lm, prefix_length=4, hidden_dim=64)


def test_training_lowers_the_caption_loss(tiny_classifier, tiny_lm, pairs):
    model = fresh(tiny_classifier, tiny_lm)
    config = TrainConfig(steps=60, batch_size=4, learning_rate=3e-3, eval_every=30)
    history = fit_quietly(model, pairs, pairs, config=config)
    assert [r["step"] for r in history if "val_loss" in r] == [30, 60]
    assert history[-1]["val_loss"] < 0.5 * history[0]["loss"]
    assert not model.translator.training
    # only the translator learned: the frozen parts have no gradients
    assert all(p.grad is None for p in model.language_model.parameters())


def test_training_is_deterministic_and_resumes_exactly(tiny_classifier, tiny_lm, pairs, tmp_path):
    config = TrainConfig(steps=8, batch_size=2, checkpoint_every=4)
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
        config=TrainConfig(steps=2, batch_size=2),
        checkpoint_dir=tmp_path,
    )
    with pytest.raises(CheckpointMismatchError, match="resume=False"):
        fit_quietly(
            fresh(tiny_classifier, tiny_lm),
            pairs,
            config=TrainConfig(steps=3, batch_size=2),
            checkpoint_dir=tmp_path,
        )


def fit_quietly(model, train, val=None, **options):
    return model.fit(train, val, progress=False, **options)


def test_training_from_precomputed_features(tiny_classifier, tiny_lm, pairs):
    from texplain_widgets.model.train import CachedFeatures, compute_features

    cached = compute_features(tiny_classifier, pairs)
    assert cached.features.shape == (4, tiny_classifier.feature_dim) and cached.captions == pairs.captions
    config = TrainConfig(steps=8, batch_size=2)
    from_images = fit_quietly(fresh(tiny_classifier, tiny_lm), pairs, config=config)
    from_features = fit_quietly(fresh(tiny_classifier, tiny_lm), cached, config=config)
    assert [r["loss"] for r in from_features] == pytest.approx([r["loss"] for r in from_images], rel=1e-5)
    with pytest.raises(InputError, match="do not match 3 captions"):
        CachedFeatures(cached.features, cached.captions[:3])
