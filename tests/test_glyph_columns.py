"""Glyphs of a page read by PDFium as columns (pipeline/extract/pdfium_glyphs.py ``GlyphColumns``,
glyphs.py ``_glyphs_from_columns``): the glyph records are those the per-glyph path
(``_glyphs_from_chars`` of the same glyphs as ``_Char`` tuples) makes, on generated pages of every
layout and on every page of the test PDFs."""
from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pdfplumber
import pytest

from pipeline.extract import pdfium_glyphs
from pipeline.extract.glyphs import _glyphs_from_chars, _glyphs_from_columns
from pipeline.extract.pdfium_glyphs import GlyphColumns
from reportpdf import LAYOUTS, build_report_pdf

ROOT = Path(__file__).resolve().parents[1]
SHARED_PDFS = ROOT.parent / "shared" / "pdfs"
BBOX = (0.0, 0.0, 595.0, 842.0)
FONTS = ["ABCDEF+MS-Mincho", "ABCDEF+MS-Gothic-Bold", "Helvetica", b"\x82l\x82r\x96\xbe\x92\xa9", "Times-Bold"]


def _fields(glyphs) -> list[tuple]:
    return [(g.text, g.x0, g.x1, g.top, g.bottom, g.size, g.font, g.bold, g.marker) for g in glyphs]


def _same(chars, columns: GlyphColumns, bbox=BBOX) -> None:
    """Both paths make the same upright and rotated glyphs, field by field and of the same types."""
    old_up, old_turned = _glyphs_from_chars(chars, bbox)
    new_up, new_turned = _glyphs_from_columns(columns, bbox)
    assert _fields(new_up) == _fields(old_up)
    assert _fields(new_turned) == _fields(old_turned)
    assert [type(v) for g in new_up[:50] for v in _fields([g])[0]] == \
        [type(v) for g in old_up[:50] for v in _fields([g])[0]]


def _line(rng: random.Random, x: float, top: float, size: float, count: int, font, upright=True) -> list[tuple]:
    chars = []
    for k in range(count):
        x0 = x + k * size * rng.uniform(0.95, 1.05)
        chars.append((rng.choice("科学技術政策の研究開発AI量子 、。1"), x0, x0 + size, top, top + size, size, font, upright))
    return chars


