"""Sampling engine: many sentences per prefix, fast.

The prefix of each image runs through the LM once; its key/value cache is copied to every
sample row. The eager engine (the default) decodes with continuous batching (see
:mod:`.continuous`): a fixed number of row slots, and a slot whose sentence ends takes the next
sentence, of the same image or the next one, so the batch stays full. Nucleus sampling looks at
the top candidates first and sorts the whole vocabulary only for rows whose nucleus is wider.

Random numbers come from one generator per block of ``BLOCK`` samples of an image, seeded by
``SeedSequence((seed, image id, block))``, and each sentence reads only its own row of them:
each image has streams of its own (so the sentences of different images are independent draws,
as the dataset intervals assume), and an image's sentences depend only on the seed and its id,
not on the batch size or on which other images share the call (up to the LM's floating-point
rounding, which batch shapes change). A dataset run passes each image's id in the run; elsewhere
the id is the image's index in the call.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..errors import Cancelled, InputError
from .continuous import Pending, Slots
from .nucleus import CANDIDATES as CANDIDATES  # re-exported
from .nucleus import sample_top_p as sample_top_p  # re-exported
from .precision import warn_if_emulated_bf16

BLOCK = 32  # samples per random stream; batches hold whole blocks
ENGINES = ("eager", "static")


@dataclass(frozen=True)
class SamplingSettings:
    """How sentences are sampled. ``batch_size`` (rows per forward) None = sized to memory.

    ``engine``: ``"eager"`` (the default) keeps ``batch_size`` rows decoding, a row whose sentence
    ends taking the next one (continuous batching, see :mod:`.continuous`);
    ``"static"`` (opt-in, see :mod:`.static_decode`) decodes at fixed shapes, with CUDA graphs on
    a GPU, and continuous batching as well; it gives the same sentences within the LM's rounding.
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

    A batch is ``batch_size`` sentences (rows of the decode): ``on_batch(done, total,
    sentences)`` runs each time another batch of sentences has ended, with the sentences so far
    (each image's, in the order they ended; the result has them in order); ``cancel()`` is
    checked before the first and after every batch but the last, and, when true, raises
    :class:`Cancelled`.
    """
    lm = language_model.model
    if language_model.dtype == torch.bfloat16:
        warn_if_emulated_bf16(language_model.device, "sampling runs the language model")
    prefixes = prefixes.to(language_model.device, language_model.dtype)
    n_images = prefixes.shape[0]
    image_ids = _image_ids(image_ids, n_images)
    prefix_cache, first_logits = _run_prefixes(lm, prefixes)
    stop_mask = language_model.stop_token_mask.to(prefixes.device)
    rows_per_batch = settings.batch_size or _auto_batch_size(lm, prefixes, settings)
    blocks = [
        (image, block)
        for image in range(n_images)
        for block in range(math.ceil(settings.n_sentences / BLOCK))
    ]
    progress = _Progress(language_model.tokenizer, n_images, settings.n_sentences, rows_per_batch)
    progress.on_batch, progress.cancel = on_batch, cancel
    progress.check_cancel()
    pending = Pending(_noise_blocks(blocks, settings, prefixes.device, image_ids))
    from . import static_decode  # imports transformers' cache classes: only when sampling

    if settings.engine == "static" and static_decode.supports(lm):
        decoder = static_decode.decoder_for(lm, prefix_cache.get_seq_length(), settings, prefixes.device)
        slots = min(rows_per_batch, static_decode.BUCKETS[-1], n_images * settings.n_sentences)
        decoder.decode(lm, prefix_cache, first_logits, pending, stop_mask, slots, progress.finish)
    else:
        cache_name = next(iter(_cache_argument(lm, None)))
        slots = Slots(lm, prefix_cache, first_logits, stop_mask, settings, cache_name, progress.finish)
        slots.run(pending, rows_per_batch)
    return progress.result()


class _Progress:
    """Collects ended sentences; reports and checks for cancelling after every ``every`` of them."""

    def __init__(self, tokenizer, n_images: int, n_sentences: int, every: int):
        self.tokenizer, self.n_sentences, self.every = tokenizer, n_sentences, every
        self.total = n_images * n_sentences
        self.done = 0
        self.ended: list[list[str]] = [[] for _ in range(n_images)]  # in the order they ended
        self.places: list[list[int]] = [[] for _ in range(n_images)]
        self.on_batch: Progress | None = None
        self.cancel: Callable[[], bool] | None = None

    def check_cancel(self) -> None:
        if self.cancel is not None and self.done < self.total and self.cancel():
            raise Cancelled(f"sampling cancelled after {self.done} of {self.total} sentences")

    def finish(self, index: torch.Tensor, tokens: torch.Tensor, lengths: torch.Tensor) -> None:
        """Sentences ``index`` (image x n_sentences + place) have ended with these tokens."""
        order = index.argsort()  # ended together: taken in order, so progress is deterministic
        index, tokens, lengths = index[order].tolist(), tokens[order].cpu(), lengths[order].tolist()
        texts = self.tokenizer.batch_decode(
            [row[:n].tolist() for row, n in zip(tokens, lengths)], skip_special_tokens=True
        )
        for sentence, text in zip(index, texts):
            image, place = divmod(sentence, self.n_sentences)
            self.ended[image].append(" ".join(text.split()))
            self.places[image].append(place)
            self.done += 1
            if self.done % self.every == 0 or self.done == self.total:
                self.report()

    def report(self) -> None:
        """A batch has ended: report it, then check for cancelling."""
        if self.on_batch is not None:
            self.on_batch(self.done, self.total, self.ended)
        self.check_cancel()

    def result(self) -> list[list[str]]:
        return [[text for _, text in sorted(zip(p, t))] for p, t in zip(self.places, self.ended)]


def _noise_blocks(blocks, settings: SamplingSettings, device, image_ids: list[int]):
    """(image, index of its first sentence, noise rows) of each block, made when asked for."""
    for image, block in blocks:
        _, noise = _batch_rows([(image, block)], settings, device, image_ids)
        yield image, image * settings.n_sentences + block * BLOCK, noise


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
