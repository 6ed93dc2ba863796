"""TExplain = frozen classifier + trainable translator + frozen language model."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ..errors import CheckpointMismatchError, InputError
from .classifier import FrozenClassifier
from .explanation import Explanation
from .generate import Progress, SamplingSettings, sample_sentences
from .language import FrozenLanguageModel
from .translator import Translator, TranslatorConfig

FORMAT = "texplain-widgets/1"
CONFIG = "config.json"
TRANSLATOR_WEIGHTS = "translator.safetensors"
CLASSIFIER_WEIGHTS = "classifier.safetensors"
CLASSIFY_CHUNK = 64  # images per classifier forward in explain()


class TExplain(nn.Module):
    """Explains a frozen classifier with sentences from a frozen LM, through a translator."""

    def __init__(
        self,
        classifier: FrozenClassifier,
        language_model: FrozenLanguageModel,
        translator: Translator | None = None,
        **translator_options,
    ):
        super().__init__()
        self.classifier = classifier
        self.language_model = language_model
        if translator is None:
            translator = Translator(
                TranslatorConfig(classifier.feature_dim, language_model.embed_dim, **translator_options)
            )
        elif translator_options:
            raise InputError("give either a translator or translator options, not both")
        config = translator.config
        if (config.feature_dim, config.embed_dim) != (classifier.feature_dim, language_model.embed_dim):
            raise CheckpointMismatchError(
                f"translator maps {config.feature_dim} -> {config.embed_dim} features, but the "
                f"classifier gives {classifier.feature_dim} and the LM takes {language_model.embed_dim}"
            )
        self.translator = translator.to(language_model.device)

    @property
    def device(self) -> torch.device:
        return self.language_model.device

    def prefix(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pixels -> (prefix embeddings (N, k, E), classifier logits)."""
        features, logits = self.classifier(pixels)
        return self.translator(features.to(self.device)), logits

    def explain(
        self,
        images,
        n_sentences: int = 128,
        *,
        top_p: float = 0.9,
        temperature: float = 1.0,
        max_new_tokens: int = 20,
        seed: int = 0,
        batch_size: int | None = None,
        on_batch: Progress | None = None,
        cancel=None,
    ) -> Explanation | list[Explanation]:
        """Sample ``n_sentences`` sentences for each image and count their words.

        ``images``: a path, PIL image or array, or a list of them (then a list is returned).
        Same seed and batch size give the same sentences. ``on_batch(done, total, sentences)``
        reports progress; ``cancel()`` returning true stops between batches (raises Cancelled).
        """
        settings = SamplingSettings(n_sentences, top_p, temperature, max_new_tokens, seed, batch_size)
        single = not isinstance(images, (list, tuple))
        images = [images] if single else list(images)
        prefixes, probabilities = [], []
        with torch.inference_mode():
            for start in range(0, len(images), CLASSIFY_CHUNK):
                pixels = self.classifier.preprocess(images[start : start + CLASSIFY_CHUNK])
                prefix, logits = self.prefix(pixels)
                prefixes.append(prefix)
                probabilities.append(logits.float().softmax(-1).cpu())
        sentences = sample_sentences(
            self.language_model, torch.cat(prefixes), settings, on_batch=on_batch, cancel=cancel
        )
        probabilities = torch.cat(probabilities)
        names = self.classifier.class_names
        results = []
        for image, texts, probs in zip(images, sentences, probabilities):
            predicted = int(probs.argmax())
            results.append(
                Explanation(
                    sentences=texts,
                    predicted_class=predicted,
                    probability=float(probs[predicted]),
                    class_name=names[predicted] if names else None,
                    image=str(image) if isinstance(image, (str, os.PathLike)) else None,
                    settings=settings.to_dict(),
                )
            )
        return results[0] if single else results

    def fit(self, train_pairs, val_pairs=None, **options):
        """Train the translator on (image, caption) pairs; see :func:`train.fit`."""
        from .train import fit

        return fit(self, train_pairs, val_pairs, **options)

    def save_pretrained(
        self, directory: str | os.PathLike, *, save_classifier: bool = True, dtype: torch.dtype | None = None
    ) -> Path:
        """Write translator weights (safetensors) and a config naming the classifier and LM.

        A timm classifier's weights are saved too (``save_classifier``), so the directory
        loads on its own; the LM is referenced by its source, not copied. ``dtype`` (e.g.
        ``torch.float16``) stores floating-point weights smaller; they load back as fp32.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_file(_contiguous(self.translator.state_dict(), dtype), directory / TRANSLATOR_WEIGHTS)
        classifier = self.classifier
        has_weights = save_classifier and classifier.timm_name is not None
        if has_weights:
            save_file(_contiguous(classifier.model.state_dict(), dtype), directory / CLASSIFIER_WEIGHTS)
        config = {
            "format": FORMAT,
            "translator": self.translator.config.to_dict(),
            "classifier": {
                "timm_name": classifier.timm_name,
                "num_classes": classifier.num_classes,
                "class_names": classifier.class_names,
                "data_config": None if classifier.custom_transform else classifier.data_config,
                "feature_dim": classifier.feature_dim,
                "fingerprint": classifier.fingerprint(),
                "weights": CLASSIFIER_WEIGHTS if has_weights else None,
            },
            "language_model": {
                "source": self.language_model.source,
                "embed_dim": self.language_model.embed_dim,
                "fingerprint": self.language_model.fingerprint(),
            },
        }
        (directory / CONFIG).write_text(json.dumps(config, indent=2))
        return directory

    @classmethod
    def from_pretrained(
        cls,
        directory: str | os.PathLike,
        *,
        classifier: FrozenClassifier | None = None,
        language_model: FrozenLanguageModel | None = None,
    ) -> TExplain:
        """Load a saved TExplain; the classifier and LM are rebuilt from the config unless given.

        Raises CheckpointMismatchError when a given classifier or LM is not the one the
        translator was trained with (their fingerprints differ).
        """
        directory = Path(directory)
        config = read_config(directory)
        saved_classifier, saved_lm = config["classifier"], config["language_model"]
        if classifier is None:
            if not saved_classifier.get("weights") or not saved_classifier.get("data_config"):
                raise InputError(
                    f"{directory} holds no classifier weights or uses a custom transform: "
                    "pass classifier=FrozenClassifier(...)"
                )
            classifier = FrozenClassifier.from_timm(
                saved_classifier["timm_name"],
                num_classes=saved_classifier["num_classes"],
                class_names=saved_classifier["class_names"],
                data_config=saved_classifier["data_config"],
                state_dict=load_file(directory / saved_classifier["weights"]),
            )
        if classifier.fingerprint() != saved_classifier["fingerprint"]:
            raise CheckpointMismatchError(
                f"{directory} was trained on another classifier ({saved_classifier['timm_name'] or 'custom'}, "
                f"{saved_classifier['feature_dim']} features, fingerprint {saved_classifier['fingerprint']}); "
                f"the given one has {classifier.feature_dim} features, fingerprint {classifier.fingerprint()}"
            )
        if language_model is None:
            language_model = FrozenLanguageModel.from_pretrained(saved_lm["source"])
        if language_model.fingerprint() != saved_lm["fingerprint"]:
            raise CheckpointMismatchError(
                f"{directory} was trained for language model {saved_lm['source']!r} "
                f"(width {saved_lm['embed_dim']}, fingerprint {saved_lm['fingerprint']}); the given one "
                f"is {language_model.source!r} (width {language_model.embed_dim}, "
                f"fingerprint {language_model.fingerprint()})"
            )
        translator = Translator(TranslatorConfig(**config["translator"]))
        translator.load_state_dict(load_file(directory / TRANSLATOR_WEIGHTS))
        return cls(classifier, language_model, translator)


def read_config(directory: Path) -> dict:
    """The config.json of a saved TExplain, checked for its format."""
    path = directory / CONFIG
    if not path.is_file():
        raise InputError(f"{directory} is not a saved TExplain: {CONFIG} not found")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(f"{path} is not valid JSON: {err}") from err
    if config.get("format") != FORMAT:
        raise InputError(f"{path}: unknown format {config.get('format')!r}, expected {FORMAT!r}")
    return config


def _contiguous(state: dict[str, torch.Tensor], dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """CPU copies for safetensors, floating-point ones cast to ``dtype`` when given."""
    return {
        name: (tensor.to(dtype) if dtype is not None and tensor.is_floating_point() else tensor)
        .detach()
        .contiguous()
        .cpu()
        for name, tensor in state.items()
    }
