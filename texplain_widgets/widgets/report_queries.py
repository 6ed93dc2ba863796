"""The dataset report's queries over a stored run (an :class:`~texplain_widgets.ExplanationSet`).

Pure functions of a run (no widget state): which run a name means, whether a model is the run's,
the ranked words, the word search, the images of a word with their label and prediction, the
words of two runs compared, and the run's pictures (files, or the demo's generated images).
"""

from __future__ import annotations

import io
import threading
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ..errors import InputError
from ..runs.explanation_set import ExplanationSet
from ..runs.shards import shard_connection
from ..runs.store import differences
from ..words import as_lemma
from ..words.trust import Z95

DEMO_RUNS = Path(__file__).resolve().parent.parent / "demo" / "runs"
DEMO_NAMES = {"demo": "biased", "demo:biased": "biased", "demo:balanced": "balanced"}
FINGERPRINTS = ("classifier.fingerprint", "language_model.fingerprint", "translator.fingerprint")


def open_run(run) -> ExplanationSet:
    """An ExplanationSet from one, a run directory, or ``demo`` / ``demo:balanced`` (the shipped runs)."""
    if isinstance(run, ExplanationSet):
        return run
    if isinstance(run, str) and run in DEMO_NAMES:
        directory = DEMO_RUNS / DEMO_NAMES[run]
        if not (directory / "manifest.json").is_file():
            raise InputError(
                f"the shipped demo run {run!r} is not built ({directory}): "
                "run `python scripts/build_demo.py runs`"
            )
        return ExplanationSet.open(directory)
    return ExplanationSet.open(Path(run).expanduser())


def model_mismatch(run: ExplanationSet, model) -> list[str]:
    """How ``model``'s fingerprints differ from those the run's manifest names ([] when it is the run's)."""
    from ..runs.models import describe_model

    given, stored = describe_model(model), run.manifest.get("model", {})
    found = []
    for key in FINGERPRINTS:
        part, field = key.split(".")
        found += differences(stored.get(part, {}).get(field), given[part][field], f"{key}.")
    return found


def ranked_words(run: ExplanationSet, by: str, top: int, min_z: float | None = None) -> list[dict]:
    """The ``top`` words of each class, label or group by log-odds z (those with z at least
    ``min_z`` only), as records ``{"group", "word", "z", "share", "count"}`` of plain Python
    types; a run with a reference adds ``reference_share``, ``lift``, ``above_prior`` and
    ``note`` (see :mod:`~texplain_widgets.words.trust`)."""
    from ..words.trust import prior_note

    table = run.words(by=by, top=top)
    if min_z is not None:
        table = table[table["z"] >= min_z]
    trust = "lift" in table
    records = []
    for r in table.itertuples(index=False):
        record = {"group": str(r.group), "word": str(r.word), "z": float(r.z), "share": float(r.share)}
        record["count"] = int(r.count)
        if trust and r.lift == r.lift:  # NaN: the run's reference has other settings
            record.update(
                reference_share=float(r.reference_share), lift=float(r.lift), above_prior=bool(r.above_prior)
            )
            record["note"] = prior_note(record)
        records.append(record)
    return records


def error_words(run: ExplanationSet, top: int) -> list[dict]:
    """The ``top`` error words of each true label (``ExplanationSet.error_words``, by="label") as
    records ``{"group", "word", "difference", "difference_low", "difference_high", "share_wrong",
    "share_right", "n_wrong_with", "n_wrong", "n_right_with", "n_right", "q_value",
    "class_word"}`` of plain Python types."""
    table = run.error_words(by="label", top=top)
    keys = ("difference", "difference_low", "difference_high", "share_wrong", "share_right", "q_value")
    counts = ("n_wrong_with", "n_wrong", "n_right_with", "n_right")
    return [
        {"group": str(r["group"]), "word": str(r["word"])}
        | {key: float(r[key]) for key in keys}
        | {key: int(r[key]) for key in counts}
        | {"class_word": bool(r["class_word"])}
        for r in table.to_dict("records")
    ]


