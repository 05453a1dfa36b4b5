"""flows.warmup: what the stages load on first use, loaded in a thread while the pages are read;
a warm-up that fails never fails a run, and the tables are the same with it and without."""
from __future__ import annotations

import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import flows.process_report as process_report_module
from flows.progress import Progress, showing
from flows.warmup import WarmUp, import_step
from samples.build import build_sample_pdf

IGNORED = {"documents": {"processed_at", "fetched_at", "raw_path"}}  # when and where, nothing else


def test_steps_run_in_order_in_a_thread_and_errors_are_kept_not_raised():
    ran: list[tuple[str, str]] = []

    def step(name):
        return name, lambda: ran.append((name, threading.current_thread().name))

    def boom():
        raise RuntimeError("no dictionary here")

    warm = WarmUp([step("first"), ("broken", boom), import_step("jstmine_no_such_module", "no such module"),
                   step("last")]).start()
    assert warm.join(timeout=60)
    assert [name for name, _ in ran] == ["first", "last"]
    assert all(thread == "jstmine-warm-up" for _, thread in ran)
    assert warm.done == ["first", "last"]
    assert list(warm.seconds) == ["first", "broken", "no such module", "last"]
    assert all(seconds >= 0 for seconds in warm.seconds.values())
    assert [(name, type(exc)) for name, exc in warm.failed] == [
        ("broken", RuntimeError), ("no such module", ModuleNotFoundError)]


def test_the_log_sentence_says_what_was_loaded_the_wait_and_why_a_step_failed():
    def boom():
        raise RuntimeError("no dictionary here")

    def boom_too():
        raise RuntimeError("no dictionary here")

    def boom_two():
        raise OSError("no template")

    warm = WarmUp([("the language model", lambda: None), ("scikit-learn", lambda: None), ("pandas", boom),
                   ("prince", boom_too), ("the report template", boom_two)]).start()
    assert warm.wait(timeout=60)
    text = warm.summary()
    total = sum(warm.seconds.values())
    assert text.startswith(f"the language model and scikit-learn loaded in the background ({total:.2f} s); "
                           f"the stages waited {warm.waited:.2f} s for it"), text
    assert text.endswith("; pandas and prince could not be loaded in advance (RuntimeError: no dictionary here), "
                         "their stages load them themselves; the report template could not be loaded in advance "
                         "(OSError: no template), its stage loads it itself"), text


def test_a_wait_that_runs_out_says_so_and_what_is_still_loading():
    release = threading.Event()
    shown: list[str] = []
    warm = WarmUp([("quick", lambda: None), ("the language model", lambda: release.wait(60))]).start()
    try:
        assert warm.wait(timeout=0, on_wait=lambda: shown.append("loading libraries")) is False
        assert shown == ["loading libraries"]  # shown while there is something to wait for
        assert "(still loading: the language model)" in warm.summary()
    finally:
        release.set()
    assert warm.wait(timeout=60, on_wait=lambda: None) and "still loading" not in warm.summary()


def test_a_warm_up_starts_once_an_earlier_one_still_running_is_done():
    """Two warm-ups importing the same modules at once could deadlock (a run whose extraction
    failed leaves its own behind)."""
    release, joining = threading.Event(), threading.Event()

    class Watched(WarmUp):
        def join(self, timeout=None):
            joining.set()
            return super().join(timeout)

    earlier = Watched([("blocked", lambda: release.wait(60))]).start()
    seen: list[bool] = []
    later = WarmUp([("after", lambda: seen.append(earlier._thread.is_alive()))])
    starting = threading.Thread(target=later.start)
    starting.start()
    assert joining.wait(timeout=60), "the later warm-up did not wait for the earlier one"
    release.set()
    starting.join(timeout=60)
    assert later.join(timeout=60) and seen == [False]


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

    # Still busy when the pages are read: its last step ends once the display says the stages wait.
    loading_shown = threading.Event()
    stages_shown: list[str] = []

    class Shown(Progress):
        def stage(self, label, name):
            stages_shown.append(name)
            if name == "loading libraries":
                loading_shown.set()

    class Slow(Recorded):
        def __init__(self, steps):
            super().__init__([*steps, ("slow", lambda: loading_shown.wait(60))])

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
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: tmp_path / "storage-warm"}), showing(Shown()):
        warm = _run(tmp_path / "warm", sample)
    assert warm.is_completed(), warm
    assert not started[-1].failed
    assert started[-1].done == ["the language model", "scikit-learn", "pandas", "prince", "the report template",
                                "slow"]
    assert seen_at_segment == [(False, started[-1].done)]  # the segment stage began after the thread had ended
    # The display says what the stages wait for, between the pages read and the first stage after.
    assert stages_shown[stages_shown.index("extract") + 1:][:2] == ["loading libraries", "segment"], stages_shown

    # The same PDF again (another output directory): every stage cached, nothing to warm up.
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: tmp_path / "storage-warm"}):
        again = _run(tmp_path / "again", sample)
    assert again.is_completed(), again
    assert len(started) == 1, "a run whose pages are not read started a warm-up"

    process_report_module._built_tagger.cache_clear()
    monkeypatch.setattr(process_report_module, "WarmUp", Failing)
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: tmp_path / "storage-failing"}):
        failing = _run(tmp_path / "failing", sample)
    assert failing.is_completed(), failing
    assert started[-1].join(timeout=60) and not started[-1].done
    assert {name for name, _ in started[-1].failed} >= {"the language model", "scikit-learn"}

    a_dir, b_dir = tmp_path / "warm" / "processed" / "warm", tmp_path / "failing" / "processed" / "warm"
    names = sorted(p.stem for p in a_dir.glob("*.parquet"))
    assert names and names == sorted(p.stem for p in b_dir.glob("*.parquet"))
    for name in names:
        a, b = pq.read_table(a_dir / f"{name}.parquet"), pq.read_table(b_dir / f"{name}.parquet")
        assert a.schema == b.schema, name
        drop = sorted(IGNORED.get(name, set()))
        a, b = a.drop_columns(drop), b.drop_columns(drop)
        assert a.equals(b), f"{name} differs between a run with the warm-up and one where it failed"


@pytest.mark.slow
def test_a_run_whose_extraction_fails_leaves_no_warm_up_running(prefect_server, sample, tmp_path, monkeypatch):
    """Its thread would go on importing while a next run of the process runs its stages."""
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    extraction_over, started = threading.Event(), []

    class Waited(WarmUp):  # busy until the run, its extraction failed, waits for it
        def __init__(self, steps):
            super().__init__([*steps, ("slow", lambda: extraction_over.wait(60))])
            started.append(self)

        def join(self, timeout=None):
            extraction_over.set()
            return super().join(timeout)

    def broken(*args, **kwargs):
        raise RuntimeError("extraction made to fail")

    monkeypatch.setattr(process_report_module, "WarmUp", Waited)
    monkeypatch.setattr(process_report_module, "extract_pdf", broken)
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: tmp_path / "storage"}):
        state = _run(tmp_path / "out", sample)
    assert state.is_failed(), state
    assert len(started) == 1 and not started[0]._thread.is_alive()
