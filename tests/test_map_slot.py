"""MapSlot: the latest request wins, results are cached, closing drops queued work (fake maps)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from texplain_widgets.widgets.map_slot import MapSlot

TIMEOUT = 30


@pytest.fixture
def worker():
    executor = ThreadPoolExecutor(max_workers=1)
    yield executor
    executor.shutdown(wait=True, cancel_futures=True)


def slot_and_shows(worker):
    shows = []
    return MapSlot(worker.submit, lambda png, label: shows.append((png, label))), shows


def test_a_map_is_computed_shown_and_then_served_from_the_cache(worker):
    slot, shows = slot_and_shows(worker)
    computed = []
    slot.request("water", lambda: computed.append(1) or b"water map", "water").result(TIMEOUT)
    assert shows == [(b"", ""), (b"water map", "water")] and computed == [1]
    assert slot.request("water", lambda: computed.append(1) or b"other", "water") is None  # nothing queued
    assert shows[-1] == (b"water map", "water") and computed == [1]
    slot.forget()
    slot.request("water", lambda: b"new image's map", "water").result(TIMEOUT)
    assert shows[-1] == (b"new image's map", "water")


def test_a_stale_map_never_overwrites_a_newer_one(worker):
    slot, shows = slot_and_shows(worker)
    started, gate = threading.Event(), threading.Event()

    def slow():
        started.set()
        assert gate.wait(TIMEOUT)
        return b"water map"

    first = slot.request("water", slow, "water")
    assert started.wait(TIMEOUT)  # computing the first map when the second is asked for
    second = slot.request("sky", lambda: b"sky map", "sky")
    gate.set()
    first.result(TIMEOUT), second.result(TIMEOUT)
    assert (b"water map", "water") not in shows and shows[-1] == (b"sky map", "sky")
    assert slot.request("water", lambda: b"never", "water") is None  # the stale result was cached
    assert shows[-1] == (b"water map", "water")


def test_a_request_replaced_while_queued_is_never_computed(worker):
    slot, shows = slot_and_shows(worker)
    busy, computed = threading.Event(), []
    worker.submit(busy.wait, TIMEOUT)
    first = slot.request("water", lambda: computed.append("water") or b"water map", "water")
    second = slot.request("sky", lambda: computed.append("sky") or b"sky map", "sky")
    busy.set()
    first.result(TIMEOUT), second.result(TIMEOUT)
    assert computed == ["sky"] and shows[-1] == (b"sky map", "sky")


def test_close_drops_queued_work(worker):
    slot, shows = slot_and_shows(worker)
    busy, computed = threading.Event(), []
    worker.submit(busy.wait, TIMEOUT)
    future = slot.request("water", lambda: computed.append(1) or b"water map", "water")
    slot.close()
    busy.set()
    future.result(TIMEOUT)
    assert computed == [] and shows == [(b"", "")]


def test_a_failure_shows_no_map_for_its_label_and_raises(worker):
    slot, shows = slot_and_shows(worker)

    def broken():
        raise ValueError("no such layer")

    with pytest.raises(ValueError, match="no such layer"):
        slot.request("water", broken, "water").result(TIMEOUT)
    assert shows[-1] == (b"", "water")


def test_clear_and_defer_queue_nothing(worker):
    slot, shows = slot_and_shows(worker)
    assert slot.request("water", lambda: b"water map", "water", defer=True) is None
    slot.clear()
    assert shows == [(b"", ""), (b"", "")]
