"""How far a run has got: what the flows report (a report started, a stage started, pages read,
a report finished) and how ``jstmine run`` / ``update`` show it.

The flows report to ``current()``, which does nothing unless a command is showing progress
(``showing(...)``): in a Dask worker process, or when the flow runs from a deployment, nothing is
shown and nothing is kept. The reporter lives in the process, never in a task's parameters, so it
never enters a cache key and is never pickled into a persisted result.

    on a terminal:     a rich progress display, a bar of stages per report, and one of pages
                       while a report is extracted
    in logs, CI, cron: plain lines on stderr, one per stage, and ``extract: 120/300 pages`` at
                       most every ``PAGE_LINE_SECONDS`` seconds or 10 % of the pages
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

# The stages of one report, in order, as the progress display counts them.
STAGES = ("acquire", "extract", "segment", "tokenize", "tag", "attribute", "facts", "relations", "policies",
          "keyterms", "claims", "build-tables", "check-findings", "publish", "report")
PAGE_LINE_SECONDS = 5.0  # plain progress: a page line at most this often …
PAGE_LINE_FRACTION = 0.10  # … unless this much more of the document has been read


class Progress:
    """Receives what the flows report; this one ignores it (nobody is watching)."""

    def start(self, label: str) -> None:
        """Work on the report ``label`` (an entry id or a file's name) begins."""

    def stage(self, label: str, name: str) -> None:
        """The report ``label`` enters stage ``name`` (one of ``STAGES``, or another step)."""

    def pages(self, done: int, total: int) -> None:
        """``done`` of ``total`` pages of the report being extracted are read (may be called
        from a thread of the extraction, one call at a time)."""

    def finish(self, label: str, outcome: str) -> None:
        """The report ``label`` is finished: ``outcome`` says how (done, unchanged, …)."""

    def note(self, text: str) -> None:
        """Something the analyst should know while it runs (e.g. where the stages run)."""

    def close(self) -> None:
        """Stop showing (the command prints its results next)."""


_current: Progress = Progress()
_lock = threading.Lock()


def current() -> Progress:
    """The reporter the flows report to: the one a command is showing, else one that does nothing."""
    return _current


@contextmanager
def showing(progress: Progress) -> Iterator[Progress]:
    """Report to ``progress`` for the duration (and close it at the end)."""
    global _current
    with _lock:
        previous, _current = _current, progress
    try:
        yield progress
    finally:
        with _lock:
            _current = previous
        progress.close()


def page_callback() -> Callable[[int, int], None] | None:
    """The ``progress`` argument for ``pipeline.extract.extract_pdf``: None when nobody is watching."""
    reporter = _current
    return None if type(reporter) is Progress else reporter.pages


class PlainProgress(Progress):
    """Plain lines for logs: ``label: stage`` per stage, ``label: extract: 120/300 pages`` now and
    then (every ``PAGE_LINE_SECONDS`` s or ``PAGE_LINE_FRACTION`` of the pages, and the last page),
    ``label: done``.

    Parameters:
        write: called with each line (without its newline), e.g. ``print`` to stderr.
        clock: seconds, monotonic (``time.monotonic``; a test passes its own).
    """

    def __init__(self, write: Callable[[str], None], clock: Callable[[], float] = time.monotonic):
        self.write, self.clock = write, clock
        self.active = ""
        self._last_line: tuple[float, int] | None = None  # (when, pages) of the last page line

    def start(self, label: str) -> None:
        self.active = label

    def stage(self, label: str, name: str) -> None:
        self.active = label
        self._last_line = None
        self.write(f"{label}: {name}")

    def pages(self, done: int, total: int) -> None:
        now = self.clock()
        if self._last_line is None:  # the first call of an extraction: (0, total) or a first count
            self._last_line = (now, 0)
            if done < total:
                return
        when, shown = self._last_line
        if done <= shown:
            return
        if done >= total or now - when >= PAGE_LINE_SECONDS or done - shown >= PAGE_LINE_FRACTION * total:
            self._last_line = (now, done)
            self.write(f"{self.active}: extract: {done}/{total} pages")

    def finish(self, label: str, outcome: str) -> None:
        self.write(f"{label}: {outcome}")

    def note(self, text: str) -> None:
        self.write(text)


class RichProgress(Progress):
    """A rich progress display on a terminal: per report a bar of its stages (the stage's name
    beside it) and, while it is extracted, a bar of its pages.

    Parameters:
        console: the rich console to draw on (the CLI's stderr console).
    """

    def __init__(self, console):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bars, TextColumn, TimeElapsedColumn

        self.bars = Bars(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                         console=console, transient=False)
        self.reports: dict[str, int] = {}  # label → its stage bar
        self.page_bar: int | None = None
        self.active = ""
        self.started = False  # drawn from the first bar on (nothing to draw while Prefect starts)
        self.rerouted: list[tuple[object, object]] = []  # (Prefect console, its file) while drawing

    def _report(self, label: str) -> int:
        if not self.started:
            self.bars.start()
            self.started = True
            self._reroute_logging()
        if label not in self.reports:
            self.reports[label] = self.bars.add_task(self._text(label, "waiting"), total=len(STAGES))
        return self.reports[label]

    @staticmethod
    def _text(label: str, what: str) -> str:
        from rich.markup import escape

        from pipeline.normalize import printable

        return f"[bold]{escape(printable(label))}[/]: {escape(printable(what))}"

    def start(self, label: str) -> None:
        self._report(label)

    def stage(self, label: str, name: str) -> None:
        task = self._report(label)
        self.active = label
        self._drop_pages()
        done = STAGES.index(name) if name in STAGES else None
        self.bars.update(task, description=self._text(label, name), **({} if done is None else {"completed": done}))

    def pages(self, done: int, total: int) -> None:
        if self.page_bar is None:
            self.page_bar = self.bars.add_task(self._text(self.active, "pages extracted"), total=total)
        self.bars.update(self.page_bar, completed=done, total=total)

    def _drop_pages(self) -> None:
        if self.page_bar is not None:
            self.bars.remove_task(self.page_bar)
            self.page_bar = None

    def finish(self, label: str, outcome: str) -> None:
        task = self._report(label)
        self._drop_pages()
        self.bars.update(task, description=self._text(label, outcome), completed=len(STAGES))

    def note(self, text: str) -> None:
        from rich.text import Text

        self.bars.console.print(Text(text, style="dim"))

    def _reroute_logging(self) -> None:
        """Prefect's console handlers write to the stderr they found when Prefect started, under
        the display; while it is drawn, they write through the display (which rich put in
        ``sys.stderr``), so their warnings appear above it."""
        import sys

        from flows.quiet import _prefect_console_handlers

        for handler in _prefect_console_handlers():
            console = getattr(handler, "console", None)
            if console is not None and sys.stderr is not console.file:
                self.rerouted.append((console, console.file))
                console.file = sys.stderr

    def close(self) -> None:
        if self.started:
            for console, file in self.rerouted:
                console.file = file
            self.rerouted.clear()
            self.bars.stop()


def for_console(console, write: Callable[[str], None] | None = None) -> Progress:
    """A rich display when ``console`` is a terminal, else plain lines (through ``write``, by
    default printed to ``console`` without markup).

    Parameters:
        console: a rich ``Console`` (the CLI's stderr console).
        write: where plain lines go; None prints them on ``console``.
    """
    if console.is_terminal and not console.is_dumb_terminal:
        return RichProgress(console)
    return PlainProgress(write or (lambda line: _plain(console.file, line)))


def _plain(stream: TextIO, line: str) -> None:
    from pipeline.normalize import printable

    stream.write(printable(line) + "\n")
    stream.flush()

