"""The ``jstmine`` entry point: hand the command to the warm runner when one is running, else run
it here.

Importing jstmine's libraries takes a command two or three seconds before it does anything. The
warm runner (``flows.warm``, started by ``jstmine server start``) has imported them once and forks
a ready process per command. This module decides, with the standard library only (so that it
starts at once), whether a command goes there:

- only the commands in ``WARM_COMMANDS`` (they read no answer from the terminal; ``server`` manages
  the runner itself, ``editions remove`` may ask for confirmation, ``serve`` runs for days);
- only when ``JSTMINE_WARM`` is not ``0``, the state directory is the user's own and not writable
  by others, and the runner's socket is there, answers and belongs to the same user;
- the runner refuses when jstmine's code or installed packages changed since it started, or when a
  variable read at import time differs: the command then runs here, after a note on stderr.

With the runner or without, a command does the same thing with the same output and exit code.
"""
from __future__ import annotations

import array
import json
import os
import signal
import socket
import stat
import struct
import sys
import sysconfig
from pathlib import Path

SOCKET_NAME = "warm.sock"
STATE_ENV = "JSTMINE_HOME"  # flows.server.STATE_ENV (not imported: this module starts fast)
WARM_ENV = "JSTMINE_WARM"
WARM_COMMANDS = frozenset({"run", "update", "show", "kwic", "sql", "report", "diff", "discover", "schema"})
# Environment variables read when libraries are imported (the runner imported them with its own).
_IMPORT_PREFIXES = ("PYTHON", "MPL", "OMP_", "OPENBLAS", "MKL_", "KMP_", "NUMEXPR", "LD_", "SCIPY", "SKLEARN",
                    "SPACY", "ARROW", "PYARROW", "DUCKDB", "SUDACHI", "TESSDATA", "NUMPY")
_MAX_MESSAGE = 16 * 1024 * 1024


def import_environment(env) -> dict[str, str]:
    """The variables of ``env`` that libraries read when they are imported (by name prefix).

    Parameters:
        env: an environment mapping (``os.environ`` or a request's).
    """
    return {k: v for k, v in env.items() if k.startswith(_IMPORT_PREFIXES)}


def fingerprint() -> str:
    """What the runner's imports depend on: this Python (its environment and interpreter), the
    files of ``flows`` and ``pipeline`` (path, size, modification time) and the installed
    packages' directories (pip changes their modification time). Cheap: a few hundred ``stat``
    calls."""
    # The interpreter by what it is, not by the name it was started as (python or python3.11).
    parts = [sys.prefix, os.path.realpath(sys.executable), sys.version]
    here = Path(__file__).resolve().parent
    for package in (here, here.parent / "pipeline"):
        for root, dirs, files in os.walk(package):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                try:
                    st = os.stat(os.path.join(root, name))
                except OSError:
                    continue
                parts.append(f"{root}/{name}:{st.st_size}:{st.st_mtime_ns}")
    for key in ("purelib", "platlib"):
        try:
            parts.append(f"{key}:{os.stat(sysconfig.get_paths()[key]).st_mtime_ns}")
        except (OSError, KeyError):
            pass
    import hashlib

    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def send_message(conn: socket.socket, obj: dict, fds: list[int] | None = None) -> None:
    """Send ``obj`` as length-prefixed JSON, with ``fds`` attached to its first bytes.

    Parameters:
        conn: a connected Unix socket.
        obj: the message.
        fds: file descriptors to pass (SCM_RIGHTS), or None.
    """
    data = json.dumps(obj).encode()
    payload = struct.pack("!I", len(data)) + data
    if fds:
        sent = conn.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
        payload = payload[sent:]
    if payload:
        conn.sendall(payload)


