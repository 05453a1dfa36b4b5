"""Importing the pipeline without the garbage collector walking it again and again.

Importing jstmine's libraries (Prefect, spaCy, SciPy, pandas, PyArrow …) makes some 370,000
long-lived objects, and every full collection on the way walks all that exist by then: with the
collector on, a quarter of the forkserver's import time (2.9 s of CPU with it, 2.2 s without) and of
the command's own (1.7 s, 1.3 s), both on the way to the first report. Off while they import, then
what they made is frozen (``gc.freeze``: the permanent generation, which no collection walks, not
even the last one at exit, 0.5 s otherwise), then on again: the garbage of the work that follows is
collected as before. The imports' own garbage cycles, if any, stay until the process ends, as the
modules do. This is what the ``gc`` documentation advises for a process that forks without exec.

``imports_frozen`` does this around imports in a command; ``update``'s forkserver does it through
its preload list, which imports ``flows.preloading`` first and ``flows.preloaded`` last.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def imports_frozen():
    """Run the block (imports) with the garbage collector off, then freeze what exists and turn
    it back on (unless it was off before), whatever the block raised."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
