"""Training the translator: cached features, caption cross-entropy, AdamW with warm-up.

The classifier and the LM stay frozen; only the translator learns. Each caption is trained as
its tokens followed by the LM's end-of-sequence token, and the loss covers caption tokens only.
Defaults: batch 32, learning rate 2e-4, linear warm-up over 5% of the steps then linear decay
(as ClipCap), weight decay 0.01.

A step does only the work the loss needs (``benchmarks/training.py`` measures it against its
FLOP floor): the frozen LM computes no weight gradients, logits are computed only at the
positions that predict a caption token (not the prefix, not padding), and each batch holds
captions of similar length (an epoch's seeded permutation is cut into pools of
``BUCKET_POOL`` batches, each pool sorted by length), so little padding is computed.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file

from ..data.images import load_image
from ..errors import Cancelled, InputError
from .checkpoint import CheckpointConfig, save_tensors
from .precision import native_bf16, warn_if_emulated_bf16
from .train_state import STATE_JSON, load_state, save_state

BUCKET_POOL = 8  # batches per length-sorted pool: similar lengths share a batch, the order stays random
# fit without val_pairs holds out VAL_SHARE of the captions, at least VAL_MIN, at most VAL_MAX, with
# at least MIN_PAIRS_TO_SPLIT pairs (fewer: no validation, and a warning)
VAL_SHARE, VAL_MIN, VAL_MAX, MIN_PAIRS_TO_SPLIT = 0.1, 4, 256, 20
HOLD_OUT = type("HoldOut", (), {"__repr__": lambda self: "HOLD_OUT"})()  # fit's default val_pairs


@dataclass
class TrainConfig:
    steps: int = 1000
    batch_size: int = 32
    learning_rate: float = 2e-4
    warmup_fraction: float = 0.05
    weight_decay: float = 0.01
    max_caption_tokens: int = 40
    eval_every: int = 100
    checkpoint_every: int = 100
    seed: int = 0
    bf16: bool | None = None  # bfloat16 autocast for the LM; None = on a GPU with native bf16 only
    patience: int | None = None  # stop after this many evaluations without a new best val loss
    report_sentences: int = 8  # sentences per held-out caption for the report card (0: no card)
    reference: bool = True  # compute the model's language-prior reference from the training features


@dataclass
class CachedFeatures:
    """Classifier features Z (N, D) with one caption each: what training actually consumes.

    Pass it to :func:`fit` instead of images to train from features computed elsewhere.
    """

    features: torch.Tensor
    captions: list[str]
    labels: list[str] | None = None  # each caption's class name, for the report card's per-class figures

    def __post_init__(self):
        if self.features.ndim != 2 or len(self.features) != len(self.captions):
            raise InputError(
                f"features of shape {tuple(self.features.shape)} do not match {len(self.captions)} captions"
            )
        if self.labels is not None and len(self.labels) != len(self.captions):
            raise InputError(f"{len(self.labels)} labels do not match {len(self.captions)} captions")


@torch.inference_mode()
def compute_features(classifier, pairs: Iterable, batch_size: int = 64) -> CachedFeatures:
    """Z of every image, once, on the CPU, with its caption."""
    features, captions, images = [], [], []

    def flush():
        if images:
            features.append(classifier(classifier.preprocess(images)).features.float().cpu())
            images.clear()

    for image, caption in pairs:
        images.append(load_image(image))
        captions.append(caption)
        if len(images) == batch_size:
            flush()
    flush()
    if not captions:
        raise InputError("no (image, caption) pairs to train on")
    return CachedFeatures(torch.cat(features), captions)


def fit(
    model,
    train_pairs,
    val_pairs=HOLD_OUT,
    *,
    config: TrainConfig | None = None,
    checkpoint_dir=None,
    resume: bool = True,
    progress: bool = True,
    cancel: Callable[[], bool] | None = None,
) -> list[dict]:
    """Train ``model.translator``; returns the history (step, loss, and val_loss when measured).

    Training runs ``config.steps`` steps, or stops early once ``config.patience`` evaluations in
    a row bring no new best validation loss. Then a TExplain gets its report card, measured on
    ``val_pairs`` (``model.report_card``, see :mod:`.report_card`), and its language-prior
    reference from the training features (``model.reference``, see :mod:`.reference`); both are
    saved with the checkpoint.

    Without ``val_pairs``, 10% of the pairs (at least 4, at most 256 captions; an image's captions
    all on one side) are held out, drawn with ``config.seed``, for the val loss, early stopping and
    the report card (see :func:`hold_out`); with fewer than 20 pairs everything trains and a warning
    says so. ``val_pairs=None`` trains on every pair, with no validation.

    ``model``: a TExplain, or anything with ``translator``, ``language_model`` and ``device``
    when the features come as CachedFeatures and no ``checkpoint_dir`` is given.
    ``train_pairs`` and ``val_pairs``: (image, caption) pairs (any iterable or Dataset, e.g.
    CaptionPairs) or CachedFeatures.
    With ``checkpoint_dir`` the features are cached there, the model is saved every
    ``checkpoint_every`` steps with the optimizer state, and a later call resumes from it,
    exactly, even after a kill while saving (see :mod:`.train_state`).
    ``cancel()`` returning true saves a checkpoint and raises Cancelled. Deterministic under
    ``config.seed`` on the CPU; on a GPU with bf16 (or with ``config.bf16``) the LM runs in bfloat16
    autocast, which warns on a CPU without native bf16 (see :func:`~.precision.native_bf16`).
    """
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    config = config or TrainConfig()
    directory = Path(checkpoint_dir) if checkpoint_dir is not None else None
    device = model.device
    train_features = _cached_features(model, train_pairs, directory, "train")
    if val_pairs is HOLD_OUT:
        train_features, val_features = hold_out(train_features, config.seed)
    elif val_pairs is not None:
        val_features = _cached_features(model, val_pairs, directory, "val")
    else:
        val_features = None
    train = _Captions(model, train_features, config)
    val = _Captions(model, val_features, config) if val_features is not None else None

    torch.manual_seed(config.seed)
    translator = model.translator.train()
    optimizer = torch.optim.AdamW(
        translator.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    warmup = math.ceil(config.warmup_fraction * config.steps)
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup, config.steps)
    history: list[dict] = []
    step = 0
    if directory is not None and resume and (directory / STATE_JSON).is_file():
        step, history = load_state(directory, model, optimizer, scheduler, config)
    resumed_at = step

    bf16 = config.bf16 if config.bf16 is not None else device.type == "cuda" and native_bf16(device)
    if bf16:
        warn_if_emulated_bf16(device, "training (TrainConfig.bf16=True) runs the LM")
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)
    bar = tqdm(total=config.steps, initial=step, disable=not progress, desc="translator")
    try:
        while step < config.steps and not _plateaued(history, config.patience):
            if cancel is not None and cancel():
                if directory is not None:
                    save_state(directory, model, optimizer, scheduler, config, step, history)
                raise Cancelled(f"training cancelled at step {step}")
            with autocast:
                loss = train.loss(train.batch_indices(step))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            record = {"step": step, "loss": loss.item()}
            if val is not None and (step % config.eval_every == 0 or step == config.steps):
                with autocast:
                    record["val_loss"] = val.mean_loss()
            history.append(record)
            bar.update(1)
            bar.set_postfix({k: round(v, 3) for k, v in record.items() if k != "step"})
            stop = _plateaued(history, config.patience)
            if directory is not None and (
                stop or step % config.checkpoint_every == 0 or step == config.steps
            ):
                save_state(directory, model, optimizer, scheduler, config, step, history)
            if stop:
                break
    finally:
        bar.close()
        translator.eval()
    if step == resumed_at and directory is not None and _restore_assessment(directory, model, config):
        return history  # a finished run resumed: its card and reference are saved already
    if _assess(model, train_features, val_features, history, config) and directory is not None:
        save_state(directory, model, optimizer, scheduler, config, step, history)
    return history


def hold_out(cached: CachedFeatures, seed: int) -> tuple[CachedFeatures, CachedFeatures | None]:
    """(training, validation) captions: ``VAL_SHARE`` of them held out (at least ``VAL_MIN``, at
    most about ``VAL_MAX``), drawn by image with ``seed``: captions with identical features (one
    image's) all go to one side, so no held-out image is trained on. With fewer than
    ``MIN_PAIRS_TO_SPLIT`` pairs (or one image): (cached, None) and a warning."""
    n = len(cached.captions)
    _, image_of = torch.unique(cached.features, dim=0, return_inverse=True)
    n_images = int(image_of.max()) + 1
    if n < MIN_PAIRS_TO_SPLIT or n_images < 2:
        warnings.warn(
            f"only {n} caption pairs ({n_images} images): too few to hold out validation captions "
            f"({MIN_PAIRS_TO_SPLIT} needed), so the translator trains on all of them with no val loss, "
            "early stopping or report card; pass val_pairs to measure them (val_pairs=None: no warning)",
            stacklevel=3,
        )
        return cached, None
    wanted = min(VAL_MAX, max(VAL_MIN, round(VAL_SHARE * n)))
    order = torch.randperm(n_images, generator=torch.Generator().manual_seed(seed))
    captions_so_far = torch.bincount(image_of, minlength=n_images)[order].cumsum(0)
    taken = min(int((captions_so_far < wanted).sum()) + 1, n_images - 1)
    held = torch.isin(image_of, order[:taken])
    return _subset(cached, ~held), _subset(cached, held)


def _subset(cached: CachedFeatures, mask: torch.Tensor) -> CachedFeatures:
    keep = mask.nonzero().squeeze(1).tolist()
    labels = [cached.labels[i] for i in keep] if cached.labels is not None else None
    return CachedFeatures(cached.features[keep], [cached.captions[i] for i in keep], labels)


def _restore_assessment(directory: Path, model, config) -> bool:
    """Put a finished run's saved report card and reference back on ``model``; False if missing."""
    if not hasattr(model, "report_card"):
        return False
    from .reference import load_reference

    card = CheckpointConfig.read(directory).extra.get("report_card")
    reference = load_reference(directory, model)
    if (card is None and config.report_sentences > 0) or (reference is None and config.reference):
        return False
    model.report_card, model.reference = card, reference
    return True


def _assess(model, train_features, val_features, history, config) -> bool:
    """After training, a TExplain gets its report card (on the val captions) and its reference
    (from the training features); returns whether anything was set."""
    assessed = False
    if val_features is not None and config.report_sentences > 0 and hasattr(model, "report_card"):
        from .report_card import measure_report_card

        model.report_card = measure_report_card(
            model, val_features, history, n_sentences=config.report_sentences, seed=config.seed
        )
        assessed = True
    if config.reference and hasattr(model, "compute_reference") and len(train_features.features) >= 2:
        model.compute_reference(train_features.features, seed=config.seed)
        assessed = True
    return assessed


def _plateaued(history: list[dict], patience: int | None) -> bool:
    """True when the last ``patience`` val losses brought no new best (then training stops)."""
    losses = [record["val_loss"] for record in history if "val_loss" in record]
    if patience is None or len(losses) <= patience:
        return False
    return min(losses[-patience:]) >= min(losses[:-patience])


class _Captions:
    """Cached features and tokenised captions, served in seeded, shuffled batches."""

    def __init__(self, model, cached: CachedFeatures, config: TrainConfig):
        self.model, self.config = model, config
        self.features = cached.features.float()
        tokenizer = model.language_model.tokenizer
        eos = model.language_model.eos_token_id
        ids = tokenizer(cached.captions, add_special_tokens=False)["input_ids"]
        self.tokens = [row[: config.max_caption_tokens - 1] + [eos] for row in ids]
        self.lengths = torch.tensor([len(row) for row in self.tokens])

    def batch_indices(self, step: int) -> torch.Tensor:
        """Indices of the batch at ``step``: a function of (seed, step) only, so resuming is exact.

        Each epoch is a seeded permutation cut into pools of ``BUCKET_POOL`` batches; a pool is
        sorted by caption length, cut into batches, and its batches are served in seeded order.
        """
        n, size = len(self.tokens), min(self.config.batch_size, len(self.tokens))
        per_epoch = n // size
        epoch, position = divmod(step, per_epoch)
        generator = torch.Generator().manual_seed(self.config.seed + epoch)
        order = torch.randperm(n, generator=generator)[: per_epoch * size].view(per_epoch, size)
        pools = [order[start : start + BUCKET_POOL].flatten() for start in range(0, per_epoch, BUCKET_POOL)]
        served = [torch.randperm(len(pool) // size, generator=generator) for pool in pools]
        pool_index, within = divmod(position, BUCKET_POOL)
        pool = pools[pool_index]
        pool = pool[torch.argsort(self.lengths[pool], stable=True)].view(-1, size)
        return pool[served[pool_index][within]]

    def padded(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The captions' token ids, right-padded with 0, and the mask of real tokens."""
        rows = [self.tokens[i] for i in indices.tolist()]
        ids = torch.zeros(len(rows), max(len(row) for row in rows), dtype=torch.long)
        mask = torch.zeros(ids.shape, dtype=torch.bool)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = True
        return ids, mask

    def loss(self, indices: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of the captions' tokens (and their end token) given the prefix."""
        device = self.model.device
        language_model = self.model.language_model
        ids, mask = (tensor.to(device) for tensor in self.padded(indices))
        width = ids.shape[1]
        prefix = self.model.translator(self.features[indices].to(device))
        k = prefix.shape[1]
        inputs = torch.cat([prefix, language_model.embed(ids).to(prefix.dtype)], dim=1)
        # Rows are right-padded and attention is causal: no caption token attends to padding, so
        # no attention mask is needed (and the fast causal kernel runs).
        lm = language_model.model
        hidden = lm.base_model(inputs_embeds=inputs.to(language_model.dtype), use_cache=False)[0]
        # Position k - 1 + t predicts caption token t: only those positions need logits.
        predicting = hidden[:, k - 1 : k - 1 + width][mask]
        logits = lm.get_output_embeddings()(predicting).float()
        return torch.nn.functional.cross_entropy(logits, ids[mask])

    @torch.no_grad()
    def mean_loss(self) -> float:
        size, n = self.config.batch_size, len(self.tokens)
        total = 0.0
        for start in range(0, n, size):
            indices = torch.arange(start, min(start + size, n))
            total += self.loss(indices).item() * len(indices)
        return total / n


def _cached_features(model, pairs, directory: Path | None, split: str) -> CachedFeatures:
    """Features of a split, read from ``directory`` when an identical run cached them there."""
    if isinstance(pairs, CachedFeatures):
        return pairs
    paths = getattr(pairs, "paths", None)
    if directory is None or paths is None:
        return compute_features(model.classifier, pairs)
    key = hashlib.blake2b(digest_size=8)
    key.update(model.classifier.fingerprint().encode())
    for path, caption in zip(paths, pairs.captions):
        key.update(f"{Path(path).resolve()}|{Path(path).stat().st_mtime_ns}|{caption}\n".encode())
    cache = directory / f"features-{split}-{key.hexdigest()}.safetensors"
    if cache.is_file():
        return CachedFeatures(load_file(cache)["features"], list(pairs.captions))
    cached = compute_features(model.classifier, pairs)
    directory.mkdir(parents=True, exist_ok=True)
    save_tensors({"features": cached.features}, cache)
    return cached
