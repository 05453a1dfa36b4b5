"""Processing the reports of a corpus side by side: each new edition's stages as one task, run by
a pool of worker processes (``jstmine update``; ``--workers N``) or by Dask workers
(``--dask-address``), while the flow's process builds, checks and publishes the editions done; in
the pool, the workers then write each published edition's HTML report too.

Why whole reports and not stage by stage: a report's stages depend on each other one after the
other, so running them in the process that ran the previous one keeps their outputs where they
are (only the finished stages travel back to the flow, once); the reports, not the stages, are
what can run at the same time. The process that ran a report's stages also builds its tables
and checks its findings (``build_edition``): the flow's process, one for all the reports, only
publishes them (Parquet, DuckDB) in order, and the tables, not the larger stage outputs, travel. Each process reads a report's pages itself (no extraction worker
processes of its own: the pool already has one process per core), and loads Sudachi's
dictionary, the lexicon and its spaCy pipeline once, for every report it runs.

Each report is one task run there (``report-stages-<report>``; its stages are plain calls through
the stage cache, ``flows.stage_cache``, their times in its log), then ``publish`` in the flow's
process and ``write-report-<edition>`` in the pool: not a task run per stage, whose state changes
the Prefect server would record one by one.

The pool starts only when two or more editions are new (one is processed in the flow's process:
no process start-up to pay back), as soon as two are known to be (``update`` then submits each
later one as its download lands), with no more processes than editions that may then be new
(those two and the reports whose downloads have not landed yet); a worker starts only when a
task finds no idle one.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ProcessPoolTaskRunner

from flows import process_report
from flows.quiet import hide_pipeline_error_tracebacks
from flows.stage_cache import StageRunner
from flows.process_report import build_edition, submit_stages, write_report
from flows.workers import end_workers, start_server, stop_server


@task(name="report-stages", task_run_name="report-stages-{label}", cache_policy=NO_CACHE, persist_result=False)
def report_stages_task(acquired, config, label: str = "", edition: str = ""):
    """Every stage of one report (extract … claims), one after the other in the process that runs
    this task, in this one task run (named after the report): each stage is called here, its
    result read from and written to the stage cache as its own task run would
    (``flows.stage_cache``), and the stages' times are logged. Returns the stages' outputs; with
    ``edition``, the edition built from them instead (``build_edition``: its tables built and its
    findings checked here, where the stages are), for the flow's process only to publish.

    Parameters: ``acquired`` (the downloaded PDF), ``config`` (the run's ``RunConfig``),
    ``label`` (the report's name, for the progress display where there is one, and the task
    run's name), ``edition`` (the edition's name; "": the stages' outputs are returned)."""
    # Reports run side by side, one per process: the pages of each are read by its process.
    process_report.EXTRACT_WORKERS = 1
    hide_pipeline_error_tracebacks()  # an expected fault is said by the command, once, at the end
    runner = StageRunner()
    stages = submit_stages(acquired, config, submit=False, label=label, run=runner)
    out = build_edition(edition, acquired, config, stages, label, run=runner) if edition else stages
    get_run_logger().info("%s: %s", label or acquired.sha256[:12], runner.summary())
    return out


@task(name="write-report", task_run_name="write-report-{edition}", cache_policy=NO_CACHE, persist_result=False)
def report_task(out_dir: str, edition: str, previous: str | None) -> str:
    """The edition's HTML report (``write_report``), written by a worker process once the flow has
    published the edition; its path, or "" when it could not be written (a warning, as in the flow).

    Parameters: ``out_dir`` (the output directory), ``edition`` (published there), ``previous``
    (the edition to show the changes since, as the flow found it when it published; None: none)."""
    hide_pipeline_error_tracebacks()
    path = write_report(out_dir, edition, previous)
    return str(path) if path else ""


def default_workers() -> int:
    """Processes to run reports side by side with when ``--workers`` is not given: one per core
    this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover (not Linux)
        return max(1, os.cpu_count() or 1)


def pool_size(workers: int, new_editions: int) -> int:
    """Processes of the pool for ``new_editions`` editions to process with ``workers`` asked for
    (0: ``default_workers()``): at most one per edition; 1 means no pool (the flow's process
    runs them one after the other).

    Parameters:
        workers: ``--workers`` (0 when not given).
        new_editions: editions this run processes (not the unchanged ones), or may process
            (an upper bound, when some downloads have not landed yet)."""
    if workers < 0:
        raise ValueError(f"workers must be 0 (one per core) or more, not {workers}")
    return max(1, min(workers or default_workers(), new_editions))


def process_pool(size: int):
    """A Prefect task runner of ``size`` worker processes (started as tasks arrive, forked from
    the preloaded forkserver: ``PreloadedPoolTaskRunner``), for ``report_stages_task``."""
    return PreloadedPoolTaskRunner(max_workers=size)


class ClosingProcessPoolExecutor(ProcessPoolExecutor):
    """A ``ProcessPoolExecutor`` that can be closed: once ``close`` is called, it takes no task and
    so starts no worker process (it starts them only in ``submit``, as tasks arrive), and ``close``
    returns every worker it started, one being started meanwhile included.

    Why: the pool's hand-over thread (``PreloadedPoolTaskRunner``) submits reports on its own;
    when the flow leaves the pool (Ctrl-C, a failure), the hand-over thread could start one more
    worker after the pool took the list of workers to end (``end_workers``): a spawned one, a
    child of this process, was left running and Python waited for it at exit.

    Parameters: those of ``ProcessPoolExecutor`` (``max_workers``, ``mp_context``, ``initializer``,
    ``initargs``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._closing = threading.Lock()
        self._closed = False

    def submit(self, fn, /, *args, **kwargs):
        """``ProcessPoolExecutor.submit`` (which starts a worker when none is idle), unless the
        executor is closed: then ``RuntimeError``, and no worker starts.

        Parameters: ``fn`` (the callable to run in a worker), ``args`` and ``kwargs`` (its
        arguments)."""
        with self._closing:
            if self._closed:
                raise RuntimeError("the pool is closed: it takes no more tasks")
            return super().submit(fn, *args, **kwargs)

    def close(self) -> list:
        """Take no more tasks and start no more workers; return every worker process started (a
        ``submit`` under way, which may be starting one, is waited for first). Call before
        ``shutdown``, which forgets them."""
        self._closed = True  # a submit not yet under way refuses from now on
        with self._closing:  # one under way has returned: its worker, if any, is listed
            return list((self._processes or {}).values())


class PreloadedPoolTaskRunner(ProcessPoolTaskRunner):
    """Prefect's ``ProcessPoolTaskRunner`` whose workers are forked from the forkserver that has
    imported the pipeline (``flows.workers.start_server``) instead of spawned (Prefect's start
    method: each would import it all again, about three seconds of CPU); everything else is
    Prefect's. When the forkserver cannot start, they are spawned. The forkserver stops with the
    pool, and so does any worker left running (after Ctrl-C: ``end_workers``).
    (``tests/test_workers.py`` checks that Prefect's executor is still what this replaces.)

    Tasks reach the processes in the order they were submitted. Prefect hands each submission to
    its worker processes from a pool of as many threads as processes (there it waits for the
    futures it depends on); while the first one starts a process, which waits for the forkserver
    to finish importing, the next ones queue for the executor's lock, and whichever thread takes
    it first goes first: a report submitted third could start after the fifth, and the flow, which
    publishes in order, waited for it. Here one thread hands them over, in order (the report tasks
    depend on no future: nothing to wait for there).

    Leaving the pool, however (Ctrl-C, a failure), the executor is closed first
    (``ClosingProcessPoolExecutor.close``): the hand-over thread starts no worker from then on,
    and every worker started, one it was starting at that moment included, is ended and reaped."""

    def __enter__(self):
        super().__enter__()
        context = start_server()  # the forkserver's, or spawn (Prefect's) when it cannot start
        prefects = self._executor
        if isinstance(prefects, ProcessPoolExecutor):
            # Prefect's executor has started no process yet (they start with the first task):
            # the same one, on the forkserver's context, and closable.
            self._executor = ClosingProcessPoolExecutor(max_workers=self._max_workers, mp_context=context,
                                                        initializer=prefects._initializer,
                                                        initargs=prefects._initargs)
            prefects.shutdown(wait=True)
        threads, self._resolver_executor = self._resolver_executor, ThreadPoolExecutor(max_workers=1)
        threads.shutdown(wait=True)  # nothing submitted yet
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        executor, processes = self._executor, []
        try:
            # no worker starts from here on; its workers listed before the shutdown forgets them
            if isinstance(executor, ClosingProcessPoolExecutor):
                processes = executor.close()
            super().__exit__(exc_type, exc_value, traceback)  # its workers are joined (not after Ctrl-C)
        finally:
            try:
                stop_server()
            finally:
                end_workers(processes)  # any left (spawned ones, after Ctrl-C)
