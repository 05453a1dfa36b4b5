"""Tables and figures found in PDFium's drawings (pipeline/extract/pdfium_drawings.py): the
objects pdfplumber's table finder and the figure search read are pdfplumber's own, and both
engines find the same tables and figures, without pdfminer parsing a page PDFium read."""
from __future__ import annotations

from pathlib import Path

import pdfplumber
import pytest
from pdfminer.pdfinterp import PDFPageInterpreter
from PIL import Image
from reportlab.lib.utils import ImageReader

from pipeline.extract import ExtractConfig, extract_pdf
from pipeline.extract import pdfium_glyphs
from pipeline.extract.figures import figure_regions
from pipeline.extract.glyphs import _dedupe_glyphs, _drop_unmapped, _glyphs_from_chars
from pipeline.extract.pdfium_drawings import drawn_page
from pipeline.extract.tables import _tables
from pdfdraw import GOTHIC, MIN, draw_paragraph, draw_table, save_pdf

PARA = ("研究開発の成果を社会に届けるためには、大学と企業の連携を深め、若手研究者が挑戦できる環境を整える"
        "ことが欠かせない。各国は重点分野への投資を拡大している。")
RULED = [("国名", "重点分野", "予算"), ("米国", "生命科学", "２０億ドル"), ("英国", "量子技術", "５億ポンド")]
BOXED = [("分野", "件数"), ("人工知能", "１２０"), ("量子", "４５")]
BARS = [("大学", 60), ("企業", 110), ("国研", 40)]


def draw_tables_and_figures(c) -> None:
    """A paragraph, a ruled table (grid lines), a table of stroked cells on coloured backgrounds
    (filled rectangles), a bar chart (filled bars, axis lines, a round marker: curves) and a
    logo (an image inside a scaled Form XObject), with captions."""
    y = draw_paragraph(c, PARA, 72, 780)
    c.setFont(GOTHIC, 10.5)
    c.drawString(72, y - 10, "表１ 主要国の重点分野と予算")
    y = draw_table(c, RULED, 72, y - 18)
    c.setFont(GOTHIC, 10.5)
    c.drawString(72, y - 22, "表２ 分野別の件数")
    top = y - 30
    for r, row in enumerate(BOXED):
        for k, cell in enumerate(row):
            x, cy = 72 + k * 130, top - (r + 1) * 22
            c.setFillColorRGB(0.85, 0.9, 0.95) if r == 0 else c.setFillColorRGB(1, 1, 1)
            c.setStrokeColorRGB(0.2, 0.2, 0.2)
            c.rect(x, cy, 130, 22, stroke=1, fill=1)
            c.setFillColorRGB(0, 0, 0)
            c.setFont(MIN, 10.5)
            c.drawString(x + 6, cy + 7, cell)
    base, left = top - len(BOXED) * 22 - 160, 110
    c.setLineWidth(0.8)
    c.line(left - 10, base, left + 250, base)
    c.line(left - 10, base, left - 10, base + 130)
    c.setFont(MIN, 8)
    for k, (label, value) in enumerate(BARS):
        x = left + 10 + k * 75
        c.setFillColorRGB(0.3, 0.45 + 0.15 * k, 0.7)
        c.rect(x, base, 40, value, stroke=0, fill=1)
        c.circle(x + 20, base + value + 14, 4, stroke=1, fill=1)
        c.setFillColorRGB(0, 0, 0)
        c.drawString(x + 8, base - 11, label)
        c.drawString(x + 10, base + value + 22, str(value))
    c.drawString(left - 8, base + 134, "（億円）")
    c.setFont(GOTHIC, 10.5)
    c.drawString(150, base - 32, "図１ 研究主体別の研究費")
    c.beginForm("logo")
    c.drawImage(ImageReader(Image.new("RGB", (16, 16), (200, 40, 40))), 0, 0, width=40, height=40)
    c.endForm()
    c.saveState()
    c.translate(430, base + 40)
    c.scale(1.5, 1.5)
    c.doForm("logo")
    c.restoreState()


@pytest.fixture(scope="module")
def drawn_pdf(tmp_path_factory) -> Path:
    return save_pdf(tmp_path_factory.mktemp("drawings") / "tables-figures.pdf", [draw_tables_and_figures])


def _box(o: dict) -> tuple[float, ...]:
    return tuple(float(o[k]) for k in ("x0", "top", "x1", "bottom", "doctop", "width", "height", "y0", "y1"))


