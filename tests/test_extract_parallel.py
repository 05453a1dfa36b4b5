"""extract_pdf reading pages in worker processes gives exactly what reading in one process gives.

The documents cover what the cross-page steps depend on: running heads and feet, pages whose
top row looks like a running head but is not one (they are read again with the decision),
pages with little text (they take the document's body size), two columns, tables, fake bold,
a heading level set by font size across pages, and unmapped glyphs.
"""
from __future__ import annotations

import multiprocessing
from dataclasses import asdict
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

import pipeline.extract.reader as extract
from pdfdraw import GOTHIC, HEIGHT, MIN, WIDTH, draw_paragraph, draw_table, wrap
from pipeline.extract import ExtractConfig, ExtractedDocument, extract_pdf
from samples.build import build_sample_pdf

BODY = (
    "我が国の科学技術政策は、研究開発の推進と人材の育成を柱として、産学官の連携を強化しつつ、"
    "国際的な競争力の向上を目指している。特に量子技術と人工知能の分野では、基礎研究から社会実装"
    "までを一体的に支援する枠組みが整えられた。一方で、半導体の供給網をめぐる国際情勢は不安定で"
    "あり、同盟国との協力による経済安全保障の確保が急務となっている。"
)


def _page(c: canvas.Canvas, n: int) -> None:
    kind = n % 10
    if kind != 7:  # running head (title + chapter, set apart) and foot; page 7, 17, …: none
        c.setFont(GOTHIC, 8)
        c.drawString(72, HEIGHT - 40, "新興技術政策の国際動向")
        c.drawRightString(WIDTH - 72, HEIGHT - 40, f"第{(n - 1) // 10 + 1}章")
    c.setFont(MIN, 9)
    c.drawCentredString(WIDTH / 2, 30, f"- {n} -")
    if kind == 1:  # a chapter's first page: large heading
        chapter = (n - 1) // 10 + 1
        c.setFont(GOTHIC, 18)
        c.drawString(72, HEIGHT - 90, f"第{chapter}章 各国の重要技術政策")
        y = draw_paragraph(c, f"第{n}頁。" + BODY, 72, HEIGHT - 130)
        c.setFont(GOTHIC, 13)
        c.drawString(72, y - 4, f"{chapter}.1 研究開発の動向")
        draw_paragraph(c, BODY, 72, y - 30)
    elif kind == 3:  # two columns
        for x in (72, 310):
            y = HEIGHT - 90
            c.setFont(MIN, 10)
            for line in wrap(f"\u3000第{n}頁の段。" + BODY + BODY, 21):
                c.drawString(x, y, line)
                y -= 15
    elif kind == 5:  # a table between paragraphs
        y = draw_paragraph(c, BODY, 72, HEIGHT - 90)
        rows = [("国名", "重点分野", "年"), ("米国", "量子技術", f"{2000 + n}"), ("英国", "人工知能", "2023")]
        draw_paragraph(c, BODY, 72, draw_table(c, rows, 72, y - 10) - 54)
    elif kind == 7:  # no running head; a short body-font line at the top, set apart
        c.setFont(MIN, 10.5)
        c.drawString(72, HEIGHT - 45, f"（第{n}頁の注記）")
        draw_paragraph(c, BODY + BODY, 72, HEIGHT - 110)
    elif kind == 8:  # little text: takes the document's body size
        c.setFont(GOTHIC, 12)
        for dx in (0, 0.3):  # fake bold
            c.drawString(72 + dx, HEIGHT - 90, "この頁は空白です")
    else:
        y = draw_paragraph(c, f"第{n}頁。" + BODY, 72, HEIGHT - 90)
        y = draw_paragraph(c, BODY, 72, y)
        draw_paragraph(c, BODY + BODY, 72, y)


