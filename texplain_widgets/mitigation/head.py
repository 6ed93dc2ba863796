"""The classifier's last layer: found, and replaced by a new linear head on the same features.

For a timm model the head is ``get_classifier()`` (replaced through ``reset_classifier``); for
any other ``nn.Module`` it is the ``nn.Linear`` that maps the feature layer's output Z to the
logits, found by running one batch, or named with ``head=``.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from ..errors import InputError
from ..model.classifier import FrozenClassifier


def find_head(classifier: FrozenClassifier, head: str | None = None) -> str:
    """The name (in ``classifier.model``) of the linear layer that maps Z to the logits."""
    modules = dict(classifier.model.named_modules())
    if head is not None:
        if not isinstance(modules.get(head), nn.Linear):
            linears = [name for name, m in modules.items() if isinstance(m, nn.Linear)]
            raise InputError(
                f"head {head!r} is not an nn.Linear of {type(classifier.model).__name__}; "
                f"its linear layers: {', '.join(linears) or 'none'}"
            )
        return head
    if classifier.feature_layer is None:  # timm
        found = classifier.model.get_classifier()
        for name, module in modules.items():
            if module is found and isinstance(module, nn.Linear):
                return name
        raise InputError(
            f"the timm model's classifier is a {type(found).__name__}, not an nn.Linear: "
            "name the linear head with head=..."
        )
    return _traced_head(classifier, modules)


def _traced_head(classifier: FrozenClassifier, modules: dict) -> str:
    seen = {}

    def record(name):
        def hook(_module, inputs, output) -> None:  # returns None: the output stays as it is
            seen.setdefault(name, (inputs[0], output))

        return hook

    hooks = [m.register_forward_hook(record(name)) for name, m in modules.items() if isinstance(m, nn.Linear)]
    try:
        with torch.no_grad():
            probe = torch.randn(2, *classifier.input_size, generator=torch.Generator().manual_seed(0))
            features, logits = classifier(probe.to(next(classifier.model.parameters()).device))
    finally:
        for hook in hooks:
            hook.remove()
    for name, (inputs, output) in seen.items():
        fits = inputs.shape == features.shape and output.shape == logits.shape
        if fits and torch.allclose(inputs, features, atol=1e-5) and torch.allclose(output, logits, atol=1e-4):
            return name
    raise InputError(
        f"no nn.Linear of {type(classifier.model).__name__} maps the features of "
        f"{classifier.feature_layer!r} ({classifier.feature_dim}) straight to the logits "
        f"({classifier.num_classes}); name the last layer with head=... or make the feature layer "
        "the input of the last linear layer"
    )


def with_head(
    classifier: FrozenClassifier, weight: np.ndarray, bias: np.ndarray, head: str
) -> FrozenClassifier:
    """A copy of ``classifier`` whose layer ``head`` is the linear map (weight, bias)."""
    model = copy.deepcopy(classifier.model)
    layer = dict(model.named_modules())[head]
    weight, bias = torch.as_tensor(weight, dtype=torch.float32), torch.as_tensor(bias, dtype=torch.float32)
    if tuple(weight.shape) != tuple(layer.weight.shape):
        raise InputError(
            f"a new head of shape {tuple(weight.shape)} does not fit {head} {tuple(layer.weight.shape)}"
        )
    with torch.no_grad():
        layer.weight.copy_(weight)
        if layer.bias is None:
            layer.bias = nn.Parameter(torch.zeros(weight.shape[0]), requires_grad=False)
        layer.bias.copy_(bias)
    return rewrap(classifier, model)


def rewrap(classifier: FrozenClassifier, model: nn.Module) -> FrozenClassifier:
    """A FrozenClassifier around ``model`` with ``classifier``'s layer, transform, classes and names."""
    return FrozenClassifier(
        model.eval(),
        feature_layer=classifier.feature_layer,
        transform=classifier.transform if classifier.custom_transform else None,
        class_names=classifier.class_names,
        timm_name=classifier.timm_name,
        data_config=classifier.data_config,
    )
