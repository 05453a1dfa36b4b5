"""The HTML report's charts drawn in a child process while the flow checks and publishes.

The charts (``pipeline.report_charts``: the co-occurrence network and the correspondence biplot,
most of the report's time) need only the analysis tables, which are built before the findings
check and the publishing. The ``process-report`` flow starts a ``ChartProcess`` once the pages are
read (``finish`` starts one as it begins when it is given none); the child imports matplotlib,
networkx and adjustText meanwhile. ``finish`` hands it the analysis tables once they are built
(``send``), and the report takes its drawings (``get``) when it comes to them; on 2 cores the
child uses the one the flow leaves idle.

The child is a plain ``python -P -c`` process (-P: not the working directory's modules) that
answers one request over its pipes (pickles), as the extract workers do
(``pipeline.extract.reader``: not ``multiprocessing``, whose fork is unsafe in a process running
Prefect's threads). Whatever goes wrong with it (it cannot start, it fails,
it dies, it takes longer than ``TIMEOUT``), the report draws the charts itself, as it would have
without it, so it shows the same thing and a chart that cannot be drawn gives the report's usual
warning. A drawing is used only when made from the rows the report reads back from the published
tables (``pipeline.report_charts.chart_key``). ``close`` ends and reaps the child whatever
happened: no process is left behind.
"""
from __future__ import annotations

import pickle
import subprocess
import sys
import tempfile

# Seconds the report waits for the child's drawings before drawing the charts itself.
TIMEOUT = 120.0
_CHILD_CODE = "import flows.report_charts as c; c.child_main()"


class ChartProcess:
    """A child process that draws the report's charts from rows it is sent (``send``); ``get``
    gives its drawings by key (None for one it has not drawn: the report draws that itself).

    Parameters:
        log: called with one line when the child could not help (why), or None.
    """

    def __init__(self, log=None):
        self.log = log
        self.drawn: dict[str, str] | None = None  # the child's drawings, once received
        self.errors: dict[str, str] = {}  # chart → why the child could not draw it
        self.sent = False
        self.stderr = None
        try:
            # What it says on stderr goes to a file: a child that says a lot never waits on a full pipe.
            self.stderr = tempfile.TemporaryFile()
            self.proc: subprocess.Popen | None = subprocess.Popen(
                [sys.executable, "-P", "-c", _CHILD_CODE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=self.stderr)
        except OSError as exc:
            self.proc = None
            self._give_up(f"could not start ({exc})")

    def _give_up(self, why: str) -> None:
        self.drawn = {}
        if self.log is not None:
            self.log(f"the report's charts are drawn in the flow's process: their child process {why}")

    def send(self, tables: dict) -> None:
        """Hand the child the analysis tables to draw the charts of.

        Parameters:
            tables: table name → ``pyarrow.Table`` (the run's tables; those of
                ``pipeline.report_charts.TABLES`` are sent, as the report reads them back).
        """
        if self.proc is None or self.sent:
            return
        from pipeline.published import spec_rows
        from pipeline.report_charts import TABLES

        rows = {name: spec_rows(name, tables[name]) if name in tables else None for name in TABLES}
        self.sent = True
        try:
            with self.proc.stdin as stdin:
                stdin.write(pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError as exc:  # it died before it could read
            self._give_up(f"ended early ({exc})")
            self.close()

    def get(self, key: str) -> str | None:
        """The child's drawing of ``key`` (``pipeline.report_charts.chart_key``), waiting for it if
        need be; None when it has none (not sent, failed, or drawn from other rows)."""
        if self.drawn is None:
            self._receive()
        return self.drawn.get(key)

    def _receive(self) -> None:
        if not self.sent:
            self._give_up("was sent no tables")
            return self.close()
        try:
            out = self._answer()
        except subprocess.TimeoutExpired:
            self._give_up(f"took more than {TIMEOUT:g} s")
            return self.close()
        if self.proc.returncode != 0:
            self.stderr.seek(0)
            last = self.stderr.read().decode(errors="replace").strip().splitlines()[-1:] or [""]
            self._give_up(f"ended with exit code {self.proc.returncode} {last[0][:300]}".rstrip())
            return self.close()
        try:
            self.drawn, self.errors = pickle.loads(out)
        except Exception as exc:  # noqa: BLE001 (anything it said that is not its answer)
            self._give_up(f"gave no answer ({type(exc).__name__})")
            return None
        if self.errors and self.log is not None:
            self.log("the report's charts' child process could not draw " + "; ".join(
                f"{chart} ({why})" for chart, why in sorted(self.errors.items())) + ": drawn again in the flow's process")
        return None

    def _answer(self) -> bytes:
        """What the child writes on stdout, once it has ended (at most ``TIMEOUT`` seconds)."""
        self.proc.stdin = None  # closed by send: nothing more to say to it
        out, _ = self.proc.communicate(timeout=TIMEOUT)
        return out

    def close(self) -> None:
        """End the child if it is still running, and reap it."""
        if self.drawn is None:
            self.drawn = {}
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            for pipe in (self.proc.stdin, self.proc.stdout):
                if pipe is not None:
                    pipe.close()
            self.proc.wait()  # reaped
        if self.stderr is not None:
            self.stderr.close()


def child_main() -> None:
    """The child: import the charts' libraries, read the rows (a pickle on stdin), draw, and write
    ``pipeline.report_charts.draw_charts``'s answer (a pickle on stdout). Ends quietly when the
    flow goes away before sending anything."""
    # What drawing imports, imported and loaded while the flow is still building the tables.
    import adjustText  # noqa: F401 (scipy.spatial: half a second)
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.backends.backend_svg  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import matplotlib.pyplot  # noqa: F401 (networkx's drawing functions import it)

    from pipeline import charts, report_charts

    charts.font_families()  # the font list, read once
    data = sys.stdin.buffer.read()
    if not data:
        return
    answer = report_charts.draw_charts(pickle.loads(data))
    sys.stdout.buffer.write(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.flush()
