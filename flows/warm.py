"""The warm runner: a background process that has imported jstmine's libraries once and forks a
ready process for each ``jstmine`` command, so that a command does not spend two or three seconds
importing spaCy, scikit-learn, SciPy, pandas, matplotlib, PyArrow, DuckDB and pdfplumber again.

``jstmine server start`` starts it beside the Prefect server (``jstmine server stop`` stops both);
``flows.launch`` (the ``jstmine`` entry point) hands each command to it when it answers, and runs
the command in its own process otherwise: with the runner or without, a command does the same
thing, with the same output and exit code.

How a command is handed over: the launcher connects to the runner's Unix socket (in the state
directory, ``$JSTMINE_HOME`` or ``~/.jstmine``, mode 0700) and sends its arguments, working
directory, environment and umask, with its standard input, output and error as file descriptors
(SCM_RIGHTS). The runner checks that the peer is the same user (SO_PEERCRED), that the code and the
installed packages have not changed since it started (``fingerprint``) and that no variable read
at import time differs (``import_environment``); then it forks. The child takes the launcher's
descriptors, directory, environment and umask and runs the command; Prefect and ``flows``' own
modules are imported there, after the environment is in place (Prefect reads its settings and
rich its terminal on import). The launcher waits for the exit code and passes Ctrl-C on to it.

Only libraries are imported in advance: nothing runs in the runner that could leave a thread,
a lock or an open connection to a forked child.
"""
from __future__ import annotations

import array
import importlib
import io
import json
import os
import pkgutil
import signal
import socket
import struct
import sys
import time
from pathlib import Path

from flows.launch import (
    SOCKET_NAME,
    fingerprint,
    import_environment,
    read_message,
    send_message,
)

RECORD_NAME = "warm.json"
LOG_NAME = "warm.log"

# Libraries the commands import, heavy ones first; imported by the runner before it serves.
# (pipeline's own modules are imported too, all of them: pure functions, no state.)
LIBRARIES = (
    "numpy", "pyarrow", "pyarrow.parquet", "pyarrow.compute", "pyarrow.csv", "pyarrow.dataset",
    "pyarrow.pandas_compat", "duckdb", "pandas",
    "scipy.stats", "sklearn.feature_extraction.text", "networkx", "prince", "matplotlib",
    "matplotlib.figure", "matplotlib.backends.backend_agg", "matplotlib.backends.backend_svg", "adjustText", "spacy", "sudachipy",
    "pdfplumber", "pypdfium2", "rapidfuzz", "jinja2", "bs4", "httpx", "typer", "rich",
    "pydantic", "sqlalchemy", "anyio", "psutil",
)


def preload() -> list[str]:
    """Import ``LIBRARIES`` and every module of ``pipeline``; return the names that could not be
    imported (an optional library missing: the command imports it, or fails, as without a runner).
    The garbage collector is off meanwhile, and what the imports made is frozen after them
    (``flows.gc_imports``): a forked command's collections never walk the libraries' objects (nor
    write to the pages it shares with the runner)."""
    from flows.gc_imports import imports_frozen

    with imports_frozen():
        return _import_all()


def _import_all() -> list[str]:
    missing = []
    for name in LIBRARIES:
        try:
            importlib.import_module(name)
        except Exception:  # an optional library: the command will say what is wrong itself
            missing.append(name)
    import pipeline

    for info in pkgutil.walk_packages(pipeline.__path__, "pipeline."):
        if info.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except Exception:
            missing.append(info.name)
    return missing


def _peer_uid(conn: socket.socket) -> int:
    """The user id of the process at the other end of ``conn`` (Linux SO_PEERCRED)."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    """The launcher's request and its three descriptors (stdin, stdout, stderr)."""
    fds = array.array("i")
    head, ancdata, _flags, _addr = conn.recvmsg(4, socket.CMSG_LEN(3 * fds.itemsize))
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    if not head:
        raise EOFError("the launcher closed the connection")
    request = read_message(conn, prefix=head)
    if request is None:
        raise ValueError("the launcher closed the connection in the middle of its request")
    return request, list(fds)


