"""``update``'s pool workers are forked from a forkserver that has imported the pipeline
(``flows.workers``, ``flows.corpus.PreloadedPoolTaskRunner``), not spawned to import it again;
spawned when the forkserver cannot start; and no process is left once the pool is done, a task
failed or not. The same
tables and no process left after ``jstmine update``: ``tests/test_dask.py``."""
from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import psutil
import pytest
from prefect import task

import flows.corpus
from flows.corpus import PreloadedPoolTaskRunner
from flows.workers import preload_modules, server_pid, stop_server

# Imported by the forkserver, never by this module nor by the task below: in a worker's
# sys.modules at the task's start only if the worker was forked from the preloaded server.
PRELOADED = "sklearn.feature_extraction.text"


@task
def worker_facts() -> dict:
    """In a pool worker, at the task's start: what it has imported, its parent, its own pid and
    how many objects its garbage collector leaves alone (frozen by the forkserver)."""
    return {"preloaded": PRELOADED in sys.modules, "parent": os.getppid(), "pid": os.getpid(),
            "frozen": gc.get_freeze_count(), "collecting": gc.isenabled()}


@task
def started_then_busy(path: str, seconds: float = 600) -> None:
    """A report task that says it has started (its process id, in the file ``path``), then runs
    for ``seconds`` (ten minutes unless told)."""
    Path(path).write_text(str(os.getpid()))
    time.sleep(seconds)


@task
def numbered(k: int) -> int:
    """A report task that only says which it is."""
    return k


@task
def failing(report: str) -> None:
    """A report task that fails in its worker."""
    raise ValueError(f"{report} cannot be read")


def our_processes() -> set[int]:
    """This process's living descendants, but the resource tracker (multiprocessing's, for the
    process's life, started by the pool either way). A zombie (a child an earlier test of the
    session ended without reaping: it runs nothing) or a process gone meanwhile is left out."""
    pids = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(p.cmdline()):
                pids.add(p.pid)
        except psutil.Error:  # gone, or a zombie, since it was listed
            continue
    return pids


def test_the_forkserver_preloads_what_the_stages_and_their_libraries_need():
    names = preload_modules()
    assert {"flows.corpus", "spacy", "sudachipy", PRELOADED, "pipeline.tag", "pipeline.extract"} <= set(names)
    # the garbage collector off from the first import to the last, then what they made frozen
    assert names[0] == "flows.preloading" and names[-1] == "flows.preloaded"


def test_pool_workers_are_forked_from_the_preloaded_forkserver_and_none_is_left(prefect_server):
    before = our_processes()
    with PreloadedPoolTaskRunner(max_workers=2) as runner:
        # The assumption on Prefect (pinned at 3.9.1) this relies on: its runner keeps a
        # ProcessPoolExecutor in _executor, replaced by one on the forkserver's context.
        executor = runner._executor
        assert isinstance(executor, ProcessPoolExecutor)
        assert executor._mp_context.get_start_method() == "forkserver"
        server = server_pid()
        assert server is not None
        futures = [runner.submit(worker_facts, {}) for _ in range(2)]
        fails = runner.submit(failing, {"report": "corpus07"})
        facts = [f.result(timeout=120) for f in futures]
        workers = {f["pid"] for f in facts}
        with pytest.raises(ValueError, match="corpus07 cannot be read"):  # a worker's failure, as it was
            fails.result(timeout=120)
    assert all(f["preloaded"] for f in facts), facts  # imported before the task started: by the server
    # the server's imports frozen before the fork: the workers' collections never walk them
    assert all(f["frozen"] > 100_000 and f["collecting"] for f in facts), facts
    assert {f["parent"] for f in facts} == {server}, (facts, server)  # children of the forkserver
    assert server_pid() is None  # stopped with the pool
    assert not psutil.pid_exists(server) or psutil.Process(server).status() == psutil.STATUS_ZOMBIE
    assert our_processes() <= before, "processes left behind by the pool"
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in workers)


def test_tasks_reach_the_worker_processes_in_the_order_they_were_submitted(prefect_server):
    """The flow publishes reports in the order it submitted them: each must reach the processes in
    that order, also when handing one over takes long (the first starts a process, which waits for
    the forkserver to finish importing: Prefect's threads then raced for the executor, and a
    report submitted third could start after the fifth). Here the first hand-over is made slow."""
    import time

    import cloudpickle

    with PreloadedPoolTaskRunner(max_workers=2) as runner:
        executor, received = runner._executor, []
        hand_over = executor.submit

        def submit(call, *args, **kwargs):  # a cloudpickled call (Prefect's): which task is it?
            k = cloudpickle.loads(call.args[0])[2]["parameters"]["k"]
            if k == 0:
                time.sleep(1.0)  # as long as a process start can take
            received.append(k)
            return hand_over(call, *args, **kwargs)

        executor.submit = submit
        futures = [runner.submit(numbered, {"k": k}) for k in range(6)]
        assert [f.result(timeout=180) for f in futures] == list(range(6))
    assert received == list(range(6))


