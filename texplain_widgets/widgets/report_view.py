"""The dataset report's state, how a change moves it, and the one function that derives its view.

The report's state is its traits (``by``, ``selected_word``, ``page``, ``selected_image``,
``group_words``) and which images its grid holds (a word's, or those set through ``shown``): a :class:`ReportState`.
Every change of a trait, from Python or from a click in the view, goes through
:func:`transition` (what else the change resets) and then :func:`derive_view` (everything the
traits, the panel and the chart show: a :class:`ReportView`); the report only writes that view
out. Both are functions of the state and the run's data (:class:`ReportData`, the run's queries,
cached), so each is tested alone (``tests/test_report_state.py``).

A new part of the report (another chart by ``by``, a card of the selected word) is one more
field of :class:`ReportView`, one more line of :func:`derive_view` (the charts by ``by`` come
from :meth:`ReportData.chart`) and one more trait of the panel. ``by="errors"`` charts the
error words per true label (``ExplanationSet.error_words``); the selected word's slice card is
:func:`~.slice_card.slice_card`; the accuracy table adds the pseudo-groups of the card's word
and ``group_words``, the worst marked.
"""

from __future__ import annotations

from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache

import pandas as pd

from ..errors import TExplainError
from . import report_queries as q
from .slice_card import RELIANCE_IMAGES, RELIANCE_NEEDS_A_MODEL, SliceCard, slice_card
from .word_view import marked_sentences, word_records

MAPS_NEED_A_MODEL = (
    "Maps need the run's model: DatasetReport(run, model=...) (or %texplain report RUN --model DIR|demo)."
)
ABOVE_ZERO = 1.6448536269514722  # the standard normal's 95% quantile: z above zero, one-sided at 5%
GRID_COLUMNS = ("id", "name", "share", "count", "label", "group", "predicted", "path")
STATE = (
    "by",
    "selected_word",
    "page",
    "selected_image",
    "shown",
    "group_words",
)  # the traits that move the state
MIN_SHARE = 0.25  # an image uses a word when this share of its sentences do (runs.error_words)
_SEARCH = ThreadPoolExecutor(max_workers=1, thread_name_prefix="texplain-report")  # two-word slices


@dataclass(frozen=True)
class ReportState:
    """What the report is asked to show; everything it shows is derived from this."""

    by: str = "predicted"
    selected_word: str = ""  # a stored lemma, or a word no sentence uses ("" for none)
    page: int = 0  # within the grid's pages
    selected_image: int = -1  # an image id (-1: none)
    chosen: tuple[int, ...] | None = None  # the images set through ``shown``; None: the word's
    group_words: tuple[str, ...] = ()  # stored lemmas that split the labels into pseudo-groups, with the word
    problem: str = ""  # what the last change could not do ("" when it did all)


@dataclass(frozen=True)
class ReportView:
    """Everything the report shows for one state: its traits, the chart's words and the panel's."""

    by: str
    selected_word: str
    page: int
    selected_image: int
    shown: list[int]  # the page's image ids, in order
    error: str
    note: str
    chart_words: list[dict]  # records of :func:`~.report_queries.ranked_words`
    frame: pd.DataFrame = field(repr=False)  # the grid's images, all pages
    n_pages: int
    items: list[dict]  # the page's records (see :mod:`.report_panel`)
    thumbnails: list[bytes] = field(repr=False)
    stored: dict  # the selected image's stored explanation ({} for none)
    group_words: list[str] = field(default_factory=list)
    accuracy: list[dict] = field(default_factory=list)  # rows of ExplanationSet.accuracy, pseudo-groups added
    card: dict = field(default_factory=dict)  # the slice card as the view shows it ({} for none)
    slice_card: SliceCard | None = None


