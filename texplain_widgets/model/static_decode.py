"""Static-shape decoding: a fixed key/value cache and fixed batch buckets, for CUDA graphs.

The opt-in ``engine="static"`` of :class:`~.generate.SamplingSettings`. Each batch is padded to
a bucket (a power of two from 32 to 1024 rows) and decodes in a key/value cache of fixed length
prefix + ``max_new_tokens``; finished rows stay in the batch (their tokens are ignored) instead
of being pruned. So every decode step sees the same tensor shapes and addresses, and on CUDA the
step (the LM's forward and the top-64 nucleus pick) is captured once per bucket as a CUDA graph
and replayed. Rows whose nucleus is wider than the top 64 tokens are sampled outside the graph by
:func:`~.generate.sample_top_p`, so a row samples what the eager engine samples from the same
logits and noise. On a CPU the same steps run eagerly.

Threads: a decoder decodes one batch at a time (a lock around each whole batch), so threads
sampling with the same shapes and settings share its caches and graphs and take turns. A call
with other shapes or settings makes a new decoder, the LM's latest (a call still running keeps
the one it has). Graphs are captured in ``thread_local`` mode: other threads' CUDA work does not
break a capture.
"""

from __future__ import annotations

import inspect
import threading
import weakref

import torch

from .nucleus import CANDIDATES, pick, sample_top_p

BUCKETS = tuple(2**i for i in range(5, 11))  # rows per batch: 32, 64, ..., 1024
CUDA_GRAPHS = True  # capture the decode step on CUDA (False: run the static steps eagerly there too)

_decoders: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # lm -> its latest StaticDecoder
_decoders_lock = threading.Lock()


def bucket_rows(rows: int) -> int:
    """The smallest bucket that holds ``rows`` rows."""
    for bucket in BUCKETS:
        if rows <= bucket:
            return bucket
    raise ValueError(f"a static batch holds at most {BUCKETS[-1]} rows, got {rows}")


def decoder_for(lm, prefix_length: int, settings, device) -> StaticDecoder:
    """The LM's static decoder for these shapes and settings, reused across calls (graphs included)."""
    dtype = next(lm.parameters()).dtype
    key = (prefix_length, settings.max_new_tokens, settings.top_p, settings.temperature, str(device), dtype)
    with _decoders_lock:
        decoder = _decoders.get(lm)
        if decoder is None or decoder.key != key or decoder.graphs_wanted != _graphs_wanted(device):
            decoder = StaticDecoder(key, device)
            _decoders[lm] = decoder  # one per LM: a new shape frees the old caches and graphs
        return decoder


def _graphs_wanted(device) -> bool:
    return CUDA_GRAPHS and torch.device(device).type == "cuda"


def _cache_argument(lm, cache) -> dict:
    """transformers 5.2x names the cache argument ``cache``; earlier ones ``past_key_values``."""
    name = "cache" if "cache" in inspect.signature(lm.forward).parameters else "past_key_values"
    return {name: cache}


def sample_step(logits: torch.Tensor, uniform: torch.Tensor, top_p: float, temperature: float):
    """Static-shape part of :func:`~.generate.sample_top_p`: the pick among the top 64 tokens.

    Returns the chosen tokens and which rows' nucleus the top 64 covered; the others' choice is
    not valid yet (see :func:`complete_step`).
    """
    probs = torch.softmax(logits if temperature == 1 else logits / temperature, dim=-1)
    top_probs, top_ids = probs.topk(min(CANDIDATES[0], probs.shape[-1]), dim=-1)
    covered = top_probs.sum(-1) >= top_p
    return pick(top_probs, top_ids, uniform, top_p), covered


def complete_step(chosen, covered, logits, uniform, top_p, temperature) -> None:
    """Sample, in place, the rows whose nucleus is wider than the top 64 (a data-dependent step)."""
    wide = (~covered).nonzero().squeeze(1)
    if wide.numel():
        chosen[wide] = sample_top_p(logits[wide], uniform[wide], top_p, temperature)


class _Bucket:
    """The static cache and step buffers of one batch size, and its CUDA graph once captured."""

    def __init__(self, lm, rows: int, max_length: int, device):
        from transformers import StaticCache

        self.rows = rows
        self.cache = StaticCache(config=lm.config, max_cache_len=max_length)
        self.tokens = torch.zeros(rows, dtype=torch.long, device=device)  # the step's input tokens
        self.uniform = torch.zeros(rows, device=device)  # the step's noise
        self.graph = None
        self.outputs = None  # (logits, chosen, covered) of the captured step


