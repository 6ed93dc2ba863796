"""A static key/value cache in which every row decodes at its own position (continuous batching).

The static engine's cache (see :mod:`.static_decode`). Its tensors keep their shapes and
addresses, as a CUDA graph needs, and each row has a position of its own in ``positions`` (a
buffer changed in place): a forward writes each row's new key and value at the row's position,
masks the row's attention to the positions up to it, and gives the row that position for its
position embedding (learned in GPT-2, rotary in Llama). So a row can start a new sentence while
the others go on: its prefix's keys and values are copied into its positions [0, prefix) and its
position is set to the prefix length; the stale keys beyond it are masked until overwritten.

Per-row positions need the plain full-attention layers (``StaticLayer``: GPT-2, Llama, Qwen,
...); see :func:`refillable`. Other layers (sliding windows) keep state outside their tensors
(a Python int), which neither per-row positions nor a CUDA graph can follow.
"""

from __future__ import annotations

import torch
from transformers import StaticCache
from transformers.cache_utils import StaticLayer


def refillable(cache) -> bool:
    """Whether each row of this static cache can have its own position: plain full-attention layers."""
    return all(type(layer) is StaticLayer for layer in cache.layers)


class RowLayer(StaticLayer):
    """A static layer whose update writes each row's key and value at the row's own position."""

    def __init__(self, max_cache_len: int, positions: torch.Tensor):
        super().__init__(max_cache_len=max_cache_len)
        self.positions = positions  # (rows,), shared by the cache's layers, changed in place

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        where = self.positions.view(-1, 1, 1, 1)
        self.keys.scatter_(2, where.expand_as(key_states), key_states)
        self.values.scatter_(2, where.expand_as(value_states), value_states)
        return self.keys, self.values


class RowCache(StaticCache):
    """A ``StaticCache`` of ``rows`` rows with a position per row (plain full-attention layers only)."""

    def __init__(self, config, max_cache_len: int, rows: int, device):
        super().__init__(config=config, max_cache_len=max_cache_len)
        if not refillable(self):
            kinds = sorted({type(layer).__name__ for layer in self.layers})
            raise ValueError(f"per-row positions need StaticLayer layers only, this model has {kinds}")
        self.length = max_cache_len
        self.positions = torch.zeros(rows, dtype=torch.long, device=device)  # each row's next write
        self.cache_positions = torch.arange(max_cache_len, device=device)
        self.layers = [RowLayer(max_cache_len, self.positions) for _ in self.layers]

    def get_query_offset(self, layer_idx: int = 0):
        """Per-row positions: the causal part of the mask lets the query see the whole cache, and
        the per-row attention mask (:meth:`step_options`) cuts each row at its own position."""
        return self.length - 1

    def load(self, prefix_cache, rows: torch.Tensor, images: torch.Tensor) -> None:
        """Copy the prefix keys and values of ``images`` into ``rows`` (in place), at positions [0, prefix)."""
        prefix = prefix_cache.get_seq_length()
        for source, layer in zip(prefix_cache.layers, self.layers):
            if not layer.is_initialized:
                template = source.keys[:1].expand(self.positions.shape[0], -1, -1, -1)
                layer.lazy_initialization(template, source.values[:1].expand_as(template))
            layer.keys[rows, :, :prefix] = source.keys[images]
            layer.values[rows, :, :prefix] = source.values[images]
        self.positions[rows] = prefix

    def step_options(self) -> dict:
        """The forward's per-row attention mask and position ids, made from the fixed buffers."""
        return {
            "attention_mask": self.cache_positions[None, :] <= self.positions[:, None],
            "position_ids": self.positions[:, None],
        }

    def advance(self) -> None:
        """One token more in every row, in place (rows with no sentence stay at the last position)."""
        self.positions.add_(1).clamp_(max=self.length - 1)
