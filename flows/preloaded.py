"""Imported last by ``update``'s forkserver (``flows.workers.preload_modules``), once everything
else is imported: it moves every object the imports made into the garbage collector's permanent
generation (``gc.freeze``), so that the workers forked from the server never traverse them.

Without it, each worker's full collections walk the 370,000 objects of the imported libraries
(spaCy, SciPy, pandas, Prefect …), about 0.3 s each time, and touch every one of their pages
(copying the pages it shares with the server). This is what the ``gc`` documentation advises for a
process that forks without exec: freeze right before forking. The objects frozen are the modules'
own (alive as long as the process) and what garbage the imports left uncollected (not collected
first: a full collection here would hold up the first worker by about 0.3 s); nothing the workers
make is frozen, and their garbage is collected as before.

Importing this module anywhere else would freeze that process's objects too: only the forkserver
imports it.
"""
from __future__ import annotations

import gc

gc.freeze()
