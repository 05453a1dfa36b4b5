"""A flow run that succeeds ends without waiting for its heartbeat thread to notice.

Prefect 3 sends a flow run's heartbeats (every 180 s, so the server can tell a crashed run) from
a daemon thread that sleeps in steps of one second. When the run ends, the synchronous flow
engine sets the thread's stop event and joins it: the run waits for the current second of sleep
to pass, 0 to 1 s (0.5 s on average) at the end of every ``jstmine run``, whatever the report.
Prefect's asynchronous engine does not join it (``join_on_exit=False``); ``no_heartbeat_join``
makes the synchronous one do the same when the flow's function returns: its final state is then
already set (the thread checks it, and the stop event, before sending anything more).

A run that fails or crashes still joins the thread (for up to Prefect's own 2 s): there the
engine records Failed or Crashed only after the block is left, so without the join a heartbeat
being sent could be stamped after the final state. The thread is a daemon: it never keeps a
process alive.
"""
from __future__ import annotations

import inspect
from contextlib import contextmanager


class _JoinIfFailed:
    """Prefect's ``join_on_exit``, read when the heartbeat block is left (``if join_on_exit:``):
    true once the block has been left with an exception."""

    def __init__(self):
        self.failed = False

    def __bool__(self) -> bool:
        return self.failed


def no_heartbeat_join() -> bool:
    """Have Prefect's flow engine leave a run's heartbeat thread to stop by itself instead of
    waiting for it, unless the run's block ends with an exception (a failed or crashed run:
    then it is joined, as Prefect does); once per process (later calls change nothing). Returns
    whether it is in place: False when this Prefect has no such thread (then nothing is changed).
    """
    import prefect.flow_engine as engine

    original = getattr(engine, "_send_heartbeats", None)
    if original is None or not callable(original):
        return False
    if getattr(original, "_jstmine_no_join", False):
        return True
    if "join_on_exit" not in inspect.signature(original).parameters:
        return False

    @contextmanager
    def send_heartbeats(flow_engine, join_on_exit: bool = True):
        join = _JoinIfFailed()
        with original(flow_engine, join_on_exit=join):
            try:
                yield
            except BaseException:
                join.failed = bool(join_on_exit)  # the engine records Failed/Crashed after this: wait
                raise

    send_heartbeats._jstmine_no_join = True  # type: ignore[attr-defined]
    engine._send_heartbeats = send_heartbeats
    return True
