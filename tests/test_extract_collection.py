"""pipeline.extract.collection: fewer garbage collections while pages are read, and the
collector's thresholds put back afterwards."""
from __future__ import annotations

import gc
import threading

import pytest

from pipeline.extract.collection import GEN0_THRESHOLD, fewer_collections


@pytest.fixture
def thresholds():
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_raised_inside_and_put_back_after(thresholds):
    with fewer_collections():
        assert gc.get_threshold() == (GEN0_THRESHOLD, 10, 10)
        with fewer_collections():  # nested: still raised, not put back by the inner block
            assert gc.get_threshold()[0] == GEN0_THRESHOLD
        assert gc.get_threshold()[0] == GEN0_THRESHOLD
    assert gc.get_threshold() == (700, 10, 10)


def test_put_back_when_the_block_raises(thresholds):
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("a page could not be read")
    assert gc.get_threshold() == (700, 10, 10)


def test_a_higher_threshold_or_automatic_collection_off_is_left_alone(thresholds):
    gc.set_threshold(GEN0_THRESHOLD * 2, 10, 10)
    with fewer_collections():
        assert gc.get_threshold()[0] == GEN0_THRESHOLD * 2
    assert gc.get_threshold()[0] == GEN0_THRESHOLD * 2
    gc.set_threshold(0, 10, 10)  # 0: no automatic collection
    with fewer_collections():
        assert gc.get_threshold()[0] == 0
    assert gc.get_threshold()[0] == 0


def test_thresholds_set_by_someone_else_meanwhile_are_kept(thresholds):
    with fewer_collections():
        gc.set_threshold(1234, 10, 10)
    assert gc.get_threshold()[0] == 1234


def test_concurrent_blocks_put_back_once_all_have_ended(thresholds):
    inside, leave = threading.Event(), threading.Event()

    def other_reader() -> None:
        with fewer_collections():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=other_reader)
    thread.start()
    assert inside.wait(10)
    with fewer_collections():
        pass
    assert gc.get_threshold()[0] == GEN0_THRESHOLD  # the other thread is still reading
    leave.set()
    thread.join(10)
    assert gc.get_threshold() == (700, 10, 10)
