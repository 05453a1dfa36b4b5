"""Progress: extract_pdf's page callback (in this process and with worker processes), and the
plain progress lines the CLI writes when its output is not a terminal."""
from __future__ import annotations

import threading
from itertools import pairwise
from dataclasses import asdict

import pytest

from flows.progress import PAGE_LINE_SECONDS, STAGES, PlainProgress, Progress, current, page_callback, showing
from pipeline.extract import extract_pdf
from samples.build import build_sample_pdf


@pytest.fixture(scope="module")
def sample_pdf(tmp_path_factory):
    return build_sample_pdf(tmp_path_factory.mktemp("progress") / "sample.pdf")


@pytest.mark.parametrize("workers", [1, 2])
def test_the_page_callback_counts_up_to_the_page_total(sample_pdf, workers):
    calls: list[tuple[int, int, str]] = []
    watched = extract_pdf(sample_pdf, workers=workers,
                          progress=lambda done, total: calls.append((done, total, threading.current_thread().name)))
    total = len(watched.pages)
    assert total >= 16  # enough pages for worker processes to read some (PARALLEL_MIN_PAGES)
    counts = [done for done, _, _ in calls]
    assert counts[0] == 0 and counts[-1] == total
    assert all(b > a for a, b in pairwise(counts)), counts  # strictly increasing
    assert {t for _, t, _ in calls} == {total}
    if workers == 1:
        assert counts == list(range(total + 1))  # page by page
    else:
        assert len(counts) < total + 1  # chunk by chunk: worker processes read some
    # Watching changes nothing.
    assert asdict(watched) == asdict(extract_pdf(sample_pdf, workers=workers))


def test_an_exception_in_the_callback_stops_the_extraction(sample_pdf):
    def broken(done, total):
        if done == 3:
            raise RuntimeError("watcher failed")

    with pytest.raises(RuntimeError, match="watcher failed"):
        extract_pdf(sample_pdf, workers=1, progress=broken)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_every_tenth_of_the_pages_or_every_few_seconds_and_the_last_page():
    lines: list[str] = []
    clock = Clock()
    plain = PlainProgress(lines.append, clock)
    plain.start("fy24_rr02")
    plain.stage("fy24_rr02", "extract")
    plain.pages(0, 300)
    for done in range(1, 301):  # fast pages: a line per 10 %
        plain.pages(done, 300)
    page_lines = [ln for ln in lines if "pages" in ln]
    assert page_lines == [f"fy24_rr02: extract: {n}/300 pages" for n in range(30, 301, 30)]

    lines.clear()
    plain.stage("fy24_rr02", "extract")  # a slow document: a line when a few seconds have passed
    plain.pages(0, 300)
    for done in range(1, 11):
        clock.now += PAGE_LINE_SECONDS / 2
        plain.pages(done, 300)
    assert lines == ["fy24_rr02: extract"] + [f"fy24_rr02: extract: {n}/300 pages" for n in (2, 4, 6, 8, 10)]
    plain.finish("fy24_rr02", "done")
    assert lines[-1] == "fy24_rr02: done"


def test_nobody_watching_means_no_callback_and_showing_restores_the_previous_reporter():
    assert type(current()) is Progress and page_callback() is None
    lines: list[str] = []
    with showing(PlainProgress(lines.append)) as shown:
        assert current() is shown and page_callback() == shown.pages
        for name in STAGES[:3]:
            current().stage("r", name)
    assert type(current()) is Progress and page_callback() is None
    assert lines == ["r: acquire", "r: extract", "r: segment"]


def test_on_a_terminal_a_bar_per_report_and_one_of_pages_while_extracting():
    import io

    from rich.console import Console

    from flows.progress import RichProgress, for_console

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100, color_system=None)
    shown = for_console(console)
    assert isinstance(shown, RichProgress)
    assert isinstance(for_console(Console(file=io.StringIO(), force_terminal=False)), PlainProgress)
    with showing(shown):
        shown.start("fy24_rr02")
        shown.stage("fy24_rr02", "extract")
        shown.pages(0, 300)
        shown.pages(120, 300)
        assert [t.completed for t in shown.bars.tasks] == [STAGES.index("extract"), 120]
        shown.bars.refresh()
        shown.stage("fy24_rr02", "segment")  # the pages' bar goes once extraction is over
        assert len(shown.bars.tasks) == 1
        shown.finish("fy24_rr02", "done")
        assert shown.bars.tasks[0].completed == len(STAGES)
    drawn = screen.getvalue()
    assert "fy24_rr02: pages extracted" in drawn and "120/300" in drawn and "fy24_rr02: done" in drawn
