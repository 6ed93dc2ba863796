"""The frozen image classifier: image -> feature vector Z (and logits), weights never updated."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from ..data.images import load_image
from ..errors import InputError
from .checkpoint import fingerprint_tensors

Transform = Callable[[object], torch.Tensor]


class FrozenClassifier(nn.Module):
    """A classifier whose output Z at ``feature_layer`` feeds the translator.

    Build it with :meth:`from_timm` for any timm architecture (Z = the pooled pre-logits
    features), or wrap any ``nn.Module`` and name the layer whose output is Z; a 4-D layer
    output (N, C, H, W) is averaged over H and W. Weights are frozen and the model stays in
    eval mode. Preprocessing follows timm's data config (input size, mean, std, crop), which
    ``data_config`` overrides key by key (e.g. ``{"input_size": (3, 64, 64), "crop_pct": 1.0}``
    for a model trained from scratch on 64-pixel images); it is saved with a TExplain. A custom
    ``transform`` (PIL image -> tensor) replaces it, and must then be passed again at loading.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        feature_layer: str | None = None,
        transform: Transform | None = None,
        class_names: Sequence[str] | None = None,
        timm_name: str | None = None,
        data_config: dict | None = None,
    ):
        super().__init__()
        self.model = model
        self.timm_name = timm_name
        self.feature_layer = feature_layer
        if feature_layer is None and not _is_timm(model):
            raise InputError("feature_layer is required for a model that is not a timm model")
        if feature_layer is not None:
            layers = dict(model.named_modules())
            if feature_layer not in layers:
                raise InputError(
                    f"layer {feature_layer!r} not found in {type(model).__name__}; "
                    f"some of its layers: {', '.join(list(layers)[1:8])}"
                )
            self._feature_module = layers[feature_layer]
        self.data_config = {**_data_config(model), **(data_config or {})}
        if len(self.data_config["input_size"]) != 3:
            raise InputError(
                f"input_size must be (channels, height, width), got {self.data_config['input_size']}"
            )
        self.custom_transform = transform is not None
        if transform is None:
            from timm.data import create_transform

            transform = create_transform(**self.data_config, is_training=False)
        self.transform = transform
        self.class_names = list(class_names) if class_names is not None else None
        model.requires_grad_(False)
        self.eval()
        self._shape: tuple[int, int] | None = None

    @classmethod
    def from_timm(
        cls,
        name: str,
        *,
        pretrained: bool = False,
        num_classes: int | None = None,
        class_names: Sequence[str] | None = None,
        state_dict: dict[str, torch.Tensor] | None = None,
        data_config: dict | None = None,
        **kwargs,
    ) -> FrozenClassifier:
        """Create a timm model by name (``pretrained=False`` works offline); ``kwargs`` go to timm."""
        import timm

        if num_classes is None and class_names is not None:
            num_classes = len(class_names)
        if num_classes is not None:
            kwargs["num_classes"] = num_classes
        try:
            model = timm.create_model(name, pretrained=pretrained, **kwargs)
        except RuntimeError as err:  # unknown model name
            raise InputError(f"timm cannot create {name!r}: {err}") from err
        if state_dict is not None:
            _load_state(model, state_dict, name)
        return cls(model, class_names=class_names, timm_name=name, data_config=data_config)

    def train(self, mode: bool = True) -> FrozenClassifier:
        """Stay in eval mode: a frozen classifier's batch-norm statistics never change."""
        return super().train(False)

    @property
    def feature_dim(self) -> int:
        """Size of Z."""
        return self._output_shape()[0]

    @property
    def num_classes(self) -> int:
        return self._output_shape()[1]

    def _output_shape(self) -> tuple[int, int]:
        if self._shape is None:
            device = next(self.model.parameters()).device
            with torch.no_grad():
                z, logits = self(torch.zeros(1, *self.input_size, device=device))
            self._shape = (z.shape[-1], logits.shape[-1])
        return self._shape

    @property
    def input_size(self) -> tuple[int, int, int]:
        return tuple(self.data_config["input_size"])

    def fingerprint(self) -> str:
        """Hash of the weights and buffers, to tie a translator to this exact classifier."""
        return fingerprint_tensors(dict(self.model.state_dict()))

    def preprocess(self, images) -> torch.Tensor:
        """Images (paths, PIL images, arrays, or a list of them) -> a batch tensor."""
        if not isinstance(images, (list, tuple)):
            images = [images]
        if not images:
            raise InputError("no images given")
        device = next(self.model.parameters()).device
        return torch.stack([self.transform(load_image(image)) for image in images]).to(device)

    def forward(self, pixels: torch.Tensor) -> ClassifierOutput:
        """Pixels (N, C, H, W) -> Z (N, D) and logits (N, classes)."""
        if pixels.ndim != 4 or pixels.shape[1] != self.input_size[0]:
            raise InputError(
                f"expected pixels of shape (N, {self.input_size[0]}, H, W), got {tuple(pixels.shape)}"
            )
        if self.feature_layer is None:
            maps = self.model.forward_features(pixels)
            features = self.model.forward_head(maps, pre_logits=True)
            logits = self.model.get_classifier()(features)
            return ClassifierOutput(features, logits)
        captured = {}
        handle = self._feature_module.register_forward_hook(
            lambda _module, _inputs, output: captured.setdefault("z", output)
        )
        try:
            logits = self.model(pixels)
        finally:
            handle.remove()
        features = captured["z"]
        if features.ndim == 4:
            features = features.mean(dim=(2, 3))
        return ClassifierOutput(features.flatten(1), logits)

    @torch.no_grad()
    def predict(self, images) -> ClassifierOutput:
        """Preprocess and run without gradients."""
        return self(self.preprocess(images))

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        """Write ``classifier.safetensors`` and name it in ``config.json``: a saved TExplain's
        config gets the weights' file name, else a config of the classifier alone is written."""
        from safetensors.torch import save_file

        from .checkpoint import CLASSIFIER_WEIGHTS, CONFIG, FORMAT, ClassifierEntry, _entry_dict

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous().cpu() for k, v in self.model.state_dict().items()}
        save_file(state, directory / CLASSIFIER_WEIGHTS)
        entry = ClassifierEntry.of(self, CLASSIFIER_WEIGHTS)
        if self.feature_layer is not None:
            entry.extra["feature_layer"] = self.feature_layer
        path = directory / CONFIG
        config = json.loads(path.read_text()) if path.is_file() else {"format": FORMAT}
        config["classifier"] = _entry_dict(entry)
        path.write_text(json.dumps(config, indent=2))
        return directory

    @classmethod
    def from_pretrained(
        cls,
        directory: str | os.PathLike,
        *,
        model: nn.Module | None = None,
        transform: Transform | None = None,
    ) -> FrozenClassifier:
        """Load a classifier saved by :meth:`save_pretrained` or with a TExplain. A timm model is
        rebuilt by name; any other ``nn.Module`` is given as ``model`` (its weights are loaded);
        a custom transform is given again as ``transform``."""
        from safetensors.torch import load_file

        from .checkpoint import ClassifierEntry, _entry, read_config

        directory = Path(directory)
        entry: ClassifierEntry = _entry(ClassifierEntry, read_config(directory).get("classifier") or {})
        if not entry.weights:
            raise InputError(
                f"{directory} holds no classifier weights: save them with FrozenClassifier.save_pretrained"
            )
        state = load_file(directory / entry.weights)
        if model is None and entry.timm_name is None:
            raise InputError(
                f"{directory} holds a custom nn.Module's weights: pass model=YourModule() to load them into"
            )
        if model is None:
            return cls.from_timm(
                entry.timm_name,
                num_classes=entry.num_classes,
                class_names=entry.class_names,
                state_dict=state,
                data_config=entry.data_config,
            )
        _load_state(model, state, type(model).__name__)
        classifier = cls(
            model,
            feature_layer=entry.extra.get("feature_layer"),
            transform=transform,
            class_names=entry.class_names,
            timm_name=entry.timm_name,
            data_config=entry.data_config,
        )
        entry.check(classifier, directory)
        return classifier


