"""The drawings PDFium read on a page as pdfplumber's objects, so that pdfplumber's table finder
and the figure search work on a page pdfminer never parsed.

pdfplumber's ``TableFinder`` (ruling lines: ``vertical_strategy`` and ``horizontal_strategy``
"lines", the defaults) reads only ``page.edges``, made from the page's ``rects``, ``lines`` and
``curves`` (``rect_to_edges``: x0, x1, top, bottom, width, height, doctop; ``line_to_edge``:
top == bottom; ``curve_to_edges``: pts); ``tables._redetect`` filters them by ``object_type``,
size, ``fill`` and ``stroke``; ``figures._shapes`` reads the boxes of ``images``, ``rects``,
``curves`` and ``lines``, ``fill``, ``stroke`` and ``non_stroking_color``. ``drawn_page`` gives
a page whose objects are those, built from PDFium's census (``pdfium_glyphs.Census.paths``,
each subpath classified as pdfminer's ``paint_path`` does) with the fields valued as
pdfplumber's ``Page.process_object`` values them. It has no ``chars``: the text of tables and
figures comes from the page's glyphs (``tables._cell_text``), never from pdfplumber.

Two things differ from pdfminer's objects, neither changing a table or figure on any PDF the
tests read (docs/engines.md): coordinates are PDFium's single-precision floats (pdfminer
computes in double precision: they differ in the sixth significant digit), and the fill colour
is PDFium's conversion of the path's colour space to RGB (pdfminer keeps the components as the
PDF sets them; ``figures._colour`` only compares colours with each other and with white).
"""
from __future__ import annotations

from pdfplumber.page import DerivedPage, Page

from pipeline.extract.pdfium_glyphs import Census, Drawing


class DrawnPage(DerivedPage):
    """A pdfplumber page whose objects are the drawings PDFium read (no glyphs): ``find_tables``,
    ``filter``, ``edges``, ``rects``, ``lines``, ``curves`` and ``images`` work on it as on the
    page pdfminer parses."""

    def __init__(self, page: Page, objects: dict[str, list[dict]]) -> None:
        self.bbox = page.bbox
        super().__init__(page)
        self._drawings = objects  # not pdfplumber's cached ``_objects``: ``close`` keeps it

    @property
    def objects(self) -> dict[str, list[dict]]:
        """The page's drawings by kind ("rect", "line", "curve", "image"), as pdfplumber's."""
        return self._drawings


def drawn_page(page: Page, census: Census) -> DrawnPage:
    """``page`` (pdfplumber's, not parsed) with the drawings of ``census`` (PDFium's reading of
    the same page) as its objects."""
    return DrawnPage(page, drawing_objects(census, page))


def drawing_objects(census: Census, page: Page) -> dict[str, list[dict]]:
    """The images and paths of ``census`` as pdfplumber's object dicts, by kind, in content order
    (as ``page.objects`` lists them). ``page``: the pdfplumber page they are on (its number,
    height, media box and place in the document give ``top``/``y0``/``doctop``)."""
    height = float(page.height)
    mb_top = float(page.mediabox[1])
    doctop = float(page.initial_doctop)
    number = page.page_number
    objects: dict[str, list[dict]] = {}
    for x0, top, x1, bottom in census.get("image"):
        objects.setdefault("image", []).append(
            _placed({"object_type": "image", "page_number": number}, x0, top, x1, bottom, height, mb_top, doctop)
        )
    for drawing in census.paths:
        objects.setdefault(drawing.kind, []).append(_path_object(drawing, number, height, mb_top, doctop))
    return objects


def _path_object(d: Drawing, number: int, height: float, mb_top: float, doctop: float) -> dict:
    """One rect, line or curve as pdfplumber's ``process_object`` makes it of pdfminer's
    LTRect, LTLine or LTCurve."""
    xs = [p[0] for p in d.pts]
    ys = [p[1] for p in d.pts]
    x0, x1, top, bottom = min(xs), max(xs), min(ys), max(ys)
    if d.kind == "rect":  # LTRect keeps its corners
        pts = [(x0, bottom), (x1, bottom), (x1, top), (x0, top)]
    elif d.kind == "line":  # LTLine keeps its two ends
        pts = list(d.pts[:2])
    else:
        pts = list(d.pts)
    obj = {
        "object_type": d.kind,
        "page_number": number,
        "pts": pts,
        "fill": d.fill,
        "stroke": d.stroke,
        "non_stroking_color": d.colour,
    }
    return _placed(obj, x0, top, x1, bottom, height, mb_top, doctop)


def _placed(obj: dict, x0: float, top: float, x1: float, bottom: float, height: float, mb_top: float,
            doctop: float) -> dict:
    """``obj`` with pdfplumber's position fields: x0, x1, top, bottom, doctop, width, height and
    pdfminer's y0, y1 (from the media box's bottom)."""
    obj.update(
        x0=x0, x1=x1, top=top, bottom=bottom, doctop=doctop + top, width=x1 - x0, height=bottom - top,
        y0=height - bottom + mb_top, y1=height - top + mb_top,
    )
    return obj
