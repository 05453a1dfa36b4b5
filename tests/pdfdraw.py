"""Drawing test PDFs with reportlab: Japanese CID fonts, wrapped paragraphs, ruled tables."""
from __future__ import annotations

from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

MIN = "HeiseiMin-W3"  # body text
GOTHIC = "HeiseiKakuGo-W5"  # headings (W5: bold by name)
pdfmetrics.registerFont(UnicodeCIDFont(MIN))
pdfmetrics.registerFont(UnicodeCIDFont(GOTHIC))
WIDTH, HEIGHT = A4


def wrap(text: str, width: int) -> list[str]:
    """Cut text into lines of ``width`` characters, as a typesetter wraps Japanese text."""
    return [text[i : i + width] for i in range(0, len(text), width)]


def draw_paragraph(
    c: canvas.Canvas, text: str, x: float, y: float, width: int = 40, size: float = 10.5,
    leading: float = 16, indent: bool = True,
) -> float:
    """Draw a paragraph with a full-width-space first-line indent; return the y below it."""
    c.setFont(MIN, size)
    for line in wrap(("\u3000" if indent else "") + text, width):
        c.drawString(x, y, line)
        y -= leading
    return y - 8


def draw_table(c: canvas.Canvas, rows: list[tuple[str, ...]], x0: float, top: float,
               col_w: float = 120, row_h: float = 24) -> float:
    """Draw ``rows`` as a ruled grid with its top-left corner at (x0, top); return the y below it."""
    c.setLineWidth(0.8)
    columns = max(len(r) for r in rows)
    c.grid([x0 + i * col_w for i in range(columns + 1)], [top - i * row_h for i in range(len(rows) + 1)])
    c.setFont(MIN, 10.5)
    for r, row in enumerate(rows):
        for k, cell in enumerate(row):
            c.drawString(x0 + k * col_w + 6, top - (r + 1) * row_h + 8, cell)
    return top - len(rows) * row_h


def save_pdf(path: Path, pages) -> Path:
    """``pages``: one callable per page, drawing on the canvas."""
    c = canvas.Canvas(str(path), pagesize=A4)
    for draw in pages:
        draw(c)
        c.showPage()
    c.save()
    return path
