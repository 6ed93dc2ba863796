"""Saliency maps of a frozen classifier: one function over six Captum methods.

``saliency_map(classifier, image, "gradcam")`` returns a :class:`SaliencyMap` whose heatmap is
float32 in [0, 1] at the image's own size (see :class:`~.frame.ModelInput` for how the map is
placed back on the image). Methods and their options (defaults in brackets):

- ``gradcam``: Captum ``LayerGradCam`` on ``layer`` [found automatically, see :mod:`.layers`];
- ``guided_gradcam``: ``GuidedGradCam`` (guided backprop x GradCAM) on ``layer`` [automatic];
- ``integrated_gradients``: ``IntegratedGradients`` with ``n_steps`` [50], ``baselines``
  [zeros of the preprocessed input, i.e. the normalisation's mean colour] and
  ``internal_batch_size`` [16 path steps per forward];
- ``saliency``: ``Saliency`` (absolute input gradient);
- ``smoothgrad``: ``NoiseTunnel`` over ``Saliency`` with ``nt_samples`` [16], ``stdevs``
  [0.15 x the input's value range] and ``nt_samples_batch_size`` [16];
- ``occlusion``: ``Occlusion`` of square patches, ``window`` [input side / 8] and ``stride``
  [window / 2] in input pixels, ``perturbations_per_eval`` [16].

Captum removes the hooks it registers when an attribution ends, even by an error, and so do we.
"""

from __future__ import annotations

import inspect
import operator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..errors import InputError
from .frame import ModelInput
from .layers import spatial_layer


@dataclass
class SaliencyMap:
    """A heatmap (float32 (H, W) in [0, 1], the image's size) and what it explains."""

    heatmap: np.ndarray
    method: str
    target: int | None  # the class explained; None for a word map
    word: str | None = None  # the word explained, for a word map


def saliency_map(
    classifier, image, method: str = "gradcam", *, target: int | None = None, **options
) -> SaliencyMap:
    """Where in ``image`` the ``classifier`` finds evidence for class ``target``.

    ``image``: a path, PIL image or array (preprocessed by the classifier's transform), or a
    preprocessed tensor. ``target`` defaults to the predicted class. ``options`` are the
    method's (see the module docstring); an unknown method or option raises InputError.
    """
    view = ModelInput.from_image(classifier, image)
    target = resolve_target(classifier, view.pixels, target)
    attribution = attribute(ClassLogits(classifier), classifier, view.pixels, method, target, **options)
    return SaliencyMap(view.heatmap(attribution), method, target)


def resolve_target(classifier, pixels: torch.Tensor, target) -> int:
    """``target`` checked against the classifier's classes, or its prediction when None."""
    if target is None:
        with torch.no_grad():
            return int(classifier(pixels).logits[0].argmax())
    return check_target(classifier, target)


def check_target(classifier, target) -> int:
    """``target`` as a class index of the classifier, or an InputError naming the valid range."""
    try:
        index = operator.index(target)
    except TypeError:
        raise InputError(f"target must be a class index, not {target!r}") from None
    count = classifier.num_classes
    if not 0 <= index < count:
        raise InputError(
            f"target {index} is out of range: the classifier has {count} classes, 0 to {count - 1}"
        )
    return index


class ClassLogits(nn.Module):
    """Pixels -> the classifier's logits, the forward function Captum attributes."""

    def __init__(self, classifier):
        super().__init__()
        self.classifier = classifier

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.classifier(pixels).logits


def attribute(
    forward: nn.Module,
    classifier,
    pixels: torch.Tensor,
    method: str,
    target=None,
    **options,
):
    """Captum attribution (1, C, h, w) of ``forward(pixels)`` to ``pixels`` by ``method``.

    ``forward`` returns logits (then ``target`` picks the class) or one score per example
    (``target=None``); ``classifier`` is where GradCAM finds its layer. Gradients are on
    even when called under ``torch.no_grad()`` or ``torch.inference_mode()``.
    """
    run = _METHODS.get(method)
    if run is None:
        raise InputError(f"unknown saliency method {method!r}; choose one of {', '.join(METHODS)}")
    allowed = OPTIONS[method]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise InputError(
            f"{method} has no option {', '.join(map(repr, unknown))}; "
            f"its options: {', '.join(allowed) or 'none'}"
        )
    with torch.inference_mode(False), torch.enable_grad():
        return run(forward, classifier, pixels.clone().requires_grad_(), target, **options)


def _gradcam(forward, classifier, pixels, target, layer=None):
    from captum.attr import LayerGradCam

    with spatial_layer(classifier, pixels, layer) as grid:
        return LayerGradCam(forward, grid).attribute(pixels, target=target, relu_attributions=True)


def _guided_gradcam(forward, classifier, pixels, target, layer=None):
    from captum.attr import GuidedGradCam

    with spatial_layer(classifier, pixels, layer) as grid:
        return GuidedGradCam(forward, grid).attribute(pixels, target=target, interpolate_mode="bilinear")


def _integrated_gradients(
    forward,
    classifier,
    pixels,
    target,
    n_steps=50,
    baselines=None,
    internal_batch_size=16,
):
    from captum.attr import IntegratedGradients

    return IntegratedGradients(forward).attribute(
        pixels,
        baselines=baselines,
        target=target,
        n_steps=n_steps,
        internal_batch_size=internal_batch_size,
    )


def _saliency(forward, classifier, pixels, target):
    from captum.attr import Saliency

    return Saliency(forward).attribute(pixels, target=target)


def _smoothgrad(
    forward,
    classifier,
    pixels,
    target,
    nt_samples=16,
    stdevs=None,
    nt_samples_batch_size=16,
):
    from captum.attr import NoiseTunnel, Saliency

    if stdevs is None:
        values = pixels.detach()
        stdevs = 0.15 * float(values.max() - values.min())
    return NoiseTunnel(Saliency(forward)).attribute(
        pixels,
        nt_type="smoothgrad",
        nt_samples=nt_samples,
        nt_samples_batch_size=nt_samples_batch_size,
        stdevs=stdevs,
        target=target,
    )


def _occlusion(
    forward,
    classifier,
    pixels,
    target,
    window=None,
    stride=None,
    perturbations_per_eval=16,
):
    from captum.attr import Occlusion

    window = window or max(1, min(pixels.shape[-2:]) // 8)
    stride = stride or max(1, window // 2)
    channels = pixels.shape[1]
    return Occlusion(forward).attribute(
        pixels,
        sliding_window_shapes=(channels, window, window),
        strides=(channels, stride, stride),
        target=target,
        perturbations_per_eval=perturbations_per_eval,
    )


_METHODS = {
    "gradcam": _gradcam,
    "guided_gradcam": _guided_gradcam,
    "integrated_gradients": _integrated_gradients,
    "saliency": _saliency,
    "smoothgrad": _smoothgrad,
    "occlusion": _occlusion,
}
METHODS = tuple(_METHODS)
OPTIONS = {name: tuple(inspect.signature(run).parameters)[4:] for name, run in _METHODS.items()}
