"""Generations: start one, stream its partial results, cancel it, and drop what a newer one replaced.

A widget keeps one :class:`Generations`. :meth:`~Generations.start` replaces the generation
running (it is asked to stop) and queues the new one on the worker; only the latest generation
may write: a replaced or closed one's batches and end are dropped, and one still queued when it
is replaced never starts. :meth:`~Generations.cancel` asks the running one to stop, which the
sampling engine does after its current batch. The check that a generation is the latest and the
write it guards happen under one lock, so a stale write never lands after a newer one started.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future

from ..errors import Cancelled

__all__ = ["Generations"]


class Generations:
    """The generations of one widget: the latest one wins (see the module docstring).

    ``submit(function, *args)`` runs ``function(*args)`` on the worker and returns a Future.
    """

    def __init__(self, submit: Callable[..., Future]):
        self._submit = submit
        self._lock = threading.RLock()
        self._latest = 0
        self._stop = threading.Event()

    def start(
        self,
        run: Callable,
        *,
        on_batch: Callable,
        on_end: Callable[[str, object], None],
        on_start: Callable[[], None] | None = None,
    ) -> Future:
        """Replace the running generation by ``run(batch, cancelled)``, queued on the worker.

        ``run`` calls ``batch(*partial)`` after each batch and raises Cancelled once
        ``cancelled()`` is true. While this generation is the latest, ``batch`` calls
        ``on_batch(*partial)`` and its end calls ``on_end(status, result)`` with status "done"
        (result: what ``run`` returned), "cancelled" (None) or "error" (the exception, raised
        again). ``on_start()`` runs at once, in the caller's thread, after the old generation
        is replaced and before the new one is queued (to reset what the view shows). The
        Future's result is ``run``'s, or None when it was cancelled, failed or replaced.
        """
        with self._lock:
            ticket, stop = self._replace()
            if on_start is not None:
                on_start()
        return self._submit(self._run, ticket, stop, run, on_batch, on_end)

    def cancel(self) -> None:
        """Ask the running generation to stop after its current batch."""
        self._stop.set()

    def replace(self) -> None:
        """Stop the running generation and drop its writes, with nothing in its place (also: close)."""
        with self._lock:
            self._replace()

    close = replace

    def is_latest(self, ticket: int) -> bool:
        return ticket == self._latest

    def _replace(self) -> tuple[int, threading.Event]:
        self._stop.set()
        self._stop = threading.Event()
        self._latest += 1
        return self._latest, self._stop

    def _if_latest(self, ticket: int, write: Callable, *args) -> bool:
        with self._lock:
            if ticket != self._latest:
                return False
            write(*args)
            return True

    def _run(self, ticket: int, stop: threading.Event, run, on_batch, on_end):
        if not self.is_latest(ticket):
            return None  # replaced (or closed) while it waited: it never starts

        def batch(*partial) -> None:
            self._if_latest(ticket, on_batch, *partial)

        def cancelled() -> bool:
            return stop.is_set() or not self.is_latest(ticket)

        try:
            result = run(batch, cancelled)
        except Cancelled:
            self._if_latest(ticket, on_end, "cancelled", None)
            return None
        except Exception as error:
            if self._if_latest(ticket, on_end, "error", error):
                raise
            return None  # replaced: its failure is no longer news
        return result if self._if_latest(ticket, on_end, "done", result) else None