def accuracy_rows(run: ExplanationSet, groups=None) -> list[dict]:
    """``run.accuracy(groups)`` as records of plain Python types (its warnings left to the table's caller)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = run.accuracy(groups=groups)
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in table.to_dict("records")
    ]


class WordIndex:
    """The run's words and how many sentences use each, in DuckDB (for search and lemmas)."""

    def __init__(self, run: ExplanationSet):
        self.connection = shard_connection(run.directory, run.manifest, ("words",))
        self.connection.execute(
            "CREATE TABLE totals AS SELECT word, sum(sentences_with)::BIGINT AS n FROM words GROUP BY 1"
        )

    def lemma(self, word: str) -> str:
        """The stored lemma ``word`` stands for (itself when stored, else its lemma)."""
        folded = word.strip().casefold()
        if self.n_sentences(folded):
            return folded
        return as_lemma(word)

    def n_sentences(self, lemma: str) -> int:
        """Sentences of the run that use ``lemma`` (0: no sentence uses it)."""
        found = self.connection.execute("SELECT n FROM totals WHERE word = ?", [lemma]).fetchone()
        return int(found[0]) if found else 0

    def search(self, text: str, limit: int = 20) -> list[str]:
        """Stored words that start with ``text`` (then those that contain it), most used first."""
        needle = text.strip().casefold()
        if not needle:
            return []
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.connection.execute(
            """SELECT word FROM totals WHERE word LIKE ? ESCAPE '\\'
            ORDER BY NOT starts_with(word, ?), n DESC, word LIMIT ?""",
            [f"%{escaped}%", needle, limit],
        ).fetchall()
        return [row[0] for row in rows]


def image_table(run: ExplanationSet) -> pd.DataFrame:
    """The run's images by id with what the grid shows of them: name, label, group, predicted
    (the class name), path."""
    images = run.images
    predicted = images["class_name"].where(images["class_name"].notna(), images["predicted"].astype(str))
    return images[["id", "name", "label", "group", "path"]].assign(predicted=predicted).set_index("id")


