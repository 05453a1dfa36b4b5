"""Pages flooded with drawings: a page that draws more images and paths than
``ExtractConfig.max_page_drawings`` is read as text only (pdfplumber's table finder and the figure
search take time that grows faster than the drawings: 200,000 rectangles on a page did not finish
in minutes), and a ``too_many_drawings`` problem names the page, the count and the limit.

Each PDF has a normal page (a paragraph and a ruled table) and a flooded page (a paragraph, a ruled
table and the flood, drawn away from both), built in several ways: filled rectangles, stroked
lines, Bézier curves, one path of many rectangles, a flood inside a Form XObject, images. Both
engines are run: PDFium's census stops collecting at the cap (it only counts), the reference
reader stops making pdfplumber objects there.
"""
from __future__ import annotations

import io
from pathlib import Path

import pdfplumber
import pytest
from PIL import Image
from reportlab.lib.utils import ImageReader

from pipeline.extract import ExtractConfig, extract_pdf, pdfium_glyphs
from pipeline.extract.glyphs import _page_chars_and_drawings
from pdfdraw import draw_paragraph, draw_table, save_pdf

ROOT = Path(__file__).resolve().parents[1]
SHARED_PDFS = ROOT.parent / "shared" / "pdfs"
ENGINES = ("pdfium", "pdfplumber")
PARA = "第一段落の本文である。研究開発投資の拡大と人材育成の強化が重要な課題として挙げられている。"
FLOOD_PARA = "第二段落の本文である。この頁には図形が非常に多く描かれているが、文章は読まれる。"
ROWS = [("国名", "件数"), ("日本", "12"), ("米国", "34")]
FLOOD_ROWS = [("分野", "予算"), ("量子", "56"), ("半導体", "78")]
DEFAULT_CAP = ExtractConfig().max_page_drawings


