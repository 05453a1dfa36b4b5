"""A flow run ends without waiting for its heartbeat thread to notice.

Prefect 3 sends a flow run's heartbeats (every 180 s, so the server can tell a crashed run) from
a daemon thread that sleeps in steps of one second. When the run ends, the synchronous flow
engine sets the thread's stop event and joins it: the run waits for the current second of sleep
to pass, 0 to 1 s (0.5 s on average) at the end of every ``jstmine run``, whatever the report.
Prefect's asynchronous engine does not join it (``join_on_exit=False``); ``no_heartbeat_join``
makes the synchronous one do the same. The heartbeats are unchanged: the thread still stops
after its second of sleep, before sending anything more (it checks the stop event and the run's
final state first), and, a daemon, it never keeps a process alive.
"""
from __future__ import annotations

import inspect
from contextlib import contextmanager


def no_heartbeat_join() -> bool:
    """Have Prefect's flow engine leave a run's heartbeat thread to stop by itself instead of
    waiting for it; once per process (later calls change nothing). Returns whether it is in
    place: False when this Prefect has no such thread (then nothing is changed).
    """
    import prefect.flow_engine as engine

    original = getattr(engine, "_send_heartbeats", None)
    if original is None or not callable(original):
        return False
    if not getattr(original, "_jstmine_no_join", False) and \
            "join_on_exit" not in inspect.signature(original).parameters:
        return False
    if getattr(original, "_jstmine_no_join", False):
        return True

    @contextmanager
    def send_heartbeats(flow_engine, join_on_exit: bool = True):
        with original(flow_engine, join_on_exit=False):
            yield

    send_heartbeats._jstmine_no_join = True  # type: ignore[attr-defined]
    engine._send_heartbeats = send_heartbeats
    return True
