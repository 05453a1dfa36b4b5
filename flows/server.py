"""A local Prefect server kept running in the background, so that ``jstmine run``, ``update`` and
``serve`` report to it instead of starting Prefect's temporary server (several seconds) each time.

``start_server`` runs ``prefect server start --host 127.0.0.1 --port N`` detached (its own session,
output to ``server.log``) and records it in ``server.json`` (written atomically) under the state
directory: ``$JSTMINE_HOME``, else ``~/.jstmine``. The record holds the pid, the port, the API URL
and the process's start time, so a pid reused by another program is never taken for the server.
``recorded_api_url`` is what the commands use: the recorded server's API URL when it answers its
health check, else None. Loopback only: the server never listens beyond 127.0.0.1.
"""
from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from pipeline.errors import PipelineError

HOST = "127.0.0.1"
DEFAULT_PORT = 4200  # Prefect's own default
STATE_ENV = "JSTMINE_HOME"
RECORD_NAME = "server.json"
LOG_NAME = "server.log"
START_TIMEOUT = 90.0  # seconds; a cold start takes about 7 s, more on a busy machine


def state_dir() -> Path:
    """Where the server's record and log are kept: ``$JSTMINE_HOME``, else ``~/.jstmine``."""
    return Path(os.environ.get(STATE_ENV) or Path.home() / ".jstmine")


@dataclass(frozen=True)
class ServerRecord:
    """A server started by ``start_server``.

    Parameters:
        pid: the ``prefect server start`` process (leader of its own session and process group).
        port: the port it listens on, on 127.0.0.1.
        started: its start time as the operating system has it (seconds since the epoch), to tell
            it from another program given the same pid later.
        log: the file its output goes to.
    """

    pid: int
    port: int
    started: float
    log: str

    @property
    def url(self) -> str:
        """The API URL clients use (PREFECT_API_URL)."""
        return f"http://{HOST}:{self.port}/api"

    @property
    def ui(self) -> str:
        """The address of Prefect's UI."""
        return f"http://{HOST}:{self.port}"


@dataclass(frozen=True)
class ServerStatus:
    """What ``server_status`` found.

    Parameters:
        record: the recorded server, or None when none is recorded (or the record was stale).
        healthy: True when it answers its health check.
        stale: why a record was found stale and removed ("" when it was not).
    """

    record: ServerRecord | None
    healthy: bool = False
    stale: str = ""

    @property
    def running(self) -> bool:
        """True when a recorded server process is alive (healthy or still starting)."""
        return self.record is not None


def record_path(home: Path | None = None) -> Path:
    """The record's path under ``home`` (default: ``state_dir()``)."""
    return (home or state_dir()) / RECORD_NAME


