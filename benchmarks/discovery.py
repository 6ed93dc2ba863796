"""Finding a shortcut without groups: error_words and slices on the synthetic store.

    python benchmarks/discovery.py [--store-images 10000] [--store-sentences 100] [--store DIR]

Writes the synthetic store of ``benchmarks/dataset.py`` (10,000 images x 100 sentences by
default; kept in --store DIR and reused when given), then times on a freshly opened
ExplanationSet: ``error_words`` by label and by predicted class, and ``slices`` (the top error
words, one- and two-word slices), the first call on a freshly opened set (it reads the image
table and the class words) and the best of 3 more. The issue's bounds: under 1 s for
error_words, under 5 s for slices.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from dataset import synthetic_store


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store-images", type=int, default=10_000)
    parser.add_argument("--store-sentences", type=int, default=100)
    parser.add_argument("--store", type=Path, help="keep the store here, reuse it when it exists")
    args = parser.parse_args(argv)
    from texplain_widgets import ExplanationSet

    directory = args.store or Path(tempfile.mkdtemp(prefix="texplain-discovery-"))
    try:
        if not (directory / "manifest.json").exists():
            seconds = synthetic_store(directory, args.store_images, args.store_sentences)
            print(
                f"store of {args.store_images:,} images x {args.store_sentences} sentences written in {seconds:.0f} s"
            )
        ExplanationSet.open(directory).error_words()  # imports (scipy, duckdb) out of the timings
        for name, query in (
            ("error_words(by='label')", lambda s: s.error_words(by="label")),
            ("error_words(by='predicted')", lambda s: s.error_words(by="predicted")),
            ("slices()", lambda s: s.slices()),
            ("slices(words=[10 words])", lambda s: s.slices(words=VOCABULARY_10)),
        ):
            runs = ExplanationSet.open(directory)
            first = timed(lambda query=query, runs=runs: query(runs))
            best = min(timed(lambda query=query, runs=runs: query(runs)) for _ in range(3))
            print(f"  {name:<28} first {first:.3f} s, best of 3 {best:.3f} s")
    finally:
        if args.store is None:
            shutil.rmtree(directory)


VOCABULARY_10 = ["grass", "brick", "wall", "lawn", "field", "red", "blue", "sky", "string", "tail"]

if __name__ == "__main__":
    main()
