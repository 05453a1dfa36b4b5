"""How many processes `jstmine update` runs new editions side by side in, and what they hand back (flows.corpus)."""
from __future__ import annotations

import os
from pathlib import Path

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
    # --workers N with N the default's count is the default: the same pool for any number of new editions
    assert all(pool_size(cores, n) == pool_size(0, n) for n in range(0, 3 * cores + 2))


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


def test_an_edition_built_where_its_stages_ran_is_published_with_the_same_tables(fresh_cache, tmp_path):
    """``report_stages_task`` with an edition builds its tables and checks its findings where the
    stages ran (a ``Built``); ``finish`` then only publishes it: every table equals the one
    ``finish`` builds and publishes itself from the stages."""
    import pyarrow.parquet as pq
    from prefect import flow

    from flows.corpus import report_stages_task
    from flows.process_report import Built, finish, prepare, run_config, submit_stages
    from flows.report_charts import ChartProcess
    from pipeline.acquire import AcquireConfig, acquire
    from pipeline.source import parse_source
    from samples.build import build_sample_pdf

    pdf = build_sample_pdf(tmp_path / "sample.pdf", edition_note="test_corpus")

    @flow
    def both() -> tuple:
        source = parse_source(str(pdf))
        acquired = acquire(source, AcquireConfig(raw_dir=tmp_path / "raw"))
        config = run_config("C", "", None, source, acquired)
        edition, _ = prepare(source, None, str(tmp_path / "worker"), acquired, config)
        built = report_stages_task(acquired, config, label="sample", edition=edition)
        stages = submit_stages(acquired, config, submit=False)
        assert isinstance(built, Built) and not isinstance(stages, Built)
        assert "findings_check" in built.tables and built.counts["pages"] > 0  # built and checked
        here = finish(edition, str(tmp_path / "flow"), acquired, config, stages, write=lambda out, ed: None)
        charts = ChartProcess()  # as on Dask: the flow's process writes the report, a child draws its charts
        try:
            there = finish(edition, str(tmp_path / "worker"), acquired, config, built, charts=charts)
            assert charts.sent  # given the analysis tables the worker built
        finally:
            charts.close()
        return edition, here, there

    edition, (here, *_), (there, *_) = both()
    assert here.pages > 0 and here.mentions > 0
    assert (there.pages, there.mentions, there.facts, there.findings) == (here.pages, here.mentions, here.facts, here.findings)
    assert there.report and Path(there.report).is_file()
    names = sorted(p.name for p in (tmp_path / "flow" / edition).glob("*.parquet"))
    assert names and names == sorted(p.name for p in (tmp_path / "worker" / edition).glob("*.parquet"))
    for name in names:
        a, b = (pq.read_table(tmp_path / d / edition / name) for d in ("flow", "worker"))
        drop = [c for c in ("processed_at",) if c in a.column_names]
        assert a.drop_columns(drop).equals(b.drop_columns(drop)), name


def test_stages_run_in_a_report_task_run_share_the_stage_cache_with_the_flow(fresh_cache, tmp_path):
    """``update``'s workers run a report's stages as plain calls in the report's one task run
    (``flows.stage_cache.StageRunner``), through the stage cache all the same: what they write,
    a second runner reads back whole, and the flow's own stage task runs find it (state Cached),
    with the same outputs."""
    from prefect import flow

    import prefect_runs
    from flows.process_report import submit_stages, run_config
    from flows.stage_cache import StageRunner
    from pipeline.acquire import AcquireConfig, acquire
    from pipeline.source import parse_source
    from samples.build import build_sample_pdf

    pdf = build_sample_pdf(tmp_path / "sample.pdf", edition_note="test_stage_cache")
    stages = ("extract", "segment", "tokenize", "tag", "attribute", "facts", "relations", "policies", "keyterms", "claims")

    @flow
    def three_ways() -> tuple:
        source = parse_source(str(pdf))
        acquired = acquire(source, AcquireConfig(raw_dir=tmp_path / "raw"))
        config = run_config("C", "", None, source, acquired)
        first, second = StageRunner(), StageRunner()
        ran = submit_stages(acquired, config, submit=False, run=first)
        read = submit_stages(acquired, config, submit=False, run=second)
        tasks = submit_stages(acquired, config, submit=False)  # each stage a task run, as `jstmine run` does
        return first.times, second.times, second.summary(), ran, read, tasks

    state = three_ways(return_state=True)
    first, second, summary, ran, read, tasks = state.result()
    assert [name for name, _, _ in first] == [name for name, _, _ in second] == list(stages)
    assert not any(cached for _, _, cached in first)  # a cold cache: each stage ran
    assert all(cached for _, _, cached in second), second  # then each was read back
    assert summary.startswith("extract ") and summary.count("(cached)") == len(stages)
    states = prefect_runs.task_states(state)
    assert {s: states.get(s) for s in stages} == {s: "Cached" for s in stages}, states
    for outputs in (read, tasks):
        assert outputs["tokens"].equals(ran["tokens"])
        assert outputs["segmented"] == ran["segmented"] and outputs["mentions"] == ran["mentions"]
        assert outputs["facts"] == ran["facts"] and outputs["claims"] == ran["claims"]


def test_a_flow_without_dask_never_imports_it(prefect_api_server, tmp_path):
    """Whether the stages run on Dask is asked of the flow's task runner without importing
    prefect_dask (and Dask, a quarter of a second at every ``update``'s start) when no Dask runner
    can be in use; with one, the stages go to it (``tests/test_dask.py``)."""
    import subprocess
    import sys

    code = ("import sys\nfrom prefect import flow\nfrom flows.process_sources import _stages_side_by_side\n"
            "@flow\ndef probe():\n    return _stages_side_by_side()\n"
            "print(probe(), 'prefect_dask' in sys.modules, 'distributed' in sys.modules)\n")
    env = prefect_api_server.env(PREFECT_HOME=str(tmp_path / "prefect-home"))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-3:] == ["False", "False", "False"], done.stdout