def test_when_the_forkserver_cannot_start_the_workers_are_spawned(prefect_server, monkeypatch, caplog):
    def cannot_start():
        raise OSError("no forkserver here")

    monkeypatch.setattr(multiprocessing.forkserver, "ensure_running", cannot_start)
    stop_server()
    with caplog.at_level(logging.WARNING, logger="flows.workers"):
        with PreloadedPoolTaskRunner(max_workers=1) as runner:
            assert runner._executor._mp_context.get_start_method() == "spawn"
            facts = runner.submit(worker_facts, {}).result(timeout=180)
    assert "the pool's forkserver could not start (no forkserver here)" in caplog.text
    assert not facts["preloaded"] and facts["parent"] == os.getpid()  # spawned by this process: imports its own
    assert server_pid() is None


# The interrupted task's KeyboardInterrupt reaches the executor's thread too (through Prefect's
# callback on the worker's result), as it does in `update`: expected here.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_after_ctrl_c_no_spawned_worker_is_left_for_the_exit_to_wait_for(prefect_server, monkeypatch, tmp_path):
    """Ctrl-C while spawned workers (the forkserver could not start) run reports: the terminal
    sends SIGINT to the workers too, and the flow leaves the pool with KeyboardInterrupt. A worker
    that then took the next report, or waits for one that will never come, is a child of this
    process, which Python waits for at exit: `update` hung there. They are ended with the pool."""
    def cannot_start():
        raise OSError("no forkserver here")

    monkeypatch.setattr(multiprocessing.forkserver, "ensure_running", cannot_start)
    stop_server()
    before = our_processes()
    marks = [tmp_path / f"started{k}" for k in range(3)]
    try:
        with pytest.raises(KeyboardInterrupt):
            with PreloadedPoolTaskRunner(max_workers=2) as runner:
                assert runner._executor._mp_context.get_start_method() == "spawn"
                for mark in marks:
                    runner.submit(started_then_busy, {"path": str(mark)})
                deadline = time.monotonic() + 180
                while not all(m.is_file() and m.read_text() for m in marks[:2]) and time.monotonic() < deadline:
                    time.sleep(0.2)
                workers = [int(m.read_text()) for m in marks[:2]]
                for pid in workers:  # Ctrl-C reaches the whole process group
                    os.kill(pid, signal.SIGINT)
                raise KeyboardInterrupt
        left = our_processes() - before
        assert not left, f"worker processes left after the pool: {left}"
    finally:  # whatever the outcome, nothing left for this session's exit to wait for
        for proc in psutil.Process().children(recursive=True):
            if proc.pid not in before and "resource_tracker" not in " ".join(proc.cmdline()):
                proc.kill()


def test_stopping_the_server_ends_a_worker_still_in_its_task_and_leaves_nothing():
    """After an interrupt (Ctrl-C), a worker may still be in its task when the command stops the
    forkserver: it is terminated after the grace period, instead of the stop waiting for it."""
    import time

    from flows.workers import start_server

    before = our_processes()
    context = start_server()
    assert context.get_start_method() == "forkserver"
    worker = context.Process(target=time.sleep, args=(600,))
    worker.start()
    server = server_pid()
    assert psutil.Process(worker.pid).ppid() == server
    stop_server(grace=1.0)
    assert server_pid() is None
    assert not psutil.pid_exists(worker.pid) or psutil.Process(worker.pid).status() == psutil.STATUS_ZOMBIE
    assert our_processes() <= before


def test_a_server_no_pool_needed_is_stopped_even_while_it_imports():
    """``update`` starts the server before it knows how many editions are new: with one or none,
    it is stopped at the end, whether or not it has finished importing."""
    from flows.workers import start_server

    before = our_processes()
    assert start_server().get_start_method() == "forkserver"
    server = server_pid()
    stop_server()
    assert server_pid() is None
    assert not psutil.pid_exists(server) or psutil.Process(server).status() == psutil.STATUS_ZOMBIE
    assert our_processes() <= before


def zombies() -> set[int]:
    """This process's children that have ended and are not reaped yet."""
    pids = set()
    for p in psutil.Process().children():
        try:
            if p.status() == psutil.STATUS_ZOMBIE:
                pids.add(p.pid)
        except psutil.Error:  # reaped since it was listed
            continue
    return pids


def _wait_for(paths, timeout: float = 180) -> list[int]:
    """The process ids the tasks wrote in ``paths`` (``started_then_busy``), once all have."""
    deadline = time.monotonic() + timeout
    while not all(p.is_file() and p.read_text() for p in paths):
        assert time.monotonic() < deadline, f"tasks not started: {paths}"
        time.sleep(0.1)
    return [int(p.read_text()) for p in paths]


