import pytest
import torch
from torch import nn

from texplain_widgets.errors import InputError
from texplain_widgets.model.classifier import FrozenClassifier


def test_timm_features_are_pooled_prelogits(tiny_classifier, photos):
    z, logits = tiny_classifier.predict([photos["chelsea"], photos["coffee"]])
    assert z.shape == (2, tiny_classifier.model.num_features)
    assert logits.shape == (2, 2)
    # the logits are the classifier head applied to Z
    torch.testing.assert_close(tiny_classifier.model.get_classifier()(z), logits)


def test_preprocessing_follows_timm_data_config(tiny_classifier, photos):
    pixels = tiny_classifier.preprocess(photos["astronaut"])
    assert pixels.shape == (1, 3, 160, 160)  # test_resnet's own input size, not 224
    assert tiny_classifier.input_size == (3, 160, 160)


def test_weights_never_update(tiny_classifier, photos):
    before = tiny_classifier.fingerprint()
    tiny_classifier.train()
    assert not tiny_classifier.training and not tiny_classifier.model.training
    assert all(not p.requires_grad for p in tiny_classifier.parameters())
    tiny_classifier.predict(photos["rocket"])  # batch norm statistics stay put in eval mode
    assert tiny_classifier.fingerprint() == before


def test_any_module_with_named_feature_layer(photos):
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, 3)
    )
    classifier = FrozenClassifier(model, feature_layer="1")  # 4-D output: averaged over H, W
    z, logits = classifier.predict(photos["coffee"])
    assert z.shape == (1, 8) and logits.shape == (1, 3)
    assert classifier.feature_dim == 8 and classifier.num_classes == 3


def test_unknown_layer_and_bad_shapes_are_clear(tiny_classifier):
    with pytest.raises(InputError, match="layer 'nope' not found"):
        FrozenClassifier(nn.Sequential(nn.Linear(2, 2)), feature_layer="nope")
    with pytest.raises(InputError, match=r"expected pixels of shape \(N, 3, H, W\)"):
        tiny_classifier(torch.zeros(3, 160, 160))
    with pytest.raises(InputError, match="timm cannot create 'no_such_net'"):
        FrozenClassifier.from_timm("no_such_net")


def test_mismatched_weights_name_the_model():
    other = FrozenClassifier.from_timm("test_resnet", num_classes=5).model.state_dict()
    with pytest.raises(InputError, match="weights do not fit timm model 'test_resnet'"):
        FrozenClassifier.from_timm("test_resnet", num_classes=2, state_dict=other)
