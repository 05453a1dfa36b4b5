"""``jstmine server start|stop|status``: a local Prefect server in the background that ``run``,
``update`` and ``serve`` find by themselves (see ``flows.server``)."""
from __future__ import annotations

import time

import typer
from rich.text import Text

from flows.app import app, console, err, fail
from flows.server import (
    DEFAULT_PORT,
    START_TIMEOUT,
    runner_answers,
    runner_pid,
    server_status,
    start_runner,
    start_server,
    state_dir,
    stop_runner,
    stop_server,
)
from pipeline.errors import PipelineError

server_app = typer.Typer(no_args_is_help=True, help=(
    "A local Prefect server in the background (127.0.0.1), which run, update and serve use by themselves "
    "when PREFECT_API_URL is not set: no temporary server to start on every run."))
app.add_typer(server_app, name="server")


def _uptime(seconds: float) -> str:
    """``seconds`` as 1h02m, 3m05s or 12s."""
    s = int(max(seconds, 0))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


@server_app.command("start")
def start(
    port: int = typer.Option(DEFAULT_PORT, min=0, max=65535, help="The port on 127.0.0.1; 0 picks a free one."),
    timeout: float = typer.Option(START_TIMEOUT, min=1, help="Seconds to wait for it to answer."),
) -> None:
    """Start a Prefect server on 127.0.0.1 in the background and wait until it answers.

    Its record and log are kept in $JSTMINE_HOME (default ~/.jstmine). Exit codes: 0 started, or
    already running (nothing else is started); 1 it could not be started (the port is taken, or it
    did not answer in time)."""
    status = server_status()
    if status.stale:
        err.print(Text(f"removed a stale record: {status.stale}", style="dim"))
    if status.record is not None:
        console.print(f"the Prefect server is already running: {status.record.ui} (pid {status.record.pid})")
        _start_runner()
        return
    err.print(Text(f"starting a Prefect server on {'a free port' if port == 0 else f'127.0.0.1:{port}'} "
                   f"(its log: {state_dir() / 'server.log'}) …", style="dim"))

    def waiting(seconds: float) -> None:
        if int(seconds) % 3 == 0:
            err.print(Text(f"  waiting for it to answer ({seconds:.0f} s; a cold start takes about 7 s)", style="dim"))

    try:
        record, _ = start_server(port, timeout=timeout, waiting=waiting)
    except PipelineError as exc:
        fail(exc.what, exc.todo)
    console.print(f"the Prefect server is running: {record.ui} (pid {record.pid})")
    console.print(Text(f"jstmine run, update and serve use it by themselves; other clients: export PREFECT_API_URL={record.url}",
                       style="dim"), soft_wrap=True)  # a URL folded over lines cannot be copied
    _start_runner()


def _start_runner() -> None:
    """Start the warm runner beside the server; a failure is reported, not fatal (commands work
    without it, only slower to start)."""
    pid = runner_pid()
    if pid is not None and runner_answers():
        console.print(f"the warm runner is already running (pid {pid})")
        return
    err.print(Text("starting the warm runner (it imports jstmine's libraries once, so commands start at once) …",
                   style="dim"))
    try:
        pid = start_runner()
    except PipelineError as exc:
        err.print(Text(f"warning: {exc.what}\nwhat to do: {exc.todo}", style="yellow"))
        return
    console.print(f"the warm runner is running (pid {pid}): run, update, show, kwic, sql, report, diff, discover "
                  "and schema start in it")


@server_app.command("status")
def status() -> None:
    """Say whether the recorded Prefect server is running (its pid, address and uptime) and whether
    the warm runner is.

    Exit codes: 0 running and answering; 1 not running (a stale record is removed and reported);
    2 its process is alive but does not answer (still starting, or stuck: jstmine server stop)."""
    found = server_status()
    if found.stale:
        err.print(Text(f"removed a stale record: {found.stale}", style="dim"))
    record = found.record
    if record is None:
        console.print("no Prefect server is running (start one: jstmine server start)")
        raise typer.Exit(1)
    uptime = _uptime(time.time() - record.started)
    pid = runner_pid()
    runner = (f"the warm runner is running (pid {pid})" if pid is not None and runner_answers()
              else "the warm runner is not running (jstmine server start starts it)")
    if not found.healthy:
        console.print(f"the Prefect server (pid {record.pid}, {record.ui}, up {uptime}) does not answer its health check")
        console.print(runner)
        raise typer.Exit(2)
    console.print(f"the Prefect server is running: {record.ui} (pid {record.pid}, up {uptime})")
    console.print(runner)


@server_app.command("stop")
def stop() -> None:
    """Stop the recorded Prefect server (SIGTERM, then SIGKILL if it has not exited within 10 s)
    and the warm runner, and remove their records. Exit code 0 also when none was running."""
    runner = stop_runner()
    if runner is not None:
        console.print(f"stopped the warm runner (pid {runner})")
    found = stop_server()
    if found.stale:
        console.print(f"removed a stale record: {found.stale}")
    if found.record is None:
        if not found.stale:
            console.print("no Prefect server was running")
        return
    console.print(f"stopped the Prefect server at {found.record.ui} (pid {found.record.pid})")
