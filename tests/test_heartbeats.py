"""flows.heartbeats: a flow run's end does not wait for its heartbeat thread."""
from contextlib import contextmanager

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
    assert asked == [("the engine", False)]


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
