"""Static-shape decoding with continuous batching: a fixed key/value cache and row buckets, for CUDA graphs.

The opt-in ``engine="static"`` of :class:`~.generate.SamplingSettings`. A call's sentences are
decoded in a bucket of rows (a power of two from 32 to 1024) and a key/value cache of fixed
length prefix + ``max_new_tokens`` (:class:`~.row_cache.RowCache`), in which each row has its own
position. When a row's sentence ends and sentences are pending (of the same image or the next
one), the row takes the next one: its prefix's keys and values are copied into the row, its
position is set to the prefix length and its noise row loaded (see :class:`~.continuous.Pending`),
so the bucket stays full until the work runs out; rows left without a sentence stay in the
bucket, their tokens ignored. Every decode step sees the same tensor shapes and addresses, and
on CUDA the step (the LM's forward and the top-64 nucleus pick) is captured once per bucket as
a CUDA graph and replayed. Rows whose nucleus is wider than the top 64 tokens are sampled
outside the graph by :func:`~.generate.sample_top_p`, so a row samples what the eager engine
samples from the same logits and noise. On a CPU the same steps run eagerly. A model whose
cache layers cannot take per-row positions (sliding windows) decodes with one position for the
bucket: its rows take new sentences only once all of them have ended.

Threads: a decoder decodes one call at a time (a lock around each whole call), so threads
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

from .continuous import Pending
from .nucleus import CANDIDATES, pick, sample_top_p
from .row_cache import RowCache, refillable

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


def supports(lm) -> bool:
    """Whether the static engine can decode with this LM: its layers take per-row positions."""
    from transformers import StaticCache

    return refillable(StaticCache(config=lm.config, max_cache_len=1))


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
        self.rows = rows
        self.cache = RowCache(lm.config, max_length, rows, device)
        self.tokens = torch.zeros(rows, dtype=torch.long, device=device)  # the step's input tokens
        self.uniform = torch.zeros(rows, device=device)  # the step's noise
        self.graph = None
        self.outputs = None  # (logits, chosen, covered) of the captured step


class StaticDecoder:
    """Decodes sample rows at static shapes, refilling rows as sentences end; see the module's docstring."""

    def __init__(self, key: tuple, device):
        self.key = key  # holds no reference to the LM, so that the LM's entry in _decoders can go
        self.prefix_length, self.max_new_tokens, self.top_p, self.temperature = key[:4]
        self.device = torch.device(device)
        self.graphs_wanted = _graphs_wanted(self.device)
        self.buckets: dict[int, _Bucket] = {}
        self.forwards = 0  # decode steps run, all calls together
        self._lock = threading.Lock()  # one call at a time: the buckets' caches hold its state

    def decode(self, lm, prefix_cache, first_logits, pending: Pending, stop_mask, slots: int, finish) -> None:
        """Decode every pending sentence (see :class:`~.continuous.Pending`) in ``bucket_rows(slots)`` rows.

        ``finish(index, tokens, lengths)`` gets the sentences as they end. ``lm`` and the settings
        must be those the decoder was made for (see :func:`decoder_for`). Threads take turns, a call each.
        """
        with self._lock:
            bucket = self._bucket(lm, bucket_rows(slots))
            _Rows(self, lm, bucket, prefix_cache, first_logits, stop_mask, finish).run(pending)

    def _bucket(self, lm, rows: int) -> _Bucket:
        if rows not in self.buckets:
            self.buckets[rows] = _Bucket(lm, rows, self.prefix_length + self.max_new_tokens, self.device)
        return self.buckets[rows]

    def _forward(self, lm, bucket: _Bucket):
        """The decode step at static shapes: the LM's forward on bucket.tokens and the top-64 pick."""
        cache = bucket.cache
        options = {**_cache_argument(lm, cache), **cache.step_options()}
        out = lm(input_ids=bucket.tokens[:, None], use_cache=True, **options)
        cache.advance()
        logits = out.logits[:, -1].float()
        chosen, covered = sample_step(logits, bucket.uniform, self.top_p, self.temperature)
        return logits, chosen, covered

    def step(self, lm, bucket: _Bucket, tokens, uniform):
        """One decode step of every row of the bucket: (logits, chosen tokens, covered rows)."""
        self.forwards += 1
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
        """Capture the step as a CUDA graph; the warm-up steps' position changes are undone."""
        positions = bucket.cache.positions.clone()
        stream = torch.cuda.Stream(self.device)
        stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(stream):
            for _ in range(2):  # warm-up: lazy allocations and kernel choices happen outside the graph
                self._forward(lm, bucket)
        torch.cuda.current_stream(self.device).wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):
            bucket.outputs = self._forward(lm, bucket)
        bucket.cache.positions.copy_(positions)
        bucket.graph = graph


