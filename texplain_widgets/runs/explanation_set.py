"""Read a stored run: its images, failures, explanations, word rankings and accuracy.

Queries run in DuckDB over the Parquet shards: the word rankings aggregate the stored
per-image word counts, never the sentences, so they stay fast on millions of sentences.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .manifest import StoreError, read_manifest
from .shards import check_shards, shard_connection, shard_dataset
from .sources import label_problem
from .tables import FAILURES, IMAGES

BY = {"predicted": "coalesce(class_name, CAST(predicted AS VARCHAR))", "label": "label", "group": '"group"'}


class ExplanationSet:
    """A run directory written by :func:`~texplain_widgets.explain_dataset` (or ``texplain run``).

    >>> runs = ExplanationSet.open("runs/demo")
    >>> runs.words(by="group").head()            # the log-odds ranking of rank_words
    >>> runs.images_with("grass").head()         # ids, most "grass" sentences first
    """

    def __init__(self, directory, manifest: dict):
        self.directory = Path(directory)
        self.manifest = manifest

    @classmethod
    def open(cls, directory) -> ExplanationSet:
        """Open a run (it may still be growing); damaged shards are reported, not read."""
        manifest = read_manifest(directory)
        _refuse_damage(directory, manifest)
        return cls(directory, manifest)

    def __len__(self) -> int:
        return sum(entry["files"]["images"]["rows"] for entry in self.manifest["shards"])

    def __repr__(self) -> str:
        state = "complete" if self.manifest.get("complete") else "incomplete"
        return f"ExplanationSet({str(self.directory)!r}: {len(self)} images, {self.n_failed} failed, {state})"

    @property
    def n_failed(self) -> int:
        return sum(entry["files"]["failures"]["rows"] for entry in self.manifest["shards"])

    @property
    def settings(self) -> dict:
        """The sampling settings of the run."""
        return dict(self.manifest["sampling"])

    @cached_property
    def reference(self):
        """The reference word distribution stored with the run (:mod:`.reference`), or None.
        One sampled with other settings than the run's (stored by an older version) is kept,
        but a warning says that the word tables leave its lift empty."""
        from ..words.trust import reference_note
        from .reference import stored_reference

        reference = stored_reference(self.manifest)
        note = None if reference is None else reference_note(reference, self.settings)
        if note is not None:
            warnings.warn(
                f"{self.directory}: {note}; run the same `texplain run` (explain_dataset) into it "
                "again to compute one with the run's settings",
                stacklevel=3,
            )
        return reference

    def summary(self) -> str:
        """A line on what is stored, and where to read why images failed."""
        total = self.manifest["source"]["n_images"]
        text = f"{self.directory}: {len(self)} of {total} images explained"
        if self.n_failed:
            text += (
                f", {self.n_failed} failed (why: ExplanationSet.open({str(self.directory)!r}).failures, "
                f"or the Parquet files in {self.directory / 'failures'})"
            )
        missing = total - len(self) - self.n_failed
        return text + (f"; {missing} still to do: rerun to resume" if missing else "")

    @cached_property
    def images(self) -> pd.DataFrame:
        """One row per stored image, by id: name, path, label, group, prediction, n_sentences."""
        columns = [name for name in IMAGES.names if name != "sentences"]
        return self._read("images", columns).sort_values("id", ignore_index=True)

    @cached_property
    def failures(self) -> pd.DataFrame:
        """One row per image that could not be read: id, name, path, error."""
        return self._read("failures", FAILURES.names).sort_values("id", ignore_index=True)

    def explanation(self, image_id: int):
        """The :class:`~texplain_widgets.Explanation` of one stored image (by its ``id``)."""
        from ..model.explanation import Explanation

        rows = self._query("SELECT * FROM images WHERE id = ?", [int(image_id)]) if len(self) else None
        if rows is None or rows.empty:
            failed = self.failures[self.failures["id"] == image_id]
            if not failed.empty:
                raise InputError(f"image {image_id} failed to load: {failed['error'].iloc[0]}")
            raise InputError(f"{self.directory} has no image with id {image_id}")
        row = rows.iloc[0]
        return Explanation(
            sentences=list(row["sentences"]),
            predicted_class=int(row["predicted"]),
            probability=float(row["probability"]),
            class_name=row["class_name"],
            image=row["path"],
            settings=self.settings,
            reference=self.reference,
        )

    def words(self, by: str = "predicted", *, prior_strength: float = 1000.0, top: int | None = 10):
        """Words most associated with each predicted class, label or group, against the others.

        The log-odds ranking of :func:`~texplain_widgets.rank_words` (same columns: group,
        word, count, share, log_odds, z), from the stored per-image word counts. A run with a
        :attr:`reference` adds reference_share, lift, share_low, share_high and above_prior
        (:func:`~texplain_widgets.words.trust.add_trust`), the interval's n the group's number
        of images, not sentences: an image's sentences are not independent draws across images.
        """
        from ..words.ranking import rank_counts

        key = self._key(by)
        counts = self._query(
            f"""WITH keyed AS (SELECT id, {key} AS g FROM images WHERE {key} IS NOT NULL),
                totals AS (SELECT {key} AS g, sum(n_sentences) AS n FROM images WHERE {key} IS NOT NULL GROUP BY 1)
            SELECT k.g AS "group", w.word, sum(w.count)::BIGINT AS count,
                   sum(w.sentences_with) / any_value(t.n) AS share
            FROM words w JOIN keyed k ON w.image_id = k.id JOIN totals t ON t.g = k.g
            GROUP BY 1, 2"""
        )
        ranked = rank_counts(counts, prior_strength=prior_strength, top=top)
        if self.reference is None:
            return ranked
        from ..words.trust import add_trust

        sizes = self._query(
            f"SELECT {key} AS g, sum(n_sentences) AS n, count(*) AS m FROM images WHERE {key} IS NOT NULL GROUP BY 1"
        ).set_index("g")
        n, m = ranked["group"].map(sizes["n"]), ranked["group"].map(sizes["m"])
        return add_trust(
            ranked, n.to_numpy(), self.reference, interval_n=m.to_numpy(), settings=self.settings
        )

    def images_with(self, word: str) -> pd.DataFrame:
        """Images whose sentences use ``word`` (a stored lemma, or any spelling: see
        :func:`~texplain_widgets.words.as_lemma`), by the share of their sentences with it,
        then count, then id: columns id, name, count, share."""
        from ..words import as_lemma

        if not len(self):
            return pd.DataFrame({"id": [], "name": [], "count": [], "share": []})
        folded = as_lemma(word, [word.strip().casefold()])
        stored = self._query("SELECT count(*) AS n FROM words WHERE word = ?", [folded])["n"].iloc[0]
        return self._query(
            """SELECT i.id, i.name, w.count, w.sentences_with / i.n_sentences AS share
            FROM words w JOIN images i ON w.image_id = i.id WHERE w.word = ?
            ORDER BY share DESC, w.count DESC, i.id""",
            [folded if stored else as_lemma(word)],
        )

    def accuracy(self, groups=None) -> pd.DataFrame:
        """Accuracy overall, per class (true label) and per group, the worst group marked.

        Columns: by ("all", "class", "group"), name, n, correct, accuracy, worst. Labels that are
        not the model's class names count as wrong, and a warning names them.
        ``groups`` (a Series by image id, e.g. :meth:`pseudo_groups`) replaces the stored groups.
        """
        images = self.images
        if images.empty or images["label"].isna().all():
            raise InputError(f"{self.directory}: the run has no labels, so no accuracy")
        images = images[images["label"].notna()]
        classifier = self.manifest.get("model", {}).get("classifier", {})
        problem = label_problem(
            images["label"], classifier.get("class_names"), classifier.get("num_classes", 0)
        )
        if problem is not None:
            warnings.warn(f"{self.directory}: {problem}", stacklevel=2)
        predicted = images["class_name"].where(images["class_name"].notna(), images["predicted"].astype(str))
        frame = pd.DataFrame(
            {"class": images["label"], "group": images["group"], "correct": predicted == images["label"]}
        )
        if groups is not None:
            from .pseudo_groups import image_groups

            frame["group"] = image_groups(images["id"], groups).to_numpy()
        rows = [{"by": "all", "name": "all", "n": len(frame), "correct": int(frame["correct"].sum())}]
        for by in ("class", "group"):
            for name, part in frame[frame[by].notna()].groupby(by, sort=True):
                rows.append({"by": by, "name": name, "n": len(part), "correct": int(part["correct"].sum())})
        table = pd.DataFrame(rows)
        table["accuracy"] = table["correct"] / table["n"]
        groups = table["by"] == "group"
        table["worst"] = groups & (table["accuracy"] == table.loc[groups, "accuracy"].min())
        return table

    def _key(self, by: str) -> str:
        if by not in BY:
            raise InputError(f"by must be one of {', '.join(BY)}, not {by!r}")
        if not len(self):
            raise InputError(f"{self.directory} holds no explained images yet")
        if by != "predicted" and self.images[by].isna().all():
            raise InputError(f"{self.directory}: the run's images have no {by}s (give a labels CSV)")
        return BY[by]

    def _read(self, table: str, columns: list[str]) -> pd.DataFrame:
        with self._damage_reported():
            return shard_dataset(self.directory, self.manifest, table).to_table(columns=columns).to_pandas()

    @cached_property
    def _connection(self):
        return shard_connection(self.directory, self.manifest)

    def _query(self, sql: str, parameters=None) -> pd.DataFrame:
        with self._damage_reported():
            return self._connection.execute(sql, parameters or []).df()

    # Finding a shortcut without group labels: error words, word slices, pseudo-groups.

    def error_words(
        self,
        by: str = "label",
        *,
        top: int | None = 10,
        min_share: float = 0.25,
        min_images: int = 5,
        hide_class_words: bool = False,
    ) -> pd.DataFrame:
        """Within each true label (``by="label"``) the words its misclassified images use more
        than its right ones; ``by="predicted"``: a predicted class's false against its true
        positives. Counted in images (an image uses a word when ``min_share`` of its sentences
        do; a word is tested when ``min_images`` use it), with Newcombe's interval of the
        difference, Fisher's p and BH q-values, ranked by the interval's lower bound;
        ``class_word`` marks a class's own words, ``hide_class_words`` drops them.
        See :mod:`texplain_widgets.runs.error_words`."""
        from .error_words import error_words

        return error_words(
            self, by, top=top, min_share=min_share, min_images=min_images, hide_class_words=hide_class_words
        )

    def slice(self, word: str, *more: str, min_share: float = 0.25) -> pd.DataFrame:
        """The images of each label that use ``word`` (and every word of ``more``): n, accuracy
        inside and outside with Wilson intervals, the gap (outside minus inside) with
        Newcombe's interval, one row per label. See :mod:`texplain_widgets.runs.slices`."""
        from .slices import one_slice

        return one_slice(self, self._lemmas([word, *more]), min_share=min_share)

    def slices(
        self,
        words=None,
        *,
        by: str = "label",
        top: int | None = 10,
        min_images: int = 5,
        min_share: float = 0.25,
        hide_class_words: bool = False,
    ) -> pd.DataFrame:
        """One- and two-word slices per label, the surest large gaps first (a SliceLine-style
        search, :mod:`texplain_widgets.runs.slices`), over ``words`` or else the ``top`` error
        words of each group (:meth:`error_words` with ``by`` and ``hide_class_words``)."""
        from .slices import search

        if words is None:
            found = self.error_words(
                by, top=top, min_share=min_share, min_images=min_images, hide_class_words=hide_class_words
            )
            words = list(dict.fromkeys(found["word"]))
        elif isinstance(words, str):
            words = [words]
        return search(self, self._lemmas(words), min_share=min_share, min_images=min_images)

    def pseudo_groups(self, words, *, min_share: float = 0.25) -> pd.Series:
        """Each image's pseudo-group, ``label/the words it uses`` (``balloon/grass``,
        ``balloon/(none)``), a Series by image id for :meth:`accuracy` and :meth:`to_labels_csv`."""
        from .pseudo_groups import pseudo_groups

        words = [words] if isinstance(words, str) else list(words)
        return pseudo_groups(self, self._lemmas(words), min_share=min_share)

    def to_labels_csv(self, path, groups=None) -> Path:
        """Write a labels CSV (image, label, group, id) of the stored images, the groups
        ``groups`` (e.g. :meth:`pseudo_groups`) or the stored ones; returns its path."""
        from .pseudo_groups import write_labels_csv

        return write_labels_csv(self, path, groups)

    def reliance(self, word: str, model, *, images=None, q: float = 0.1, **options):
        """Does ``model`` (the run's TExplain, or its name) rely on what ``word`` names? Over the
        word's slice (or the image ids ``images``): the predicted class's probability drop when
        the top share ``q`` of the word's map's pixels is masked, against random regions of
        equal area and the class map's; stored in the run directory and reused. ``options``:
        ``fill``, ``region``, ``method``, ``trials``, ``max_images``, ``seed``, ``progress``,
        ``cancel``... of
        :func:`texplain_widgets.runs.reliance.reliance`. Returns a :class:`~.reliance.Reliance`
        (``.images`` per image, ``.summary``)."""
        from .reliance import reliance

        return reliance(self, word, model, images=images, q=q, **options)

    @cached_property
    def _class_words(self) -> frozenset[str]:
        """The words that name a class or are a class's own (:func:`.error_words.class_words`)."""
        from .error_words import class_words

        return frozenset(class_words(self))

    def _lemmas(self, words) -> list[str]:
        """Each word as the stored lemma it stands for (as :meth:`images_with` reads it)."""
        from ..words import as_lemma

        folded = [str(word).strip().casefold() for word in words]
        query = "SELECT DISTINCT word FROM words WHERE list_contains($words, word)"
        stored = set(self._query(query, {"words": folded})["word"]) if len(self) else set()
        return [word if word in stored else as_lemma(word) for word in folded]

    @contextmanager
    def _damage_reported(self):
        """A shard damaged since :meth:`open` raises the StoreError open would, not the reader's error."""
        import duckdb
        import pyarrow as pa

        try:
            yield
        except (duckdb.Error, pa.ArrowException, OSError):
            _refuse_damage(self.directory, self.manifest)
            raise


def _refuse_damage(directory, manifest: dict) -> None:
    problems = check_shards(directory, manifest)
    if problems:
        raise StoreError(
            f"{directory}: {len(problems)} damaged shard file(s), not read:\n  "
            + "\n  ".join(message for _, message in problems)
            + "\nrun the same `texplain run` (explain_dataset) into it again: it drops them "
            "and explains those images again"
        )