class ClassifierOutput(tuple):
    """(features, logits) that also reads as ``.features`` and ``.logits``."""

    def __new__(cls, features: torch.Tensor, logits: torch.Tensor):
        return super().__new__(cls, (features, logits))

    features = property(lambda self: self[0])
    logits = property(lambda self: self[1])


def _is_timm(model: nn.Module) -> bool:
    return all(hasattr(model, m) for m in ("forward_features", "forward_head", "pretrained_cfg"))


def _data_config(model: nn.Module) -> dict:
    from timm.data import resolve_data_config

    if _is_timm(model):
        return resolve_data_config(model=model)
    return resolve_data_config(args={"input_size": (3, 224, 224)})  # ImageNet defaults


def same_features(a: FrozenClassifier, b: FrozenClassifier) -> bool:
    """Whether two classifiers give the same features Z (on a fixed random batch)."""
    if a.input_size != b.input_size or a.feature_dim != b.feature_dim:
        return False
    probe = torch.randn(2, *a.input_size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        za = a(probe.to(next(a.model.parameters()).device)).features.float().cpu()
        zb = b(probe.to(next(b.model.parameters()).device)).features.float().cpu()
    return torch.allclose(za, zb, rtol=1e-4, atol=1e-5)


def _load_state(model: nn.Module, state_dict: dict[str, torch.Tensor], name: str) -> None:
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as err:
        raise InputError(f"weights do not fit timm model {name!r}: {str(err)[:500]}") from err
