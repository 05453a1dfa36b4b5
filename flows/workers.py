"""Worker processes for ``update``'s pool that do not import the pipeline again: a forkserver that
has imported it once, and forks each worker from there.

Prefect's ``ProcessPoolTaskRunner`` spawns its workers: each is a new Python that imports Prefect,
the stages and their libraries (spaCy, scikit-learn, pandas …) before it does any work, about
three seconds of CPU per worker. Here the workers come from multiprocessing's forkserver instead:
one process, started by ``update`` as soon as it knows it may use a pool (``start_server``: its
imports run on the core the command's own start-up leaves idle), imports ``PRELOAD`` once; each
worker is a fork of it, ready at once, sharing its pages. The forkserver is single-threaded and
runs nothing of Prefect's (no thread, lock or connection to inherit); the flow's process, which
does, is never forked.

When the forkserver cannot start, the workers are spawned as before (a log line says so). It
stops when the pool is done and when ``update`` ends, whatever the outcome (``stop_server``).

The pool itself is ``flows.corpus.PreloadedPoolTaskRunner``; this module imports no Prefect, so that
``update`` can start the server before it imports Prefect.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import pkgutil
import signal
import time
from multiprocessing import forkserver

import psutil

from flows.warm import LIBRARIES

log = logging.getLogger(__name__)

# What the workers run: the report task (Prefect, the stages) and the HTML report's charts.
FLOWS_MODULES = ("flows.corpus", "flows.report_charts")
# Imported first and last: the garbage collector off while the rest is imported, then what they
# made frozen for the workers' collector (flows.gc_imports).
GC_OFF_MODULE, FREEZE_MODULE = "flows.preloading", "flows.preloaded"


def preload_modules() -> list[str]:
    """The modules the forkserver imports before it forks a worker: the libraries the stages use
    (the warm runner's ``LIBRARIES``), every module of ``pipeline`` and ``FLOWS_MODULES``, between
    ``GC_OFF_MODULE`` and ``FREEZE_MODULE`` (the garbage collector off while they are imported,
    then what they made frozen for the workers' collector). A module that cannot be imported is
    left for the worker to import (or fail on) itself."""
    import pipeline

    names = [info.name for info in pkgutil.walk_packages(pipeline.__path__, "pipeline.")
             if not info.name.endswith("__main__")]
    return [GC_OFF_MODULE, *LIBRARIES, "pipeline", *names, *FLOWS_MODULES, FREEZE_MODULE]


def start_server():
    """Start the forkserver (unless it runs already) with ``preload_modules()`` to import; return
    the multiprocessing context to make workers with: the forkserver's, or the spawn context when
    the forkserver cannot start (said in a log line). Returns at once: the server imports while
    the caller goes on."""
    try:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(preload_modules())
        forkserver.ensure_running()
        return context
    except Exception as exc:  # noqa: BLE001 (any failure: the workers are spawned, as without it)
        log.warning("the pool's forkserver could not start (%s): its workers are spawned and import the pipeline each", exc)
        return multiprocessing.get_context("spawn")


def end_workers(processes, grace: float = 5.0) -> None:
    """End the pool's worker processes that are still running once the pool is left: after an
    interrupt (Ctrl-C), one may still be in its task and another waiting for a task that will
    never come. Spawned ones (when the forkserver could not start) are this process's children,
    which Python waits for at exit: without this, ``update`` hung there after Ctrl-C. Those still
    running after ``grace`` seconds are terminated (SIGTERM, then SIGKILL), and each is reaped.
    Processes that have ended (the pool joins them when it is done) are left as they are.

    Parameters: ``processes`` (``multiprocessing`` processes: the pool's executor's),
    ``grace`` (seconds they get to end by themselves)."""
    deadline = time.monotonic() + grace
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(grace)
        if process.is_alive():
            process.kill()
            process.join()


def server_pid() -> int | None:
    """The forkserver's process id while it runs (started by this process), else None."""
    return forkserver._forkserver._forkserver_pid


def stop_server(grace: float = 5.0) -> None:
    """Stop the forkserver this process started, if any; the next ``start_server`` starts a new
    one. Its workers have ended (the pool has joined them), except after an interrupt (Ctrl-C),
    when one may still be in its task: those left after ``grace`` seconds are terminated
    (SIGTERM, then SIGKILL), so that nothing is left behind and this does not hang. Then the
    server is terminated, not waited for: it may still be importing when no pool was needed.

    Parameters: ``grace`` (seconds the workers still running get to end by themselves)."""
    pid = server_pid()
    if pid is None:
        return
    try:
        workers = psutil.Process(pid).children()
    except psutil.Error:  # the server has ended already
        workers = []
    _, alive = psutil.wait_procs(workers, timeout=grace)
    for signum in (signal.SIGTERM, signal.SIGKILL):
        for worker in alive:
            try:
                worker.send_signal(signum)
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(alive, timeout=grace)
        if not alive:
            break
    try:  # with no worker left it holds nothing; it may still be importing (no pool was needed)
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    forkserver._forkserver._stop()
