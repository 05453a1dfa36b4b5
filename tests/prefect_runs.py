"""Reading a flow run's task runs back from the Prefect server the tests share."""
from __future__ import annotations

import time


def task_states(flow_state, wait: float = 30.0) -> dict[str, str]:
    """The final state name of each task run of a flow run, by task name (``extract``, ``tag`` …).

    Task-run states reach the server as events, a moment after the flow returns: on a loaded
    machine a run can be listed before its state is. This waits (at most ``wait`` seconds) until
    every run has one, and fails the test naming the runs that still have none.

    Parameters:
        flow_state: the state a flow call returned with ``return_state=True``.
        wait: seconds to wait for late states.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + wait
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_state.state_details.flow_run_id]))
            )
            if all(r.state is not None for r in runs) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    missing = [r.name for r in runs if r.state is None]
    assert not missing, f"task runs without a state after {wait:.0f} s: {missing}"
    return {r.name.rsplit("-", 1)[0]: r.state.name for r in runs}
