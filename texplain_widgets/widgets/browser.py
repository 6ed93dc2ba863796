"""ImageBrowser: a paged, filterable grid of thumbnails; click one to select it.

>>> browser = ImageBrowser("birds/", texplain=model)   # or a demo World, or a list of images
>>> browser.filter_correct = "incorrect"; browser.page = 0
>>> browser.selected = browser.items[0]["index"]      # what a click does

Only the current page travels to the browser: ``page_size`` JPEG thumbnails as binary buffers
(never base64) and their records, so a collection of tens of thousands of images stays fast.
With a ``texplain`` (or a classifier), predictions are computed in the background, a chunk at a
time on the classifier's worker thread; the predicted-class and correct/incorrect filters apply to
the images predicted so far (``n_predicted`` of ``n_images``).

Traits (settable from Python; those the view changes are marked *):

- ``page``*, ``page_size``, ``n_pages``, ``n_images``, ``n_shown`` (after the filters);
- ``filter_label``*, ``filter_predicted``*, ``filter_group``* (a name, or "" for all),
  ``filter_correct``* ("", "correct" or "incorrect"), ``filter_name``* (a substring of the name,
  any case); the choices are in ``label_options``, ``predicted_options`` and ``group_options``;
- ``items``: the page's records ``{"index", "name", "label", "predicted", "correct", "group",
  "error"}`` and ``thumbnails``: their JPEG bytes (empty for an image that cannot be read: its
  ``error`` says why, and the others are unaffected);
- ``selected``*: the selected image's index in the collection (-1: none), ``selected_name``;
- ``rows``: how many rows of thumbnails the grid shows (it scrolls, and pages);
- ``n_predicted``, ``error``.

Each record's ``probability`` is the predicted class's. Keys in the grid: the arrows, Home and
End move the selection, PageUp and PageDown turn pages; Enter and Escape reach the kernel as the
actions ``activate`` (with the image's index) and ``cancel``: see :meth:`ImageBrowser.on_action`.
"""

from __future__ import annotations

import io
import logging
import threading
from collections import OrderedDict

import anywidget
import numpy as np
import traitlets as t
from PIL import Image

from ..data.collection import ImageCollection
from ..errors import InputError, TExplainError
from .frontend import css, esm
from .worker import worker_for

log = logging.getLogger(__name__)

CORRECTNESS = ("", "correct", "incorrect")