def read_record(home: Path | None = None) -> ServerRecord | None:
    """The record under ``home`` (default: ``state_dir()``), or None when there is none or it cannot
    be read (an unreadable record is treated as absent: ``start_server`` replaces it)."""
    try:
        data = json.loads(record_path(home).read_text(encoding="utf-8"))
        return ServerRecord(pid=int(data["pid"]), port=int(data["port"]), started=float(data["started"]),
                            log=str(data["log"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_record(record: ServerRecord, home: Path | None = None) -> None:
    """Write ``record`` under ``home`` (default: ``state_dir()``) atomically: a reader sees the old
    record or the new one, never part of one."""
    path = record_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(record)), encoding="utf-8")
    os.replace(tmp, path)


def remove_record(home: Path | None = None) -> None:
    """Remove the record under ``home`` (default: ``state_dir()``), if there is one."""
    record_path(home).unlink(missing_ok=True)


def is_prefect_server(pid: int, started: float | None = None) -> bool:
    """True when process ``pid`` is alive and is a ``prefect server start`` (its command line says
    so) and, when ``started`` is given, started then (within a second): a pid reused by another
    program, or by another Prefect server, is not it.

    Parameters:
        pid: the process id.
        started: the start time recorded for it (seconds since the epoch), or None not to check it.
    """
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        words = [os.path.basename(w) for w in proc.cmdline()]
        created = proc.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    is_server = any(w.startswith("prefect") for w in words) and "server" in words and "start" in words
    return is_server and (started is None or abs(created - started) < 1.0)


def healthy(url: str, timeout: float = 2.0) -> bool:
    """True when the Prefect API at ``url`` (…/api) answers its health check (GET /health → 200).

    Parameters:
        url: the API URL, e.g. http://127.0.0.1:4200/api.
        timeout: seconds to wait for the answer.
    """
    # No proxy: the server is on loopback, and a proxy from the environment must not see it.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/health", timeout=timeout) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def port_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:``port`` and it can be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port on 127.0.0.1 that nothing uses now (the system's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def server_status(home: Path | None = None) -> ServerStatus:
    """The recorded server under ``home`` (default: ``state_dir()``) and whether it answers. A stale
    record (its process gone, or its pid now another program's) is removed and reported in
    ``stale``.

    Parameters:
        home: the state directory.
    """
    record = read_record(home)
    if record is None:
        if record_path(home).exists():
            remove_record(home)
            return ServerStatus(None, stale="the server record could not be read")
        return ServerStatus(None)
    if not is_prefect_server(record.pid, record.started):
        remove_record(home)
        return ServerStatus(None, stale=f"the recorded server (pid {record.pid}, port {record.port}) is no longer running")
    return ServerStatus(record, healthy=healthy(record.url))


def prefect_command() -> list[str]:
    """The ``prefect`` command of this installation (next to this Python), else the one on PATH."""
    beside = Path(sys.executable).parent / "prefect"
    return [str(beside)] if beside.exists() else ["prefect"]


def start_server(port: int = DEFAULT_PORT, home: Path | None = None, timeout: float = START_TIMEOUT,
                 waiting: Callable[[float], None] | None = None) -> tuple[ServerRecord, bool]:
    """Start ``prefect server start --host 127.0.0.1 --port PORT`` in the background, record it and
    wait until it is healthy. Returns (the record, True) when it was started, (the record, False)
    when a recorded server is running already (nothing is started then, whatever ``port``).

    Parameters:
        port: the port on 127.0.0.1; 0 picks a free one.
        home: the state directory (default: ``state_dir()``).
        timeout: seconds to wait for it to answer its health check before giving up (it is stopped then).
        waiting: called about once a second while waiting, with the seconds waited so far.

    Raises ``PipelineError`` when the port is taken, or the server exits or does not answer in time
    (with the end of its log).
    """
    home = home or state_dir()
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "server.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two `start`s at once: the second finds the first's server
        return _start_locked(port, home, timeout, waiting)


def _start_locked(port: int, home: Path, timeout: float,
                  waiting: Callable[[float], None] | None) -> tuple[ServerRecord, bool]:
    """``start_server`` under its lock (same parameters)."""
    status = server_status(home)
    if status.record is not None:
        return status.record, False
    port = port or free_port()
    if not port_free(port):
        url = f"http://{HOST}:{port}/api"
        if healthy(url):
            raise PipelineError(
                f"a Prefect server that jstmine did not start already answers at {url}",
                f"use it: export PREFECT_API_URL={url} (or stop it), or start another on a free port: "
                "jstmine server start --port 0")
        raise PipelineError(f"port {port} on {HOST} is in use by another program",
                            f"give another port (jstmine server start --port {port + 1}, or --port 0 for any free one), "
                            f"or stop what uses it (ss -ltnp 'sport = :{port}' shows it)")
    log = home / LOG_NAME
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}  # the server is no client of another
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    with open(log, "ab") as fh:
        proc = subprocess.Popen([*prefect_command(), "server", "start", "--host", HOST, "--port", str(port)],
                                env=env, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
                                cwd=home, start_new_session=True, close_fds=True)  # holds no user directory
    import psutil

    try:
        started = psutil.Process(proc.pid).create_time()
    except psutil.NoSuchProcess:
        started = time.time()
    record = ServerRecord(pid=proc.pid, port=port, started=started, log=str(log))
    write_record(record, home)
    begun = time.monotonic()
    next_note = begun + 1.0
    while True:
        if healthy(record.url, timeout=1.0):
            return record, True
        waited = time.monotonic() - begun
        if proc.poll() is not None:
            remove_record(home)
            raise PipelineError(f"the Prefect server exited (code {proc.returncode}) before it answered:\n{log_tail(log)}",
                                f"see its log, {log}")
        if waited > timeout:
            stop_process(proc.pid)
            remove_record(home)
            raise PipelineError(f"the Prefect server did not answer within {timeout:.0f} s:\n{log_tail(log)}",
                                f"see its log, {log}; on a busy machine try again")
        if waiting and time.monotonic() >= next_note:
            waiting(waited)
            next_note += 1.0
        time.sleep(0.2)


