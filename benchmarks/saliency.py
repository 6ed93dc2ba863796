"""Seconds per saliency method for one 224 x 224 image, on the CPU by default.

    python benchmarks/saliency.py [--model DIR|demo] [--repeats 2] [--device cpu|cuda]

Times :func:`saliency_map` with each method's default options on timm resnet50 (random
weights, ``pretrained=False``), and on the classifier of a saved TExplain when ``--model`` is
given. Integrated gradients runs its path steps in batches (``internal_batch_size``, default 16);
the same call with ``internal_batch_size=1`` is timed too, as the unbatched baseline.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from PIL import Image
from skimage import data

from texplain_widgets.attribution.maps import METHODS, saliency_map
from texplain_widgets.model.classifier import FrozenClassifier
from texplain_widgets.model_names import resolve_model

ROWS = [
    *((method, method, {}) for method in METHODS),  # each method with its default options
    (
        "integrated_gradients (batch 1)",
        "integrated_gradients",
        {"internal_batch_size": 1},
    ),
]


def timed(classifier, image, method, options, repeats, device) -> float:
    """Best wall time of ``repeats`` calls."""
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        heatmap = saliency_map(classifier, image, method, target=0, **options).heatmap
        best = min(best, time.perf_counter() - start)
        assert heatmap.shape == np.asarray(image).shape[:2]
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        metavar="DIR",
        help="also time this saved TExplain's classifier (or demo)",
    )
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)

    image = Image.fromarray(data.astronaut()).resize((224, 224), Image.BICUBIC)
    torch.manual_seed(0)
    classifiers = {"resnet50 (random weights)": FrozenClassifier.from_timm("resnet50")}
    if args.model:
        classifiers[args.model] = resolve_model(args.model).classifier
    print(
        f"device {device}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"image 224 x 224, best of {args.repeats}"
    )
    for name, classifier in classifiers.items():
        classifier.to(device)
        saliency_map(classifier, image, "gradcam")  # warm-up
        print(f"\n{name}, input {tuple(classifier.input_size)}")
        print(f"  {'method':<31} {'seconds':>8}")
        seconds = {}
        for label, method, options in ROWS:
            seconds[label] = timed(classifier, image, method, options, args.repeats, device)
            print(f"  {label:<31} {seconds[label]:8.3f}")
        ratio = seconds["integrated_gradients (batch 1)"] / seconds["integrated_gradients"]
        print(f"  integrated gradients, batch 1 / batch 16: {ratio:.2f}x")


if __name__ == "__main__":
    main()