def _close(a, b, tol: float = 1e-3) -> bool:
    return len(a) == len(b) and all(abs(float(x) - float(y)) <= tol for x, y in zip(a, b, strict=True))


def _both(path: Path):
    """(pdfplumber's page, the page with PDFium's drawings, the page's glyphs) of page 1."""
    document = pdfium_glyphs.open_document(path)
    pdf = pdfplumber.open(path)
    page = pdf.pages[0]
    read = pdfium_glyphs.read_page(document, 1, float(page.height), page.page_obj.resources)
    assert read is not None
    upright, _ = _glyphs_from_chars(read.chars, page.bbox)
    glyphs, _ = _drop_unmapped(_dedupe_glyphs(upright))
    return pdf, document, page, drawn_page(page, read.census), glyphs


def test_pdfium_drawings_are_pdfplumbers_objects(drawn_pdf):
    pdf, document, page, drawn, _ = _both(drawn_pdf)
    with pdf:
        reference = page.objects
        for kind in ("rect", "line", "curve", "image"):
            ours, theirs = drawn.objects.get(kind, []), reference.get(kind, [])
            assert theirs, f"the test page draws no {kind}"
            assert len(ours) == len(theirs), kind
            for a, b in zip(ours, theirs, strict=True):
                assert _close(_box(a), _box(b)), (kind, _box(a), _box(b))
                if kind == "image":
                    continue
                assert (a["fill"], a["stroke"]) == (bool(b["fill"]), bool(b["stroke"])), kind
                assert _close([v for p in a["pts"] for v in p], [v for p in b["pts"] for v in p]), kind
                if b["fill"]:  # the test page sets RGB colours: PDFium's are the same
                    assert _close(a["non_stroking_color"], b["non_stroking_color"], 1 / 255), kind
        # the image is drawn through a scaled Form XObject: placed as pdfminer places it
        (image,) = drawn.images
        assert image["x1"] - image["x0"] == pytest.approx(60, abs=0.01)
    document.close()


def test_tables_and_figures_from_pdfium_drawings_are_pdfplumbers(drawn_pdf):
    pdf, document, page, drawn, glyphs = _both(drawn_pdf)
    with pdf:
        ours, theirs = _tables(drawn.find_tables(), glyphs, 1), _tables(page.find_tables(), glyphs, 1)
        assert [t.rows for t in ours] == [t.rows for t in theirs]
        assert [t.rows[0][:2] for t in ours] == [RULED[0][:2], BOXED[0]]
        for a, b in zip(ours, theirs, strict=True):
            assert _close(a.bbox, b.bbox)
        boxes = [t.bbox for t in theirs]
        figures = figure_regions(drawn, glyphs, 10.5, tables=boxes)
        assert figures  # the bar chart
        reference = figure_regions(page, glyphs, 10.5, tables=boxes)
        assert len(figures) == len(reference)
        for a, b in zip(figures, reference, strict=True):
            assert _close(a, b)
    document.close()


def test_both_engines_extract_the_same_tables_and_blocks(drawn_pdf):
    fast = extract_pdf(drawn_pdf, ExtractConfig(engine="pdfium", ocr="off"), workers=1)
    reference = extract_pdf(drawn_pdf, ExtractConfig(engine="pdfplumber", ocr="off"), workers=1)
    assert [(t.rows, t.caption) for t in fast.tables] == [(t.rows, t.caption) for t in reference.tables]
    assert len(fast.tables) == 2
    assert [(b.kind, b.text) for b in fast.blocks] == [(b.kind, b.text) for b in reference.blocks]
    assert any(b.kind == "figure_text" and "大学" in b.text for b in fast.blocks)


def test_pdfminer_does_not_parse_a_page_pdfium_read(drawn_pdf, monkeypatch):
    parsed: list[object] = []
    original = PDFPageInterpreter.process_page

    def recording(self, page):
        parsed.append(page)
        return original(self, page)

    monkeypatch.setattr(PDFPageInterpreter, "process_page", recording)
    fast = extract_pdf(drawn_pdf, ExtractConfig(engine="pdfium", ocr="off"), workers=1)
    assert len(fast.tables) == 2
    assert parsed == []
    extract_pdf(drawn_pdf, ExtractConfig(engine="pdfplumber", ocr="off"), workers=1)
    assert parsed  # the reference reader parses it (the recording works)