def read_message(conn: socket.socket, prefix: bytes = b"") -> dict | None:
    """Read one message sent by ``send_message``; None when the connection ended before it.

    Parameters:
        conn: a connected Unix socket.
        prefix: bytes of the message already read (at least the 4-byte length when given).
    """
    head = _read_exactly(conn, 4, prefix[:4])
    if head is None:
        return None
    (size,) = struct.unpack("!I", head)
    if size > _MAX_MESSAGE:
        raise ValueError(f"a message of {size} bytes is over the limit")
    body = _read_exactly(conn, size, prefix[4:])
    if body is None:
        return None
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError("a message is not a JSON object")
    return message


def _read_exactly(conn: socket.socket, size: int, have: bytes = b"") -> bytes | None:
    buf = bytearray(have)
    while len(buf) < size:
        chunk = conn.recv(size - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def state_dir() -> Path:
    """``$JSTMINE_HOME``, else ``~/.jstmine`` (as ``flows.server.state_dir``)."""
    return Path(os.environ.get(STATE_ENV) or Path.home() / ".jstmine")


def command_of(argv: list[str]) -> str:
    """The command named by ``argv`` (its first word not starting with "-"), or "" when options
    come first (``--version``, ``--help``: those run here)."""
    return argv[0] if argv and not argv[0].startswith("-") else ""


def _private(home: Path) -> bool:
    """Whether ``home`` is a directory of this user that no one else can write to."""
    try:
        st = os.stat(home)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o022


def run_warm(argv: list[str], home: Path | None = None) -> int | None:
    """Run ``jstmine argv`` in the warm runner; its exit code, or None when it is not used (no
    runner, not this user's, it refused: the caller runs the command itself).

    Parameters:
        argv: the command's arguments (without the program name).
        home: the state directory (default: ``state_dir()``).
    """
    home = home or state_dir()
    path = home / SOCKET_NAME
    if not _private(home) or not path.exists():
        return None
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)
    except OSError:  # a closed standard stream: nothing to hand over
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.settimeout(5.0)
        try:
            conn.connect(str(path))
            creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            if struct.unpack("3i", creds)[1] != os.getuid():
                return None
            request = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ), "umask": _umask(),
                       "fingerprint": fingerprint()}
            send_message(conn, request, fds=[0, 1, 2])
            reply = read_message(conn)
        except (OSError, ValueError):
            return None
        if reply is None:
            return None
        if reply.get("status") != "started":
            print(f"jstmine: the warm runner did not take this command ({reply.get('why', 'no reason given')}); "
                  "running it here. `jstmine server stop` then `jstmine server start` restarts it with the "
                  "current code and environment.", file=sys.stderr)
            return None
        return _wait(conn, int(reply["pid"]))
    finally:
        conn.close()


def _wait(conn: socket.socket, pid: int) -> int:
    """Wait for the child ``pid`` to send its exit code, passing on Ctrl-C, SIGTERM and SIGHUP."""

    def forward(signum, _frame) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    conn.settimeout(None)
    while True:
        try:
            reply = read_message(conn)
        except InterruptedError:  # pragma: no cover  (PEP 475 retries; kept for safety)
            continue
        except (OSError, ValueError):
            reply = None
        if reply is None:
            print(f"jstmine: the command (process {pid} of the warm runner) ended without an exit code: "
                  "it was killed", file=sys.stderr)
            return 1
        if reply.get("status") == "exit":
            code = reply.get("code")
            return code if isinstance(code, int) else 1


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def main() -> None:
    """``jstmine …``: the command in the warm runner when it can take it, else in this process."""
    argv = sys.argv[1:]
    if os.environ.get(WARM_ENV, "1") != "0" and command_of(argv) in WARM_COMMANDS:
        code = run_warm(argv)
        if code is not None:
            sys.exit(code)
    from flows.app import INTERRUPTED_EXIT
    from flows.main import app

    try:
        app()
    except SystemExit as exc:
        if exc.code == INTERRUPTED_EXIT:
            # A second Ctrl-C while the process exits (Prefect stops its temporary server: SIGTERM,
            # then SIGKILL after 5 s) would only turn into a traceback ("Exception ignored in atexit
            # callback") or a death by SIGINT half-way: ignored from here on.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise


if __name__ == "__main__":  # pragma: no cover
    main()
