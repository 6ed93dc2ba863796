"""Continuous batching for the eager engine: a fixed number of row slots, each refilled at once.

Every slot decodes one sentence. When a sentence ends, its slot takes the next pending sentence
(of the same image or of the next one), so the batch stays full until the work runs out and
only the last sentences of a call decode in a shrinking batch.

All slots share one key/value cache, a window that every forward extends by one position. A
refilled slot gets its prefix's keys and values in the window's last positions, an attention
mask that hides the positions before them, and its own position ids (prefix + tokens so far),
so it computes what it would compute alone. Before each forward the window is cut on the left
to the oldest live sentence's prefix: it never holds more than prefix + ``max_new_tokens`` - 1
positions. A sentence reads only its own noise row, so its tokens do not depend on the slots.

Refilling needs the plain growing cache layers (``DynamicLayer``: GPT-2, Llama, Qwen, ...); a
model with other layers (sliding windows) decodes the same way but refills only an empty batch.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch

from .nucleus import sample_top_p

PRUNE_FRACTION = 8  # once no work is left, finished rows leave the batch when they are 1/8 of it

Finish = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], None]


class Pending:
    """The sentences still to start, in order, as (sentence index, image index, noise row).

    ``blocks`` yields (image index, first sentence index, noise (rows, max_new_tokens)).
    """

    def __init__(self, blocks):
        self._blocks = iter(blocks)
        self._parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self._count = 0
        self._exhausted = False

    def _pull(self, wanted: int) -> None:
        while self._count < wanted and not self._exhausted:
            block = next(self._blocks, None)
            if block is None:
                self._exhausted = True
                return
            image, first, noise = block
            rows = noise.shape[0]
            index = torch.arange(first, first + rows, device=noise.device)
            self._parts.append((index, torch.full_like(index, image), noise))
            self._count += rows

    def __bool__(self) -> bool:
        self._pull(1)
        return self._count > 0

    def take(self, wanted: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Up to ``wanted`` sentences: their indices, images and noise rows."""
        self._pull(wanted)
        index, images, noise = (torch.cat(part) for part in zip(*self._parts))
        rest = (index[wanted:], images[wanted:], noise[wanted:])
        self._parts = [rest] if rest[0].numel() else []
        self._count = rest[0].numel()
        return index[:wanted], images[:wanted], noise[:wanted]


def refillable(cache) -> bool:
    """Whether a slot of this cache can take a new sentence: plain growing layers only."""
    from transformers.cache_utils import DynamicLayer

    return all(type(layer) is DynamicLayer for layer in cache.layers)


