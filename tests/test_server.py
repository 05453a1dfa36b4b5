"""``jstmine server start|status|stop`` (flows/server.py, flows/cli_server.py): a Prefect server in the
background on loopback that ``jstmine run`` finds by itself.

Every test has its own state directory (JSTMINE_HOME) and PREFECT_HOME under tmp_path, and a port
chosen free by the test; the fixture ``home`` stops whatever server its record names at teardown
and checks that no process of it is left.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, free_port, group_members, stop_group, subprocess_env
from reportpdf import build_report_pdf


class Home:
    """A state directory and the environment of the commands that use it."""

    def __init__(self, root: Path):
        self.dir = root / "jstmine-home"
        self.env = subprocess_env(None, JSTMINE_HOME=str(self.dir), PREFECT_HOME=str(root / "prefect-home"),
                                  COLUMNS="300")

    def jstmine(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        """Run ``jstmine ARGS`` with this home; its output with the lines joined (no folding)."""
        done = subprocess.run([str(BIN / "jstmine"), *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        done.text = " ".join((done.stdout + done.stderr).split())
        return done

    def record(self) -> dict | None:
        path = self.dir / "server.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


@pytest.fixture
def home(tmp_path):
    h = Home(tmp_path)
    yield h
    from flows.server import runner_pid, stop_runner

    if runner_pid(h.dir) is not None:  # a test that failed half-way: stop the warm runner too
        stop_runner(h.dir)
    record = h.record()
    if record and group_members(record["pid"]):  # a test that failed half-way: stop what it started
        os.killpg(record["pid"], signal.SIGKILL)
        for _ in range(50):
            if not group_members(record["pid"]):
                break
            time.sleep(0.1)
        assert not group_members(record["pid"]), "the Prefect server's processes were left behind"


def flow_runs(url: str) -> list[dict]:
    """Every flow run the Prefect API at ``url`` knows, read through its REST API."""
    import httpx

    reply = httpx.post(f"{url}/flow_runs/filter", json={}, timeout=10, trust_env=False)
    reply.raise_for_status()
    return reply.json()


def deployments(url: str) -> list[dict]:
    """Every deployment the Prefect API at ``url`` knows."""
    import httpx

    reply = httpx.post(f"{url}/deployments/filter", json={}, timeout=10, trust_env=False)
    reply.raise_for_status()
    return reply.json()


def test_start_status_run_serve_stop(home, spawn, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    started = home.jstmine("server", "start", "--port", str(port))
    assert started.returncode == 0, started.text
    assert f"the Prefect server is running: http://127.0.0.1:{port}" in started.text
    assert f"PREFECT_API_URL={url}" in started.text
    record = home.record()
    assert record["port"] == port and group_members(record["pid"])
    from flows.server import runner_pid

    runner = runner_pid(home.dir)
    assert runner is not None and f"the warm runner is running (pid {runner})" in started.text

    status = home.jstmine("server", "status")
    assert status.returncode == 0, status.text
    assert f"running: http://127.0.0.1:{port} (pid {record['pid']}, up " in status.text
    assert f"the warm runner is running (pid {runner})" in status.text

    again = home.jstmine("server", "start", "--port", str(free_port()))  # idempotent, whatever the port
    assert again.returncode == 0, again.text
    assert f"already running: http://127.0.0.1:{port} (pid {record['pid']})" in again.text
    assert f"the warm runner is already running (pid {runner})" in again.text
    assert home.record() == record

    # A run as a user types it, in a fresh process, reports to that server: no temporary one.
    pdf = tmp_path / "small.pdf"
    build_report_pdf(pdf, "one_column")
    run = home.jstmine("run", "--source", str(pdf), "--out", str(tmp_path / "out"), "--raw", str(tmp_path / "raw"),
                       timeout=600)
    assert run.returncode == 0, run.text
    assert f"on jstmine's Prefect server at {url}" in run.text
    assert "temporary server" not in run.text
    assert any(line.endswith(f"jstmine run --source {pdf} --out {tmp_path / 'out'} --raw {tmp_path / 'raw'}")
               for line in (home.dir / "warm.log").read_text(encoding="utf-8").splitlines())  # the runner ran it
    runs = flow_runs(url)
    assert [r["state_type"] for r in runs] == ["COMPLETED"], runs

    # serve, without PREFECT_API_URL, registers its deployment on that server instead of refusing.
    serve = spawn([BIN / "jstmine", "serve", "--out", tmp_path / "out", "--raw", tmp_path / "raw"], home.env, "serve",
                  cwd=tmp_path)
    deadline = time.monotonic() + 120
    while not deployments(url) and time.monotonic() < deadline:
        assert serve.proc.poll() is None, f"jstmine serve exited with {serve.proc.returncode}:\n{serve.output()}"
        time.sleep(1)
    assert [d["name"] for d in deployments(url)] == ["jstmine-update"], serve.output()
    assert f"using the Prefect server at {url}" in " ".join(serve.output().split())
    assert not stop_group(serve.proc, first=signal.SIGINT)  # Ctrl-C, before its server stops

    stopped = home.jstmine("server", "stop")
    assert stopped.returncode == 0, stopped.text
    assert f"stopped the Prefect server at http://127.0.0.1:{port} (pid {record['pid']})" in stopped.text
    assert f"stopped the warm runner (pid {runner})" in stopped.text
    assert runner_pid(home.dir) is None and not group_members(runner)
    assert not group_members(record["pid"])
    assert home.record() is None
    after = home.jstmine("server", "status")
    assert after.returncode == 1 and "no Prefect server is running" in after.text
    assert home.jstmine("server", "stop").text == "no Prefect server was running"


def test_a_run_without_a_server_says_a_temporary_one_starts_and_how_to_avoid_it(home, monkeypatch):
    from flows.server import starting_note, use_recorded_server

    monkeypatch.setenv("JSTMINE_HOME", str(home.dir))
    monkeypatch.setenv("PREFECT_HOME", home.env["PREFECT_HOME"])
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("PREFECT_PROFILE", raising=False)
    monkeypatch.delenv("PREFECT_PROFILES_PATH", raising=False)
    assert use_recorded_server() is None
    note = starting_note(None)
    assert "Prefect is starting a temporary server" in note and "jstmine server start" in note
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:1/api")  # the user's own server comes first
    assert use_recorded_server() is None
    assert starting_note(None) == "on the Prefect server at http://127.0.0.1:1/api"


def test_a_server_set_in_the_active_prefect_profile_is_not_overridden(tmp_path, monkeypatch):
    from flows.server import profile_api_url

    (tmp_path / "profiles.toml").write_text(
        'active = "mine"\n[profiles.mine]\nPREFECT_API_URL = "http://127.0.0.1:9/api"\n[profiles.other]\n', encoding="utf-8")
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    monkeypatch.delenv("PREFECT_PROFILES_PATH", raising=False)
    monkeypatch.delenv("PREFECT_PROFILE", raising=False)
    assert profile_api_url() == "http://127.0.0.1:9/api"
    monkeypatch.setenv("PREFECT_PROFILE", "other")
    assert profile_api_url() == ""


def write_record(home: Home, pid: int, started: float) -> None:
    home.dir.mkdir(parents=True, exist_ok=True)
    (home.dir / "server.json").write_text(json.dumps(
        {"pid": pid, "port": free_port(), "started": started, "log": str(home.dir / "server.log")}), encoding="utf-8")


def test_a_record_whose_process_is_gone_is_stale_removed_and_reported(home):
    gone = subprocess.Popen(["true"])
    gone.wait()
    write_record(home, gone.pid, time.time())
    status = home.jstmine("server", "status")
    assert status.returncode == 1, status.text
    assert f"stale record: the recorded server (pid {gone.pid}" in status.text and "no longer running" in status.text
    assert home.record() is None


def test_a_record_whose_pid_another_program_now_has_is_stale_and_that_program_is_left_alone(home):
    import psutil

    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        write_record(home, other.pid, psutil.Process(other.pid).create_time())  # its pid and start time: not a server
        stopped = home.jstmine("server", "stop")
        assert stopped.returncode == 0, stopped.text
        assert f"removed a stale record: the recorded server (pid {other.pid}" in stopped.text
        assert "stopped the Prefect server" not in stopped.text
        assert other.poll() is None  # not signalled
        assert home.record() is None
    finally:
        other.kill()
        other.wait()


def test_a_port_in_use_by_another_program_stops_with_what_to_do(home):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = home.jstmine("server", "start", "--port", str(port))
    assert started.returncode == 1, started.text
    assert f"port {port} on 127.0.0.1 is in use by another program" in started.text
    assert f"jstmine server start --port {port + 1}" in started.text and "--port 0" in started.text
    assert home.record() is None


def test_a_recorded_server_that_does_not_answer_is_status_2_and_stop_ends_it(home):
    import psutil

    # A process whose command line reads as a Prefect server's, listening nowhere: alive, never healthy.
    fake = subprocess.Popen(["sh", "-c", "sleep 60; true", "prefect", "server", "start"], start_new_session=True)
    try:
        write_record(home, fake.pid, psutil.Process(fake.pid).create_time())
        status = home.jstmine("server", "status")
        assert status.returncode == 2, status.text
        assert f"(pid {fake.pid}, http://127.0.0.1:" in status.text and "does not answer its health check" in status.text
        stopped = home.jstmine("server", "stop")
        assert stopped.returncode == 0 and "stopped the Prefect server at http://127.0.0.1:" in stopped.text
        assert fake.wait(timeout=10) == -signal.SIGTERM
        assert home.record() is None
    finally:
        if fake.poll() is None:
            os.killpg(fake.pid, signal.SIGKILL)
            fake.wait()


def test_stop_kills_a_server_that_ignores_sigterm_after_the_grace_period():
    from flows.server import stop_process

    stubborn = subprocess.Popen(["sh", "-c", "trap '' TERM; sleep 60 & wait; sleep 60"], start_new_session=True)
    try:
        time.sleep(0.3)  # the trap is set
        begun = time.monotonic()
        assert stop_process(stubborn.pid, grace=0.5) is True  # SIGKILL was needed
        assert time.monotonic() - begun < 5
        assert stubborn.wait(timeout=5) == -signal.SIGKILL
        assert not group_members(stubborn.pid)
    finally:
        if stubborn.poll() is None:
            os.killpg(stubborn.pid, signal.SIGKILL)
            stubborn.wait()


def test_a_port_where_another_prefect_server_answers_says_to_use_it(home, http_server):
    # Something answering Prefect's health check on the port: a Prefect server jstmine did not start.
    http_server.serve_bytes("/api/health", b"true", content_type="application/json")
    started = home.jstmine("server", "start", "--port", str(http_server.port))
    assert started.returncode == 1, started.text
    url = f"http://127.0.0.1:{http_server.port}/api"
    assert f"a Prefect server that jstmine did not start already answers at {url}" in started.text
    assert f"export PREFECT_API_URL={url}" in started.text and "--port 0" in started.text
    assert home.record() is None
