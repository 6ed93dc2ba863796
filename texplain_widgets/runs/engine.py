"""``explain_dataset``: explain every image of a source into a resumable run directory.

The source is split into fixed chunks of ``chunk_size`` images by id; each chunk is one call
of :meth:`TExplain.explain` (several images per sampling call, the classifier batched) and
one shard of the store. A rerun skips the stored images; Ctrl-C or a crash loses at most the
chunk in progress.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import warnings
from collections.abc import Callable

import torch

from ..errors import InputError
from ..model.generate import SamplingSettings
from .chunk import explain_items
from .explanation_set import ExplanationSet
from .models import batch_rows, describe_model, load_model, model_source, resume_batch_rows, worker_model_name
from .reference import run_reference
from .sources import Item, Source, label_problem, resolve_source
from .store import StoreWriter
from .tables import chunk_tables

ENGINES = ("local", "ray")
SAMPLING = ("n_sentences", "top_p", "temperature", "max_new_tokens", "seed")


def explain_dataset(
    model,
    source,
    out_dir,
    *,
    n_sentences: int = 64,
    top_p: float = 0.9,
    temperature: float = 1.0,
    max_new_tokens: int = 20,
    seed: int = 0,
    engine: str = "local",
    workers: int | None = None,
    labels=None,
    overwrite: bool = False,
    address: str | None = None,
    chunk_size: int = 32,
    progress: bool = True,
    device=None,
    on_chunk: Callable[[int, int], None] | None = None,
) -> ExplanationSet:
    """Explain every image of ``source`` with ``model`` into the run directory ``out_dir``.

    ``model``: a TExplain, or a name (a saved directory, ``demo``, ``demo:balanced``) loaded
    after the source is checked. ``source``: a folder (subfolders name the classes), a CSV of
    ``image[,label][,group]``, an ImageCollection, a list of images, or ``"demo"`` (the demo's
    test split); ``labels`` a CSV of ``image,label[,group]`` for a folder. A rerun resumes;
    other model, settings or source are refused unless ``overwrite``. ``engine="ray"`` runs
    ``workers`` Ray actors (default one per GPU, else one), on the cluster at ``address``
    when given; with the local engine ``workers`` sets torch's threads and ``device`` (e.g.
    ``"cuda"``) moves the model. ``on_chunk(stored, total)`` runs after every shard.
    The rows per sampling batch are recorded (``sampling.batch_size``) and kept on resume when
    they fit (else a warning: only rounding differs). Unreadable images go to the failures
    table; labels that are not the model's class names are warned about (accuracy counts them
    wrong); ``progress`` shows a tqdm bar. The model's reference word distribution (or one from
    the run's images, see :mod:`.reference`) is stored in the manifest, for the lift and
    above_prior columns of the run's word tables.
    """
    if engine not in ENGINES:
        raise InputError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if chunk_size < 1:
        raise InputError(f"chunk_size must be at least 1, got {chunk_size}")
    if workers is not None and workers < 1:
        raise InputError(f"workers must be at least 1, got {workers}")
    if engine == "ray" and importlib.util.find_spec("ray") is None:
        from ..errors import MissingDependencyError

        raise MissingDependencyError("engine='ray' needs Ray: pip install 'texplain-widgets[ray]'")
    settings = SamplingSettings(n_sentences, top_p, temperature, max_new_tokens, seed)
    source = resolve_source(source, labels)
    name = model if isinstance(model, (str, os.PathLike)) else None
    model = load_model(model)
    classifier = model.classifier
    problem = label_problem(
        [item.label for item in source.items], classifier.class_names, classifier.num_classes
    )
    if problem is not None:
        warnings.warn(f"{source.description['location']}: {problem}", stacklevel=2)
    if device is not None and engine == "local":
        model = model.to(device)
    rows = batch_rows(model, settings) if engine == "local" else None  # Ray: each worker sizes its own
    head = {
        "model": describe_model(model),
        "sampling": {**{key: getattr(settings, key) for key in SAMPLING}, "batch_size": rows},
        "source": source.description,
        "model_source": {"name": None if name is None else str(name), **model_source(model)},
        "package_version": _version(),
    }
    with StoreWriter(out_dir, head, overwrite=overwrite) as writer:
        for line in writer.dropped:
            print(f"texplain: damaged shard dropped, its images are explained again: {line}")
        rows, warning = resume_batch_rows(writer.manifest["sampling"].get("batch_size"), rows)
        if warning:
            warnings.warn(warning, stacklevel=2)
        settings = dataclasses.replace(settings, batch_size=rows)
        reference = run_reference(model, source, settings, writer.manifest.get("reference"))
        if reference is not None:
            writer.record("reference", reference)
        done = writer.done_ids()
        chunks = pending_chunks(source, done, chunk_size)
        total, stored = len(source), len(done)

        def write(results: list[dict]) -> None:
            nonlocal stored
            writer.write_chunk(chunk_tables(results))
            stored += len(results)
            if on_chunk is not None:
                on_chunk(stored, total)

        if chunks and engine == "local":
            _run_local(model, chunks, settings, write, workers, progress)
        elif chunks:
            from .ray_engine import run_ray

            spec = worker_model_name(name) if name is not None else model
            run_ray(spec, chunks, settings, write, workers=workers, address=address, progress=progress)
        writer.finish(complete=stored == total)
    return ExplanationSet.open(out_dir)


def pending_chunks(source: Source, done: set[int], chunk_size: int) -> list[list[Item]]:
    """The items not yet stored, in the fixed chunks ``id // chunk_size``."""
    chunks: dict[int, list[Item]] = {}
    for item in source.items:
        if item.id not in done:
            chunks.setdefault(item.id // chunk_size, []).append(item)
    return [chunks[key] for key in sorted(chunks)]


def _run_local(model, chunks, settings, write, workers, progress) -> None:
    from tqdm import tqdm

    threads = torch.get_num_threads()
    if workers is not None:
        torch.set_num_threads(workers)
    total = sum(map(len, chunks))
    try:
        with tqdm(total=total, unit="image", disable=not progress or None, smoothing=0.1) as bar:
            for chunk in chunks:
                start, size = bar.n, len(chunk)

                def on_batch(done, all_sentences, _sentences, start=start, size=size):
                    bar.update(start + size * done / all_sentences - bar.n)

                write(explain_items(model, chunk, settings, on_batch=on_batch))
                bar.update(start + len(chunk) - bar.n)
    finally:
        torch.set_num_threads(threads)


def _version() -> str:
    from .. import __version__

    return __version__
