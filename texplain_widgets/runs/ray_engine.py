"""The Ray engine: Ray Data over the pending images, ``map_batches`` on an actor pool.

Each actor loads the TExplain once (``num_gpus=1`` per actor when the cluster has GPUs, CPU
actors otherwise) and explains a batch of ``chunk_size`` images with the same function as the
local engine; the driver receives the results and writes them with the same shard writer.
On an existing cluster: ``texplain run ... --engine ray --address auto`` (the package and the
model must be installed on every node).
"""

from __future__ import annotations

import io
import json

import numpy as np

from .chunk import explain_items
from .models import load_model
from .sources import Item


def run_ray(model, chunks: list[list[Item]], settings, write, *, workers=None, address=None, progress=True):
    """Explain ``chunks`` on Ray actors and ``write(results)`` each returned batch.

    ``model`` is a model name (each actor resolves it) or a TExplain (sent to each actor).
    Uses the running Ray if there is one, else starts or joins one (``address``) and shuts
    it down afterwards.
    """
    import ray
    from tqdm import tqdm

    started = not ray.is_initialized()
    if started:
        options = {"address": address} if address else {"include_dashboard": False}
        ray.init(**options, log_to_driver=False)
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        workers = workers or max(1, gpus)
        actor = (
            {"num_gpus": 1, "num_cpus": 1} if gpus else {"num_cpus": max(1, int(resources["CPU"]) // workers)}
        )
        rows = [_row(item) for chunk in chunks for item in chunk]
        dataset = ray.data.from_items(rows, override_num_blocks=len(chunks))
        results = dataset.map_batches(
            _Explainer,
            batch_size=max(map(len, chunks)),
            batch_format="pandas",
            compute=ray.data.ActorPoolStrategy(size=workers),
            fn_constructor_kwargs={
                "model": model,
                "settings": settings,
                "threads": int(actor["num_cpus"]),
                "gpu": bool(gpus),
            },
            **actor,
        )
        with tqdm(total=len(rows), unit="image", disable=not progress or None, smoothing=0.1) as bar:
            for batch in results.iter_batches(batch_size=None, batch_format="pandas"):
                chunk = [json.loads(text) for text in batch["result"]]
                write(sorted(chunk, key=lambda result: result["id"]))
                bar.update(len(chunk))
    finally:
        if started:
            ray.shutdown()


class _Explainer:
    """A Ray actor: loads the TExplain once, then explains batches of rows."""

    def __init__(self, model, settings, threads: int, gpu: bool):
        import torch

        torch.set_num_threads(threads)
        self.model = load_model(model)
        if gpu:
            self.model = self.model.to("cuda")
        self.settings = settings

    def __call__(self, batch):
        import pandas as pd

        items = [
            Item(
                int(row.id), row.name, _text(row.path), _text(row.label), _text(row.group), _image(row.pixels)
            )
            for row in batch.itertuples(index=False)
        ]
        results = explain_items(self.model, items, self.settings)
        return pd.DataFrame({"id": [r["id"] for r in results], "result": [json.dumps(r) for r in results]})


def _row(item: Item) -> dict:
    """A Ray Data row: the item's fields, an in-memory image as .npy bytes (no pickle)."""
    pixels = b""
    if item.image is not None:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(item.image), allow_pickle=False)
        pixels = buffer.getvalue()
    return {
        "id": item.id,
        "name": item.name,
        "path": item.path,
        "label": item.label,
        "group": item.group,
        "pixels": pixels,
    }


def _image(pixels: bytes):
    return np.load(io.BytesIO(pixels), allow_pickle=False) if pixels else None


def _text(value):
    """A string column's value, None where missing (pandas may give NaN)."""
    return value if isinstance(value, str) else None
