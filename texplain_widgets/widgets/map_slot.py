"""MapSlot: one map a widget shows (a saliency map, a word map), computed on the worker and cached.

Every :meth:`~MapSlot.request` replaces the one before: a cached map is shown at once, else the
slot is cleared and the map computed on the worker; a result that a newer request (or
:meth:`~MapSlot.close`) replaced is cached but never shown, and a request replaced while it
waits is never computed. The check that a request is the latest and the write it guards happen
under one lock, so a stale map never overwrites a newer one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any

__all__ = ["MapSlot"]


class MapSlot:
    """One map of a widget: the latest request wins (see the module docstring).

    ``submit(function, *args)`` runs ``function(*args)`` on the worker and returns a Future;
    ``show(map, label)`` writes the widget's traits (``empty`` and ``""``: no map). A map is what
    ``compute`` returns (PNG bytes, or e.g. a :class:`~.media.MapImage`).
    """

    def __init__(self, submit: Callable[..., Future], show: Callable[[Any, str], None], empty: Any = b""):
        self._submit = submit
        self._show = show
        self._empty = empty
        self._lock = threading.RLock()
        self._latest = 0
        self._cache: dict[Hashable, Any] = {}

    def request(
        self, key: Hashable, compute: Callable[[], Any], label: str = "", *, defer: bool = False
    ) -> Future | None:
        """Show the map of ``key``: from the cache, or ``compute()`` (the map) on the worker.

        ``label`` is shown with it (the word of a word map). ``defer``: clear the slot but
        compute nothing yet (the caller asks again later). Returns the computing job's Future,
        or None when nothing was queued.
        """
        with self._lock:
            self._latest += 1
            ticket = self._latest
            cached = self._cache.get(key)
            if cached is not None:
                self._show(cached, label)
                return None
            self._show(self._empty, "")
        if defer:
            return None
        return self._submit(self._compute, ticket, key, compute, label)

    def clear(self) -> None:
        """Show no map, and drop the requests in flight."""
        with self._lock:
            self._latest += 1
            self._show(self._empty, "")

    def close(self) -> None:
        """Drop the requests in flight and queued (nothing is shown any more)."""
        with self._lock:
            self._latest += 1

    def forget(self) -> None:
        """Empty the cache (a new image: its maps are others)."""
        self._cache.clear()

    def _compute(self, ticket: int, key: Hashable, compute: Callable[[], Any], label: str) -> None:
        if ticket != self._latest:
            return  # a newer request came first
        try:
            png = compute()
        except Exception:
            self._if_latest(ticket, self._empty, label)  # "no map for this label"
            raise
        self._cache[key] = png
        self._if_latest(ticket, png, label)

    def _if_latest(self, ticket: int, png: Any, label: str) -> None:
        with self._lock:
            if ticket == self._latest:
                self._show(png, label)
