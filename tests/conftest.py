"""Shared pytest fixtures."""
from __future__ import annotations

import atexit
import os
import signal as _signal
import shutil
import tempfile
from pathlib import Path

import pytest

import httpserver as _httpserver
from httpserver import HTTPTestServer

# No test finds a Prefect server recorded on this machine by `jstmine server start` (flows/server.py):
# the session's own state directory, inherited by every subprocess.
_JSTMINE_HOME = tempfile.mkdtemp(prefix="jstmine-home-")
atexit.register(shutil.rmtree, _JSTMINE_HOME, True)
os.environ["JSTMINE_HOME"] = _JSTMINE_HOME

# A suite started in the background by a non-interactive shell (`make test &`, nohup) inherits
# SIGINT ignored, and so would every process it starts (an ignored signal survives exec): the
# tests that press Ctrl-C (test_interrupt, test_workers, test_schedule, test_ocr_hostile) need it
# as a terminal gives it to a foreground command.
if _signal.getsignal(_signal.SIGINT) is _signal.SIG_IGN:
    _signal.signal(_signal.SIGINT, _signal.default_int_handler)


def serve_sample_listing(http_server, tmp_path: Path) -> Path:
    """The sample report on a listing page served by ``http_server`` (its PDF with ETag "v1"), and a
    sources file in ``tmp_path`` that follows it (source "loopback"): the sources file's path."""
    from samples.build import LISTING_FRAGMENT, build_listing_html, build_sample_pdf, listing_entries

    pdf = build_sample_pdf(tmp_path / "site" / "sample-report.pdf")
    page = build_listing_html(listing_entries("sample-report.pdf"), tmp_path / "site" / "report_2022.html")
    http_server.serve_pdf("/investigation/sample-report.pdf", pdf.read_bytes(), etag='"v1"')
    listing = http_server.serve_html("/investigation/report_2022.html", page.read_text(encoding="utf-8"))
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\nname = "loopback"\nlisting = "{listing}"\nentries = ["{LISTING_FRAGMENT}"]\n',
                       encoding="utf-8")
    return sources


@pytest.fixture
def http_server(monkeypatch):
    """A scripted HTTP server on 127.0.0.1 (see tests/httpserver.py), stopped after the test."""
    # never send loopback requests through a proxy the environment may define
    for var in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(var, "")
        monkeypatch.setenv(var, ",".join(x for x in (current, "127.0.0.1,localhost") if x))
    server = HTTPTestServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def second_host(monkeypatch):
    """The scripted server bound to 127.0.0.2: another host, as far as the site rule goes."""

    class _Other(_httpserver._Server):
        def __init__(self, address, handler):
            super().__init__(("127.0.0.2", address[1]), handler)

    monkeypatch.setattr(_httpserver, "_Server", _Other)
    try:
        server = HTTPTestServer()
    except OSError as exc:  # pragma: no cover - a loopback without 127.0.0.2
        pytest.skip(f"cannot bind 127.0.0.2: {exc}")
    monkeypatch.undo()
    server.base_url = f"http://127.0.0.2:{server.port}"
    server.start()
    try:
        yield server
    finally:
        server.stop()


SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared, read in place: its documents are never copied into the project."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not there (the tests read the shared reference material from it)")
    return SHARED


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """One temporary Prefect server and database for the whole session (not one per flow run).

    Task results (the cache) go to a fresh directory too, so no test sees another session's cache.
    """
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    storage = tmp_path_factory.mktemp("prefect-storage")
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: storage}), prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def fresh_cache(prefect_server, tmp_path):
    """Task results (the cache) of this test in a directory of its own: a test that processes the
    sample edition leaves no cached stages for the tests that check a cold run of it."""
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: tmp_path / "prefect-storage"}):
        yield


@pytest.fixture
def fast_retries(monkeypatch):
    """The acquire task's retries without the waiting."""
    import flows.process_report as fr

    monkeypatch.setattr(fr, "acquire_task", fr.acquire_task.with_options(retry_delay_seconds=0, retry_jitter_factor=None))


# ------------------------------------------------------------------------------------------------
# Subprocesses in their own process groups, and a real Prefect server on loopback
#
# A temporary (in-process) Prefect server does not run schedules, and Dask worker processes cannot
# reach it; `jstmine serve` and `jstmine update --workers N` need `prefect server start`. Every
# process a test starts goes into a new process group (start_new_session) so that the group, with
# whatever it spawned (flow-run processes, Dask nannies and workers, uvicorn), can be stopped as a
# whole, and checked to be gone.

import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

