"""Explorer on the demo, timed step by step (the widget's work without a browser).

    python benchmarks/explorer.py [--image 0] [--model biased] [--sentences 64] [--layer layer3]

Times: construction (prediction), the classifier's GradCAM map, Generate (with the time of each
streamed batch), the first word's word-grounded map, the same word clicked again (cached: the
target is under 300 ms) and a second word. Writes the maps to /tmp/explorer_*.png.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp())

from texplain_widgets import demo
from texplain_widgets.widgets.explorer import Explorer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=int, default=0)
    parser.add_argument("--model", default="biased")
    parser.add_argument("--sentences", type=int, default=64)
    parser.add_argument("--layer", default=None, help="GradCAM layer of the classifier (default: automatic)")
    args = parser.parse_args()

    def timed(label, action):
        start = time.perf_counter()
        result = action()
        print(f"{label}: {time.perf_counter() - start:.2f} s")
        return result

    loaded = timed("demo.load", lambda: demo.load([args.model]))
    world = loaded.test
    options = {"gradcam": {"layer": args.layer}} if args.layer else {}
    widget = timed(
        "construct (prediction)",
        lambda: Explorer(
            loaded[args.model],
            world.images[args.image],
            name=f"test[{args.image}]",
            n_sentences=args.sentences,
            method_options=options,
        ),
    )
    print(f"  {widget.prediction} ({widget.probability:.2f}); caption: {world.captions[args.image]!r}")
    timed("gradcam saliency map", widget.wait)

    start = time.perf_counter()
    batches = []
    widget.observe(lambda change: batches.append(round(time.perf_counter() - start, 2)), "n_generated")
    timed(f"generate {args.sentences} sentences", lambda: (widget.generate().result(), widget.wait()))
    print(f"  batches done at {batches} s")
    print("  words:", ", ".join(f"{w['word']} {w['share']:.2f}" for w in widget.words[:10]))
    print("  sentences:", widget.sentences[:3])

    first, second = widget.words[0]["word"], widget.words[1]["word"]
    widget.selected_word = first
    timed(f"word map of {first!r}", widget.wait)
    widget.selected_word = ""
    timed(f"word map of {first!r} again (cached)", lambda: setattr(widget, "selected_word", first))
    widget.selected_word = second
    timed(f"word map of {second!r}", widget.wait)
    print(f"  error: {widget.error!r}")
    for name, data in (
        ("image", widget.image_png),
        ("saliency", widget.saliency_png),
        ("word_map", widget.word_map_png),
    ):
        with open(f"/tmp/explorer_{name}.png", "wb") as file:
            file.write(data)
    widget.close()


if __name__ == "__main__":
    main()
