"""One worker thread per classifier: every widget's model work on it runs there, one job at a time.

Captum hooks layers while it attributes, so two threads must never run one model at once; and
with the work off the kernel's main thread, clicks (Cancel, a page, a word) are taken at once.
"""

from __future__ import annotations

import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

_workers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def worker_for(model) -> ThreadPoolExecutor:
    """The single-thread executor shared by all widgets working on ``model`` (a classifier)."""
    with _lock:
        worker = _workers.get(model)
        if worker is None:
            worker = _workers[model] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="texplain-model")
            weakref.finalize(model, worker.shutdown, wait=False, cancel_futures=True)
        return worker
