"""Imported last by ``update``'s forkserver (``flows.workers.preload_modules``), once everything
else is imported (the collector off, since ``flows.preloading``): what the imports made is frozen
(``gc.freeze``), then the collector is on again, and the workers forked from the server inherit
both. Their full collections then never walk the 370,000 objects of the imported libraries (about
0.3 s each time, and it touched every page they share with the server, copying it): over 3
reports in one process, 0.33–0.47 s of collections without the freeze, 0.08 s with it. Nothing
the workers make is frozen; their garbage is collected as before (``flows.gc_imports``). Only the
forkserver imports this module."""
from __future__ import annotations

import gc

gc.freeze()
gc.enable()
