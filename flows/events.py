"""Wait for the events a process's flow runs queued to reach the Prefect server.

Prefect sends a run's events (its state changes, its heartbeats) from a queue in a thread of its
own. A process that ends right after a short flow run (a script, the bench's trivial flow) leaves
the queue to be drained at exit, and Prefect then says ``WARNING | EventsWorker - Still processing
items: N items remaining...``: the events are still sent, but the line is noise. ``jstmine run``
does not show it (it has more to do after its flow run); a script can call ``wait_for_events()``
before it ends. (A flow run's end once waited up to a second for its heartbeat thread, which gave
the queue that time: ``flows.heartbeats``.)
"""
from __future__ import annotations

import threading
import time


def wait_for_events(timeout: float = 10.0) -> bool:
    """Wait up to ``timeout`` seconds for every event the process has queued to be sent, as
    Prefect's process pool does for its workers (``wait_until_empty`` of each events worker
    started; none is started here). Returns whether they are all sent (False after the timeout,
    or when this Prefect has no such queue: nothing is waited for then).

    Parameters:
        timeout: seconds to wait at most (a server that does not answer must not keep a process).
    """
    try:
        from prefect.events.worker import EventsWorker

        with EventsWorker._instance_lock:
            # the services of every kind (the API log worker too): only the events workers' queues
            workers = [w for w in EventsWorker._instances.values() if isinstance(w, EventsWorker)]
    except (ImportError, AttributeError):
        return False
    waiting = [threading.Thread(target=w.wait_until_empty, daemon=True) for w in workers
               if hasattr(w, "wait_until_empty")]
    for thread in waiting:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in waiting:
        thread.join(max(0.0, deadline - time.monotonic()))
    return len(waiting) == len(workers) and not any(thread.is_alive() for thread in waiting)
