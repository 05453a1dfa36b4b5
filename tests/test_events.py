"""flows.events: a process that ends right after a short flow run has sent its events first."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import sys
from prefect import flow, task

import flows.process_report  # noqa: F401  (a run's end does not wait for its heartbeat thread)
from flows.events import wait_for_events


@task
def one() -> int:
    return 1


@flow
def trivial() -> int:
    return one()


assert trivial() == 1
print("sent" if wait_for_events() else "not sent", flush=True)
"""


def test_a_script_ending_after_a_short_flow_run_leaves_no_events_behind(prefect_server, tmp_path):
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value(), PREFECT_HOME=str(tmp_path / "home"),
               PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "sent"
    assert "Still processing items" not in done.stdout + done.stderr


def test_it_returns_once_the_queues_are_empty():
    from flows.events import wait_for_events

    assert wait_for_events(timeout=60) is True