class StaticDecoder:
    """Decodes batches of sample rows at static shapes; see the module's docstring."""

    def __init__(self, key: tuple, device):
        self.key = key  # holds no reference to the LM, so that the LM's entry in _decoders can go
        self.prefix_length, self.max_new_tokens, self.top_p, self.temperature = key[:4]
        self.device = torch.device(device)
        self.graphs_wanted = _graphs_wanted(self.device)
        self.buckets: dict[int, _Bucket] = {}
        self._lock = threading.Lock()  # one batch at a time: the buckets' caches hold its state

    def decode(self, lm, prefix_cache, first_logits, rows_image, noise, stop_mask, settings):
        """Decode one batch; returns tokens (rows, max_new_tokens) and each row's length (on the CPU).

        ``rows_image`` holds each row's image index and ``noise`` its uniform numbers (see
        ``generate._batch_rows``); ``lm`` and ``settings`` must be
        those the decoder was made for (see :func:`decoder_for`). Threads take turns, a batch each.
        """
        with self._lock:
            return self._decode(lm, prefix_cache, first_logits, rows_image, noise, stop_mask)

    def _decode(self, lm, prefix_cache, first_logits, rows_image, noise, stop_mask):
        rows = rows_image.shape[0]
        bucket = self._bucket(lm, bucket_rows(rows))
        padded = torch.zeros(bucket.rows, dtype=torch.long, device=rows_image.device)
        padded[:rows] = rows_image  # padding rows decode image 0 and are ignored
        uniform = torch.zeros(bucket.rows, self.max_new_tokens, device=noise.device)
        uniform[:rows] = noise
        self._fill(bucket, prefix_cache, padded)
        tokens = torch.zeros(bucket.rows, self.max_new_tokens, dtype=torch.long, device=self.device)
        lengths = torch.full((bucket.rows,), self.max_new_tokens, dtype=torch.long, device=self.device)
        running = torch.arange(bucket.rows, device=self.device) < rows

        logits = first_logits[padded]
        chosen, covered = sample_step(logits, uniform[:, 0], self.top_p, self.temperature)
        for step in range(self.max_new_tokens):
            # a synchronisation: are all running rows' nuclei within the top 64?
            if not bool((covered | ~running).all()):
                complete_step(
                    chosen, covered | ~running, logits, uniform[:, step], self.top_p, self.temperature
                )
            tokens[:, step] = chosen
            ended = stop_mask[chosen] & running
            lengths[ended] = step + 1
            running &= ~ended
            if step == self.max_new_tokens - 1 or not bool(running.any()):
                break
            logits, chosen, covered = self._step(lm, bucket, chosen, uniform[:, step + 1])
        return tokens[:rows].cpu(), lengths[:rows].cpu()

    def _bucket(self, lm, rows: int) -> _Bucket:
        if rows not in self.buckets:
            self.buckets[rows] = _Bucket(lm, rows, self.prefix_length + self.max_new_tokens, self.device)
        return self.buckets[rows]

    def _fill(self, bucket: _Bucket, prefix_cache, rows_image) -> None:
        """Copy each row's prefix keys and values into the static cache, in place (addresses kept)."""
        for source, layer in zip(prefix_cache.layers, bucket.cache.layers):
            keys, values = source.keys[rows_image], source.values[rows_image]
            if not layer.is_initialized:
                layer.lazy_initialization(keys, values)
            layer.keys[:, :, : self.prefix_length].copy_(keys)
            layer.values[:, :, : self.prefix_length].copy_(values)
            layer.cumulative_length.fill_(self.prefix_length)

    def _forward(self, lm, bucket: _Bucket):
        """The decode step at static shapes: the LM's forward on bucket.tokens and the top-64 pick."""
        cache_argument = _cache_argument(lm, bucket.cache)
        out = lm(input_ids=bucket.tokens[:, None], use_cache=True, **cache_argument)
        logits = out.logits[:, -1].float()
        chosen, covered = sample_step(logits, bucket.uniform, self.top_p, self.temperature)
        return logits, chosen, covered

    def _step(self, lm, bucket: _Bucket, tokens, uniform):
        bucket.tokens.copy_(tokens)
        bucket.uniform.copy_(uniform)
        if not self.graphs_wanted:
            return self._forward(lm, bucket)
        if bucket.graph is None:
            self._capture(lm, bucket)
        bucket.graph.replay()
        logits, chosen, covered = bucket.outputs
        return logits, chosen.clone(), covered  # chosen is completed in place: keep the graph's output

    def _capture(self, lm, bucket: _Bucket) -> None:
        """Capture the step as a CUDA graph; the warm-up steps' cache writes are undone."""
        lengths = [layer.cumulative_length.clone() for layer in bucket.cache.layers]
        stream = torch.cuda.Stream(self.device)
        stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(stream):
            for _ in range(2):  # warm-up: lazy allocations and kernel choices happen outside the graph
                self._forward(lm, bucket)
        torch.cuda.current_stream(self.device).wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):
            bucket.outputs = self._forward(lm, bucket)
        for layer, length in zip(bucket.cache.layers, lengths):
            layer.cumulative_length.copy_(length)
        bucket.graph = graph
