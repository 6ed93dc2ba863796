"""Reliance: does the classifier use what a word names, or do its features only mention it?

For each image of the word's slice (the images using it, every label; or the ids given), the
word's word-grounded map (:func:`~texplain_widgets.word_saliency`, from the run's stored
sentences) marks where the model's features make the LM say the word; its top share ``q`` of
the pixels (or, ``region="weight"``, of its weight) is filled, and the drop of the predicted
class's probability is compared with the drop when random regions of the same area and shape
are filled (the control), and per image with the class map's top pixels of the same area
(:func:`~texplain_widgets.saliency_map` of the predicted class). See :mod:`.region_masking` for
the regions and the fill.

The summary's difference is the mean over images of (word drop - random drop), with the paired
t 95% interval (``scipy.stats.ttest_rel``) and its one-sided p-value; a word the classifier
relies on has an interval above zero. n is images.

Rows are stored in the run directory, ``reliance/WORD-KEY.parquet`` (KEY hashes the model's
fingerprints and the settings), written atomically after every ``batch_size`` images, and
reused: a second call measures only the images not stored yet, so a cancelled or interrupted
call resumes. A run directory that cannot be written (a package's shipped run) keeps them in
the cache, ``$TEXPLAIN_CACHE/reliance``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import Cancelled, InputError
from .region_masking import check_settings, measure

Q = 0.1
TRIALS = 3
FINGERPRINTS = ("classifier", "language_model", "translator")


@dataclass
class Reliance:
    """The measured images of one word (``images``, one row each), where they are stored and,
    for this call, the seconds spent per stage (``timings``)."""

    word: str
    settings: dict
    images: pd.DataFrame
    path: Path
    timings: dict = field(default_factory=dict)

    @property
    def summary(self) -> dict:
        return summarise(self.images, self.word)

    def __str__(self) -> str:
        s = self.summary
        if not s["n"]:
            return f"reliance on {self.word!r}: no image measured"
        verdict = "relies on it" if s["relies"] else "no sure reliance"
        return (
            f"reliance on {self.word!r}, {s['n']} images, the top {self.settings['q']:.0%} of the word's map's "
            f"{self.settings['region']} filled ({self.settings['fill']}, {s['area']:.0%} of the image): the "
            f"predicted class's probability drops by "
            f"{s['drop_word']:+.3f}, {s['drop_random']:+.3f} for random regions of the same area "
            f"(difference {s['difference']:+.3f} [{s['difference_low']:+.3f}, {s['difference_high']:+.3f}], "
            f"p {s['p_value']:.2g}), {s['drop_class']:+.3f} for the class map's region; "
            f"{s['flip_word']:.0%} of the predictions flip ({s['flip_random']:.0%} for random regions): {verdict}"
        )


def summarise(rows: pd.DataFrame, word: str) -> dict:
    """Means of the drops and flips over the images where the word was said, and the paired test."""
    from scipy.stats import ttest_rel

    from ..words.trust import wilson_interval

    said = rows[rows["said"]] if len(rows) else rows
    n = len(said)
    out = {"word": word, "n": n}
    if not n:
        return out
    for column in ("probability", "area", "drop_word", "drop_random", "drop_class", "flip_random"):
        out[column] = float(said[column].mean())
    differences = (said["drop_word"] - said["drop_random"]).to_numpy()
    out["difference"] = float(differences.mean())
    if n >= 2 and np.ptp(differences) > 0:
        test = ttest_rel(said["drop_word"], said["drop_random"])
        interval = test.confidence_interval(0.95)
        out["difference_low"], out["difference_high"] = float(interval.low), float(interval.high)
        out["p_value"] = float(
            ttest_rel(said["drop_word"], said["drop_random"], alternative="greater").pvalue
        )
    else:  # one image, or every image the same difference: no spread to test against
        out["difference_low"] = out["difference_high"] = out["difference"]
        out["p_value"] = float("nan")
    flips = int(said["flip_word"].sum())
    low, high = wilson_interval(flips, n)
    out |= {"flip_word": flips / n, "flip_word_low": float(low), "flip_word_high": float(high)}
    out["flip_class"] = float(said["flip_class"].mean())
    out["relies"] = bool(out["difference_low"] > 0)
    return out


def reliance(
    run,
    word: str,
    model,
    *,
    images=None,
    q: float = Q,
    fill: str = "model_mean",
    region: str = "pixels",
    method: str = "gradcam",
    trials: int = TRIALS,
    min_share: float = 0.25,
    max_images: int | None = None,
    seed: int = 0,
    batch_size: int = 8,
    progress: bool = True,
    cancel=None,
    on_progress=None,
) -> Reliance:
    """Measure (or read back) the reliance of ``model`` on ``word`` over the run's images;
    ``on_progress(done, total)`` is called after each image measured (a widget's progress)."""
    from .models import describe_model, load_model

    check_settings(q, fill, trials, region)
    lemma = run._lemmas([word])[0]
    model = load_model(model)
    fingerprints, swapped = _check_model(run, model, describe_model(model))
    ids = _image_ids(run, lemma, images, min_share, max_images, seed)
    settings = {
        "word": lemma,
        "q": q,
        "region": region,
        "fill": fill,
        "method": method,
        "trials": trials,
        "seed": seed,
    }
    path = _store_path(run, lemma, {**settings, "model": fingerprints})
    stored = pd.read_parquet(path) if path.is_file() else pd.DataFrame({"id": pd.Series([], dtype="int64")})
    todo = [i for i in ids if i not in set(stored["id"])]
    timings = {"maps": 0.0, "class_maps": 0.0, "classifier": 0.0, "loading": 0.0}
    rows, done = [stored], 0
    try:
        for row in _measure_all(run, model, lemma, todo, settings, timings, progress, cancel, swapped):
            rows.append(pd.DataFrame([row]))
            done += 1
            if on_progress is not None:
                on_progress(done, len(todo))
            if done % batch_size == 0:
                _save(path, rows, settings)
    except (Cancelled, KeyboardInterrupt):
        _save(path, rows, settings)
        raise
    if done:
        _save(path, rows, settings)
    table = pd.concat([frame for frame in rows if len(frame)], ignore_index=True) if done else stored
    table = table[table["id"].isin(ids)].sort_values("id", ignore_index=True)
    return Reliance(lemma, settings, table, path, timings)


def _measure_all(run, model, lemma, ids, settings, timings, progress, cancel, swapped=False):
    from tqdm import tqdm

    from ..attribution.maps import saliency_map
    from ..attribution.word_maps import word_saliency
    from .pictures import Pictures

    pictures = Pictures(run)
    images = run.images.set_index("id")
    with tqdm(
        total=len(ids), unit="image", disable=not progress or None, desc=f"reliance on {lemma!r}"
    ) as bar:
        for image_id in ids:
            if cancel is not None and cancel():
                raise Cancelled(
                    f"reliance on {lemma!r} stopped: what was measured is stored; call again to go on"
                )
            start = time.perf_counter()
            picture = pictures(image_id).convert("RGB")
            explanation = run.explanation(image_id)
            row = {"id": int(image_id), "label": images.at[image_id, "label"], "said": True}
            timings["loading"] += time.perf_counter() - start
            try:
                start = time.perf_counter()
                word_map = word_saliency(
                    model, picture, explanation, lemma, method=settings["method"]
                ).heatmap
            except InputError:  # an image given by id whose sentences never say the word
                row["said"] = False
            else:
                timings["maps"] += time.perf_counter() - start
                start = time.perf_counter()
                # the run stores its own classifier's predictions; a swapped one predicts anew
                target = None if swapped else int(images.at[image_id, "predicted"])
                class_map = saliency_map(model.classifier, picture, settings["method"], target=target).heatmap
                timings["class_maps"] += time.perf_counter() - start
                start = time.perf_counter()
                options = {k: settings[k] for k in ("q", "fill", "trials", "region")}
                row |= measure(
                    picture,
                    word_map,
                    class_map,
                    model.classifier,
                    seed=settings["seed"] + int(image_id),
                    **options,
                )
                timings["classifier"] += time.perf_counter() - start
            bar.update(1)
            yield row


def _check_model(run, model, given: dict) -> tuple[dict, bool]:
    """The model's fingerprints, and whether its classifier was swapped for one with the run's
    model's features (``with_classifier``, e.g. after ``reweight``). Refused when the model is
    not the run's: the stored sentences are that model's, and a word map needs the model that
    said them (the same features and translator)."""
    stored = run.manifest.get("model", {})
    fingerprints = {part: given[part]["fingerprint"] for part in FINGERPRINTS}
    wrong = [p for p in FINGERPRINTS if stored.get(p, {}).get("fingerprint") not in (None, fingerprints[p])]
    run_classifier = stored.get("classifier", {}).get("fingerprint")
    swapped = wrong == ["classifier"] and run_classifier in getattr(model, "same_features_as", [])
    if wrong and not swapped:
        raise InputError(
            f"this model is not the one that explained {run.directory} (its {', '.join(wrong)} differ): "
            "a word's map needs the model whose sentences the run stores; pass that model, or "
            "model.with_classifier(new) for a classifier with its features (e.g. after reweight)"
        )
    return fingerprints, swapped


def _image_ids(run, lemma: str, images, min_share: float, max_images, seed: int) -> list[int]:
    known = set(run.images["id"].tolist())
    if images is None:
        found = run._query(
            """SELECT w.image_id FROM words w JOIN images i ON w.image_id = i.id
            WHERE w.word = $word AND w.sentences_with >= $share * i.n_sentences ORDER BY 1""",
            {"word": lemma, "share": float(min_share)},
        )
        ids = found["image_id"].tolist()
        if not ids:
            raise InputError(
                f"no image of {run.directory} uses {lemma!r} in {min_share:.0%} of its sentences "
                f"(runs.images_with({lemma!r}) lists those that say it at all; pass images=[ids])"
            )
    else:
        ids = sorted({int(i) for i in np.atleast_1d(np.asarray(images))})
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise InputError(f"{run.directory} has no images with ids {unknown[:5]} (see runs.images['id'])")
    if max_images is not None and len(ids) > max_images:
        ids = sorted(np.random.default_rng(seed).choice(ids, max_images, replace=False).tolist())
    return [int(i) for i in ids]


def stored_reliance(run, lemma: str) -> Reliance | None:
    """The reliance on ``lemma`` measured for the run and stored (the latest written, when
    several settings were measured), read back without a model; None when none is stored."""
    import pyarrow.parquet as pq

    found = sorted(_store_folder(run).glob(f"{lemma}-*.parquet"), key=lambda p: p.stat().st_mtime)
    if not found:
        return None
    path = found[-1]
    metadata = pq.read_schema(path).metadata or {}
    settings = json.loads(metadata.get(b"texplain.reliance", b"{}"))
    return Reliance(lemma, settings, pd.read_parquet(path).sort_values("id", ignore_index=True), path)


def _store_folder(run) -> Path:
    directory = Path(run.directory)
    if not os.access(directory, os.W_OK):
        from ..model.language import cache_root

        where = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:12]
        return cache_root() / "reliance" / where
    return directory / "reliance"


def _store_path(run, lemma: str, key: dict) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return _store_folder(run) / f"{lemma}-{digest}.parquet"


def _save(path: Path, rows: list[pd.DataFrame], settings: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .store import write_atomic

    frames = [frame for frame in rows if len(frame)]
    if not frames:
        return
    table = pa.Table.from_pandas(pd.concat(frames, ignore_index=True), preserve_index=False)
    table = table.replace_schema_metadata({"texplain.reliance": json.dumps(settings)})
    write_atomic(path, lambda temporary: pq.write_table(table, temporary))