BIN = Path(sys.executable).parent  # .venv/bin: prefect, jstmine, dask


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_members(pgid: int) -> list[str]:
    """Live processes of process group ``pgid`` (zombies waiting to be reaped are not alive), as
    "pid cmdline"; [] when none is left."""
    import psutil

    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return []
    left = []
    for p in psutil.process_iter(["pid", "status", "cmdline"]):
        try:
            if os.getpgid(p.pid) == pgid and p.info["status"] != psutil.STATUS_ZOMBIE:
                left.append(f"{p.pid} {' '.join(p.info['cmdline'] or [])[:160]}")
        except (ProcessLookupError, psutil.Error):
            continue
    return left


def stop_group(proc: subprocess.Popen, first: int = signal.SIGTERM, grace: float = 20.0) -> list[str]:
    """Stop ``proc``'s whole process group: ``first`` (SIGTERM, or SIGINT for a Ctrl-C), then
    SIGKILL for whatever is still there after ``grace`` seconds. Returns what is left (nothing,
    unless a process survived SIGKILL)."""
    pgid = proc.pid  # start_new_session: the leader's pid is the group id
    for sig, wait in ((first, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and group_members(pgid):
            if proc.poll() is None:
                try:
                    proc.wait(timeout=0.2)
                except subprocess.TimeoutExpired:
                    pass
            else:
                time.sleep(0.2)
        if not group_members(pgid):
            break
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    return group_members(pgid)


def subprocess_env(api_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment for a jstmine/prefect/dask subprocess: telemetry off, loopback never through
    a proxy, PREFECT_API_URL set to ``api_url`` (or unset), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1", PYTHONUNBUFFERED="1",
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    if api_url:
        env["PREFECT_API_URL"] = api_url
    env.update(extra)
    return env


@dataclass
class Spawned:
    proc: subprocess.Popen
    log: Path

    @property
    def pgid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def spawn(tmp_path):
    """``spawn(args, env, name)`` starts a process in a new process group, output to
    tmp_path/<name>.log. At teardown every group still running is stopped, and the test fails
    if any process of any group is left."""
    started: list[Spawned] = []

    def start(args: list[str], env: dict[str, str], name: str, cwd: Path | None = None) -> Spawned:
        log = tmp_path / f"{name}.log"
        with open(log, "wb") as fh:
            proc = subprocess.Popen([str(a) for a in args], env=env, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        s = Spawned(proc, log)
        started.append(s)
        return s

    yield start
    left = {s.log.stem: stop_group(s.proc) for s in reversed(started)}
    left = {name: procs for name, procs in left.items() if procs}
    assert not left, f"processes left behind: {left}"


@dataclass
class PrefectAPIServer:
    url: str  # http://127.0.0.1:PORT/api
    home: Path
    pgid: int

    def env(self, **extra: str) -> dict[str, str]:
        return subprocess_env(self.url, **extra)


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"prefect server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"prefect server at {url} not healthy after {timeout:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="session")
def prefect_api_server(tmp_path_factory):
    """`prefect server start --host 127.0.0.1 --port <free port>` for the session (PREFECT_HOME in
    tmp, telemetry off, PREFECT_API_URL unset for it), healthy within 60 s. At teardown its whole
    process group is killed and must be gone."""
    home = tmp_path_factory.mktemp("prefect-server-home")
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    log = home / "server.log"
    env = subprocess_env(None, PREFECT_HOME=str(home))
    with open(log, "wb") as fh:
        proc = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        wait_healthy(url, proc, log)
        yield PrefectAPIServer(url=url, home=home, pgid=proc.pid)
    finally:
        left = stop_group(proc)
        assert not left, f"prefect server processes left behind: {left}"
        with pytest.raises(ProcessLookupError):
            # nothing of the group is left (zombies, if any, are reaped by now as well)
            for _ in range(50):
                os.killpg(proc.pid, 0)
                time.sleep(0.1)


@pytest.fixture(scope="session")
def lexicon():
    from pipeline.lexicon import load_lexicon

    return load_lexicon()


@pytest.fixture(scope="session")
def nlp(lexicon):
    """The tagging pipeline, built once for the session."""
    from pipeline.tag import build_tagger

    return build_tagger(lexicon)


@pytest.fixture(scope="session")
def summary_stages(shared_dir, nlp, lexicon):
    """The executive summary's lines as paragraphs through segment → tokenize → tag → attribute."""
    from stages import run_paragraphs

    text = (shared_dir / "reference" / "fy2024-rr02-executive-summary.txt").read_text(encoding="utf-8")
    return run_paragraphs(nlp, lexicon, *(line.strip() for line in text.splitlines() if line.strip()))