class Slots:
    """The rows being decoded: each slot's sentence, noise, tokens so far and window start."""

    def __init__(self, lm, prefix_cache, first_logits, stop_mask, settings, cache_name: str, finish: Finish):
        self.lm, self.prefix_cache, self.first_logits = lm, prefix_cache, first_logits
        self.stop_mask, self.settings, self.finish = stop_mask, settings, finish
        self.cache_name = cache_name  # how the LM's forward names its cache argument
        self.prefix_length = prefix_cache.get_seq_length()
        self.refill = refillable(prefix_cache)

    def run(self, pending: Pending, slots: int) -> None:
        """Decode every pending sentence in at most ``slots`` rows; ``finish`` gets each one."""
        while pending:
            index, images, noise = pending.take(slots)
            self.cache = copy.deepcopy(self.prefix_cache)
            self.cache.batch_select_indices(images)
            rows, device = index.shape[0], index.device
            self.index, self.images, self.noise = index, images, noise
            self.tokens = torch.zeros(rows, self.settings.max_new_tokens, dtype=torch.long, device=device)
            self.steps = torch.zeros(rows, dtype=torch.long, device=device)  # tokens sampled so far
            self.start = torch.zeros(
                rows, dtype=torch.long, device=device
            )  # the prefix's place in the window
            self.live = torch.ones(rows, dtype=torch.bool, device=device)
            self.feed = torch.zeros(rows, dtype=torch.long, device=device)  # the next forward's tokens
            everyone = torch.arange(rows, device=device)
            self._first_tokens(everyone)
            self._restart(self._ended(everyone), pending)
            while bool(self.live.any()):
                self._step(pending)

    def _first_tokens(self, rows: torch.Tensor) -> None:
        """Sample the first token of the sentences just put in ``rows``, from their prefix's logits."""
        logits = self.first_logits[self.images[rows]]
        chosen = sample_top_p(logits, self.noise[rows, 0], self.settings.top_p, self.settings.temperature)
        self.tokens[rows, 0] = chosen
        self.feed[rows] = chosen
        self.steps[rows] = 1

    def _ended(self, rows: torch.Tensor) -> torch.Tensor:
        """Those of ``rows`` whose sentence has just ended; they are handed to ``finish``."""
        last = self.feed[rows]
        ended = rows[self.stop_mask[last] | (self.steps[rows] >= self.settings.max_new_tokens)]
        if ended.numel():
            self.finish(self.index[ended], self.tokens[ended], self.steps[ended])
        return ended

    def _restart(self, rows: torch.Tensor, pending: Pending) -> None:
        """Give each of ``rows`` (free slots) the next pending sentence; slots left without one die."""
        while rows.numel():
            if not (self.refill and pending):
                self.live[rows] = False
                return
            index, images, noise = pending.take(rows.numel())
            self.live[rows[index.numel() :]] = False
            rows = rows[: index.numel()]
            self.index[rows], self.images[rows], self.noise[rows] = index, images, noise
            self._load_prefixes(rows, images)
            self._first_tokens(rows)
            rows = self._ended(rows)  # a sentence may end at its first token

    def _load_prefixes(self, rows: torch.Tensor, images: torch.Tensor) -> None:
        """Copy each image's prefix keys and values into the window's last positions of its row."""
        length, prefix = self.cache.get_seq_length(), self.prefix_length
        for source, layer in zip(self.prefix_cache.layers, self.cache.layers):
            layer.keys[rows, :, length - prefix : length] = source.keys[images]
            layer.values[rows, :, length - prefix : length] = source.values[images]
        self.start[rows] = length - prefix

    def _step(self, pending: Pending) -> None:
        """One forward of every row, one token sampled per row, ended sentences replaced."""
        logits = self._forward()
        settings = self.settings
        live = self.live
        step = self.steps.clamp(max=settings.max_new_tokens - 1)
        uniform = self.noise.gather(1, step[:, None]).squeeze(1)
        chosen = sample_top_p(logits, uniform, settings.top_p, settings.temperature)
        live_rows = live.nonzero().squeeze(1)
        self.tokens[live_rows, step[live_rows]] = chosen[live_rows]
        self.feed[live_rows] = chosen[live_rows]
        self.steps += live
        self._restart(self._ended(live_rows), pending)
        dead = live.numel() - int(live.sum())
        if dead and dead * PRUNE_FRACTION >= live.numel() and bool(live.any()):
            self._prune()

    def _forward(self) -> torch.Tensor:
        """The LM's logits for each row's last token, at the row's own position."""
        options = {self.cache_name: self.cache, "use_cache": True}
        if self.refill:
            self._trim()
            length = self.cache.get_seq_length()
            positions = torch.arange(length + 1, device=self.start.device)
            options["attention_mask"] = positions[None, :] >= self.start[:, None]
            options["position_ids"] = (length - self.start)[:, None]
        return self.lm(input_ids=self.feed[:, None], **options).logits[:, -1].float()

    def _trim(self) -> None:
        """Cut the window on the left to the oldest live sentence's prefix."""
        cut = int(self.start[self.live].min())
        if cut > 0:
            for layer in self.cache.layers:
                layer.keys, layer.values = layer.keys[:, :, cut:], layer.values[:, :, cut:]
            self.start = (self.start - cut).clamp_(min=0)

    def _prune(self) -> None:
        """Drop the rows whose sentences have ended (no work is left for them)."""
        keep = self.live.nonzero().squeeze(1)
        self.cache.batch_select_indices(keep)
        for name in ("index", "images", "noise", "tokens", "steps", "start", "live", "feed"):
            setattr(self, name, getattr(self, name)[keep])
