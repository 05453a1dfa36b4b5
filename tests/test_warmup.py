"""flows.warmup: what the stages load on first use, loaded in a thread while the pages are read;
a warm-up that fails never fails a run, and the tables are the same with it and without."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import flows.process_report as process_report_module
from flows.warmup import WarmUp, import_step
from samples.build import build_sample_pdf

IGNORED = {"documents": {"processed_at", "fetched_at", "raw_path"}}  # when and where, nothing else


def test_steps_run_in_order_in_a_thread_and_errors_are_kept_not_raised():
    ran: list[tuple[str, str]] = []

    def step(name):
        return name, lambda: ran.append((name, threading.current_thread().name))

    def boom():
        raise RuntimeError("no dictionary here")

    warm = WarmUp([step("first"), ("broken", boom), import_step("jstmine_no_such_module"), step("last")]).start()
    assert warm.join(timeout=60)
    assert [name for name, _ in ran] == ["first", "last"]
    assert all(thread == "jstmine-warm-up" for _, thread in ran)
    assert warm.done == ["first", "last"]
    assert list(warm.seconds) == ["first", "broken", "import jstmine_no_such_module", "last"]
    assert all(seconds >= 0 for seconds in warm.seconds.values())
    assert warm.summary().startswith("first ") and "broken " in warm.summary() and " s (failed)" in warm.summary()
    assert [(name, type(exc)) for name, exc in warm.failed] == [
        ("broken", RuntimeError), ("import jstmine_no_such_module", ModuleNotFoundError)]


def test_a_caller_waits_for_the_tagger_being_built_rather_than_building_another():
    config = process_report_module.RunConfig()
    args = (str(config.lexicon_file()), config.tokenize.mode, config.tokenize.dictionary)
    process_report_module._built_tagger.cache_clear()
    warm = WarmUp([("tagger", lambda: process_report_module._tagger(*args))]).start()
    got = process_report_module._tagger(*args)  # while the thread may still be building it
    assert warm.join(timeout=120) and warm.done == ["tagger"]
    assert process_report_module._tagger(*args) is got
    info = process_report_module._built_tagger.cache_info()
    assert info.misses == 1 and info.currsize == 1


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    # A content of its own, so no other test of the session has cached its stages.
    return build_sample_pdf(tmp_path_factory.mktemp("warm-sample") / "sample.pdf", edition_note="test_warmup")


def _run(out: Path, pdf: Path):
    return process_report_module.process_report(
        source=str(pdf), edition="warm", out_dir=str(out / "processed"), raw_dir=str(out / "raw"),
        expectations="", return_state=True)


@pytest.mark.slow
def test_tables_the_same_with_the_warm_up_and_with_every_step_failing(prefect_server, sample, tmp_path, monkeypatch):
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    started: list[WarmUp] = []

    class Recorded(WarmUp):
        def start(self):
            started.append(self)
            return super().start()

    class Slow(Recorded):  # still busy when the pages are read (the sample has few)
        def __init__(self, steps):
            super().__init__([*steps, ("slow", lambda: time.sleep(2.0))])

    # The stages after extraction wait for it: two threads importing at once can deadlock.
    seen_at_segment: list[tuple[bool, list[str]]] = []
    real_segment = process_report_module.segment

    def segment(extracted):
        seen_at_segment.append((started[-1]._thread.is_alive(), list(started[-1].done)))
        return real_segment(extracted)

    monkeypatch.setattr(process_report_module, "segment", segment)

    class Failing(Recorded):
        def __init__(self, steps):
            def fail():
                raise OSError("warm-up made to fail")
            super().__init__([(name, fail) for name, _ in steps])

    process_report_module._built_tagger.cache_clear()  # built by the warm-up, not by an earlier test
    monkeypatch.setattr(process_report_module, "WarmUp", Slow)
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: tmp_path / "storage-warm"}):
        warm = _run(tmp_path / "warm", sample)
    assert warm.is_completed(), warm
    assert not started[-1].failed
    assert started[-1].done == ["tagger", "import sklearn.feature_extraction.text", "import pandas", "import prince",
                                "report template", "slow"]
    assert seen_at_segment == [(False, started[-1].done)]  # the segment stage began after the thread had ended

    process_report_module._built_tagger.cache_clear()
    monkeypatch.setattr(process_report_module, "WarmUp", Failing)
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: tmp_path / "storage-failing"}):
        failing = _run(tmp_path / "failing", sample)
    assert failing.is_completed(), failing
    assert started[-1].join(timeout=60) and not started[-1].done
    assert {name for name, _ in started[-1].failed} >= {"tagger", "import sklearn.feature_extraction.text"}

    a_dir, b_dir = tmp_path / "warm" / "processed" / "warm", tmp_path / "failing" / "processed" / "warm"
    names = sorted(p.stem for p in a_dir.glob("*.parquet"))
    assert names and names == sorted(p.stem for p in b_dir.glob("*.parquet"))
    for name in names:
        a, b = pq.read_table(a_dir / f"{name}.parquet"), pq.read_table(b_dir / f"{name}.parquet")
        assert a.schema == b.schema, name
        drop = sorted(IGNORED.get(name, set()))
        a, b = a.drop_columns(drop), b.drop_columns(drop)
        assert a.equals(b), f"{name} differs between a run with the warm-up and one where it failed"
