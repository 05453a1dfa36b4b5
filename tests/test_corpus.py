"""How many processes `jstmine update` runs new editions side by side in (flows.corpus)."""
from __future__ import annotations

import os

import pytest

from flows.corpus import default_workers, pool_size
from flows.process_sources import task_runner
from pipeline.errors import PipelineError


def test_one_process_per_core_by_default_never_more_than_new_editions():
    cores = len(os.sched_getaffinity(0))
    assert default_workers() == cores
    assert pool_size(0, 20) == cores
    assert pool_size(0, 1) == 1  # one new edition: processed in the flow's process, no pool
    assert pool_size(3, 2) == 2 and pool_size(3, 5) == 3
    assert pool_size(1, 20) == 1  # --workers 1: one after the other
    assert pool_size(0, 0) == 1  # nothing new: no pool


def test_a_negative_number_of_workers_is_refused():
    with pytest.raises(ValueError, match="workers must be 0"):
        pool_size(-1, 3)
    with pytest.raises(PipelineError) as info:
        task_runner(None, -2)
    assert "--workers -2 is not a number of processes" in info.value.what and "--workers N" in info.value.todo


def test_workers_and_a_dask_address_together_are_refused():
    with pytest.raises(PipelineError) as info:
        task_runner("tcp://127.0.0.1:8786", 2)
    assert "both --dask-address" in info.value.what