class ReportData:
    """A run as the report shows it: its ranked words by ``by``, a word's images, thumbnails and
    stored explanations (cached), the groupings it has, and what opening the report found wrong
    (``errors``) or worth saying (``notes``)."""

    def __init__(self, run, *, top: int = 12, page_size: int = 24, thumb_size: int = 96):
        self.run, self.top, self.page_size, self.thumb_size = run, top, max(1, page_size), thumb_size
        self.index = q.WordIndex(run)
        self.table = q.image_table(run)
        self.pictures = q.Pictures(run)
        has = {key: bool(len(run.images)) and run.images[key].notna().any() for key in ("label", "group")}
        self.by_options = ["predicted"] + [key for key in ("label", "group") if has[key]]
        self.by_options += ["errors"] if has["label"] else []
        self.errors: list[str] = []
        self.notes: list[str] = []
        self.has_model = False
        self.model_name: str | None = None  # how the mitigation command names the model
        self.reliance_images = RELIANCE_IMAGES  # images the card's button measures
        self._accuracy = q.accuracy_rows(run) if has["label"] else []
        self._pairs: Future | None = None
        self.on_pairs = None  # called (on the search's thread) once the two-word slices are found
        self._reliance: dict[str, object] = {}
        self.pseudo_accuracy = lru_cache(maxsize=16)(self._pseudo_accuracy)
        self.card = lru_cache(maxsize=16)(self._card)
        self.word_slice = lru_cache(maxsize=8)(self._word_slice)
        self._charts: dict[str, tuple[list[dict], str, str]] = {}
        self._thumbs: OrderedDict[int, tuple[bytes, str]] = OrderedDict()
        self.word_images = lru_cache(maxsize=8)(self._word_images)
        self.explanation = lru_cache(maxsize=32)(run.explanation)

    def chart(self, by: str) -> tuple[list[dict], str, str]:
        """The chart's records for ``by``, what went wrong and what to note ("" when nothing).

        Only the words ranked above zero are shown: log-odds z at least :data:`ABOVE_ZERO`
        (more used in the group than in the others, one-sided at the 5% level), not the words
        seen once or twice that would fill a short list; a group with none is named in the note.
        """
        if by not in self._charts:
            try:
                if by == "errors":
                    ranked = q.error_words(self.run, self.top)
                else:
                    ranked = q.ranked_words(self.run, by, self.top) if len(self.run) else []
            except TExplainError as error:
                self._charts[by] = ([], str(error), "")
                return self._charts[by]
            if by == "errors":  # the difference's interval above zero
                words = [row for row in ranked if row["difference_low"] > 0]
            else:
                words = [row for row in ranked if row["z"] >= ABOVE_ZERO]
            empty = sorted({row["group"] for row in ranked} - {row["group"] for row in words})
            rule = (
                "the difference's 95% interval above zero"
                if by == "errors"
                else f"log-odds z ≥ {ABOVE_ZERO:.3g}"
            )
            note = (
                f"No word of {', '.join(empty)} is ranked above zero ({rule}): "
                "too few images or sentences there to tell its words from the others'."
                if empty
                else ""
            )
            self._charts[by] = (words, "", note)
        return self._charts[by]

    def pairs(self, wait: bool = False) -> pd.DataFrame | None:
        """The run's two-word slices (``ExplanationSet.slices`` over its top error words),
        searched once in the background (seconds on a large run) on the first call: None until
        found (``wait``: block until then); then :attr:`on_pairs` is called."""
        if self._pairs is None:
            self._pairs = _SEARCH.submit(search_pairs, self.run.directory)
            self._pairs.add_done_callback(lambda _: self.on_pairs and self.on_pairs())
        return self._pairs.result() if wait or self._pairs.done() else None

    def _word_slice(self, lemma: str) -> pd.DataFrame:
        """``run.slice(lemma)``, from the word's images the grid read already (no query)."""
        from ..runs.slices import slice_of

        images = self.word_images(lemma)
        inside = images[(images["share"] >= MIN_SHARE) & images["label"].notna()]
        members = pd.DataFrame({"label": inside["label"], "correct": inside["label"] == inside["predicted"]})
        return slice_of(self.run, members, [lemma])

    def reliance(self, lemma: str):
        """The reliance on ``lemma`` stored for the run (None: not measured), read once."""
        from ..runs.reliance import stored_reliance

        if lemma not in self._reliance:
            self._reliance[lemma] = stored_reliance(self.run, lemma)
        return self._reliance[lemma]

    def measured(self, lemma: str) -> None:
        """Forget what was read of ``lemma``'s reliance and cards (it was measured again)."""
        self._reliance.pop(lemma, None)
        self.card.cache_clear()

    def accuracy(self, words: tuple[str, ...]) -> list[dict]:
        """The accuracy table's rows, with the pseudo-groups of ``words`` (by "pseudo-group") when given."""
        return self._accuracy + (self.pseudo_accuracy(words) if words and self._accuracy else [])

    def _pseudo_accuracy(self, words: tuple[str, ...]) -> list[dict]:
        if len(words) == 1:  # label x one word: its slice and the rest, per label
            return slice_groups(self.word_slice(words[0]), words[0])
        from ..runs.pseudo_groups import pseudo_groups

        rows = q.accuracy_rows(self.run, pseudo_groups(self.run, list(words), min_share=MIN_SHARE))
        return [dict(row, by="pseudo-group") for row in rows if row["by"] == "group"]

    def worst_pseudo_group(self, words: tuple[str, ...]) -> dict | None:
        worst = [row for row in self.pseudo_accuracy(words) if row["worst"]]
        return {key: worst[0][key] for key in ("name", "n", "correct", "accuracy")} if worst else None

    def _card(self, word: str, words: tuple[str, ...]) -> SliceCard:
        return slice_card(self, word, words, self.model_name)

    def _word_images(self, lemma: str) -> pd.DataFrame:
        if not lemma:
            return pd.DataFrame({key: [] for key in GRID_COLUMNS}).astype({"id": int, "count": int})
        return q.word_images(self.run, lemma, self.table)

    def grid(self, state: ReportState) -> pd.DataFrame:
        """The images the grid holds: the selected word's by its share, or the ``chosen`` ones
        with the word's share and count where they use it."""
        word = self.word_images(state.selected_word)
        if state.chosen is None:
            return word
        ids = list(state.chosen)
        frame = self.table.reindex(ids).reset_index()
        known = word.set_index("id")
        absent = 0.0 if state.selected_word else float("nan")  # no word: no share to give
        frame["share"] = known["share"].reindex(ids).fillna(absent).to_numpy(dtype=float)
        frame["count"] = known["count"].reindex(ids).fillna(0).to_numpy(dtype=int)
        return frame

    def n_pages(self, state: ReportState) -> int:
        return max(1, -(-len(self.grid(state)) // self.page_size))

    def thumbnail(self, image_id: int) -> tuple[bytes, str]:
        """The image's JPEG thumbnail, and why there is none ("" when there is)."""
        if image_id in self._thumbs:
            self._thumbs.move_to_end(image_id)
            return self._thumbs[image_id]
        try:
            found = (q.jpeg_thumbnail(self.pictures(image_id), self.thumb_size), "")
        except (TExplainError, OSError) as error:
            found = (b"", str(error))
        self._thumbs[image_id] = found
        if len(self._thumbs) > 20 * self.page_size:
            self._thumbs.popitem(last=False)
        return found


def transition(state: ReportState, name: str, value, data: ReportData) -> ReportState:
    """The state after trait ``name`` was set to ``value``: a word (as its stored lemma) shows
    its images from the first page; ``shown`` makes the grid hold those images (the stored
    ones); ``page`` stays within the grid's pages; a ``by`` the run has no column for is
    refused. ``problem`` says what the change could not do."""
    state = replace(state, problem="")
    if name == "selected_word":
        word = data.index.lemma(value) if value.strip() else ""
        return replace(state, selected_word=word, chosen=None, page=0)
    if name == "page":
        return replace(state, page=min(max(int(value), 0), data.n_pages(state) - 1))
    if name == "shown":
        ids = [int(i) for i in dict.fromkeys(value)]
        known = [i for i in ids if i in data.table.index]
        missing = sorted(set(ids) - set(known))
        problem = f"no stored images with ids {missing[:10]}" if missing else ""
        return replace(state, chosen=tuple(known), page=0, problem=problem)
    if name == "by":
        if value in data.by_options:
            return replace(state, by=value)
        options = ", ".join(data.by_options)
        return replace(state, problem=f"the run's images have no {value}s: words by {options} only")
    if name == "selected_image":
        return replace(state, selected_image=int(value))
    if name == "group_words":
        words = [data.index.lemma(word) for word in value if str(word).strip()]
        return replace(state, group_words=tuple(dict.fromkeys(words)))
    raise ValueError(f"{name!r} is not part of the report's state {STATE}")


def derive_view(state: ReportState, data: ReportData) -> ReportView:
    """Everything the report shows in ``state``."""
    chart_words, chart_error, chart_note = data.chart(state.by)
    frame = data.grid(state)
    n_pages = data.n_pages(state)
    page = min(max(state.page, 0), n_pages - 1)
    rows = frame.iloc[page * data.page_size : (page + 1) * data.page_size]
    thumbs = [data.thumbnail(int(i)) for i in rows["id"]]
    stored, stored_error = stored_record(state, data)
    word = state.selected_word
    unused = f"No sentence of this run uses “{word}”." if word and not data.index.n_sentences(word) else ""
    words = tuple(dict.fromkeys(filter(None, (word, *state.group_words)))) if data._accuracy else ()
    card, card_error = None, ""
    if word and data._accuracy and not unused:
        try:
            card = data.card(word, words)
        except TExplainError as error:
            card_error = f"no slice card: {error}"
    return ReportView(
        by=state.by,
        selected_word=word,
        page=page,
        selected_image=state.selected_image,
        shown=[int(i) for i in rows["id"]],
        error=" ".join(filter(None, [*data.errors, state.problem, chart_error, stored_error, card_error])),
        note=" ".join(filter(None, [*data.notes, chart_note, unused])),
        chart_words=chart_words,
        frame=frame,
        n_pages=n_pages,
        items=[grid_item(r, problem) for r, (_, problem) in zip(rows.itertuples(index=False), thumbs)],
        thumbnails=[thumb for thumb, _ in thumbs],
        stored=stored,
        group_words=list(state.group_words),
        accuracy=data.accuracy(words if card is not None else ()),
        card={} if card is None else card_record(card, data.has_model and data.reliance_images),
        slice_card=card,
    )


def grid_item(row, problem: str) -> dict:
    """A grid cell's record (plain Python types) from a row of :meth:`ReportData.grid`."""
    return {
        "id": int(row.id),
        "name": str(row.name),
        "share": None if pd.isna(row.share) else float(row.share),
        "count": int(row.count),
        "label": None if pd.isna(row.label) else str(row.label),
        "group": None if pd.isna(row.group) else str(row.group),
        "predicted": str(row.predicted),
        "error": problem,
    }


def stored_record(state: ReportState, data: ReportData) -> tuple[dict, str]:
    """The selected image's stored explanation, its sentences with the selected word marked
    ({} for none), and what went wrong ("" when nothing)."""
    image_id = state.selected_image
    if image_id < 0:
        return {}, ""
    try:
        explanation = data.explanation(image_id)
    except TExplainError as error:
        return {}, str(error)
    row = data.table.loc[image_id]
    return {
        "id": int(image_id),
        "name": str(row["name"]),
        "label": None if pd.isna(row["label"]) else str(row["label"]),
        "group": None if pd.isna(row["group"]) else str(row["group"]),
        "prediction": explanation.class_name or f"class {explanation.predicted_class}",
        "probability": float(explanation.probability),
        "sentences": marked_sentences(explanation.sentences, state.selected_word, 12),
        "n_sentences": len(explanation.sentences),
        "words": word_records(explanation.sentences, 10, explanation.words),
        "maps": "" if data.has_model else MAPS_NEED_A_MODEL,
    }, ""


def search_pairs(directory) -> pd.DataFrame:
    """The two-word slices of the run in ``directory``, opened again (its own DuckDB connection:
    this runs on another thread); none when the run has no error words to pair."""
    from ..runs.explanation_set import ExplanationSet

    try:
        found = ExplanationSet.open(directory).slices()
    except TExplainError:
        return pd.DataFrame({"label": [], "slice": [], "n_words": []})
    return found[found["n_words"] == 2].reset_index(drop=True)


def slice_groups(table: pd.DataFrame, word: str) -> list[dict]:
    """The pseudo-groups label x ``word`` as accuracy rows (the worst marked), from its slice
    table (:meth:`ReportData.word_slice`): per label, its images with the word and the rest."""
    rows = []
    for r in table.itertuples(index=False):
        correct_outside = int(round(r.accuracy_outside * r.n_outside)) if r.n_outside else 0
        parts = ((f"{r.label}/{word}", r.n, r.correct), (f"{r.label}/(none)", r.n_outside, correct_outside))
        rows += [
            {"by": "pseudo-group", "name": name, "n": int(n), "correct": int(k)} for name, n, k in parts if n
        ]
    rows.sort(key=lambda row: row["name"])
    for row in rows:
        row["accuracy"] = row["correct"] / row["n"]
    least = min((row["accuracy"] for row in rows), default=None)
    return [row | {"worst": row["accuracy"] == least} for row in rows]


def card_record(card: SliceCard, measures: int) -> dict:
    """The slice card as the view shows it, with its reliance button's label when it can
    measure ``measures`` images (0: no model, no button)."""
    return card.record() | {
        "measure": "measure reliance" if measures else "",
        "measure_title": f"on up to {measures} images of its slice, stored in the run" if measures else "",
        "measure_note": "" if measures else RELIANCE_NEEDS_A_MODEL,
    }
