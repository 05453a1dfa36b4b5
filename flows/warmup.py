"""What a report's later stages load on first use, loaded beforehand in a background thread.

In a fresh process the stages after extraction pay for loading their libraries and models the
first time they need them: key terms import scikit-learn (0.7 s of CPU), the analysis tables
pandas and prince, the tag stage builds its spaCy pipeline from the lexicon and Sudachi's
dictionary. ``WarmUp`` does that in a daemon thread while the pages are read, so the stages find
it done. Extraction reads the pages in this process and in a worker process, which share out the
pages as they go: the thread's work is spread over both cores instead of standing alone on one
after the pages are read. (In a process forked from the warm runner the libraries are already
imported: only what is not yet loaded costs anything.)

The stages after extraction start once the thread is done (``join``, bounded: ``WAIT_SECONDS``):
two threads importing the same modules at once can deadlock (Python then raises
``_DeadlockError`` in one of them), and all it loads is what those stages load first anyway; the
thread only overlaps the reading of the pages. For the same reason a warm-up waits, before it
starts, for an earlier one of the process still running (a run whose extraction failed leaves its
warm-up behind). A warm-up step that fails changes nothing: ``summary`` says why, and the stage
loads it itself, as it did without, and reports its own error if there is one. The steps load
only what a stage would load in the same process, the same way, so the outputs are the same.
"""
from __future__ import annotations

import importlib
import threading
import time
from typing import Callable

# Imported lazily by the stages after extraction (key terms; the analysis tables' crosstabs and
# correspondence analysis), heaviest first, each with what an analyst knows it by.
LIBRARIES = (("sklearn.feature_extraction.text", "scikit-learn"), ("pandas", "pandas"), ("prince", "prince"))

# How long the stages wait for a warm-up at most (a generous bound: it takes seconds); after it
# they go on, loading what they need themselves.
WAIT_SECONDS = 300.0


class WarmUp:
    """Runs ``steps`` one after the other in a daemon thread (``start``); each step's error is
    kept (``failed``), never raised.

    Parameters:
        steps: (name, function called with nothing) pairs, in the order the stages need them;
            the name is what the run's log calls it ("the language model", "scikit-learn").
    """

    _latest: WarmUp | None = None  # the process's latest warm-up started
    _latest_lock = threading.Lock()

    def __init__(self, steps: list[tuple[str, Callable[[], object]]]):
        self.steps = list(steps)
        self.done: list[str] = []  # the steps that ran without an error
        self.seconds: dict[str, float] = {}  # each step that ran: how long it took (wall)
        self.failed: list[tuple[str, BaseException]] = []
        self.waited = 0.0  # how long ``wait`` waited for it, in all
        self._thread = threading.Thread(target=self._run, name="jstmine-warm-up", daemon=True)

    def start(self, previous_timeout: float = WAIT_SECONDS) -> WarmUp:
        """Start the thread (or nothing, when it cannot be started: the stages load it all
        themselves), once an earlier warm-up of the process still running is done (up to
        ``previous_timeout`` seconds): two would import the same modules at once."""
        with WarmUp._latest_lock:
            previous, WarmUp._latest = WarmUp._latest, self
        if previous is not None:
            previous.join(previous_timeout)
        try:
            self._thread.start()
        except RuntimeError as exc:  # no thread to be had: run as before
            self.failed.append(("everything", exc))
        return self

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (None: until the steps are done); whether they are."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def wait(self, timeout: float = WAIT_SECONDS, on_wait: Callable[[], object] | None = None) -> bool:
        """``join`` for up to ``timeout`` seconds, the time added to ``waited``; ``on_wait``
        (called with nothing) first, when there is anything to wait for. Whether it is done."""
        started = time.perf_counter()
        if self._thread.is_alive() and on_wait is not None:
            on_wait()
        done = self.join(timeout)
        self.waited += time.perf_counter() - started
        return done

    def summary(self) -> str:
        """One sentence for the run's log: what was loaded, in how long, how long the stages
        waited, and each failed step with its error: "the language model and scikit-learn
        loaded in the background (2.10 s); the stages waited 0.40 s for them"."""
        names = list(self.done)
        loaded = (f"{_listed(names)} loaded in the background ({sum(self.seconds.values()):.2f} s)"
                  if names else "nothing loaded in the background")
        if self._thread.is_alive():
            loaded += f" (still loading: {_listed([n for n, _ in self.steps if n not in self.seconds])})"
        text = f"{loaded}; the stages waited {self.waited:.2f} s for it"
        reasons: dict[str, list[str]] = {}  # steps failing for the same reason are said once
        for name, exc in self.failed:
            reasons.setdefault(f"{type(exc).__name__}: {exc}", []).append(name)
        for reason, names in reasons.items():
            one = len(names) == 1
            text += (f"; {_listed(names)} could not be loaded in advance ({reason}), "
                     f"{'its stage loads it itself' if one else 'their stages load them themselves'}")
        return text

    def _run(self) -> None:
        for name, step in self.steps:
            started = time.perf_counter()
            try:
                step()
            except Exception as exc:  # noqa: BLE001 (a warm-up never fails a run: the stage loads it itself)
                self.failed.append((name, exc))  # said by ``summary``, in the run's log
            else:
                self.done.append(name)
            finally:
                self.seconds[name] = time.perf_counter() - started


def import_step(module: str, name: str | None = None) -> tuple[str, Callable[[], object]]:
    """A warm-up step importing ``module``.

    Parameters:
        module: a module's dotted name.
        name: what the run's log calls it (None: ``module``).
    """
    return name or module, lambda: importlib.import_module(module)


def _listed(names: list[str]) -> str:
    """``["a", "b", "c"]`` → ``"a, b and c"``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