@pytest.fixture(scope="module")
def forty_pages(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("parallel") / "forty.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setTitle("40 pages")
    for n in range(1, 41):
        _page(c, n)
        c.showPage()
    c.save()
    return path


def _as_data(doc: ExtractedDocument) -> dict:
    return {
        "pages": [asdict(p) for p in doc.pages],
        "blocks": [asdict(b) for b in doc.blocks],
        "tables": [asdict(t) for t in doc.tables],
        "problems": [asdict(p) for p in doc.problems],
        "metadata": doc.metadata,
    }


def _same_in_every_mode(path: Path, config: ExtractConfig = ExtractConfig()) -> ExtractedDocument:
    one = extract_pdf(path, config, workers=1)
    for workers in (2, 3):
        assert _as_data(extract_pdf(path, config, workers=workers)) == _as_data(one), workers
    return one


def test_forty_pages_in_worker_processes_equal_one_process(forty_pages, monkeypatch):
    started = []

    class Counted(extract._WorkerProcess):
        def __init__(self, *args):
            super().__init__(*args)
            started.append(self.proc.pid)

    monkeypatch.setattr(extract, "_WorkerProcess", Counted)
    doc = _same_in_every_mode(forty_pages)
    assert len(started) == 1 + 2  # workers=2: this process and one worker; workers=3: two workers

    assert len(doc.pages) == 40
    assert doc.pages[0].removed_lines == ("新興技術政策の国際動向 第1章", "- 1 -")
    assert doc.pages[6].removed_lines == ("- 7 -",)  # its top line is not a running head
    assert doc.blocks[0].text == "第1章 各国の重要技術政策" and doc.blocks[0].level == 1
    assert "（第7頁の注記）" in doc.pages[6].text
    assert [p.columns for p in doc.pages[2:4]] == [2, 1]
    assert [t.page for t in doc.tables] == [5, 15, 25, 35]
    assert doc.tables[0].rows[1] == ("米国", "量子技術", "2005")
    assert [b.text for b in doc.blocks if b.page == 8] == ["この頁は空白です"]


def test_pages_whose_assumption_fails_are_read_again(forty_pages, monkeypatch):
    """Every page is first built as if its candidate rows were running lines, with its own body
    size; the pages where that is wrong are read again: 7, 17, … (the top line is a note, not a
    running head). Pages 3, 13, … are set in 10 pt in a 10.5 pt document, but nothing on them is
    set larger than either, so the document's size would change none of their headings: they
    are not read again."""
    again = []
    record = extract._page_record

    def spy(page, path, config, n_pages, assumed, doc_body_size, *known_ocr):
        if assumed is not None:
            again.append(page.page_number)
        return record(page, path, config, n_pages, assumed, doc_body_size, *known_ocr)

    monkeypatch.setattr(extract, "_page_record", spy)
    extract_pdf(forty_pages, workers=1)
    assert again == [7, 17, 27, 37]


def test_sample_edition_in_worker_processes_equals_one_process(tmp_path, monkeypatch):
    monkeypatch.setattr(extract, "PARALLEL_MIN_PAGES", 2)  # the sample has 16 pages
    doc = _same_in_every_mode(build_sample_pdf(tmp_path / "sample.pdf"))
    assert len(doc.pages) >= 10 and doc.tables


def test_configuration_is_honoured_in_workers(forty_pages):
    doc = _same_in_every_mode(forty_pages, ExtractConfig(extract_tables=False, repeat_share=0.95))
    assert not doc.tables
    assert doc.pages[1].removed_lines == ("- 2 -",)  # the head repeats on 36 of 40 pages only


def test_unmapped_glyphs_are_reported_the_same(monkeypatch):
    path = Path(__file__).resolve().parents[2] / "shared" / "pdfs" / "pdfminer_nonfree_kampo.pdf"
    if not path.is_file():
        pytest.skip(f"{path} is not there")
    monkeypatch.setattr(extract, "PARALLEL_MIN_PAGES", 1)
    assert _same_in_every_mode(path).problems


def test_worker_errors_reach_the_caller(forty_pages):
    worker = extract._WorkerProcess(forty_pages, ExtractConfig(), 40)
    try:
        records = worker.read([1, 2], None, None)
        assert [r.number for r in records] == [1, 2] and records[0].drafts
        with pytest.raises(IndexError):  # raised in the worker, re-raised here
            worker.read([41], None, None)
        assert [r.number for r in worker.read([40], None, None)] == [40]  # and it goes on
        worker.proc.kill()
        worker.proc.wait()
        with pytest.raises(RuntimeError, match="ended unexpectedly"):
            worker.read([3], None, None)
    finally:
        worker.close()


def test_workers_are_not_used_in_a_daemonic_process(monkeypatch):
    class Daemon:
        daemon = True

    assert extract._worker_count(None, 300) > 1 or extract.os.cpu_count() == 1
    monkeypatch.setattr(multiprocessing, "current_process", lambda: Daemon())
    assert extract._worker_count(None, 300) == 1
    assert extract._worker_count(4, 300) == 1


def test_small_documents_and_workers_1_read_in_this_process():
    assert extract._worker_count(None, extract.PARALLEL_MIN_PAGES - 1) == 1
    assert extract._worker_count(1, 300) == 1
    assert extract._worker_count(8, 300) == 8
    with pytest.raises(ValueError):
        extract._worker_count(0, 300)


def test_workers_is_not_part_of_the_configuration():
    """The Prefect cache key hashes ExtractConfig: the worker count changes speed, not output."""
    assert "workers" not in asdict(ExtractConfig())


def test_requests_sent_ahead_are_answered_in_order_and_the_worker_exits_cleanly(forty_pages):
    """The pool keeps a second request in a worker's pipe: replies come in the order asked,
    an error answers its own request only, and the worker ends with code 0 when closed."""
    worker = extract._WorkerProcess(forty_pages, ExtractConfig(), 40)
    try:
        worker.send_request([3, 4], None, None)
        worker.send_request([41], None, None)
        worker.send_request([1], None, None)
        assert [r.number for r in worker.receive()] == [3, 4]
        with pytest.raises(IndexError):
            worker.receive()
        assert [r.number for r in worker.receive()] == [1]
    finally:
        worker.close()
    assert worker.proc.returncode == 0


@pytest.mark.parametrize("pages, processes", [(300, 2), (40, 3), (17, 4), (1000, 4)])
def test_chunks_cover_every_page_once_and_shrink_towards_the_end(pages, processes):
    least = 2
    most = min(16, max(least, -(-pages // (processes * 8))))
    sizes, start = [], 0
    while start < pages:
        size = extract._chunk_size(pages - start, processes, least, most)
        assert 1 <= size <= most
        sizes.append(size)
        start += size
    assert start == pages
    assert sizes == sorted(sizes, reverse=True)  # never larger than the one before
    assert sizes[-1] <= least and (most == least or sizes[0] > sizes[-1])


def test_an_error_in_a_worker_with_requests_sent_ahead_reaches_the_caller(forty_pages, monkeypatch):
    """Every chunk the worker is asked for fails (page 41 does not exist): the pool still reads
    every reply it asked for, does not hang, and raises the worker's error."""
    class Failing(extract._WorkerProcess):
        def send_request(self, numbers, decided, doc_body_size, known=None):
            return super().send_request([*numbers, 41], decided, doc_body_size, known)

    monkeypatch.setattr(extract, "_WorkerProcess", Failing)
    with pytest.raises(IndexError):
        extract_pdf(forty_pages, workers=2)
