"""The warm runner (flows/warm.py) and the launcher (flows/launch.py, the ``jstmine`` entry point).

A command handed to the runner must do exactly what it does in its own process: same stdout,
stderr and exit code, in the caller's directory and environment. Where the runner cannot take a
command (changed code, a different import-time environment, a state directory others can write
to, a runner that is gone) the command runs in its own process, with the same result.

One runner serves the module (its own JSTMINE_HOME under tmp); ``JSTMINE_WARM=0`` runs the same
command without it, for comparison.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import BIN, subprocess_env


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    from flows.server import runner_pid, start_runner, stop_runner

    home = tmp_path_factory.mktemp("warm") / "home"
    pid = start_runner(home)
    assert runner_pid(home) == pid
    yield home
    stop_runner(home)
    assert runner_pid(home) is None


def jstmine(home: Path, *args: str, warm: bool = True, cwd: Path | None = None, **env: str):
    """``jstmine ARGS`` as a user types it, with the runner of ``home`` (or without, warm=False)."""
    environment = subprocess_env(None, **{"JSTMINE_HOME": str(home), "COLUMNS": "200",
                                          "JSTMINE_WARM": "1" if warm else "0", **env})
    return subprocess.run([str(BIN / "jstmine"), *args], env=environment, capture_output=True, text=True,
                          timeout=300, cwd=cwd, stdin=subprocess.DEVNULL)


def served(home: Path) -> list[str]:
    """The commands the runner forked a process for, from its log."""
    log = (home / "warm.log").read_text(encoding="utf-8")
    return [line.split(": jstmine ", 1)[1] for line in log.splitlines() if ": jstmine " in line]


def test_a_command_in_the_runner_prints_and_exits_as_in_its_own_process(runner):
    before = len(served(runner))
    warm = jstmine(runner, "schema")
    cold = jstmine(runner, "schema", warm=False)
    assert warm.returncode == cold.returncode == 0, warm.stderr
    assert warm.stdout == cold.stdout and "sentence_id" in warm.stdout
    assert warm.stderr == cold.stderr
    assert served(runner)[before:] == ["schema"]  # the runner ran it; JSTMINE_WARM=0 did not use it


@pytest.mark.parametrize("args, code", [
    (("sql", "select 1", "--out", "/nonexistent/out"), 1),  # die(): what was wrong and what to do
    (("run", "--no-such-option"), 2),  # a usage error
    (("show", "no_such_table", "--out", "/nonexistent/out"), None),
])
def test_errors_have_the_same_message_and_exit_code_in_the_runner(runner, args, code):
    warm = jstmine(runner, *args)
    cold = jstmine(runner, *args, warm=False)
    assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    assert warm.returncode != 0 and (code is None or warm.returncode == code)
    assert warm.stderr.strip()


def test_the_command_runs_in_the_callers_directory_and_environment(runner, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with duckdb.connect(str(out / "jstmine.duckdb")) as con:
        con.execute("create table t as select 42 as answer")
    csv = jstmine(runner, "sql", "select answer from t", "--out", "out", "--format", "csv", cwd=tmp_path)
    assert csv.returncode == 0, csv.stderr
    assert csv.stdout.splitlines() == ["answer", "42"]  # out/ of the caller's directory, not the runner's

    # The environment is the caller's: COLUMNS sets the width of the table the command draws.
    query = ("sql", "select answer, 'a long text that folds in a narrow terminal' as note from t", "--out", "out")
    narrow = jstmine(runner, *query, cwd=tmp_path, COLUMNS="30")
    wide = jstmine(runner, *query, cwd=tmp_path, COLUMNS="200")
    assert narrow.returncode == wide.returncode == 0, narrow.stderr
    assert narrow.stdout == jstmine(runner, *query, cwd=tmp_path, COLUMNS="30", warm=False).stdout
    assert "one block per row" in narrow.stdout and "one block per row" not in wide.stdout
    assert narrow.stdout != wide.stdout


def test_a_different_import_time_environment_runs_the_command_here_with_a_note(runner):
    before = len(served(runner))
    warm = jstmine(runner, "schema", MPLBACKEND="svg")
    cold = jstmine(runner, "schema", MPLBACKEND="svg", warm=False)
    assert warm.returncode == 0 and warm.stdout == cold.stdout
    assert "the warm runner did not take this command" in warm.stderr
    assert "variable read when libraries are imported" in warm.stderr
    assert len(served(runner)) == before


def test_a_state_directory_others_can_write_to_is_not_used(runner):
    before = len(served(runner))
    mode = runner.stat().st_mode
    os.chmod(runner, 0o777)
    try:
        warm = jstmine(runner, "schema")
    finally:
        os.chmod(runner, mode & 0o777)
    assert warm.returncode == 0 and "sentence_id" in warm.stdout
    assert len(served(runner)) == before


def test_a_socket_nobody_listens_on_runs_the_command_here(tmp_path):
    import socket

    from flows.launch import SOCKET_NAME

    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:  # a runner killed without cleaning up
        s.bind(str(home / SOCKET_NAME))
    done = jstmine(home, "schema")
    assert done.returncode == 0 and "sentence_id" in done.stdout
    assert "warm runner" not in done.stderr


def test_the_runner_refuses_changed_code_a_different_environment_and_missing_streams():
    from flows.launch import fingerprint, import_environment
    from flows.warm import _refusal

    now = fingerprint()
    env = dict(os.environ)
    ok = {"argv": ["schema"], "cwd": "/", "env": env, "fingerprint": now}
    assert _refusal(ok, now, import_environment(env), [3, 4, 5]) == ""
    assert "changed" in _refusal({**ok, "fingerprint": "0" * 64}, now, import_environment(env), [3, 4, 5])
    changed = {**env, "OMP_NUM_THREADS": "7" if env.get("OMP_NUM_THREADS") != "7" else "8"}
    assert "variable" in _refusal({**ok, "env": changed}, now, import_environment(env), [3, 4, 5])
    assert "stdin" in _refusal(ok, now, import_environment(env), [3])
    assert "malformed" in _refusal({**ok, "argv": "schema"}, now, import_environment(env), [3, 4, 5])


def test_the_fingerprint_is_the_same_whatever_name_the_interpreter_was_started_by():
    """The runner is started by ``python``, the ``jstmine`` script may run ``python3.11``: the
    same interpreter and environment, so the same fingerprint."""
    names = [p for p in (BIN / "python", BIN / f"python{sys.version_info[0]}.{sys.version_info[1]}") if p.exists()]
    assert len(names) == 2, names
    prints = {subprocess.run([str(p), "-c", "from flows.launch import fingerprint; print(fingerprint())"],
                             capture_output=True, text=True, check=True).stdout for p in names}
    assert len(prints) == 1, prints


def test_only_commands_that_read_no_answer_go_to_the_runner():
    from flows.launch import WARM_COMMANDS, command_of

    assert command_of(["run", "--source", "x"]) == "run"
    assert command_of(["--version"]) == ""
    assert {"server", "serve", "editions"}.isdisjoint(WARM_COMMANDS)
    from flows.main import app
    from typer.main import get_command

    known = set(get_command(app).commands)
    assert WARM_COMMANDS <= known, WARM_COMMANDS - known


def test_ctrl_c_reaches_the_command_in_the_runner(runner, tmp_path, http_server):
    """Ctrl-C goes to the launcher (the terminal's foreground process); it passes it on, and the
    command stops as it does in its own process."""
    import time

    listing = http_server.hang("/listing.html", seconds=10, content_type="text/html")
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\nname = "slow"\nlisting = "{listing}"\nallow_hosts = ["127.0.0.1"]\n',
                       encoding="utf-8")
    env = subprocess_env(None, JSTMINE_HOME=str(runner), JSTMINE_WARM="1")
    proc = subprocess.Popen([str(BIN / "jstmine"), "discover", "--sources", str(sources)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while "discover --sources" not in " ".join(served(runner)) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    try:
        _out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the command went on after Ctrl-C") from None
    assert proc.returncode != 0
    assert "ended without an exit code" not in err


def test_a_directory_the_command_cannot_enter_is_refused_and_the_launcher_runs_it_itself(runner):
    """A caller whose working directory is gone (removed after the launcher read it): the runner's
    child says it cannot take it, without writing to the caller's terminal; the launcher then runs
    the command itself."""
    import socket

    from flows.launch import SOCKET_NAME, fingerprint, read_message, send_message

    r, w = os.pipe()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(str(runner / SOCKET_NAME))
        send_message(conn, {"argv": ["schema"], "cwd": "/nonexistent/gone", "env": dict(os.environ),
                            "fingerprint": fingerprint()}, fds=[0, w, w])
        os.close(w)
        reply = read_message(conn)
    assert reply["status"] == "refused" and "directory or environment" in reply["why"], reply
    import select

    written = b""
    try:  # nothing written where the caller would see it: end-of-file (every copy closed) and no bytes
        while select.select([r], [], [], 30)[0]:
            chunk = os.read(r, 100)
            if not chunk:
                break
            written += chunk
        else:
            raise AssertionError("the runner or its child still holds the caller's stdout after 30 s")
    finally:
        os.close(r)
    assert written == b""


def test_a_relative_state_directory_is_the_callers_and_a_too_long_one_is_refused_with_what_to_do(tmp_path, monkeypatch):
    from flows.launch import SOCKET_NAME
    from flows.server import runner_pid, start_runner, stop_runner
    from pipeline.errors import PipelineError

    long = tmp_path / ("x" * 120)
    with pytest.raises(PipelineError) as info:
        start_runner(long)
    assert "over the system's limit" in info.value.what and "JSTMINE_HOME" in info.value.todo
    assert not long.exists()

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JSTMINE_HOME", "state")
    pid = start_runner()
    try:
        assert (tmp_path / "state" / SOCKET_NAME).exists()  # not state/state/ inside the runner's directory
        assert runner_pid() == pid
    finally:
        assert stop_runner() == pid
