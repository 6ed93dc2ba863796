"""The layer GradCAM looks at: found automatically for CNNs and ViTs, or named by the user.

For a CNN it is the last module, in execution order, that contains a ``Conv2d`` and outputs a
4-D map larger than 1 x 1 (the last convolutional stage, before global pooling). For a ViT-style
timm model (one with ``num_prefix_tokens``) it is the last block's ``norm1``: the tokens
(N, P + H*W, C) there still reach the class token, whereas after the last block only the class
token matters. Tokens are shown to Captum as a map (N, C, H, W) without the P prefix tokens.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from ..errors import InputError


@contextmanager
def spatial_layer(classifier, pixels: torch.Tensor, name: str | None = None) -> Iterator[nn.Module]:
    """A module whose output is the (N, C, H, W) map of the GradCAM layer, while in the block.

    ``name`` is a module of ``classifier.model`` (as in ``named_modules()``); None finds one.
    The layer's output passes through the yielded module, so hooks Captum puts on it see the
    map and gradients flow through it. The hook doing this is removed on leaving the block.
    """
    model = classifier.model
    modules = dict(model.named_modules())
    if name is None:
        name = _default_layer(model, pixels)
    elif name not in modules:
        raise InputError(
            f"layer {name!r} not found in {type(model).__name__}; "
            f"some of its layers: {', '.join(list(modules)[1:12])}"
        )
    view = TokenGrid(name, getattr(model, "num_prefix_tokens", None), pixels.shape[-2:])
    handle = modules[name].register_forward_hook(lambda _module, _inputs, output: view.restore(output))
    try:
        yield view
    finally:
        handle.remove()


class TokenGrid(nn.Module):
    """Identity on (N, C, H, W) maps; ViT tokens (N, P + H*W, C) -> (N, C, H, W), prefix dropped."""

    def __init__(self, name: str, prefix_tokens: int | None, input_size):
        super().__init__()
        self.name = name
        self.prefix_tokens = prefix_tokens
        self.aspect = input_size[0] / input_size[1]  # the grid's height / width

    def forward(self, output: torch.Tensor) -> torch.Tensor:
        if output.ndim == 4:
            return output
        if output.ndim != 3 or self.prefix_tokens is None:
            raise InputError(
                f"GradCAM needs a layer with a spatial output (N, C, H, W), or ViT tokens; layer "
                f"{self.name!r} gives shape {tuple(output.shape)}"
            )
        tokens = output[:, self.prefix_tokens :]
        count = tokens.shape[1]
        height = round(math.sqrt(count * self.aspect))
        if height == 0 or count % height:
            raise InputError(f"cannot arrange the {count} tokens of layer {self.name!r} in a grid")
        return tokens.transpose(1, 2).reshape(output.shape[0], -1, height, count // height)

    def restore(self, output: torch.Tensor) -> torch.Tensor:
        """The layer's output, rebuilt from this module's map (so it carries Captum's hooks)."""
        grid = self(output)
        if output.ndim == 4:
            return grid
        return torch.cat([output[:, : self.prefix_tokens], grid.flatten(2).transpose(1, 2)], dim=1)


def _default_layer(model: nn.Module, pixels: torch.Tensor) -> str:
    blocks = getattr(model, "blocks", None)
    if (
        hasattr(model, "num_prefix_tokens")
        and isinstance(blocks, (nn.Sequential, nn.ModuleList))
        and len(blocks)
    ):
        last = f"blocks.{len(blocks) - 1}"
        return f"{last}.norm1" if hasattr(blocks[-1], "norm1") else last
    name = _last_conv_stage(model, pixels)
    if name is None:
        raise InputError(
            f"GradCAM needs a convolutional layer or a ViT-style model; {type(model).__name__} has "
            "neither: pass layer=NAME, a layer with an (N, C, H, W) output, or use another method"
        )
    return name


def _last_conv_stage(model: nn.Module, pixels: torch.Tensor) -> str | None:
    """Run the model once and name the last conv-containing module with a 4-D, > 1 x 1 output."""
    convs = [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]
    if not convs:
        return None
    candidates = [
        (name, module)
        for name, module in model.named_modules()
        if name and any(conv == name or conv.startswith(f"{name}.") for conv in convs)
    ]
    fired: list[str] = []

    def record(name):
        def hook(_module, _inputs, output):
            if isinstance(output, torch.Tensor) and output.ndim == 4 and output.shape[-2:].numel() > 1:
                fired.append(name)

        return hook

    handles = [module.register_forward_hook(record(name)) for name, module in candidates]
    try:
        with torch.no_grad():
            model(pixels)
    finally:
        for handle in handles:
            handle.remove()
    return fired[-1] if fired else None