def log_tail(log: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of ``log`` ("" when it cannot be read)."""
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def stop_process(pid: int, grace: float = 10.0) -> bool:
    """Stop process ``pid`` and its process group (the server started in a session of its own, with
    its workers): SIGTERM, up to ``grace`` seconds for them to exit, then SIGKILL. Returns True when
    SIGKILL was needed.

    Parameters:
        pid: the group's leader.
        grace: seconds to wait after SIGTERM.
    """
    import psutil

    try:
        leader = psutil.Process(pid)
        procs = [leader, *leader.children(recursive=True)]
    except psutil.NoSuchProcess:
        return False
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, signum)
        except (ProcessLookupError, PermissionError):
            for p in procs:  # not a group leader after all: the processes one by one
                try:
                    p.send_signal(signum)
                except psutil.NoSuchProcess:
                    pass
        deadline = time.monotonic() + (grace if signum == signal.SIGTERM else 5.0)
        while (alive := [p for p in procs if _alive(p)]) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not alive:
            return signum == signal.SIGKILL
        procs = alive
    return True


def _alive(proc) -> bool:
    """True when psutil's ``proc`` still runs (a zombie, exited but not yet reaped, does not)."""
    import psutil

    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def stop_server(home: Path | None = None) -> ServerStatus:
    """Stop the recorded server under ``home`` (default: ``state_dir()``) and remove its record.
    Returns the status found before stopping (``record`` None when none was running; ``stale``
    says when a stale record was removed).

    Parameters:
        home: the state directory.
    """
    status = server_status(home)
    if status.record is not None:
        stop_process(status.record.pid)
        remove_record(home)
    return status


def recorded_api_url(home: Path | None = None) -> str | None:
    """The API URL of the recorded server when it answers its health check, else None. Cheap (a
    file read and a loopback request): the commands call it on every run.

    Parameters:
        home: the state directory (default: ``state_dir()``).
    """
    record = read_record(home)
    if record is None or not healthy(record.url, timeout=1.0):
        return None
    if not is_prefect_server(record.pid, record.started):
        return None
    return record.url


def profile_api_url() -> str:
    """PREFECT_API_URL as the active Prefect profile sets it (``prefect config set``), read from
    the profiles file without importing Prefect; "" when it sets none."""
    import tomllib

    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    active = os.environ.get("PREFECT_PROFILE") or data.get("active") or ""
    profile = data.get("profiles", {}).get(active, {})
    return str(profile.get("PREFECT_API_URL") or "") if isinstance(profile, dict) else ""


def use_recorded_server() -> str | None:
    """Point this process at the recorded server: when PREFECT_API_URL is set neither in the
    environment nor in the active Prefect profile, and Prefect is not imported yet (it reads its
    settings once, on import), set PREFECT_API_URL to the recorded server's API URL if it is
    healthy. Returns the URL in use then, else None (a server configured by the user, Prefect
    imported already, or no healthy recorded server)."""
    if os.environ.get("PREFECT_API_URL") or "prefect" in sys.modules or profile_api_url():
        return None
    url = recorded_api_url()
    if url:
        os.environ["PREFECT_API_URL"] = url
    return url


def start_temporary_server() -> str | None:
    """Start Prefect's temporary server now, out of reach of a terminal's Ctrl-C, when this
    process has no Prefect server to report to (no PREFECT_API_URL) and Prefect would start one.
    Returns its API URL, or None when a server is configured (nothing is started then).

    Prefect starts its temporary server (``SubprocessASGIServer``, a uvicorn process) on the
    flow's first API call, in the command's own process group: a terminal's Ctrl-C, which goes to
    the whole foreground group, stops it too, and the interrupted flow then retries reporting its
    Crashed state to a server that is gone (Prefect's client back-off, 2 + 4 + 8 + 16 + 32 s per
    request): the command seemed to hang. Started here with SIGINT blocked (a blocked signal
    stays blocked across fork and exec, and uvicorn only installs handlers), the server lives
    until Prefect stops it when the command exits (SIGTERM, ``atexit``): the flow run's Crashed
    state is recorded, and the command stops at once. The flow's API calls then find this
    server (Prefect keeps one per process) instead of starting another. Call it after Prefect is
    imported, from the main thread, before the flow runs.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return None
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    if not server.running:
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            server.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)  # a Ctrl-C meanwhile is delivered now
    return server.api_url


def starting_note(recorded: str | None) -> str:
    """What a command says, before its flow starts, about the Prefect server it reports to.

    Parameters:
        recorded: what ``use_recorded_server`` returned.
    """
    if recorded:
        return f"on jstmine's Prefect server at {recorded}"
    configured = os.environ.get("PREFECT_API_URL") or profile_api_url()
    if configured:
        return f"on the Prefect server at {configured}"
    return ("Prefect is starting a temporary server: a few seconds; `jstmine server start` keeps one running "
            "and saves them on every run")


# ---------------------------------------------------------------------------------------------
# The warm runner (flows.warm) beside the server: started and stopped with it
# ---------------------------------------------------------------------------------------------

RUNNER_RECORD = "warm.json"
RUNNER_LOG = "warm.log"
_MAX_SOCKET_PATH = 108  # sun_path of struct sockaddr_un on Linux, its final NUL included
RUNNER_START_TIMEOUT = 60.0  # seconds; importing the libraries takes about 3 s, more on a busy machine


def runner_pid(home: Path | None = None) -> int | None:
    """The pid of the recorded warm runner when that process is alive and is one (``-m flows.warm``
    in its command line: a pid reused by another program does not count), else None.

    Parameters:
        home: the state directory (default: ``state_dir()``).
    """
    import psutil

    home = (home or state_dir()).resolve()  # the runner runs in it: a relative path would name another place
    try:
        pid = int(json.loads((home / RUNNER_RECORD).read_text(encoding="utf-8"))["pid"])
        cmdline = psutil.Process(pid).cmdline()
    except (OSError, ValueError, KeyError, TypeError, psutil.Error):
        return None
    return pid if "flows.warm" in cmdline and str(home) in cmdline else None


def runner_answers(home: Path | None = None) -> bool:
    """Whether the warm runner's socket under ``home`` accepts a connection.

    Parameters:
        home: the state directory (default: ``state_dir()``).
    """
    from flows.launch import SOCKET_NAME

    home = (home or state_dir()).resolve()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(1.0)
        try:
            conn.connect(str(home / SOCKET_NAME))
        except OSError:
            return False
    return True


def start_runner(home: Path | None = None, timeout: float = RUNNER_START_TIMEOUT) -> int:
    """Start the warm runner (``python -m flows.warm HOME``) in the background unless one is
    running, and wait until its socket answers. Returns its pid.

    Parameters:
        home: the state directory (default: ``state_dir()``).
        timeout: seconds to wait for it.

    Raises ``PipelineError`` when it exits or does not answer in time (with the end of its log).
    """
    from flows.launch import SOCKET_NAME

    home = (home or state_dir()).resolve()
    socket_path = os.fsencode(home / SOCKET_NAME)
    if len(socket_path) >= _MAX_SOCKET_PATH:
        raise PipelineError(f"the warm runner's socket path would be {len(socket_path)} bytes, over the system's "
                            f"limit of {_MAX_SOCKET_PATH - 1} for a Unix socket: {home}",
                            f"set {STATE_ENV} to a shorter directory; commands still work without the runner, only slower to start")
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(home / "runner.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        pid = runner_pid(home)
        if pid is not None and runner_answers(home):
            return pid
        if pid is not None:
            stop_process(pid)
        log = home / RUNNER_LOG
        with open(log, "ab") as fh:
            proc = subprocess.Popen([sys.executable, "-m", "flows.warm", str(home)], stdin=subprocess.DEVNULL,
                                    stdout=fh, stderr=subprocess.STDOUT, cwd=home,  # holds no user directory
                                    start_new_session=True, close_fds=True)
        begun = time.monotonic()
        while not (runner_pid(home) == proc.pid and runner_answers(home)):
            if proc.poll() is not None:
                raise PipelineError(f"the warm runner exited (code {proc.returncode}) before it answered:\n{log_tail(log)}",
                                    f"see its log, {log}; commands still work without it, only slower to start")
            if time.monotonic() - begun > timeout:
                stop_process(proc.pid)
                raise PipelineError(f"the warm runner did not answer within {timeout:.0f} s:\n{log_tail(log)}",
                                    f"see its log, {log}; commands still work without it, only slower to start")
            time.sleep(0.1)
        return proc.pid


def stop_runner(home: Path | None = None) -> int | None:
    """Stop the recorded warm runner (SIGTERM, then SIGKILL) and remove its record; the pid it had,
    or None when none was running.

    Parameters:
        home: the state directory (default: ``state_dir()``).
    """
    home = (home or state_dir()).resolve()
    pid = runner_pid(home)
    if pid is not None:
        stop_process(pid)
    (home / RUNNER_RECORD).unlink(missing_ok=True)
    return pid
