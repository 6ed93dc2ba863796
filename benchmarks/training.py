"""One translator training step against its FLOP floor, and against the step as it was.

    python benchmarks/training.py [--batch 32] [--steps 5] [--dtype float32|bfloat16]
                                  [--threads N] [--lm smollm2|DIR]

A step trains the demo's translator (MLP, prefix 10) into the frozen SmolLM2-135M on a batch of
the demo's captions (``demo.split("captions")``), AdamW included. Three steps are timed, each the
median of --steps repeats after a warm-up:

- ``before``: the step as it was: HF's loss (``labels=``: logits at every position, prefix and
  padding included), an attention mask, random batches;
- ``random batch``: this package's step (logits only where a caption token is predicted, no mask)
  on the same random batches;
- ``train.fit``: this package's step on its length-bucketed batches (``_Captions.batch_indices``).

The floor is the matmul FLOPs the step cannot avoid, forward plus the input gradients of the
backward pass (the LM is frozen: no weight gradients), on the batch's real tokens only (no
padding), at the matmul FLOP/s measured in the same run on the LM's own weight shapes at the
batch's row count.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from texplain_widgets.demo import split
from texplain_widgets.model.language import FrozenLanguageModel
from texplain_widgets.model.train import CachedFeatures, TrainConfig, _Captions
from texplain_widgets.model.translator import Translator, TranslatorConfig


class _Model:
    def __init__(self, translator, language_model):
        self.translator, self.language_model = translator, language_model
        self.device = language_model.device


def old_loss(captions: _Captions, indices: torch.Tensor) -> torch.Tensor:
    """The step's loss as it was before: HF's labels loss over every position, with a mask."""
    model, lm = captions.model, captions.model.language_model
    ids, mask = captions.padded(indices)
    prefix = model.translator(captions.features[indices])
    k = prefix.shape[1]
    inputs = torch.cat([prefix, lm.embed(ids).to(prefix.dtype)], dim=1).to(lm.dtype)
    attention = torch.cat([torch.ones_like(mask[:, :1]).expand(-1, k), mask], dim=1)
    labels = torch.cat([torch.full_like(ids[:, :1], -100).expand(-1, k), ids.masked_fill(~mask, -100)], dim=1)
    return lm.model(inputs_embeds=inputs, attention_mask=attention.long(), labels=labels).loss


def random_batch(n: int, size: int, step: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(step))[:size]


def step_seconds(loss_of, batches, optimizer, repeats: int) -> tuple[float, float]:
    """Median seconds of a full step (loss, backward, AdamW) over ``repeats`` batches, and its loss."""
    loss_of(batches(0)).backward()  # warm-up
    optimizer.zero_grad(set_to_none=True)
    times, losses = [], []
    for step in range(1, repeats + 1):
        start = time.perf_counter()
        loss = loss_of(batches(step))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
        losses.append(loss.item())
    return statistics.median(times), statistics.mean(losses)


def matmul_rate(lm, rows: int, dtype, repeats: int = 5) -> float:
    """FLOP/s of the LM's weight products at ``rows`` rows, weighted by their FLOPs."""
    shapes: dict[tuple[int, int], int] = {}
    for module in lm.model.modules():
        if isinstance(module, torch.nn.Linear):
            shape = tuple(module.weight.shape)
            shapes[shape] = shapes.get(shape, 0) + 1
    flops = seconds = 0.0
    for (out, inner), count in shapes.items():
        a, b = torch.randn(rows, inner, dtype=dtype), torch.randn(inner, out, dtype=dtype)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - start)
        flops += 2 * rows * out * inner * count
        seconds += best * count
    return flops / seconds


def floor_flops(lm, lengths: list[int], k: int) -> float:
    """Forward + input-gradient matmul FLOPs of one batch's real tokens (no padding)."""
    config = lm.model.config
    head = lm.model.get_output_embeddings().weight
    body = sum(m.weight.numel() for m in lm.model.base_model.modules() if isinstance(m, torch.nn.Linear))
    tokens = sum(k + n for n in lengths)
    attention = sum(2 * 2 * (k + n) ** 2 / 2 * config.hidden_size for n in lengths) * config.num_hidden_layers
    forward = 2 * body * tokens + 2 * head.numel() * sum(lengths) + attention
    return 2 * forward  # the backward pass's input gradients cost what the forward does


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per variant (median)")
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--lm", default="smollm2")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    lm = FrozenLanguageModel.from_pretrained(args.lm, dtype=dtype)
    world = split("captions")
    torch.manual_seed(0)
    translator = Translator(TranslatorConfig(512, lm.embed_dim, prefix_length=10, hidden_dim=512))
    model = _Model(translator.train(), lm)
    features = CachedFeatures(torch.randn(len(world.captions), 512).relu(), world.captions)
    captions = _Captions(model, features, TrainConfig(batch_size=args.batch, seed=0))
    optimizer = torch.optim.AdamW(translator.parameters(), lr=1e-4)
    n = len(captions.tokens)
    k = translator.config.prefix_length

    def random(step):
        return random_batch(n, args.batch, step)

    def bucketed(step):
        return captions.batch_indices(step + 40)

    variants = {
        "before": (lambda i: old_loss(captions, i), random),
        "random batch": (captions.loss, random),
        "train.fit": (captions.loss, bucketed),
    }
    lengths = [int(captions.lengths[i]) for step in range(1, args.steps + 1) for i in random(step)]
    rows = sum(k + n for n in lengths) // args.steps
    rate = matmul_rate(lm, rows, dtype)
    floor = floor_flops(lm, lengths, k) / args.steps / rate
    print(
        f"SmolLM2-135M {args.dtype}, batch {args.batch}, {torch.get_num_threads()} threads; "
        f"matmul {rate / 1e9:.0f} GFLOP/s at {rows} rows; floor {floor:.2f} s/step "
        f"({floor_flops(lm, lengths, k) / args.steps / 1e9:.0f} GFLOP)"
    )
    results = {}
    for name, (loss_of, batches) in variants.items():
        seconds, loss = step_seconds(loss_of, batches, optimizer, args.steps)
        results[name] = seconds
        print(
            f"{name:<13} {seconds:6.2f} s/step  {seconds / floor:4.2f}x floor  "
            f"{results['before'] / seconds:4.2f}x faster than before  (loss {loss:.3f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
