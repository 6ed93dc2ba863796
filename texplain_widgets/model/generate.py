"""Sampling engine: many sentences per prefix, fast.

The prefix of each image runs through the LM once; its key/value cache is copied to every
sample row. Rows decode in lock-step, and a row leaves the batch as soon as it samples a token
that ends its sentence, so finished rows cost nothing. Nucleus sampling looks at the top
candidates first and sorts the whole vocabulary only for rows whose nucleus is wider.

Random numbers come from one generator per block of ``BLOCK`` samples of an image, seeded by
``SeedSequence((seed, image id, block))``: each image has streams of its own (so the sentences
of different images are independent draws, as the dataset intervals assume), and an image's
sentences depend only on the seed and its id, not on the batch size or on which other images
share the call. A dataset run passes each image's id in the run; elsewhere the id is the image's
index in the call.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..errors import Cancelled, InputError
from .nucleus import CANDIDATES as CANDIDATES  # re-exported
from .nucleus import sample_top_p
from .precision import warn_if_emulated_bf16

BLOCK = 32  # samples per random stream; batches hold whole blocks
PRUNE_FRACTION = 8  # finished rows leave the batch once they are 1/8 of it
ENGINES = ("eager", "static")


@dataclass(frozen=True)
class SamplingSettings:
    """How sentences are sampled. ``batch_size`` (rows per forward) None = sized to memory.

    ``engine``: ``"eager"`` (the default) prunes finished rows from a growing cache;
    ``"static"`` (opt-in, see :mod:`.static_decode`) decodes at fixed shapes, with CUDA graphs on
    a GPU, and gives the same sentences within the LM's rounding.
    """

    n_sentences: int = 128
    top_p: float = 0.9
    temperature: float = 1.0
    max_new_tokens: int = 20
    seed: int = 0
    batch_size: int | None = None
    engine: str = "eager"

    def __post_init__(self):
        if self.seed < 0:
            raise InputError(f"seed must be a non-negative integer, got {self.seed}")
        if self.n_sentences < 1:
            raise InputError(f"n_sentences must be at least 1, got {self.n_sentences}")
        if not 0 < self.top_p <= 1:
            raise InputError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.temperature <= 0:
            raise InputError(f"temperature must be positive, got {self.temperature}")
        if self.max_new_tokens < 1:
            raise InputError(f"max_new_tokens must be at least 1, got {self.max_new_tokens}")
        if self.batch_size is not None and self.batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.engine not in ENGINES:
            raise InputError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")

    def to_dict(self) -> dict:
        """The settings; ``engine`` only when it is not the default (saved runs' manifests stay as they were)."""
        settings = asdict(self)
        if self.engine == "eager":
            del settings["engine"]
        return settings


Progress = Callable[[int, int, list[list[str]]], None]


@torch.inference_mode()
def sample_sentences(
    language_model,
    prefixes: torch.Tensor,
    settings: SamplingSettings,
    *,
    on_batch: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
    image_ids: Sequence[int] | None = None,
) -> list[list[str]]:
    """Sample ``settings.n_sentences`` sentences for each prefix (n_images, k, embed_dim).

    ``image_ids``: one non-negative id per prefix that seeds its random streams (default: its
    index in the call); equal ids give equal streams, distinct ids independent ones.

    ``on_batch(done, total, sentences)`` runs after every batch with the sentences so far;
    ``cancel()`` is checked between batches and, when true, raises :class:`Cancelled`.
    """
    lm = language_model.model
    if language_model.dtype == torch.bfloat16:
        warn_if_emulated_bf16(language_model.device, "sampling runs the language model")
    prefixes = prefixes.to(language_model.device, language_model.dtype)
    n_images = prefixes.shape[0]
    image_ids = _image_ids(image_ids, n_images)
    prefix_cache, first_logits = _run_prefixes(lm, prefixes)
    stop_mask = language_model.stop_token_mask.to(prefixes.device)

    blocks = [
        (image, block)
        for image in range(n_images)
        for block in range(math.ceil(settings.n_sentences / BLOCK))
    ]
    rows_per_batch = settings.batch_size or _auto_batch_size(lm, prefixes, settings)
    decode = _decode
    if settings.engine == "static":
        from .static_decode import BUCKETS, decoder_for

        rows_per_batch = min(rows_per_batch, BUCKETS[-1])
        decode = decoder_for(lm, prefixes.shape[1], settings, prefixes.device).decode
    blocks_per_batch = max(1, rows_per_batch // BLOCK)
    sentences: list[list[str]] = [[] for _ in range(n_images)]
    total = n_images * settings.n_sentences
    done = 0
    for start in range(0, len(blocks), blocks_per_batch):
        if cancel is not None and cancel():
            raise Cancelled(f"sampling cancelled after {done} of {total} sentences")
        batch = blocks[start : start + blocks_per_batch]
        rows_image, noise = _batch_rows(batch, settings, prefixes.device, image_ids)
        tokens, lengths = decode(lm, prefix_cache, first_logits, rows_image, noise, stop_mask, settings)
        texts = language_model.tokenizer.batch_decode(
            [row[:n].tolist() for row, n in zip(tokens, lengths)], skip_special_tokens=True
        )
        for image, text in zip(rows_image.tolist(), texts):
            sentences[image].append(" ".join(text.split()))
            done += 1
        if on_batch is not None:
            on_batch(done, total, sentences)
    return sentences


def _run_prefixes(lm, prefixes: torch.Tensor):
    from transformers import DynamicCache

    cache = DynamicCache(config=lm.config)
    options = _cache_argument(lm, cache)
    if "logits_to_keep" in inspect.signature(lm.forward).parameters:
        options["logits_to_keep"] = 1  # only the last position's logits are needed
    logits = lm(inputs_embeds=prefixes, use_cache=True, **options).logits
    return cache, logits[:, -1].float()


def _cache_argument(lm, cache) -> dict:
    """transformers 5.2x names the cache argument ``cache``; earlier ones ``past_key_values``."""
    name = "cache" if "cache" in inspect.signature(lm.forward).parameters else "past_key_values"
    return {name: cache}


def _image_ids(image_ids, n_images: int) -> list[int]:
    if image_ids is None:
        return list(range(n_images))
    ids = [int(i) for i in image_ids]
    if len(ids) != n_images or any(i < 0 for i in ids):
        raise InputError(f"image_ids must be {n_images} non-negative integers, one per image, got {ids[:8]}")
    return ids


def block_seed(seed: int, image_id: int, block: int) -> int:
    """The seed of one block's random stream: ``SeedSequence((seed, image_id, block))``."""
    return int(np.random.SeedSequence((seed, image_id, block)).generate_state(1, np.uint64)[0] >> 1)


def _batch_rows(batch, settings: SamplingSettings, device, image_ids: list[int]):
    """Image index and uniform noise (rows, max_new_tokens) of each sample row in a batch."""
    images, noise = [], []
    for image, block in batch:
        size = min(BLOCK, settings.n_sentences - block * BLOCK)
        generator = torch.Generator().manual_seed(block_seed(settings.seed, image_ids[image], block))
        noise.append(torch.rand(BLOCK, settings.max_new_tokens, generator=generator)[:size])
        images.extend([image] * size)
    return torch.tensor(images, device=device), torch.cat(noise).to(device)


def _decode(lm, prefix_cache, first_logits, rows_image, noise, stop_mask, settings):
    """Decode one batch; returns tokens (rows, max_new_tokens) and each row's length.

    Finished rows leave the batch once they make up an eighth of it: copying the cache for
    every single finished row would cost more than carrying a few rows a little longer.
    """
    rows = rows_image.shape[0]
    device = rows_image.device
    cache = copy.deepcopy(prefix_cache)
    cache.batch_select_indices(rows_image)
    cache_argument = _cache_argument(lm, cache)
    logits = first_logits[rows_image]
    tokens = torch.zeros(rows, settings.max_new_tokens, dtype=torch.long, device=device)
    lengths = torch.full((rows,), settings.max_new_tokens, dtype=torch.long, device=device)
    in_batch = torch.arange(rows, device=device)  # the rows still in the cache, in cache order
    running = torch.ones(rows, dtype=torch.bool, device=device)  # of those, the unfinished
    for step in range(settings.max_new_tokens - 1):
        chosen = sample_top_p(logits, noise[in_batch, step], settings.top_p, settings.temperature)
        tokens[in_batch, step] = chosen
        ended = stop_mask[chosen] & running
        lengths[in_batch[ended]] = step + 1
        running &= ~ended
        finished = running.numel() - int(running.sum())
        if finished == running.numel():
            return tokens.cpu(), lengths.cpu()
        if finished * PRUNE_FRACTION >= running.numel():
            keep = running.nonzero().squeeze(1)
            in_batch, chosen, running = in_batch[keep], chosen[keep], running[keep]
            cache.batch_select_indices(keep)
        logits = lm(input_ids=chosen[:, None], use_cache=True, **cache_argument).logits[:, -1].float()
    last = settings.max_new_tokens - 1
    tokens[in_batch, last] = sample_top_p(logits, noise[in_batch, last], settings.top_p, settings.temperature)
    return tokens.cpu(), lengths.cpu()


def _auto_batch_size(lm, prefixes: torch.Tensor, settings: SamplingSettings) -> int:
    """Rows per batch: bounded by memory on a GPU; on a CPU larger batches stop paying off."""
    if prefixes.device.type != "cuda":
        return 256
    config = lm.config
    heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    length = prefixes.shape[1] + settings.max_new_tokens
    cache_bytes = 2 * config.num_hidden_layers * heads * head_dim * length * prefixes.element_size()
    logits_bytes = 4 * 4 * config.vocab_size  # logits, probabilities, sort buffers
    free, _total = torch.cuda.mem_get_info(prefixes.device)
    return max(BLOCK, int(0.5 * free) // (cache_bytes + logits_bytes))
