"""Imports without the garbage collector, then frozen (flows.gc_imports; update's forkserver does the
same through flows.preloading and flows.preloaded: tests/test_workers.py)."""
from __future__ import annotations

import subprocess
import sys



def run_python(code: str) -> str:
    """``code`` run by a fresh Python (this one), its output: the collector's state is per process."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_the_collector_is_off_inside_then_on_and_what_was_made_is_frozen():
    out = run_python(
        "import gc\n"
        "from flows.gc_imports import imports_frozen\n"
        "before = gc.get_freeze_count()\n"
        "with imports_frozen():\n"
        "    inside = gc.isenabled()\n"
        "    made = [[k] for k in range(50_000)]\n"
        "print(inside, gc.isenabled(), gc.get_freeze_count() - before >= 50_000, any(o is made for o in gc.get_objects()))\n")
    # off inside; on after; the lists made inside are frozen: the collector no longer lists them
    assert out == "False True True False"


def test_a_collector_that_was_off_stays_off_and_an_error_still_restores_it():
    out = run_python(
        "import gc\n"
        "from flows.gc_imports import imports_frozen\n"
        "gc.disable()\n"
        "with imports_frozen():\n"
        "    pass\n"
        "off = gc.isenabled()\n"
        "gc.enable()\n"
        "try:\n"
        "    with imports_frozen():\n"
        "        raise ImportError('a library is missing')\n"
        "except ImportError:\n"
        "    pass\n"
        "print(off, gc.isenabled())\n")
    assert out == "False True"


def test_garbage_made_after_the_freeze_is_collected_as_before():
    out = run_python(
        "import gc\n"
        "from flows.gc_imports import imports_frozen\n"
        "class Node:\n"
        "    pass\n"
        "with imports_frozen():\n"
        "    kept = Node()\n"
        "    kept.me = kept\n"  # a cycle made inside: frozen, never collected
        "del kept\n"
        "made = Node()\n"
        "made.me = made\n"  # one made after: the collector frees it
        "del made\n"
        "print(gc.collect())\n")
    assert out == "1"


def test_the_warm_runners_preload_leaves_the_libraries_frozen_and_the_collector_on():
    # what a command forked from the runner inherits (flows.warm.preload): the libraries' objects
    # in the permanent generation, which its collections never walk
    out = run_python(
        "import gc\n"
        "from flows import warm\n"
        "before = gc.get_freeze_count()\n"
        "warm.preload()\n"
        "import pyarrow\n"
        "print(gc.isenabled(), gc.get_freeze_count() - before > 100_000,"
        " any(o is pyarrow.__dict__ for o in gc.get_objects()))\n")
    assert out == "True True False"


def test_jstmine_run_imports_the_flow_with_the_collector_off_then_frozen(monkeypatch, tmp_path):
    # what flows.cli.run does once its inputs are checked: the flow imported inside imports_frozen
    from contextlib import contextmanager

    from typer.testing import CliRunner

    import flows  # noqa: F401  (Prefect's environment before Prefect is imported)
    import flows.gc_imports
    import flows.process_report
    from flows.main import app

    seen = []

    @contextmanager
    def recording():
        seen.append("entered")
        yield
        seen.append("left")

    class Stop(Exception):
        pass

    def flow(**_):
        seen.append("flow")
        raise Stop

    monkeypatch.setattr(flows.gc_imports, "imports_frozen", recording)
    monkeypatch.setattr(flows.process_report, "process_report", flow)
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    result = CliRunner().invoke(app, ["run", "--source", str(pdf), "-o", str(tmp_path / "out")])
    assert isinstance(result.exception, Stop), result.output
    assert seen == ["entered", "left", "flow"]
