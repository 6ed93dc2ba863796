"""Generations: the concurrency rules of start, stream, cancel and close (a real worker thread, fake work)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from texplain_widgets.errors import Cancelled
from texplain_widgets.widgets.generations import Generations

TIMEOUT = 30


@pytest.fixture
def worker():
    executor = ThreadPoolExecutor(max_workers=1)
    yield executor
    executor.shutdown(wait=True, cancel_futures=True)


def batches(name, n, writes, *, gate=None, at=None):
    """A fake generation: ``n`` batches, each reported by ``batch``; waits on ``gate`` after batch ``at``."""

    def run(batch, cancelled):
        for i in range(n):
            batch(name, i)
            if gate is not None and i == at:
                assert gate.wait(TIMEOUT)
            if cancelled():
                raise Cancelled(f"{name} stopped after batch {i}")
        return f"{name} result"

    return run


def recorder(writes):
    return {
        "on_batch": lambda name, i: writes.append((name, i)),
        "on_end": lambda status, result: writes.append(("end", status, result)),
    }


def test_a_generation_streams_its_batches_then_ends(worker):
    writes = []
    generations = Generations(worker.submit)
    future = generations.start(batches("a", 3, writes), **recorder(writes))
    assert future.result(TIMEOUT) == "a result"
    assert writes == [("a", 0), ("a", 1), ("a", 2), ("end", "done", "a result")]


def test_a_stale_generation_never_writes_after_a_newer_one_started(worker):
    writes, gate = [], threading.Event()
    generations = Generations(worker.submit)
    first = generations.start(batches("a", 5, writes, gate=gate, at=1), **recorder(writes))
    while ("a", 1) not in writes:
        threading.Event().wait(0.01)
    second = generations.start(
        batches("b", 2, writes), **recorder(writes), on_start=lambda: writes.append("b starts")
    )
    gate.set()
    assert first.result(TIMEOUT) is None and second.result(TIMEOUT) == "b result"
    assert writes == [("a", 0), ("a", 1), "b starts", ("b", 0), ("b", 1), ("end", "done", "b result")]


def test_the_latest_check_and_its_write_are_one_step(worker):
    """A write in progress finishes before start() replaces its generation, and none follows."""
    writes, writing = [], threading.Event()

    def slow_batch(name, i):
        writes.append((name, i, "begins"))
        writing.set()
        threading.Event().wait(0.3)  # start() in the kernel thread must wait for this write
        writes.append((name, i, "ends"))

    generations = Generations(worker.submit)
    first = generations.start(batches("a", 3, writes), on_batch=slow_batch, on_end=lambda *_: None)
    assert writing.wait(TIMEOUT)
    generations.start(
        batches("b", 0, writes),
        on_batch=slow_batch,
        on_end=lambda *_: None,
        on_start=lambda: writes.append("b starts"),
    )
    first.result(TIMEOUT)  # "a result" if it ended before b started, else None
    start = writes.index("b starts")
    assert writes[:2] == [("a", 0, "begins"), ("a", 0, "ends")]  # b waited for the write in progress
    assert all(
        w[2] == "begins" and writes[i + 1][2] == "ends" for i, w in enumerate(writes[:start]) if i % 2 == 0
    )
    assert writes[start + 1 :] == []  # nothing of a after b started


def test_cancel_stops_after_the_current_batch(worker):
    writes, gate = [], threading.Event()
    generations = Generations(worker.submit)
    future = generations.start(batches("a", 10, writes, gate=gate, at=2), **recorder(writes))
    while ("a", 2) not in writes:
        threading.Event().wait(0.01)
    generations.cancel()  # during batch 2: it finishes, then the generation stops
    gate.set()
    assert future.result(TIMEOUT) is None
    assert writes == [("a", 0), ("a", 1), ("a", 2), ("end", "cancelled", None)]


def test_close_drops_queued_work(worker):
    writes, busy = [], threading.Event()
    worker.submit(busy.wait, TIMEOUT)  # the worker is busy with another widget's job
    generations = Generations(worker.submit)
    ran = []
    future = generations.start(lambda batch, cancelled: ran.append(1), **recorder(writes))
    generations.close()
    busy.set()
    assert future.result(TIMEOUT) is None
    assert ran == [] and writes == []


def test_a_failure_ends_the_latest_generation_and_is_raised_a_replaced_one_is_dropped(worker):
    writes, gate = [], threading.Event()

    def broken(batch, cancelled):
        assert gate.wait(TIMEOUT)
        raise RuntimeError("the model broke")

    generations = Generations(worker.submit)
    future = generations.start(broken, **recorder(writes))
    gate.set()
    with pytest.raises(RuntimeError, match="the model broke"):
        future.result(TIMEOUT)
    assert writes[0][:2] == ("end", "error") and isinstance(writes[0][2], RuntimeError)

    writes.clear()
    gate.clear()
    replaced = generations.start(broken, **recorder(writes))
    generations.replace()  # e.g. a new image
    gate.set()
    assert replaced.result(TIMEOUT) is None and writes == []