class _Rows:
    """One call's rows in a bucket: each row's sentence, noise and tokens; a row whose sentence
    ends takes the next pending one."""

    def __init__(
        self, decoder: StaticDecoder, lm, bucket: _Bucket, prefix_cache, first_logits, stop_mask, finish
    ):
        self.decoder, self.lm, self.bucket, self.finish = decoder, lm, bucket, finish
        self.prefix_cache, self.first_logits, self.stop_mask = prefix_cache, first_logits, stop_mask
        rows, steps, device = bucket.rows, decoder.max_new_tokens, decoder.device
        self.index = torch.zeros(rows, dtype=torch.long, device=device)  # each row's sentence
        self.images = torch.zeros(rows, dtype=torch.long, device=device)
        self.noise = torch.zeros(rows, steps, device=device)
        self.tokens = torch.zeros(rows, steps, dtype=torch.long, device=device)
        self.steps = torch.zeros(rows, dtype=torch.long, device=device)  # tokens sampled so far
        self.feed = torch.zeros(rows, dtype=torch.long, device=device)  # the next step's tokens
        self.live = torch.zeros(rows, dtype=torch.bool, device=device)

    def run(self, pending: Pending) -> None:
        self._start(torch.arange(self.bucket.rows, device=self.decoder.device), pending)
        while bool(self.live.any()):
            self._step(pending)

    def _start(self, rows: torch.Tensor, pending: Pending) -> None:
        """Give each of ``rows`` (free) the next pending sentence: its prefix, noise and first token."""
        while rows.numel() and pending:
            index, images, noise = pending.take(rows.numel())
            rows = rows[: index.numel()]
            self.index[rows], self.images[rows], self.noise[rows] = index, images, noise
            self.bucket.cache.load(self.prefix_cache, rows, images)
            decoder = self.decoder
            chosen = sample_top_p(self.first_logits[images], noise[:, 0], decoder.top_p, decoder.temperature)
            self.tokens[rows, 0] = self.feed[rows] = chosen
            self.steps[rows] = 1
            self.live[rows] = True
            rows = self._ended(rows)  # a sentence may end at its first token

    def _ended(self, rows: torch.Tensor) -> torch.Tensor:
        """Those of ``rows`` whose sentence has just ended: handed to ``finish``, no longer live."""
        ended = rows[self.stop_mask[self.feed[rows]] | (self.steps[rows] >= self.decoder.max_new_tokens)]
        if ended.numel():
            self.finish(self.index[ended], self.tokens[ended], self.steps[ended])
            self.live[ended] = False
        return ended

    def _step(self, pending: Pending) -> None:
        """One forward of every row, a token sampled for each live row, ended sentences replaced."""
        decoder, live = self.decoder, self.live
        step = self.steps.clamp(max=decoder.max_new_tokens - 1)
        uniform = self.noise.gather(1, step[:, None]).squeeze(1)
        logits, chosen, covered = decoder.step(self.lm, self.bucket, self.feed, uniform)
        if not bool((covered | ~live).all()):  # a synchronisation: nuclei wider than the top 64?
            complete_step(chosen, covered | ~live, logits, uniform, decoder.top_p, decoder.temperature)
        rows = live.nonzero().squeeze(1)
        self.tokens[rows, step[rows]] = self.feed[rows] = chosen[rows]
        self.steps[rows] += 1
        self._start(self._ended(rows), pending)
