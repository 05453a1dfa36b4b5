"""Imported first by ``update``'s forkserver (``flows.workers.preload_modules``): the garbage
collector is off while it imports the pipeline; ``flows.preloaded``, imported last, freezes what
the imports made and turns it on again (``flows.gc_imports`` says why). Only the forkserver
imports this module."""
from __future__ import annotations

import gc

gc.disable()