def _leave_the_pool_while_a_worker_starts(monkeypatch, tmp_path, when: str, error: type[BaseException],
                                          seconds: float) -> float:
    """Leave a pool of two processes (by ``error``: KeyboardInterrupt is a Ctrl-C, which the
    terminal sends to the worker that runs a report too) while its hand-over thread starts the
    second worker, for the second report (each report runs ``seconds``):

    - ``when="starting"``: the worker's start is under way when the flow leaves the pool, and takes
      a second more (as when the forkserver is still importing: the start waits for it);
    - ``when="handing"``: the hand-over thread reaches the executor only once the flow is leaving
      the pool, just before the executor's shutdown (its last chance to start a process);
    - ``when="twice"``: Ctrl-C again while the pool waits for the executor's shutdown, which is
      left unfinished; the hand-over thread reaches the executor after the forkserver was stopped.

    Returns how long leaving the pool took (seconds); asserts that no process of the pool is left,
    running or unreaped, and kills any that is (so that nothing is left for the session either way)."""
    before, unreaped = our_processes(), zombies()
    marks = [tmp_path / f"started{k}" for k in range(2)]
    handing, go, handed = threading.Event(), threading.Event(), threading.Event()
    try:
        with pytest.raises(error):
            with PreloadedPoolTaskRunner(max_workers=2) as runner:
                executor = runner._executor
                if when == "starting":
                    spawn, spawned = executor._spawn_process, []

                    def slow_spawn():  # the hand-over thread, in the executor's submit
                        if spawned:  # the second worker
                            handing.set()
                            go.wait(30)
                        spawned.append(True)
                        spawn()

                    executor._spawn_process = slow_spawn
                else:
                    hand_over, shutdown, calls = executor.submit, executor.shutdown, []

                    def late_submit(call, *args, **kwargs):  # the hand-over thread
                        calls.append(call)
                        if len(calls) == 2:
                            handing.set()
                            go.wait(30)
                        try:
                            return hand_over(call, *args, **kwargs)
                        finally:
                            if len(calls) == 2:
                                handed.set()

                    def shutdown_once_handed(*args, **kwargs):  # the flow's thread, leaving the pool
                        go.set()
                        handed.wait(30)
                        return shutdown(*args, **kwargs)

                    def interrupted_shutdown(*args, **kwargs):
                        raise KeyboardInterrupt("Ctrl-C again")

                    def stop_then_hand_over(*args, **kwargs):
                        stop(*args, **kwargs)
                        go.set()
                        handed.wait(30)

                    executor.submit = late_submit
                    if when == "twice":
                        stop = flows.corpus.stop_server
                        monkeypatch.setattr(flows.corpus, "stop_server", stop_then_hand_over)
                        executor.shutdown = interrupted_shutdown
                    else:
                        executor.shutdown = shutdown_once_handed
                runner.submit(started_then_busy, {"path": str(marks[0]), "seconds": seconds})
                [first] = _wait_for(marks[:1])
                runner.submit(started_then_busy, {"path": str(marks[1]), "seconds": seconds})
                assert handing.wait(30)
                if error is KeyboardInterrupt:
                    os.kill(first, signal.SIGINT)  # Ctrl-C reaches the process group: the worker there is
                if when == "starting":
                    threading.Timer(1.0, go.set).start()
                leaving = time.monotonic()
                raise error("leaving the pool")
        took = time.monotonic() - leaving
        left = our_processes() - before
        assert not left, f"worker processes left after the pool: {left}"
        assert not zombies() - unreaped, "worker processes left unreaped"
        return took
    finally:  # whatever the outcome, nothing left for this session's exit to wait for
        go.set()
        for proc in psutil.Process().children(recursive=True):
            try:
                if proc.pid not in before and "resource_tracker" not in " ".join(proc.cmdline()):
                    proc.kill()
            except psutil.Error:
                continue


def _spawned_workers(monkeypatch) -> None:
    """The forkserver cannot start: the pool's workers are spawned, children of this process."""
    def cannot_start():
        raise OSError("no forkserver here")

    monkeypatch.setattr(multiprocessing.forkserver, "ensure_running", cannot_start)
    stop_server()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("when", ["starting", "handing", "twice"])
@pytest.mark.parametrize("start", ["spawn", "forkserver"])
def test_after_ctrl_c_a_worker_started_meanwhile_is_ended_too(prefect_server, monkeypatch, tmp_path, start, when):
    """Ctrl-C while the hand-over thread starts a worker for the next report: that worker, which
    the interrupt did not reach (it did not exist yet), is ended with the others, and leaving the
    pool does not wait for its report (two minutes here)."""
    if start == "spawn":
        _spawned_workers(monkeypatch)
    took = _leave_the_pool_while_a_worker_starts(monkeypatch, tmp_path, when, KeyboardInterrupt, seconds=120)
    assert took < 60, f"leaving the pool took {took:.0f} s"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("when", ["starting", "handing"])
@pytest.mark.parametrize("start", ["spawn", "forkserver"])
def test_a_failure_leaving_the_pool_while_a_worker_starts_leaves_no_worker(prefect_server, monkeypatch, tmp_path, start, when):
    """An exception out of the pool (not Ctrl-C: the reports running are waited for, as Prefect's
    runner does) while the hand-over thread starts a worker: no worker is left either."""
    if start == "spawn":
        _spawned_workers(monkeypatch)
    _leave_the_pool_while_a_worker_starts(monkeypatch, tmp_path, when, RuntimeError, seconds=5)
