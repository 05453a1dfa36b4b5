"""Ctrl-C at a terminal during ``jstmine run`` and ``update`` with no Prefect server running: the
terminal sends SIGINT to the whole foreground process group, Prefect's temporary server included.

The command must stop within seconds with exit code 130 and a short message, publish nothing,
and leave no process behind (worker, tesseract, temporary server). Before the fix the temporary
server died of the SIGINT and the flow then retried reporting its Crashed state to it, with
Prefect's client back-off (2, 4, 8, 16, 32 s per request): still running after minutes.

Each command runs in a process group of its own (``spawn``), as a shell runs a foreground job;
SIGINT goes to the whole group, as a terminal's Ctrl-C does.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, group_members, serve_sample_listing, subprocess_env

MEXT_CH2 = "pdfs/mext_hakusho_r6_ch2_ai_japan.pdf"
INTERRUPTED = "interrupted: no edition is left half-published; run again to go on"


def _new_pdf(shared_dir: Path, tmp_path: Path) -> Path:
    """The MEXT chapter with a byte after %%EOF: a PDF new to any cache, read the same."""
    pdf = tmp_path / "interrupted.pdf"
    pdf.write_bytes((shared_dir / MEXT_CH2).read_bytes() + b"\n")
    return pdf


def _wait_for(spawned, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in spawned.output():
        assert spawned.proc.poll() is None, f"exited with {spawned.proc.returncode} before {text!r}:\n{spawned.output()}"
        assert time.monotonic() < deadline, f"no {text!r} within {timeout:.0f} s:\n{spawned.output()}"
        time.sleep(0.2)


def _ctrl_c(spawned, within: float) -> float:
    """SIGINT to the whole group; the seconds until the command exited (fails after ``within``)."""
    begun = time.monotonic()
    os.killpg(spawned.pgid, signal.SIGINT)
    try:
        spawned.proc.wait(timeout=within)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {within:.0f} s after Ctrl-C:\n{spawned.output()[-4000:]}")
    return time.monotonic() - begun


def _nothing_left(spawned, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while group_members(spawned.pgid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not group_members(spawned.pgid), f"left behind: {group_members(spawned.pgid)}"


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")
def test_ctrl_c_during_extraction_with_a_temporary_server_stops_at_once(shared_dir, tmp_path, spawn):
    pdf = _new_pdf(shared_dir, tmp_path)
    out = tmp_path / "out"
    env = subprocess_env(None, JSTMINE_HOME=str(tmp_path / "jstmine-home"), PREFECT_HOME=str(tmp_path / "prefect-home"),
                         JSTMINE_WARM="0", COLUMNS="300")
    run = spawn([BIN / "jstmine", "run", "--source", pdf, "--out", out, "--raw", tmp_path / "raw", "--ocr", "force"],
                env, "run", cwd=tmp_path)
    _wait_for(run, "extract: ", timeout=300)  # pages are being read (workers, tesseract)
    took = _ctrl_c(run, within=60)
    text = " ".join(run.output().split())
    assert run.proc.returncode == 130, text
    assert took < 15, f"{took:.1f} s after Ctrl-C:\n{text}"
    assert INTERRUPTED in text
    assert "Traceback" not in text
    _nothing_left(run)
    assert not (out / "interrupted").exists()  # nothing published


def test_ctrl_c_during_update_with_a_temporary_server_stops_at_once(spawn, http_server, tmp_path):
    sources = serve_sample_listing(http_server, tmp_path)
    out = tmp_path / "out"
    env = subprocess_env(None, JSTMINE_HOME=str(tmp_path / "jstmine-home"), PREFECT_HOME=str(tmp_path / "prefect-home"),
                         JSTMINE_WARM="0", COLUMNS="300")
    update = spawn([BIN / "jstmine", "update", "--sources", sources, "--out", out, "--raw", tmp_path / "raw"],
                   env, "update", cwd=tmp_path)
    _wait_for(update, ": tokenize", timeout=300)  # the edition is being processed, past its download
    took = _ctrl_c(update, within=60)
    text = " ".join(update.output().split())
    assert update.proc.returncode == 130, text
    assert took < 15, f"{took:.1f} s after Ctrl-C:\n{text}"
    assert "interrupted: the editions published before it are kept, none is left half-published; run again to go on" in text
    assert "Traceback" not in text
    _nothing_left(update)
    assert not list(out.glob("*/*.parquet"))  # nothing published


def test_an_interrupted_command_in_this_process_leaves_ctrl_c_as_it_was():
    """``interrupted()`` in a test's in-process call (CliRunner) left SIGINT ignored for the rest of
    the session, and so in every process started after it (an ignored signal is inherited): later
    tests' Ctrl-C reached nothing and hung. Only the command's own process ignores it, at its exit."""
    import typer

    from flows.app import INTERRUPTED_EXIT, interrupted

    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(typer.Exit) as stopped:
        interrupted()
    assert stopped.value.exit_code == INTERRUPTED_EXIT
    assert signal.getsignal(signal.SIGINT) is before
