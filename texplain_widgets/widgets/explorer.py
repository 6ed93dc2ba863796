"""Explorer: one image, its prediction, generated words and sentences, and saliency maps.

>>> explorer = Explorer(texplain, "bird.png")
>>> explorer                       # shows the widget; press Generate, click a word
>>> explorer.generate().result()   # or script it: the same as pressing Generate, then waiting
>>> explorer.selected_word = "water"
>>> explorer.wait(); explorer.word_map_png[:4]
b'\\x89PNG'

Model work (prediction, generation, saliency maps) runs on the classifier's worker thread (see
:mod:`.worker`), one job at a time, so the kernel stays free to take Cancel and other clicks and
the models are never used by two threads at once. Generation streams: ``words``, ``sentences``
and ``progress`` change after every batch of ``batch_size`` sentences; the latest generation
wins (:mod:`.generations`), and so does the latest request of each map (:mod:`.map_slot`). A
failure is shown in ``error`` (and logged), and the widget goes on working. A map asked for
during generation is computed when it ends.

The traits (the state the view shows) are described in :mod:`.explorer_traits`.

Maps are cached per image, explanation, word and method, so returning to a word is immediate.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future
from pathlib import Path

import torch
import traitlets as t

from ..attribution.maps import saliency_map
from ..attribution.word_maps import word_saliency
from ..data.images import load_image
from ..errors import InputError, TExplainError
from ..model.explanation import Explanation
from ..model.report_card import format_report_card, report_card_headline
from ..words import as_lemma
from .explorer_traits import ExplorerTraits
from .frontend import css, esm
from .generations import Generations
from .map_slot import MapSlot
from .media import NO_MAP, MapImage, display_png, map_image
from .word_view import marked_sentences, word_records
from .worker import worker_for

log = logging.getLogger(__name__)

SAMPLING = ("n_sentences", "top_p", "temperature", "max_new_tokens", "seed")  # traits passed to explain


class Explorer(ExplorerTraits):
    """Explore what a TExplain says about one image (see the module docstring for the traits)."""

    _esm = esm("explorer")
    _css = css("explorer")

    def __init__(
        self, texplain, image, *, name: str | None = None, explanation: Explanation | None = None, **traits
    ):
        """``texplain``: a :class:`~texplain_widgets.TExplain`; ``image``: a path, PIL image or
        array; ``name``: what to call it (the file name by default); ``explanation``: one already
        computed for this image, shown instead of an empty chart; ``traits``: initial values."""
        picture = load_image(image)  # a bad image raises here, before a comm is opened
        self._ready = False  # observers wait for the state below
        self.texplain = texplain
        self._worker = worker_for(texplain.classifier)
        self._closed = False
        self._epoch = 0  # bumped by every new image: a prediction for an older one is dropped
        self._generations = Generations(self._submit)
        self._saliency = MapSlot(self._submit, self._show_saliency, NO_MAP)
        self._word_map = MapSlot(self._submit, self._show_word_map, NO_MAP)
        self._partial: list[str] = []
        self._explanation: Explanation | None = None
        self._explanation_id = 0
        card = getattr(texplain, "report_card", None)
        card = card if isinstance(card, dict) else None  # a model without one shows nothing extra
        traits = {"report_card": report_card_headline(card), **traits}
        traits.setdefault("report_card_detail", format_report_card(card) if card else "")
        super().__init__(**traits)
        self.on_msg(self._on_message)
        self._load(image, name, picture)
        self._ready = True
        self._submit(self._predict, self._epoch).result()
        if explanation is not None:
            self.explanation = explanation
        self._request_saliency()

    # -- Python API -----------------------------------------------------------------------

    @property
    def explanation(self) -> Explanation | None:
        """The current Explanation (after Generate; partial after Cancel), or None."""
        return self._explanation

    @explanation.setter
    def explanation(self, explanation: Explanation | None) -> None:
        self._generations.replace()
        self._show(explanation, "done" if explanation is not None else "idle")

    def set_image(self, image, *, name: str | None = None) -> Future | None:
        """Show another image: stops a generation, clears words and maps, predicts anew.

        Returns the prediction's Future, or None (and sets ``error``) when the image is bad.
        """
        try:
            self._load(image, name)
        except (TExplainError, OSError) as error:
            self._fail(error)
            return None
        self._show(None, "idle")
        future = self._submit(self._predict, self._epoch)
        self._request_saliency()
        return future

    def generate(self) -> Future:
        """Sample sentences in the background, as the Generate button does.

        A generation already running is cancelled. The Future's result is the Explanation, or
        None when it was cancelled or failed (then ``status`` and ``error`` say so).
        """
        options = {name: getattr(self, name) for name in SAMPLING} | {"batch_size": self.batch_size or None}

        def run(batch, cancelled):
            return self.texplain.explain(self._source, on_batch=batch, cancel=cancelled, **options)

        def on_end(status: str, result) -> None:
            if status == "error":
                self.status = "error"  # the error itself reaches ``error`` through _guarded
            else:
                self._show(result if status == "done" else self._partial_explanation(options), status)

        return self._generations.start(run, on_batch=self._on_batch, on_end=on_end, on_start=self._reset)

    def cancel(self) -> None:
        """Stop the running generation after its current batch (the Cancel button)."""
        self._generations.cancel()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the work asked for so far (generation, maps) is done."""
        self._submit(lambda: None).result(timeout)

    def close(self) -> None:
        """Stop the work in progress and close the widget (its view disappears)."""
        if hasattr(self, "_worker"):
            self._closed = True  # its queued jobs do nothing
            for part in (self._generations, self._saliency, self._word_map):
                part.close()
        super().close()

    # -- the work, on the worker thread ---------------------------------------------------

    def _submit(self, function, *args) -> Future:
        return self._worker.submit(self._guarded, function, *args)

    def _guarded(self, function, *args):
        if self._closed:
            return None
        try:
            return function(*args)
        except Exception as error:  # noqa: BLE001 - shown in the widget, which keeps working
            self._fail(error)
            return None

    def _predict(self, epoch: int) -> None:
        with torch.inference_mode():
            logits = self.texplain.classifier.predict([self._picture]).logits
        probabilities = logits.float().softmax(-1)[0].cpu()
        predicted = int(probabilities.argmax())
        names = self.texplain.classifier.class_names
        if epoch != self._epoch:
            return
        with self.hold_sync():
            self.predicted_class = predicted
            self.probability = float(probabilities[predicted])
            self.prediction = names[predicted] if names else f"class {predicted}"

    def _on_batch(self, done: int, total: int, sentences: list[list[str]]) -> None:
        self._partial = texts = list(sentences[0])
        with self.hold_sync():
            self.n_generated = done
            self.progress = done / total
            self.words = word_records(texts, self.n_words, reference=self._reference)
            self._set_sentences(texts, self.selected_word)

    # -- glue -----------------------------------------------------------------------------

    def _reset(self) -> None:
        """What the view shows when a generation starts."""
        self._partial = []
        with self.hold_sync():
            self.error = ""
            self.status = "running"
            self.progress = 0.0
            self.n_generated = 0
            self.words = []
            self._set_sentences([], "")
            self._word_map.clear()  # and a map still being computed for the old words is dropped

    def _load(self, image, name: str | None, picture=None) -> None:
        picture = load_image(image) if picture is None else picture
        if name is None:
            name = Path(image).name if isinstance(image, (str, os.PathLike)) else ""
        self._generations.replace()
        self._epoch += 1
        self._source = image if isinstance(image, (str, os.PathLike)) else picture
        self._picture = picture
        self._saliency.forget()
        self._word_map.forget()
        with self.hold_sync():
            self.image_png = display_png(picture)
            self.image_name = name
            self.prediction = ""
            self.predicted_class = -1
            self.probability = 0.0

    def _show(self, explanation: Explanation | None, status: str) -> None:
        """Show an explanation's words and sentences (None: clear them) and refresh the maps."""
        self._explanation = explanation
        self._explanation_id += 1
        texts = explanation.sentences if explanation is not None else []
        self._partial = list(texts)
        table = explanation.words if explanation is not None else None
        word = self.selected_word
        if word and (table is None or as_lemma(word, table["word"]) not in set(table["word"])):
            word = ""
        with self.hold_sync():
            self.status = status
            self.progress = 1.0 if explanation is not None else 0.0
            self.n_generated = len(texts)
            self.words = word_records(texts, self.n_words, table)
            self._set_sentences(texts, word)
            if word != self.selected_word:
                self.selected_word = word  # its observer asks for the map
            else:
                self._request_word_map()

    def _partial_explanation(self, options: dict) -> Explanation | None:
        if not self._partial:
            return None
        path = str(self._source) if isinstance(self._source, (str, os.PathLike)) else None
        settings = {**options, "cancelled_after": len(self._partial)}
        name = self.prediction if self.predicted_class >= 0 and self.texplain.classifier.class_names else None
        return Explanation(
            list(self._partial),
            self.predicted_class,
            self.probability,
            class_name=name,
            image=path,
            settings=settings,
            reference=self._reference,
        )

    @property
    def _reference(self):
        """The model's reference word distribution (words not above it are greyed), or None
        (also when sampled with other settings than these: not comparable)."""
        reference = getattr(self.texplain, "reference", None)
        settings = {name: getattr(self, name) for name in SAMPLING}
        return None if reference is None or reference.mismatch(settings) else reference

    def _set_sentences(self, texts: list[str], word: str) -> None:
        """Show up to ``max_sentences`` of ``texts``, those with ``word`` first and its tokens marked."""
        shown = marked_sentences(texts, self._lemma(word) if word else "", self.max_sentences)
        with self.hold_sync():
            self.sentences = [s["text"] for s in shown]
            self.word_forms = sorted({s["text"][a:b].casefold() for s in shown for a, b in s["spans"]})
            self.marked_sentences = shown

    def _lemma(self, word: str) -> str:
        """The lemma ``word`` stands for, among the words shown (see :func:`~texplain_widgets.words.as_lemma`)."""
        if self._explanation is not None:
            return as_lemma(word, self._explanation.words["word"])
        return as_lemma(word, [w["word"] for w in self.words])

    def _show_saliency(self, shown: MapImage, _label: str) -> None:
        with self.hold_sync():
            self.saliency_png, self.saliency_spread = shown

    def _show_word_map(self, shown: MapImage, word: str) -> None:
        with self.hold_sync():
            self.word_map_png, self.word_map_spread = shown
            self.word_map_word = word

    def _request_word_map(self) -> None:
        self.error = ""  # a new request: the last failure is history
        word, method, explanation = self.selected_word, self.word_method, self._explanation
        if not word or explanation is None:
            self._word_map.clear()
            return
        options, picture = self._options(method), self._picture

        def compute() -> MapImage:
            found = word_saliency(self.texplain, picture, explanation, word, method=method, **options)
            return map_image(picture, found.heatmap)

        key = (self._epoch, self._explanation_id, self._lemma(word), method, repr(options))
        self._word_map.request(key, compute, word, defer=self.status == "running")  # its end asks again

    def _request_saliency(self) -> None:
        self.error = ""
        method, options, picture = self.saliency_method, self._options(self.saliency_method), self._picture

        def compute() -> MapImage:
            return map_image(
                picture, saliency_map(self.texplain.classifier, picture, method, **options).heatmap
            )

        self._saliency.request((self._epoch, method, repr(options)), compute)

    def _options(self, method: str) -> dict:
        return dict(sorted(self.method_options.get(method, {}).items()))

    def _fail(self, error: BaseException) -> None:
        if isinstance(error, TExplainError):
            message = str(error)
        else:
            log.error("Explorer: %s", error, exc_info=error)
            message = f"{type(error).__name__}: {error}"
        self.error = message

    @t.observe(
        "selected_word", "word_method", "saliency_method", "method_options", "n_words", "max_sentences"
    )
    def _on_change(self, change) -> None:
        if not self._ready:
            return
        name = change["name"]
        if name in ("n_words", "max_sentences"):
            done = self._explanation is not None and self.status != "running"
            table = self._explanation.words if done else None
            self.words = word_records(self._partial, self.n_words, table, self._reference)
        if name in ("selected_word", "n_words", "max_sentences"):
            self._set_sentences(self._partial, self.selected_word)
        if name in ("saliency_method", "method_options"):
            self._request_saliency()
        if name in ("selected_word", "word_method", "method_options"):
            self._request_word_map()

    def _on_message(self, _widget, content, _buffers) -> None:
        action = content.get("action") if isinstance(content, dict) else None
        try:
            if action == "generate":
                self.generate()
            elif action == "cancel":
                self.cancel()
            else:
                raise InputError(f"unknown action {action!r} from the frontend")
        except Exception as error:  # noqa: BLE001 - a click must not raise in the kernel
            self._fail(error)
