"""What a report's later stages load on first use, loaded beforehand in a background thread.

In a fresh process the stages after extraction pay for loading their libraries and models the
first time they need them: key terms import scikit-learn (0.7 s of CPU), the analysis tables
pandas and prince, the tag stage builds its spaCy pipeline from the lexicon and Sudachi's
dictionary. ``WarmUp`` does that in a daemon thread while the pages are read, so the stages find
it done. Extraction reads the pages in this process and in a worker process, which share out the
pages as they go: the thread's work is spread over both cores instead of standing alone on one
after the pages are read. (In a process forked from the warm runner the libraries are already
imported: only what is not yet loaded costs anything.)

The stages after extraction start once the thread is done (``join``): two threads importing the
same modules at once can deadlock (Python then raises ``_DeadlockError`` in one of them), and all
it loads is what those stages load first anyway; the thread only overlaps the reading of the pages.
A warm-up step that fails changes nothing: the error is logged at debug level and the stage loads
it itself, as it did without, and reports its own error if there is one. The steps load only
what a stage would load in the same process, the same way, so the outputs are the same.
"""
from __future__ import annotations

import importlib
import logging
import threading
import time
from typing import Callable

log = logging.getLogger(__name__)

# Imported lazily by the stages after extraction (key terms; the analysis tables' crosstabs and
# correspondence analysis): heaviest first.
LIBRARIES = ("sklearn.feature_extraction.text", "pandas", "prince")


class WarmUp:
    """Runs ``steps`` one after the other in a daemon thread (``start``); each step's error is
    kept (``failed``) and logged at debug level, never raised.

    Parameters:
        steps: (name, function called with nothing) pairs, in the order the stages need them.
    """

    def __init__(self, steps: list[tuple[str, Callable[[], object]]]):
        self.steps = list(steps)
        self.done: list[str] = []  # the steps that ran without an error
        self.seconds: dict[str, float] = {}  # each step that ran: how long it took (wall)
        self.failed: list[tuple[str, BaseException]] = []
        self._thread = threading.Thread(target=self._run, name="jstmine-warm-up", daemon=True)

    def start(self) -> WarmUp:
        """Start the thread (or nothing, when it cannot be started: the stages load it all themselves)."""
        try:
            self._thread.start()
        except RuntimeError as exc:  # no thread to be had: run as before
            self.failed.append(("start", exc))
        return self

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (None: until the steps are done); whether they are."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def summary(self) -> str:
        """What ran and how long each step took: "tagger 0.21 s, import pandas 0.12 s (failed), …"."""
        failed = {name for name, _ in self.failed}
        return ", ".join(f"{name} {seconds:.2f} s{' (failed)' if name in failed else ''}"
                         for name, seconds in self.seconds.items())

    def _run(self) -> None:
        for name, step in self.steps:
            started = time.perf_counter()
            try:
                step()
            except Exception as exc:  # noqa: BLE001 (a warm-up never fails a run: the stage loads it itself)
                self.failed.append((name, exc))
                log.debug("warm-up %s failed (%s: %s); the stage loads it itself", name, type(exc).__name__, exc)
            else:
                self.done.append(name)
            finally:
                self.seconds[name] = time.perf_counter() - started


def import_step(module: str) -> tuple[str, Callable[[], object]]:
    """A warm-up step importing ``module``.

    Parameters:
        module: a module's dotted name.
    """
    return f"import {module}", lambda: importlib.import_module(module)
