"""A report's stages run as plain calls inside one task run, through the same stage cache.

``jstmine update`` runs each new edition's stages in one task run (``flows.corpus``): every stage
as a task run of its own cost, per report, 13 more task runs with their state changes and the
Prefect server's work on them (about a fifth of a core over a corpus, for what the report's one
task run and its log already say). ``StageRunner`` runs a stage's task function here instead,
and keeps what the task run gave: the stage's result is read from and written to the same
result storage, under the same key and with the same serializer as the task would (so ``update``
and ``run`` share the cache, and a stage already cached is not run again), and how long each
stage took is said in one log line of the report's task run (``summary``).
"""
from __future__ import annotations

import inspect
import time

from prefect.context import TaskRunContext
from prefect.results import get_result_store
from prefect.settings import PREFECT_TASKS_REFRESH_CACHE


class StageRunner:
    """Runs tasks of ``flows.process_report`` as plain calls (``runner(task, *arguments)``), a
    cached one (``cache_key_fn``) through its stage cache; remembers each one's time.

    Use it inside a task run (the report's): the stages' results go to that run's result
    storage, as its nested task runs' would."""

    def __init__(self):
        self.times: list[tuple[str, float, bool]] = []  # (task name, seconds, read from the cache)

    def __call__(self, task, *arguments):
        """``task``'s function called with ``arguments`` (the task's parameters, in order), or
        its result from the stage cache when it is there; its result either way.

        Parameters:
            task: a Prefect task (its ``fn``, ``cache_key_fn``, ``persist_result`` are used).
            arguments: its parameters, as the task would be called with them (values).
        """
        started = time.perf_counter()
        key, store = _cache_entry(task, arguments)
        if _hit(task, key, store):
            output, cached = store.read(key).result, True
        else:
            output, cached = task.fn(*arguments), False
            if key is not None and task.persist_result is not False:
                store.write(output, key=key)
        self.times.append((task.name, time.perf_counter() - started, cached))
        return output

    def summary(self) -> str:
        """The stages' times, one after the other: "extract 1.02 s, segment 0.11 s (cached), …"."""
        return ", ".join(f"{name} {seconds:.2f} s{' (cached)' if cached else ''}" for name, seconds, cached in self.times)


def is_cached(task, *arguments) -> bool:
    """Whether ``task`` called with ``arguments`` (its parameters, in order) would be read from
    its stage cache rather than run, as Prefect's task engine decides (and ``StageRunner``).

    Parameters:
        task: a Prefect task of ``flows.process_report``.
        arguments: its parameters, as the task would be called with them (values).
    """
    return _hit(task, *_cache_entry(task, arguments))


def _hit(task, key, store) -> bool:
    """Whether ``task``'s result is read from ``store`` under ``key`` (``_cache_entry``'s) rather
    than made: it has a key, is not to be refreshed, and the store holds the key."""
    return key is not None and not _refresh(task) and store.exists(key)


def _cache_entry(task, arguments: tuple):
    """The cache key of ``task`` called with ``arguments`` and the result store it is kept in,
    as Prefect's task engine finds them (``cache_key_fn`` of the parameters by name; the current
    run's result store with the task's serializer); (None, None) for a task without a cache key."""
    if task.cache_key_fn is None:
        return None, None
    parameters = inspect.signature(task.fn).bind(*arguments).arguments
    key = task.cache_key_fn(TaskRunContext.get(), parameters)
    return (key, get_result_store().update_for_task(task)) if key is not None else (None, None)


def _refresh(task) -> bool:
    """Whether the task is to be run again whatever the cache holds (its ``refresh_cache``,
    else ``PREFECT_TASKS_REFRESH_CACHE``), as Prefect's engine decides."""
    return bool(task.refresh_cache if task.refresh_cache is not None else PREFECT_TASKS_REFRESH_CACHE.value())
