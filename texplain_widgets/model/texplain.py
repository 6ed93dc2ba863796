"""TExplain = frozen classifier + trainable translator + frozen language model."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from ..errors import CheckpointMismatchError, InputError
from .checkpoint import (
    CLASSIFIER_WEIGHTS,
    CONFIG,  # re-exported too: the checkpoint's names were defined here before
    FORMAT,  # noqa: F401
    TRANSLATOR_WEIGHTS,
    CheckpointConfig,
    ClassifierEntry,
    LanguageModelEntry,
    check_weights,
    load_weights,
    read_config,  # noqa: F401
    save_tensors,
)
from .classifier import FrozenClassifier
from .explanation import Explanation
from .generate import Progress, SamplingSettings, sample_sentences
from .language import FrozenLanguageModel
from .reference import load_reference, save_reference
from .train import HOLD_OUT
from .translator import Translator, TranslatorConfig

CLASSIFY_CHUNK = 64  # images per classifier forward in explain()


class TExplain(nn.Module):
    """Explains a frozen classifier with sentences from a frozen LM, through a translator.

    ``display``: the model's display defaults for the widgets (saved in its config), e.g.
    ``{"method_options": {"gradcam": {"layer": "layer3"}}}``.
    """

    def __init__(
        self,
        classifier: FrozenClassifier,
        language_model: FrozenLanguageModel,
        translator: Translator | None = None,
        *,
        display: dict | None = None,
        **translator_options,
    ):
        super().__init__()
        self.display = dict(display or {})
        self._config_extra: dict = {}  # unknown config.json keys of a loaded model, saved back
        self.reference = None  # the reference word distribution (.reference), see compute_reference
        self.needs_fit = False  # True for a translator copied to new features, until fit (with_classifier)
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

    @property
    def report_card(self) -> dict | None:
        """The translator's report card (see :mod:`.report_card`), saved in the config; None if none."""
        return self._config_extra.get("report_card")

    @report_card.setter
    def report_card(self, card: dict | None) -> None:
        if card is None:
            self._config_extra.pop("report_card", None)
            return
        try:
            self._config_extra["report_card"] = json.loads(json.dumps(card, allow_nan=False))
        except (TypeError, ValueError) as err:
            raise InputError(f"a report card must be a JSON-able dict ({err})") from err

    @property
    def same_features_as(self) -> list[str]:
        """Fingerprints of the classifiers whose features this classifier shares (recorded by
        :meth:`with_classifier`, saved in the config): a run of those explains with this translator."""
        return list(self._config_extra.get("same_features_as", []))

    def with_classifier(self, classifier: FrozenClassifier, *, refit: bool = False) -> TExplain:
        """This TExplain with another classifier (e.g. a mitigated one), sharing the LM.

        A classifier with the same features (a new last layer) keeps this translator and its
        reference, and records this classifier's fingerprint (:attr:`same_features_as`), so that
        reliance can measure it on this model's runs. One whose features differ is refused (CheckpointMismatchError) unless
        ``refit``: then the translator is a copy of this one, to be fitted with :meth:`fit`
        (a short fine-tune) before the model explains anything.
        """
        import copy

        from .classifier import same_features

        same = same_features(self.classifier, classifier)
        if not same and not refit:
            raise CheckpointMismatchError(
                "the new classifier's features differ from those the translator was fitted to, so "
                "its words would mean nothing: re-fit the translator with "
                "model.with_classifier(classifier, refit=True).fit(captions, ...)"
            )
        model = TExplain(
            classifier, self.language_model, copy.deepcopy(self.translator), display=self.display
        )
        if same:
            model._config_extra = copy.deepcopy(self._config_extra)
            model.reference = self.reference
            shared = [*self.same_features_as, self.classifier.fingerprint()]
            model._config_extra["same_features_as"] = [
                f for f in dict.fromkeys(shared) if f != classifier.fingerprint()
            ]
        model.needs_fit = not same
        return model

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
        engine: str = "eager",
        on_batch: Progress | None = None,
        cancel=None,
        image_ids=None,
    ) -> Explanation | list[Explanation]:
        """Sample ``n_sentences`` sentences for each image and count their words.

        ``images``: a path, PIL image or array, or a list of them (then a list is returned).
        Same seed and batch size give the same sentences. Each image's random streams are seeded
        by the seed and its id: ``image_ids`` (one non-negative int per image; a dataset run passes
        its images' ids), by default the image's index in ``images``. ``engine="static"`` samples with a
        static cache (CUDA graphs on a GPU; see SamplingSettings). ``on_batch(done, total, sentences)``
        reports progress; ``cancel()`` returning true stops between batches (raises Cancelled).
        """
        if self.needs_fit:
            raise CheckpointMismatchError(
                "this translator was copied for a classifier with other features (with_classifier("
                "refit=True)): fit it first with model.fit(captions, ...)"
            )
        settings = SamplingSettings(n_sentences, top_p, temperature, max_new_tokens, seed, batch_size, engine)
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
            self.language_model,
            torch.cat(prefixes),
            settings,
            on_batch=on_batch,
            cancel=cancel,
            image_ids=image_ids,
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
                    reference=self.reference,
                )
            )
        return results[0] if single else results

    def compute_reference(self, images_or_features, **options):
        """Compute and set :attr:`reference` from a reference set: an (N, D) feature tensor (e.g.
        the training features) or images; ``options`` as :func:`.reference.compute_reference`.
        Later explanations get lift and above_prior columns; ``save_pretrained`` writes it."""
        from .reference import compute_reference

        self.reference = compute_reference(self, images_or_features, **options)
        return self.reference

    def fit(self, train_pairs, val_pairs=HOLD_OUT, **options):
        """Train the translator on (image, caption) pairs; see :func:`train.fit`.

        Without ``val_pairs`` a seeded 10% of the pairs (at most 256) is held out for the val
        loss, early stopping and the report card; ``val_pairs=None`` trains on all of them.
        """
        from .train import fit

        history = fit(self, train_pairs, val_pairs, **options)
        self.needs_fit = False
        return history

    def save_pretrained(
        self, directory: str | os.PathLike, *, save_classifier: bool = True, dtype: torch.dtype | None = None
    ) -> Path:
        """Write translator weights (safetensors) and a config naming the classifier and LM.

        A timm classifier's weights are saved too (``save_classifier``), so the directory
        loads on its own; the LM is referenced by its source, not copied. ``dtype`` (e.g.
        ``torch.float16``) stores floating-point weights smaller; they load back as fp32.
        The config (see :mod:`.checkpoint`) also holds :attr:`display` and any keys a loaded
        config had that this version does not know; :attr:`reference`, when set, goes to
        ``reference.json`` (loaded back by :meth:`from_pretrained`).
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        translator_state = _contiguous(self.translator.state_dict(), dtype)
        save_tensors(translator_state, directory / TRANSLATOR_WEIGHTS)  # each file atomically
        classifier = self.classifier
        has_weights = save_classifier and classifier.timm_name is not None
        if has_weights:
            save_tensors(_contiguous(classifier.model.state_dict(), dtype), directory / CLASSIFIER_WEIGHTS)
        config = CheckpointConfig(
            translator=self.translator.config.to_dict(),
            classifier=ClassifierEntry.of(classifier, CLASSIFIER_WEIGHTS if has_weights else None),
            language_model=LanguageModelEntry.of(self.language_model),
            display=self.display,
            extra=self._config_extra,
        )
        config.write(directory)
        save_reference(self.reference, directory, translator_state)
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
        config = CheckpointConfig.read(directory)
        check_weights(directory, config, classifier=classifier is None)
        saved = config.classifier
        if classifier is None:
            if not saved.weights or not saved.data_config:
                raise InputError(
                    f"{directory} holds no classifier weights or uses a custom transform: "
                    "pass classifier=FrozenClassifier(...)"
                )
            classifier = FrozenClassifier.from_timm(
                saved.timm_name,
                num_classes=saved.num_classes,
                class_names=saved.class_names,
                data_config=saved.data_config,
                state_dict=load_weights(directory / saved.weights),
            )
        saved.check(classifier, directory)
        if language_model is None:
            language_model = FrozenLanguageModel.from_pretrained(config.language_model.source)
        config.language_model.check(language_model, directory)
        translator = Translator(TranslatorConfig(**config.translator))
        try:
            translator.load_state_dict(load_weights(directory / TRANSLATOR_WEIGHTS))
        except RuntimeError as err:
            raise InputError(
                f"{directory / TRANSLATOR_WEIGHTS} does not fit the translator {CONFIG} describes ({err})"
            ) from err
        model = cls(classifier, language_model, translator, display=config.display)
        model._config_extra = config.extra
        model.reference = load_reference(directory, model)
        return model


def _contiguous(state: dict[str, torch.Tensor], dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """CPU copies for safetensors, floating-point ones cast to ``dtype`` when given."""
    return {
        name: (tensor.to(dtype) if dtype is not None and tensor.is_floating_point() else tensor)
        .detach()
        .contiguous()
        .cpu()
        for name, tensor in state.items()
    }