def serve(home: Path, started_with: str, environment: dict[str, str], log=None) -> None:
    """Serve commands on ``home``'s socket until SIGTERM. The socket is created with mode 0600 in a
    directory only its owner can enter; requests from other users are refused.

    Parameters:
        home: the state directory.
        started_with: ``fingerprint()`` taken before the libraries were imported.
        environment: ``import_environment(os.environ)`` as it was when they were imported.
        log: a text stream for one line per command (default: stderr).
    """
    log = log or sys.stderr
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    path = home / SOCKET_NAME
    path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        listener.bind(str(path))
    finally:
        os.umask(old)
    listener.listen(16)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"{_now()} serving on {path} (pid {os.getpid()})", file=log, flush=True)
    try:
        while True:
            conn, _ = listener.accept()
            fds: list[int] = []
            try:
                if _peer_uid(conn) != os.getuid():
                    send_message(conn, {"status": "refused", "why": "another user"})
                    continue
                request, fds = _receive(conn)
                why = _refusal(request, started_with, environment, fds)
                if why:
                    print(f"{_now()} refused: {why}", file=log, flush=True)
                    send_message(conn, {"status": "refused", "why": why})
                    continue
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    _child(conn, request, fds)  # never returns
                for fd in fds:  # the child has them now; the caller sees end-of-file once the child ends
                    os.close(fd)
                fds = []
                print(f"{_now()} pid {pid}: jstmine {' '.join(request['argv'])}", file=log, flush=True)
            except EOFError:  # a probe (``runner_answers``): connected and closed
                pass
            except (OSError, ValueError) as exc:
                print(f"{_now()} a request failed: {type(exc).__name__}: {exc}", file=log, flush=True)
            finally:
                for fd in fds:
                    os.close(fd)
                conn.close()
    finally:
        listener.close()
        path.unlink(missing_ok=True)


def _refusal(request: dict, started_with: str, environment: dict[str, str], fds: list[int]) -> str:
    """Why ``request`` cannot be run by a child of this runner ("" when it can)."""
    if len(fds) != 3:
        return "the request did not carry stdin, stdout and stderr"
    if request.get("fingerprint") != started_with:
        return "jstmine's code or installed packages changed since the runner started"
    env = request.get("env")
    if not isinstance(env, dict) or import_environment(env) != environment:
        return "a variable read when libraries are imported differs from the runner's"
    if not isinstance(request.get("argv"), list) or not isinstance(request.get("cwd"), str):
        return "a malformed request"
    return ""


def _child(conn: socket.socket, request: dict, fds: list[int]) -> None:
    """In the forked child: become the launcher's command and run it; send its exit code."""
    code = 1
    try:
        _become(request, fds)
    except Exception as exc:  # the caller's directory or environment cannot be taken: it runs the command itself
        for fd in (*fds, 0, 1, 2):  # let go of the caller's descriptors before it is told
            try:
                os.close(fd)
            except OSError:
                pass
        send_message(conn, {"status": "refused", "why": f"the caller's directory or environment cannot be taken: {exc}"})
        os._exit(1)
    try:
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), line_buffering=True)
        sys.stdout = _stream(1)
        sys.stderr = _stream(2)
        sys.argv = ["jstmine", *request["argv"]]
        send_message(conn, {"status": "started", "pid": os.getpid()})
        from flows.main import app

        try:
            app(args=list(request["argv"]), prog_name="jstmine")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr)
        except KeyboardInterrupt:
            code = 130
    except BaseException as exc:  # the command could not start: say why where the user sees it
        try:
            print(f"jstmine: the warm runner could not run the command: {type(exc).__name__}: {exc}", file=sys.stderr)
        except Exception:
            pass
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        try:
            send_message(conn, {"status": "exit", "code": code})
        except OSError:
            pass
        os._exit(code)


def _become(request: dict, fds: list[int]) -> None:
    """Take the launcher's signals' defaults, its directory, environment, umask and descriptors."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.setpgid(0, 0)  # stopping the runner (its process group) lets a command in progress finish
    os.chdir(request["cwd"])
    environment = {str(k): str(v) for k, v in request["env"].items()}
    os.umask(int(request.get("umask", 0o022)))
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(environment)


def _stream(fd: int) -> io.TextIOWrapper:
    """A text stream on ``fd`` as Python makes ``sys.stdout`` for a new process: line-buffered on
    a terminal, UTF-8 (or PYTHONIOENCODING)."""
    encoding = (os.environ.get("PYTHONIOENCODING") or "utf-8").split(":")[0] or "utf-8"
    return io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), encoding=encoding, errors="backslashreplace",
                            line_buffering=os.isatty(fd), write_through=not os.isatty(fd))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def main() -> None:  # pragma: no cover  (run as a process by start_runner; tests start it that way)
    """``python -m flows.warm HOME``: import the libraries, then serve on HOME's socket."""
    home = Path(sys.argv[1])
    started_with, environment = fingerprint(), import_environment(os.environ)
    missing = preload()
    if missing:
        print(f"{_now()} not preloaded (imported by the commands themselves): {', '.join(missing)}", flush=True)
    record = home / RECORD_NAME
    tmp = record.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "socket": str(home / SOCKET_NAME)}), encoding="utf-8")
    tmp.replace(record)
    serve(home, started_with, environment, log=sys.stdout)


if __name__ == "__main__":  # pragma: no cover
    main()