def word_images(run: ExplanationSet, lemma: str, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The images whose sentences use ``lemma``, by its share of their sentences: id, name, share,
    count, label, group, predicted (the class name), path (``table``: :func:`image_table`, if made)."""
    table = image_table(run) if table is None else table
    found = run.images_with(lemma)
    found = found[found["id"].isin(table.index)]
    info = table.reindex(found["id"].to_numpy())
    return pd.DataFrame(
        {
            "id": found["id"].to_numpy(),
            "name": info["name"].to_numpy(),
            "share": found["share"].to_numpy(dtype=float),
            "count": found["count"].to_numpy(),
            "label": info["label"].to_numpy(),
            "group": info["group"].to_numpy(),
            "predicted": info["predicted"].to_numpy(),
            "path": info["path"].to_numpy(),
        }
    )


def compare_words(run: ExplanationSet, other: ExplanationSet, top: int = 8, min_z: float = Z95) -> list[dict]:
    """Per group, the words whose share of sentences differs most between two runs over the same
    images: records ``{"group", "word", "share", "other_share", "difference", "z"}``, the ``top``
    words more used in ``run`` (difference > 0) and the ``top`` more used in ``other``, per group,
    those whose difference is above zero only (``|z|`` at least ``min_z``, :func:`difference_z`
    with each group's number of images as n: an image's sentences are not independent draws)."""
    by = next((key for key in ("group", "label") if run.images[key].notna().any()), "predicted")
    mine = run.words(by=by, top=None)[["group", "word", "share"]]
    theirs = other.words(by=by, top=None)[["group", "word", "share"]].rename(columns={"share": "other_share"})
    both = mine.merge(theirs, on=["group", "word"], how="outer").fillna({"share": 0.0, "other_share": 0.0})
    both["difference"] = both["share"] - both["other_share"]
    sizes = [images_per_group(r, by).reindex(both["group"]).fillna(0).to_numpy() for r in (run, other)]
    both["z"] = difference_z(both["share"].to_numpy(), both["other_share"].to_numpy(), *sizes)
    both = both[both["z"].abs() >= min_z]
    rows = []
    for group, part in both.groupby("group", sort=True):
        more = part[part["difference"] > 0].nlargest(top, "difference")
        less = part[part["difference"] < 0].nsmallest(top, "difference")
        for r in pd.concat([more, less]).itertuples(index=False):
            rows.append(
                {
                    "group": str(group),
                    "word": str(r.word),
                    "share": float(r.share),
                    "other_share": float(r.other_share),
                    "difference": float(r.difference),
                    "z": float(r.z),
                }
            )
    return rows


def images_per_group(run: ExplanationSet, by: str) -> pd.Series:
    """How many of the run's images each class, label or group holds."""
    images = run.images
    key = images["class_name"].where(images["class_name"].notna(), images["predicted"].astype(str))
    return (key if by == "predicted" else images[by]).dropna().astype(str).value_counts()


def difference_z(share, other_share, n, other_n) -> np.ndarray:
    """The two-proportion z statistic (pooled) of ``share`` over ``n`` against ``other_share``
    over ``other_n``: how many standard errors apart two shares are (0 where neither varies)."""
    share, other_share = np.asarray(share, float), np.asarray(other_share, float)
    n, other_n = np.asarray(n, float), np.asarray(other_n, float)
    total = n + other_n
    pooled = np.divide(share * n + other_share * other_n, total, out=np.zeros_like(total), where=total > 0)
    inverse = np.divide(1.0, n, out=np.zeros_like(n), where=n > 0) + np.divide(
        1.0, other_n, out=np.zeros_like(other_n), where=other_n > 0
    )
    error = np.sqrt(pooled * (1 - pooled) * inverse)
    return np.divide(share - other_share, error, out=np.zeros_like(error), where=error > 0)


def same_images(run: ExplanationSet, other: ExplanationSet) -> bool:
    """Whether two runs explain the same source (its digest in their manifests)."""
    return run.manifest.get("source", {}).get("digest") == other.manifest.get("source", {}).get("digest")


class Pictures:
    """The pictures of a run's images by id: their files, or the demo's test images for a demo run."""

    def __init__(self, run: ExplanationSet):
        self.run = run
        paths = run.images["path"].tolist()  # None, or NaN when no image has a file
        self.paths = {i: p if isinstance(p, str) else None for i, p in zip(run.images["id"].tolist(), paths)}
        source = run.manifest.get("source", {})
        if source.get("kind") == "demo":  # draw the demo's images now, while the report is read
            threading.Thread(target=_demo_images, args=(source.get("digest"),), daemon=True).start()

    def __call__(self, image_id: int) -> Image.Image:
        from ..data.images import load_image

        path = self.paths.get(int(image_id))
        if path is not None:
            return load_image(path)
        source = self.run.manifest.get("source", {})
        if source.get("kind") == "demo":
            return load_image(_demo_images(source.get("digest"))[int(image_id)])
        raise InputError(f"image {image_id} was explained from memory: the run stores no file to show")

    def source(self, image_id: int):
        """What an Explorer can load: the file's path, or the picture."""
        path = self.paths.get(int(image_id))
        return path if path is not None else self(image_id)


_DEMO_LOCK = threading.Lock()  # one drawing of the demo's images, whichever thread asks first


def _demo_images(digest: str | None) -> dict:
    with _DEMO_LOCK:
        return _draw_demo_images(digest)


@lru_cache(maxsize=2)
def _draw_demo_images(digest: str | None) -> dict:
    from ..runs.sources import resolve_source

    source = resolve_source("demo")
    if digest is not None and source.description["digest"] != digest:
        raise InputError("this demo run was made from other demo images than this version draws")
    return {item.id: item.image for item in source.items}


def jpeg_thumbnail(picture: Image.Image, size: int) -> bytes:
    """``picture`` shrunk to ``size`` pixels on its longest side, as JPEG bytes."""
    picture = picture.convert("RGB")
    picture.thumbnail((size, size), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