def _spot(i: int) -> tuple[float, float]:
    """Where the ``i``-th drawing goes: a grid 6 pt apart in the lower part of the page, away from
    the text and the tables (far enough apart for the table finder not to join them)."""
    return 60 + (i % 80) * 6, 60 + (i // 80) % 40 * 6


def _rects(c, n: int) -> None:
    c.setFillColorRGB(0.2, 0.4, 0.6)
    for i in range(n):
        c.rect(*_spot(i), 1.5, 1.5, stroke=0, fill=1)


def _lines(c, n: int) -> None:
    c.setLineWidth(0.5)
    for i in range(n):
        x, y = _spot(i)
        c.line(x, y, x + 1.5, y + 1.5)


def _curves(c, n: int) -> None:
    for i in range(n):
        x, y = _spot(i)
        c.bezier(x, y, x + 0.5, y + 1.5, x + 1, y + 1.5, x + 1.5, y)


def _one_path(c, n: int) -> None:
    """``n`` rectangles as the subpaths of one path, filled once."""
    path = c.beginPath()
    for i in range(n):
        path.rect(*_spot(i), 1.5, 1.5)
    c.drawPath(path, stroke=0, fill=1)


def _in_form(c, n: int) -> None:
    """The rectangles drawn by a Form XObject the page draws."""
    c.beginForm("flood")
    _rects(c, n)
    c.endForm()
    c.doForm("flood")


def _images(c, n: int) -> None:
    pixel = io.BytesIO()
    Image.new("RGB", (2, 2), (200, 30, 30)).save(pixel, format="PNG")
    image = ImageReader(io.BytesIO(pixel.getvalue()))
    for i in range(n):  # one image XObject, drawn n times
        c.drawImage(image, *_spot(i), 1.5, 1.5)


FLOODS = {"rects": _rects, "lines": _lines, "curves": _curves, "one-path": _one_path, "form": _in_form,
          "images": _images}


def flood_pdf(path: Path, flood: str, n: int) -> Path:
    """Page 1: a paragraph and a ruled table; page 2: a paragraph, a ruled table and ``n`` drawings
    of kind ``flood`` (the table's grid adds 7 lines: ``n + 7`` in all)."""

    def normal(c) -> None:
        draw_paragraph(c, PARA, 72, 780)
        draw_table(c, ROWS, 72, 700)

    def flooded(c) -> None:
        draw_paragraph(c, FLOOD_PARA, 72, 780)
        draw_table(c, FLOOD_ROWS, 72, 700)
        FLOODS[flood](c, n)

    return save_pdf(path, [normal, flooded])


TABLE_LINES = 7  # the ruled grid of a 3 x 2 table: 4 horizontal and 3 vertical lines


def _flood_problems(doc) -> list:
    return [p for p in doc.problems if p.kind == "too_many_drawings"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("flood", sorted(FLOODS))
def test_a_flooded_page_is_read_as_text_and_reported(tmp_path, flood, engine):
    n = 300
    drawn = n + TABLE_LINES
    path = flood_pdf(tmp_path / f"{flood}.pdf", flood, n)
    doc = extract_pdf(path, ExtractConfig(engine=engine, max_page_drawings=200, ocr="off"), workers=1)

    # The flooded page's text is read; its table and figures are not looked for.
    text = doc.pages[1].text.replace("\n", "")
    assert FLOOD_PARA in text
    assert "量子" in text and "半導体" in text  # the table's text stays body text
    assert not [t for t in doc.tables if t.page == 2]
    assert not [b for b in doc.blocks if b.page == 2 and b.kind == "figure_text"]
    # The normal page of the same document still gets its table.
    assert [(t.page, t.rows) for t in doc.tables] == [(1, tuple(ROWS))]
    assert PARA in doc.pages[0].text.replace("\n", "")

    [problem] = _flood_problems(doc)
    assert problem.page == 2
    assert f"page 2 draws {drawn:,} images and paths" in problem.detail
    assert "more than the 200 " in problem.detail
    assert "--max-page-drawings" in problem.detail and "ExtractConfig.max_page_drawings" in problem.detail
    assert [p.page for p in doc.problems] == [2]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("flood", sorted(FLOODS))
def test_the_same_page_under_the_cap_gets_its_table(tmp_path, flood, engine):
    """The flooded page's table is found when the cap lets it (so the tests above can fail)."""
    path = flood_pdf(tmp_path / f"{flood}.pdf", flood, 300)
    for cap in (300 + TABLE_LINES, 10 * 300):
        doc = extract_pdf(path, ExtractConfig(engine=engine, max_page_drawings=cap, ocr="off"), workers=1)
        assert [(t.page, t.rows) for t in doc.tables] == [(1, tuple(ROWS)), (2, tuple(FLOOD_ROWS))], cap
        assert not _flood_problems(doc)
    doc = extract_pdf(path, ExtractConfig(engine=engine, max_page_drawings=300 + TABLE_LINES - 1, ocr="off"),
                      workers=1)
    assert [t.page for t in doc.tables] == [1]
    assert f"draws {300 + TABLE_LINES:,} images" in _flood_problems(doc)[0].detail


@pytest.mark.parametrize("engine", ENGINES)
def test_a_flood_just_above_the_default_cap(tmp_path, engine):
    n = DEFAULT_CAP - TABLE_LINES + 1  # one drawing more than the default allows
    path = flood_pdf(tmp_path / "rects.pdf", "rects", n)
    doc = extract_pdf(path, ExtractConfig(engine=engine, ocr="off"), workers=1)
    assert [(t.page, t.rows) for t in doc.tables] == [(1, tuple(ROWS))]
    assert FLOOD_PARA in doc.pages[1].text.replace("\n", "")
    [problem] = _flood_problems(doc)
    assert problem.page == 2
    assert f"draws {DEFAULT_CAP + 1:,} images and paths, " in problem.detail.replace(" (rectangles, lines, curves)", "")
    assert f"more than the {DEFAULT_CAP:,} " in problem.detail


def test_a_flood_read_by_worker_processes(tmp_path):
    """The problem comes back from the worker process that read the page."""
    pages = [lambda c: draw_paragraph(c, PARA, 72, 780)] * 16
    pages[9] = lambda c: (draw_paragraph(c, FLOOD_PARA, 72, 780), _rects(c, 500))
    path = save_pdf(tmp_path / "long.pdf", pages)
    config = ExtractConfig(max_page_drawings=400, ocr="off")
    doc = extract_pdf(path, config, workers=2)
    assert [(p.page, p.kind) for p in doc.problems] == [(10, "too_many_drawings")]
    assert "draws 500 images" in doc.problems[0].detail
    assert doc == extract_pdf(path, config, workers=1)


@pytest.mark.parametrize("flood", sorted(FLOODS))
def test_the_census_counts_without_collecting_beyond_the_cap(tmp_path, flood):
    """PDFium's census and the reference reader's objects hold none of the page's drawings once
    there are more than the cap, and both count them the same."""
    path = flood_pdf(tmp_path / f"{flood}.pdf", flood, 300)
    document = pdfium_glyphs.open_document(path)
    try:
        with pdfplumber.open(path) as pdf:
            page = pdf.pages[1]
            read = pdfium_glyphs.read_page(document, 2, float(page.height), page.page_obj.resources,
                                           max_drawings=100)
            assert read.census.overflow == 300 + TABLE_LINES
            assert read.census.paths == [] and read.census.boxes == {}
            full = pdfium_glyphs.read_page(document, 2, float(page.height), page.page_obj.resources)
            assert full.census.overflow == 0
            assert len(full.census.paths) + len(full.census.get("image")) == 300 + TABLE_LINES
            assert read.chars == full.chars
            chars, drawn = _page_chars_and_drawings(page, 100)
            assert drawn == 300 + TABLE_LINES
            assert not any(page.objects.get(kind) for kind in ("rect", "line", "curve", "image"))
        with pdfplumber.open(path) as pdf:
            all_chars, all_drawn = _page_chars_and_drawings(pdf.pages[1])
            assert (all_chars, all_drawn) == (chars, drawn)
            assert sum(len(pdf.pages[1].objects.get(k, ())) for k in ("rect", "line", "curve", "image")) == drawn
    finally:
        document.close()


@pytest.mark.parametrize("value", [0, -5, 2.5, "many", True, None])
def test_the_cap_must_be_a_positive_whole_number(tmp_path, value):
    path = flood_pdf(tmp_path / "rects.pdf", "rects", 10)
    with pytest.raises(ValueError, match="max_page_drawings"):
        extract_pdf(path, ExtractConfig(max_page_drawings=value), workers=1)


def _busiest_page(path: Path) -> int:
    """The most images and paths a page of ``path`` draws (PDFium's census, the reference reader's
    objects on the pages PDFium leaves to it)."""
    most = 0
    document = pdfium_glyphs.open_document(path)
    try:
        with pdfplumber.open(path) as pdf:
            for page in pdf.pages:
                read = pdfium_glyphs.read_page(document, page.page_number, float(page.height),
                                               page.page_obj.resources)
                if read is None:
                    most = max(most, _page_chars_and_drawings(page)[1])
                else:
                    most = max(most, len(read.census.paths) + len(read.census.get("image")))
    finally:
        document.close()
    return most


@pytest.mark.parametrize("name", sorted(p.name for p in SHARED_PDFS.glob("*.pdf")) or ["(none)"])
def test_real_pages_draw_far_fewer_than_the_default_cap(name):
    """No page of a real PDF comes near the default: it changes nothing they extract."""
    path = SHARED_PDFS / name
    if not path.is_file():
        pytest.skip(f"{SHARED_PDFS} is not there")
    assert _busiest_page(path) * 5 < DEFAULT_CAP
    doc = extract_pdf(path, ExtractConfig(ocr="off"), workers=1) if name != "bocchan_notextlayer.pdf" else None
    if doc is not None:
        assert not _flood_problems(doc)
        assert doc == extract_pdf(path, ExtractConfig(ocr="off", max_page_drawings=10**9), workers=1)


def test_jstmine_run_passes_the_option_to_the_flow(tmp_path, monkeypatch):
    import flows.process_report
    from typer.testing import CliRunner

    from flows.main import app
    from pipeline.errors import PipelineError

    seen: dict = {}

    class Stopped:  # the flow's state: it failed with a clear error
        def result(self, raise_on_failure=True):
            return PipelineError("stopped by the test", "nothing")

    def flow(**kwargs):
        seen.update(kwargs)
        return Stopped()

    monkeypatch.setattr(flows.process_report, "process_report", flow)
    path = flood_pdf(tmp_path / "rects.pdf", "rects", 10)
    common = ["run", "--source", str(path), "--out", str(tmp_path / "out"), "--raw", str(tmp_path / "raw")]
    result = CliRunner().invoke(app, [*common, "--max-page-drawings", "123"])
    assert result.exit_code == 1 and "stopped by the test" in result.output, result.output
    assert seen["max_page_drawings"] == 123
    result = CliRunner().invoke(app, [*common])
    assert seen["max_page_drawings"] is None  # ExtractConfig's default
    result = CliRunner().invoke(app, [*common, "--max-page-drawings", "0"])
    assert result.exit_code == 2 and "--max-page-drawings" in result.output


def test_the_limit_is_in_the_extract_cache_key():
    """It changes what is extracted (unlike the resource limits): a run with another limit is not
    taken for the one published."""
    from dataclasses import replace

    from flows.process_report import RunConfig, stage_keys

    base = RunConfig()
    keys = stage_keys("0" * 64, base)
    assert stage_keys("0" * 64, replace(base, extract=ExtractConfig(max_page_drawings=5)))["extract"] != keys["extract"]
    assert stage_keys("0" * 64, replace(base, extract=ExtractConfig(max_stream_mb=5)))["extract"] == keys["extract"]
