"""Dataset runs: engine throughput, Ray scaling, word counting at scale and query times.

    python benchmarks/dataset.py [--parts engine,ray,words,queries] [--images 16] [--sentences 32]
                                 [--device cpu|cuda] [--store-images 10000] [--store-sentences 100]

engine   the local engine (``explain_dataset``, chunks of --chunk-size images per sampling call)
         against a plain loop of ``explain(image)``, one image per call, on the first --images
         images of the demo's test split with the demo's biased TExplain (the real SmolLM2):
         images/s and sentences/s of each, and the ratio; and one ``explain`` call on all the
         images (the same sentences as the run's), the throughput a run should keep.
         ``--skip-loop`` leaves the loop out. With ``--device cuda`` on a GPU.
ray      the Ray engine with 1 and 2 CPU workers on the same images (a local Ray of one CPU,
         so one torch thread, per worker; --ray-chunk-size images per batch): the wall time of the whole call (each actor loads
         the model), the steady rate (from the shard by which every worker has delivered one to
         the last shard), and the 2-to-1 scaling ratio of that rate.
words    lemmatise and count the words of --store-images x --store-sentences synthetic
         sentences, memo cleared first (what a run does per chunk), sentences/s.
queries  a synthetic store of that size (written with the real shard writer), then
         ``.words(by=...)`` and ``.images_with(word)`` on a freshly opened ExplanationSet,
         best of 3 and first call.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

# fmt: off
VOCABULARY = [
    "kite", "balloon", "grass", "brick", "wall", "lawn", "field", "red", "blue", "yellow", "green",
    "orange", "purple", "white", "black", "pink", "small", "large", "tiny", "big", "flying", "sky",
    "over", "above", "against", "on", "in", "front", "of", "the", "a", "an", "with", "string", "tail",
    "diamond", "oval", "shape", "bright", "dark", "pattern", "texture", "photo", "image", "picture",
    "bricks", "walls", "kites", "balloons", "fields", "lawns", "colourful", "round", "thin", "floating",
]
# fmt: on


def synthetic_sentences(n: int, rng) -> list[str]:
    """Sentences of 6-14 words from a demo-like vocabulary plus rarer made-up words (~1 in 8)."""
    rare = [f"word{i}" for i in range(5000)]
    lengths = rng.integers(6, 15, n)
    common = rng.integers(0, len(VOCABULARY), lengths.sum())
    odd = rng.random(lengths.sum()) < 0.125
    rare_ids = rng.integers(0, len(rare), lengths.sum())
    words = [rare[r] if o else VOCABULARY[c] for c, o, r in zip(common, odd, rare_ids)]
    out, start = [], 0
    for length in lengths:
        out.append(" ".join(words[start : start + length]) + ".")
        start += length
    return out


def bench_words(n_images: int, n_sentences: int) -> None:
    from texplain_widgets import words
    from texplain_widgets.runs.tables import word_counts

    sentences = synthetic_sentences(n_images * n_sentences, np.random.default_rng(0))
    for cache in (getattr(words, "lemma", None), getattr(words, "_counted", None)):
        if cache is not None and hasattr(cache, "cache_clear"):
            cache.cache_clear()
    start = time.perf_counter()
    for i in range(n_images):
        word_counts(sentences[i * n_sentences : (i + 1) * n_sentences])
    seconds = time.perf_counter() - start
    print(f"words: {len(sentences):,} sentences lemmatised and counted per image in {seconds:.1f} s "
          f"({len(sentences) / seconds:,.0f} sentences/s)")  # fmt: skip


def synthetic_store(directory: Path, n_images: int, n_sentences: int, chunk: int = 32) -> float:
    """Write a store of ``n_images`` x ``n_sentences`` with the real writer; returns seconds."""
    from texplain_widgets.runs.store import StoreWriter
    from texplain_widgets.runs.tables import chunk_tables

    rng = np.random.default_rng(1)
    groups = ["kite/grass", "kite/brick", "balloon/grass", "balloon/brick"]
    head = {
        "model": {"synthetic": True},
        "sampling": {"n_sentences": n_sentences},
        "source": {"n_images": n_images},
    }
    start = time.perf_counter()
    with StoreWriter(directory, head, overwrite=True) as writer:
        for first in range(0, n_images, chunk):
            ids = range(first, min(first + chunk, n_images))
            sentences = synthetic_sentences(len(ids) * n_sentences, rng)
            results = []
            for k, i in enumerate(ids):
                group = groups[i % 4]
                predicted = int(rng.random() < 0.5)
                results.append(
                    {"id": i, "name": f"{i:05d}.png", "path": None, "label": group.split("/")[0], "group": group,
                     "error": None, "predicted": predicted, "class_name": ("kite", "balloon")[predicted],
                     "probability": 0.9, "sentences": sentences[k * n_sentences : (k + 1) * n_sentences]}
                )  # fmt: skip
            writer.write_chunk(chunk_tables(results))
        writer.finish(True)
    return time.perf_counter() - start


def bench_queries(n_images: int, n_sentences: int) -> None:
    from texplain_widgets import ExplanationSet

    directory = Path(tempfile.mkdtemp(prefix="texplain-store-"))
    try:
        seconds = synthetic_store(directory, n_images, n_sentences)
        size = sum(p.stat().st_size for p in directory.rglob("*.parquet")) / 1e6
        print(f"queries: store of {n_images:,} images x {n_sentences} sentences written in {seconds:.0f} s, "
              f"{size:.0f} MB of Parquet")  # fmt: skip
        for name, query in (
            ("words(by='predicted')", lambda s: s.words(by="predicted")),
            ("words(by='label')", lambda s: s.words(by="label")),
            ("words(by='group')", lambda s: s.words(by="group")),
            ("images_with('grass')", lambda s: s.images_with("grass")),
            ("images_with('word17')", lambda s: s.images_with("word17")),
        ):
            runs = ExplanationSet.open(directory)
            first, _ = timed(lambda runs=runs, query=query: query(runs))
            best = min(timed(lambda runs=runs, query=query: query(runs))[0] for _ in range(3))
            print(f"  {name:<24} first {first:.3f} s, best of 3 {best:.3f} s")
        first, _ = timed(lambda: ExplanationSet.open(directory))
        print(f"  {'ExplanationSet.open':<24} {first:.3f} s (checks every shard's size, SHA-256 and footer)")
    finally:
        shutil.rmtree(directory)


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def demo_images(n: int):
    from texplain_widgets.data.collection import ImageCollection
    from texplain_widgets.demo import split

    world = split("test")
    return world, ImageCollection.from_world(world.subset(np.arange(n)))


def bench_engine(args) -> None:
    import torch

    from texplain_widgets import explain_dataset
    from texplain_widgets.demo import load

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    model = load(["biased"])["biased"].to(device)
    world, source = demo_images(args.images)
    settings = {"max_new_tokens": args.max_new_tokens, "seed": 0}
    model.explain(world.images[0], 8, **settings)  # warm up
    loop = float("nan")
    if not args.skip_loop:
        loop, _ = timed(
            lambda: [model.explain(world.images[i], args.sentences, **settings) for i in range(args.images)]
        )
    images = [world.images[i] for i in range(args.images)]  # one call: the same sentences as the run's
    one_call, _ = timed(
        lambda: model.explain(images, args.sentences, image_ids=list(range(args.images)), **settings)
    )
    out = Path(tempfile.mkdtemp(prefix="texplain-run-"))
    try:
        engine, runs = timed(
            lambda: explain_dataset(model, source, out / "run", n_sentences=args.sentences,
                                    chunk_size=args.chunk_size, progress=False, **settings)
        )  # fmt: skip
    finally:
        shutil.rmtree(out)
    n = args.images * args.sentences
    print(f"engine on {device}, {torch.get_num_threads()} torch thread(s) ({args.images} demo test images x {args.sentences} sentences, "
          f"max {args.max_new_tokens} tokens, chunks of {args.chunk_size}):")  # fmt: skip
    print(
        f"  loop of explain(image)  {loop:6.1f} s  {args.images / loop:6.2f} images/s  {n / loop:7.1f} sentences/s"
    )
    print(
        f"  local engine            {engine:6.1f} s  {args.images / engine:6.2f} images/s  {n / engine:7.1f} sentences/s"
    )
    print(
        f"  one explain(all images) {one_call:6.1f} s  {args.images / one_call:6.2f} images/s  {n / one_call:7.1f} sentences/s"
    )
    print(
        f"  ratio                   {loop / engine:.2f}x the loop, {one_call / engine:.2f}x one call's throughput  "
        f"({len(runs)} images stored, {runs.n_failed} failed)"
    )


def bench_ray(args) -> None:
    """Each worker count in a fresh process: a second ``ray.init`` in one process can time out
    on a loaded machine."""
    import subprocess
    import sys

    rates = {}
    for workers in (1, 2):
        command = [sys.executable, "-u", __file__, "--parts", "ray-once", "--ray-workers", str(workers),
                   "--images", str(args.images), "--sentences", str(args.sentences),
                   "--max-new-tokens", str(args.max_new_tokens), "--ray-chunk-size", str(args.ray_chunk_size)]  # fmt: skip
        lines = subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()
        print(next(line for line in lines if line.startswith("ray,")))
        rates[workers] = float(next(line for line in lines if line.startswith("RATE")).split()[1])
    print(f"  scaling 2 workers / 1 worker: {rates[2] / rates[1]:.2f}x")


def bench_ray_once(args) -> None:
    import ray

    from texplain_widgets import explain_dataset

    _, source = demo_images(args.images)
    workers = args.ray_workers
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)  # one CPU per worker
    out = Path(tempfile.mkdtemp(prefix="texplain-ray-"))
    stamps = []
    try:
        wall, _ = timed(
            lambda: explain_dataset(
                "demo", source, out / "run", n_sentences=args.sentences, max_new_tokens=args.max_new_tokens,
                engine="ray", workers=workers, chunk_size=args.ray_chunk_size, progress=False,
                on_chunk=lambda stored, total: stamps.append((time.perf_counter(), stored)))
        )  # fmt: skip
    finally:
        shutil.rmtree(out)
        ray.shutdown()
    # the steady rate: from the shard by which every worker has delivered once, to the last
    (t0, n0), (t1, n1) = stamps[workers - 1], stamps[-1]
    rate = (n1 - n0) / (t1 - t0) if t1 > t0 else float("nan")
    print(f"ray, {workers} worker(s): {n1} images in {wall:.1f} s in all (each actor loads SmolLM2), "
          f"{rate:.3f} images/s in steady state ({len(stamps)} shards)")  # fmt: skip
    print(f"RATE {rate}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="engine,ray,words,queries")
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--sentences", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=20)
    parser.add_argument("--chunk-size", type=int, default=32, help="the local engine's (default 32)")
    parser.add_argument("--ray-workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--ray-chunk-size", type=int, default=2, help="Ray's: several shards per worker")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-loop", action="store_true", help="engine part: no loop of explain(image)")
    parser.add_argument("--threads", type=int, help="torch threads of the engine part (default: torch's)")
    parser.add_argument("--store-images", type=int, default=10_000)
    parser.add_argument("--store-sentences", type=int, default=100)
    args = parser.parse_args(argv)
    parts = args.parts.split(",")
    if "words" in parts:
        bench_words(args.store_images, args.store_sentences)
    if "queries" in parts:
        bench_queries(args.store_images, args.store_sentences)
    if "engine" in parts:
        bench_engine(args)
    if "ray" in parts:
        bench_ray(args)
    if "ray-once" in parts:
        bench_ray_once(args)


if __name__ == "__main__":
    main()
