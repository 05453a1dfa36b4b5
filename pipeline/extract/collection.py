"""Fewer garbage collections while pages are read.

Reading a page allocates hundreds of thousands of small objects (glyph records, tuples, lists)
that are freed by reference counting, none in cycles. CPython's cyclic collector still runs
every 700 net allocations and, every few runs, walks every object alive in the process (the
records of the pages already read included): measured on the 300-page report, a quarter of
extraction's CPU time, collecting nothing. While pages are read the first generation's
threshold is raised to ``GEN0_THRESHOLD``: cycles are still collected, later. The result does
not depend on it.
"""
from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

GEN0_THRESHOLD = 50_000  # net allocations between two collections of the youngest generation

_lock = threading.Lock()
_depth = 0  # readers inside fewer_collections() (threads may read documents at once)
_saved: tuple[int, ...] = ()


@contextlib.contextmanager
def fewer_collections(threshold: int = GEN0_THRESHOLD) -> Iterator[None]:
    """Raise the youngest generation's collection threshold to ``threshold`` (allocations) for
    the block, unless it is higher already or automatic collection is off (threshold 0); the
    outermost block, when all have ended, puts back the thresholds it found, unless someone set
    others meanwhile. Nested and concurrent blocks (threads) are fine."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            if 0 < _saved[0] < threshold:
                gc.set_threshold(threshold, *_saved[1:])
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and gc.get_threshold()[0] == threshold and _saved[0] != threshold:
                gc.set_threshold(*_saved)
