"""Tables: pdfplumber's ruling-line detection, with cell text from the cleaned glyphs."""
from __future__ import annotations

from pipeline.extract.glyphs import _inside
from pipeline.extract.lines import _cluster_rows, _join_lines, _make_line
from pipeline.extract.model import Table, _Glyph


def _tables(found: list, glyphs: list[_Glyph], page_number: int) -> list[Table]:
    """Tables from pdfplumber's ruling-line detection, with cell text built from our cleaned
    glyphs (no bold doubles, no (cid:N)) and wrapped lines joined like body text.

    Single-row or single-column "tables" are dropped: white background rectangles behind a
    text line make pdfplumber find those (mhlw_tsuchi page 2), and treating them as tables
    would cut that line out of the body text.
    """
    tables: list[Table] = []
    for t in sorted(found, key=lambda t: (t.bbox[1], t.bbox[0])):
        n_cols = max((len(r.cells) for r in t.rows), default=0)
        if len(t.rows) < 2 or n_cols < 2:
            continue
        inside = [g for g in glyphs if _inside(g, t.bbox)]
        rows = tuple(
            tuple(_cell_text(cell, inside) for cell in row.cells) + ("",) * (n_cols - len(row.cells))
            for row in t.rows
        )
        if not any(cell for row in rows for cell in row):
            continue
        x0, top, x1, bottom = (float(v) for v in t.bbox)
        tables.append(Table(page=page_number, index=len(tables), rows=rows, bbox=(x0, top, x1, bottom)))
    return tables


def _cell_text(cell: tuple[float, float, float, float] | None, glyphs: list[_Glyph]) -> str:
    if cell is None:
        return ""
    lines = [_make_line(row) for row in _cluster_rows([g for g in glyphs if _inside(g, cell)])]
    return _join_lines([line.text for line in lines])


# ---------------------------------------------------------------------------------------------
