"""flows.heartbeats: a flow run's end does not wait for its heartbeat thread, unless it failed."""
import logging
import threading
from contextlib import contextmanager

import pytest

import prefect.flow_engine as engine
from prefect import flow

import flows.process_report  # noqa: F401  (puts it in place, as every jstmine process has it)
from flows.heartbeats import no_heartbeat_join


def test_in_place_once_per_process():
    installed = engine._send_heartbeats
    assert getattr(installed, "_jstmine_no_join", False)
    assert no_heartbeat_join() is True
    assert engine._send_heartbeats is installed  # not wrapped twice


def test_the_engine_asks_for_no_join(monkeypatch):
    asked = []

    @contextmanager
    def recording(flow_engine, join_on_exit: bool = True):
        asked.append((flow_engine, join_on_exit))
        yield

    monkeypatch.setattr(engine, "_send_heartbeats", recording)
    assert no_heartbeat_join() is True
    with engine._send_heartbeats("the engine"):  # as FlowRunEngine.run_context calls it
        pass
    assert [(engine_, bool(join)) for engine_, join in asked] == [("the engine", False)]


def test_left_alone_when_prefect_has_no_such_option(monkeypatch):
    @contextmanager
    def other(flow_engine):
        yield

    monkeypatch.setattr(engine, "_send_heartbeats", other)
    assert no_heartbeat_join() is False
    assert engine._send_heartbeats is other
    monkeypatch.delattr(engine, "_send_heartbeats")
    assert no_heartbeat_join() is False


def test_a_flow_runs_with_it_in_place(prefect_server):
    """The real engine enters it as it entered its own (a signature Prefect changed would fail here)."""
    @flow
    def one() -> int:
        return 1

    state = one(return_state=True)
    assert state.is_completed() and state.result() == 1


class _Engine:
    """What Prefect's ``_send_heartbeats`` uses of a flow run engine; each heartbeat is recorded."""

    heartbeat_seconds = 30
    flow_run = None
    logger = logging.getLogger("test-heartbeats")

    def __init__(self):
        self.sent = threading.Event()

    def _build_heartbeat_event_template(self):
        return {}, []

    def _emit_flow_run_heartbeat(self, resource, related):
        self.sent.set()


def _heartbeat_thread(block_exit):
    """The heartbeat thread of a block left by ``block_exit()``, as it is once the block is left;
    the thread is sleeping (its first heartbeat sent) when the block is left."""
    flow_engine = _Engine()
    before = set(threading.enumerate())
    with pytest.raises(RuntimeError) if block_exit is _fail else _nothing():
        with engine._send_heartbeats(flow_engine):
            (thread,) = set(threading.enumerate()) - before
            assert flow_engine.sent.wait(timeout=60)
            block_exit()
    return thread


@contextmanager
def _nothing():
    yield


def _fail():
    raise RuntimeError("the flow failed")


def test_a_failed_run_waits_for_its_heartbeat_thread_before_its_final_state():
    """The engine records Failed/Crashed after the block: no heartbeat may be sent after it."""
    thread = _heartbeat_thread(_fail)
    assert not thread.is_alive()


def test_a_run_that_succeeds_does_not_wait_for_it():
    thread = _heartbeat_thread(lambda: None)
    assert thread.is_alive()  # still in its second of sleep; it stops by itself
    thread.join(timeout=60)


def test_a_failing_flow_runs_with_it_in_place(prefect_server):
    """The engine's failure path through it (the exception left to the engine, then Failed)."""
    @flow
    def broken() -> int:
        raise ValueError("made to fail")

    state = broken(return_state=True)
    assert state.is_failed()
    with pytest.raises(ValueError, match="made to fail"):
        state.result()