def _page(layout: str, seed: int) -> list[tuple]:
    """Generated glyphs (``_Char`` tuples) of one page: one or two columns, a superscript, a bold
    double drawn twice, a table grid, a rotated label, glyphs off the page."""
    rng = random.Random(seed)
    chars: list[tuple] = []
    columns = [(72.0, 450.0)] if layout == "one_column" else [(60.0, 260.0), (310.0, 260.0)]
    for left, width in columns:
        for row in range(rng.randint(5, 30)):
            size = rng.choice([10.5, 10.5, 10.5, 12.0, 7.0])
            chars += _line(rng, left, 80 + row * 18.0, size, int(width // size), rng.choice(FONTS))
    if layout == "superscript":
        base = chars[-1]
        chars.append(("1", base[2], base[2] + 4.0, base[3] - 3.0, base[3] + 3.0, 6.0, base[6], True))
    if layout == "bold_doubles":
        chars += [(c[0], c[1] + 0.3, c[2] + 0.3, c[3], c[4], c[5], c[6], c[7]) for c in chars[:20]]
    if layout == "table":
        for r in range(6):
            for col in range(4):
                chars += _line(rng, 80 + col * 110.0, 500 + r * 20.0, 9.0, 5, FONTS[0])
    if layout == "vertical":
        for k in range(30):  # stacked down a column, as vertical writing is set
            chars.append(("縦", 500.0, 510.5, 100 + 11.0 * k, 110.5 + 11.0 * k, 10.5, FONTS[0], True))
    chars += _line(rng, 30.0, 700.0, 9.0, 8, FONTS[2], upright=False)  # a rotated label
    chars += _line(rng, 620.0, 100.0, 10.0, 3, FONTS[1])  # off the page (right)
    chars += _line(rng, 100.0, -40.0, 10.0, 3, FONTS[1])  # off the page (top)
    chars.append(("x", 590.0, 600.0, 830.0, 854.0, 10.0, FONTS[2], True))  # centre exactly on the edges
    if layout == "shuffled":
        rng.shuffle(chars)
    return chars


@pytest.mark.parametrize("layout", ["one_column", "two_columns", "superscript", "bold_doubles", "table", "vertical",
                                    "shuffled"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_columns_make_the_glyphs_tuples_make(layout, seed):
    chars = _page(layout, seed)
    _same(chars, GlyphColumns.of_chars(chars))


def test_glyphs_of_text_objects_share_their_font_and_upright():
    """Columns as PDFium's reading makes them (fonts and upright once per text object) against
    the tuples they stand for."""
    rng = random.Random(7)
    n, objects = 400, 12
    source = np.array(sorted(rng.randrange(objects) for _ in range(n)), dtype=np.int64)
    x0 = np.array([rng.uniform(-20, 620) for _ in range(n)])
    top = np.array([rng.uniform(-20, 860) for _ in range(n)])
    size = np.array([rng.choice([7.0, 10.5, 12.0]) for _ in range(n)])
    columns = GlyphColumns([rng.choice("あ 1A") for _ in range(n)], x0, x0 + size, top, top + size, size, source,
                           [FONTS[k % len(FONTS)] for k in range(objects)],
                           np.array([k % 5 != 0 for k in range(objects)], dtype=bool))
    chars = columns.chars()
    assert [c[6] for c in chars] == [FONTS[s % len(FONTS)] for s in source.tolist()]
    _same(chars, columns)
    _same(chars, columns, bbox=(10.0, 15.5, 400.0, 600.25))


def test_nan_and_empty_pages_go_as_in_the_per_glyph_path():
    chars = [("a", math.nan, 10.0, 10.0, 20.0, 10.0, FONTS[2], True), ("b", 10.0, 20.0, 10.0, 20.0, 10.0, FONTS[2], True)]
    _same(chars, GlyphColumns.of_chars(chars))
    _same([], GlyphColumns.of_chars([]))
    assert repr(GlyphColumns.of_chars(chars).chars()) == repr(chars)  # (NaN is not equal to itself)


def _pdfs(tmp: Path) -> list[Path]:
    pdfs = []
    for layout in LAYOUTS:
        path = tmp / f"report-{layout}.pdf"
        build_report_pdf(path, layout)
        pdfs.append(path)
    return pdfs + (sorted(SHARED_PDFS.glob("*.pdf")) if SHARED_PDFS.is_dir() else [])


def test_every_page_pdfium_reads_gives_the_same_glyphs_both_ways(tmp_path):
    read_pages = 0
    for path in _pdfs(tmp_path):
        document = pdfium_glyphs.open_document(path)
        with pdfplumber.open(path) as pdf:
            for page in pdf.pages:
                read = pdfium_glyphs.read_page(document, page.page_number, float(page.height),
                                               page.page_obj.resources)
                if read is None:
                    continue
                read_pages += 1
                chars = read.chars
                assert len(read.columns) == len(chars)
                _same(chars, read.columns, page.bbox)
        document.close()
    assert read_pages > 20


@pytest.mark.parametrize("seed", range(5))
def test_a_page_whose_glyphs_are_all_upright_and_inside_it_makes_the_same_records(seed):
    """The path that selects nothing (every glyph kept as upright): the same records as the
    per-glyph path, and none rotated; an empty page too."""
    rng = random.Random(seed)
    chars = []
    for row in range(rng.randint(1, 20)):
        chars += _line(rng, 72.0, 80 + row * 18.0, 10.5, rng.randint(1, 40), rng.choice(FONTS))
    columns = GlyphColumns.of_chars(chars)
    assert bool(np.all((columns.x0 + columns.x1) / 2 <= BBOX[2]))  # (all inside: the path tested)
    _same(chars, columns)
    assert _glyphs_from_columns(columns, BBOX)[1] == []
    _same([], GlyphColumns.of_chars([]))