class ImageBrowser(anywidget.AnyWidget):
    """Browse a collection of images (see the module docstring for the traits)."""

    _esm = esm("browser")
    _css = css("browser")

    page = t.Int(0).tag(sync=True)
    page_size = t.Int(100).tag(sync=True)
    n_pages = t.Int(1).tag(sync=True)
    n_images = t.Int(0).tag(sync=True)
    n_shown = t.Int(0).tag(sync=True)

    filter_label = t.Unicode("").tag(sync=True)
    filter_predicted = t.Unicode("").tag(sync=True)
    filter_group = t.Unicode("").tag(sync=True)
    filter_correct = t.Enum(CORRECTNESS, default_value="").tag(sync=True)
    filter_name = t.Unicode("").tag(sync=True)
    label_options = t.List(t.Unicode()).tag(sync=True)
    predicted_options = t.List(t.Unicode()).tag(sync=True)
    group_options = t.List(t.Unicode()).tag(sync=True)

    items = t.List(t.Dict()).tag(sync=True)
    thumbnails = t.List(t.Bytes()).tag(sync=True)
    selected = t.Int(-1).tag(sync=True)
    selected_name = t.Unicode("").tag(sync=True)
    rows = t.Int(2).tag(sync=True)
    n_predicted = t.Int(0).tag(sync=True)
    error = t.Unicode("").tag(sync=True)

    def __init__(
        self, images, *, texplain=None, classifier=None, thumb_size: int = 96, chunk: int = 64, **traits
    ):
        """``images``: a folder, a demo World, a list of images or an ImageCollection;
        ``texplain`` or ``classifier``: predict each image's class (optional); ``thumb_size``:
        the thumbnails' longest side in pixels; ``chunk``: images per background prediction job."""
        self.collection = ImageCollection.from_any(images)
        if len(self.collection) == 0:
            raise InputError("no images to browse: the collection is empty")
        self.classifier = classifier if classifier is not None else getattr(texplain, "classifier", None)
        self.thumb_size = thumb_size
        self._chunk = max(1, chunk)
        self._predicted: list[str | None] = [None] * len(self.collection)
        self._probability: list[float | None] = [None] * len(self.collection)
        self._actions: list = []
        self._thumbs: OrderedDict[int, tuple[bytes, str]] = OrderedDict()
        self._shown = np.arange(len(self.collection))
        self._closed = False
        self._failure: Exception | None = None  # the error that stopped the predictions
        self._ready = False
        self._lock = threading.RLock()  # the kernel and the worker both refresh the page
        self._local = threading.local()  # .refreshing: this thread is inside _refresh
        super().__init__(**traits)
        self.on_msg(self._on_message)
        names = self.classifier.class_names if self.classifier is not None else None
        with self.hold_sync():
            self.n_images = len(self.collection)
            self.label_options = _options(self.collection.labels)
            self.group_options = _options(self.collection.groups)
            self.predicted_options = list(names) if names else []
        self._ready = True
        self._refresh()
        if self.classifier is not None:
            self._worker = worker_for(self.classifier)
            self._worker.submit(self._predict_chunk, 0)

    # -- Python API -----------------------------------------------------------------------

    def image(self, index: int | None = None) -> Image.Image:
        """The image at ``index`` (the selected one by default), loaded."""
        index = self.selected if index is None else index
        if not 0 <= index < len(self.collection):
            raise InputError(f"no image {index}: the collection has {len(self.collection)}")
        return self.collection.image(index)

    @property
    def shown(self) -> np.ndarray:
        """Collection indices that pass the filters, in order."""
        return self._shown.copy()

    @property
    def predictions(self) -> list[str | None]:
        """Predicted class name per image (None where not predicted yet)."""
        return list(self._predicted)

    def wait(self, timeout: float | None = None) -> None:
        """Block until every image is predicted (nothing to wait for without a classifier).

        Raises TExplainError at once when a prediction failed (``error`` says why: the
        predictions stop there), TimeoutError when ``timeout`` seconds pass first.
        """
        if self.classifier is None:
            return
        done = threading.Event()
        while self.n_predicted < len(self.collection) and not self._closed and self._failure is None:
            self._worker.submit(done.set)
            if not done.wait(timeout):
                raise TimeoutError("predictions are not done yet")
            done.clear()
        if self._failure is not None:
            raise TExplainError(self.error) from self._failure

    def on_action(self, callback) -> None:
        """Call ``callback(action, index)`` for each key action of the view: ``"activate"`` (Enter
        on image ``index``) or ``"cancel"`` (Escape; ``index`` is the selected image)."""
        self._actions.append(callback)

    def close(self) -> None:
        self._closed = True
        super().close()

    def _on_message(self, _widget, content, _buffers) -> None:
        action = content.get("action") if isinstance(content, dict) else None
        if action not in ("activate", "cancel"):
            self.error = f"unknown action {action!r} from the frontend"
            return
        index = content.get("index", self.selected)
        if not isinstance(index, int) or not -1 <= index < len(self.collection):
            self.error = f"no image {index!r}: the collection has {len(self.collection)}"
            return
        for callback in list(self._actions):
            try:
                callback(action, index)
            except Exception as error:  # noqa: BLE001 - a key press must not raise in the kernel
                log.error("ImageBrowser: %s failed", action, exc_info=error)
                self.error = f"{action} failed: {type(error).__name__}: {error}"

    # -- glue -----------------------------------------------------------------------------

    def _predict_chunk(self, start: int) -> None:
        """Predict one chunk, show it, and queue the next (so other widgets' jobs get a turn)."""
        if self._closed or start >= len(self.collection):
            return
        stop = min(start + self._chunk, len(self.collection))
        indices, pictures = [], []
        for i in range(start, stop):
            try:
                pictures.append(self.collection.image(i))
                indices.append(i)
            except (TExplainError, OSError):
                pass  # unreadable: its thumbnail says so; it stays unpredicted
        try:
            if pictures:
                names = self.classifier.class_names
                best = self.classifier.predict(pictures).logits.float().softmax(-1).max(-1)
                for i, c, p in zip(indices, best.indices.tolist(), best.values.tolist()):
                    self._predicted[i] = names[c] if names else f"class {c}"
                    self._probability[i] = round(float(p), 4)
        except Exception as error:
            log.error("ImageBrowser: prediction failed", exc_info=error)
            self.error = f"prediction failed at image {start}: {type(error).__name__}: {error}"
            self._failure = error  # the predictions stop here, and wait() raises
            return
        self.n_predicted = stop
        if not self.predicted_options:
            self.predicted_options = _options(self._predicted)
        self._refresh()
        self._worker.submit(self._predict_chunk, stop)

    def _matches(self) -> np.ndarray:
        c = self.collection
        keep = np.ones(len(c), dtype=bool)
        for wanted, values in (
            (self.filter_label, c.labels),
            (self.filter_group, c.groups),
            (self.filter_predicted, self._predicted),
        ):
            if wanted:
                keep &= np.array([v == wanted for v in values])
        if self.filter_correct:
            right = np.array(
                [p is not None and lab is not None and p == lab for p, lab in zip(self._predicted, c.labels)]
            )
            known = np.array([p is not None and lab is not None for p, lab in zip(self._predicted, c.labels)])
            keep &= known & (right if self.filter_correct == "correct" else ~right)
        if self.filter_name:
            needle = self.filter_name.casefold()
            keep &= np.array([needle in name.casefold() for name in c.names])
        return np.flatnonzero(keep)

    def _refresh(self) -> None:
        """Apply the filters and send the current page (records; thumbnails when they change)."""
        if not self._ready:
            return
        with self._lock:
            self._local.refreshing = True  # the page set below must not refresh again
            try:
                self._shown = self._matches()
                size = max(1, self.page_size)
                n_pages = max(1, -(-len(self._shown) // size))
                page = min(max(self.page, 0), n_pages - 1)
                indices = self._shown[page * size : (page + 1) * size].tolist()
                thumbs = [self._thumbnail(i) for i in indices]
                with self.hold_sync():
                    self.n_shown = len(self._shown)
                    self.n_pages = n_pages
                    self.page = page
                    if [r["index"] for r in self.items] != indices:
                        self.thumbnails = [thumb for thumb, _ in thumbs]
                    self.items = [self._record(i, problem) for i, (_, problem) in zip(indices, thumbs)]
            finally:
                self._local.refreshing = False

    def _record(self, i: int, problem: str) -> dict:
        label, predicted = self.collection.labels[i], self._predicted[i]
        return {
            "index": i,
            "name": self.collection.names[i],
            "label": label,
            "predicted": predicted,
            "probability": self._probability[i],
            "correct": None if label is None or predicted is None else label == predicted,
            "group": self.collection.groups[i],
            "error": problem,
        }

    def _thumbnail(self, i: int) -> tuple[bytes, str]:
        cached = self._thumbs.get(i)
        if cached is not None:
            self._thumbs.move_to_end(i)
            return cached
        try:
            picture = self.collection.image(i)
            picture.thumbnail((self.thumb_size, self.thumb_size), Image.Resampling.BILINEAR)
            buffer = io.BytesIO()
            picture.save(buffer, format="JPEG", quality=85)
            found = (buffer.getvalue(), "")
        except (TExplainError, OSError) as error:
            found = (b"", str(error))
        self._thumbs[i] = found
        if len(self._thumbs) > 20 * max(1, self.page_size):
            self._thumbs.popitem(last=False)
        return found

    @t.observe(
        "filter_label", "filter_predicted", "filter_group", "filter_correct", "filter_name", "page_size"
    )
    def _on_filter(self, _change) -> None:
        if self.page != 0:
            self.page = 0  # which refreshes
        else:
            self._refresh()

    @t.observe("page")
    def _on_page(self, _change) -> None:
        if not getattr(self._local, "refreshing", False):
            self._refresh()

    @t.validate("selected")
    def _valid_selected(self, proposal) -> int:
        value = proposal["value"]
        if not -1 <= value < len(self.collection):
            raise t.TraitError(f"no image {value}: the collection has {len(self.collection)}")
        return value

    @t.observe("selected")
    def _on_selected(self, change) -> None:
        index = change["new"]
        self.selected_name = self.collection.names[index] if index >= 0 else ""


def _options(values) -> list[str]:
    return sorted({v for v in values if v is not None})
