"""Glyphs and the drawing census of one page read with PDFium (pypdfium2), valued as the
reference reader (pdfplumber / pdfminer, ``glyphs._page_chars``) gives them.

PDFium parses a page in C, about twenty times faster than pdfminer. Per glyph it is asked two
things only (its text object and its "loose" box: origin to advance, baseline + descent); the
text comes from one ``FPDFText_GetText`` call per page; what a text object shares (font name,
size, matrix) is asked once per object. From the loose box the glyph's box is rebuilt as
pdfminer builds it: ``x0``/``x1`` and the bottom (baseline + descent) are the same, the top is
the bottom plus the font size (pdfminer does not use the font's ascent).

Where PDFium's reading would differ from pdfminer's in a way the records cannot show, the page
is read by the reference reader instead (``read_page`` returns None): a page turned by
/Rotate, glyphs set at an angle (their boxes are not axis-aligned), fonts set in vertical
writing, glyphs PDFium could not place, a page whose text objects give PDFium no glyph at all (a
font it rejects: pdfminer needs only its mapping to Unicode), a page where a text object that gives
no glyph is set in an embedded font PDFium could not load (one font of several damaged: its text
would be taken for blank runs; ``pdfium_fonts`` tells). Three differences remain, listed in
docs/engines.md: PDFium drops a glyph drawn twice at the same place (fake bold; the kept glyph
is marked bold from the dropped text object's bounds, as ``_dedupe_glyphs`` marks it), collapses runs of spaces, and maps some glyphs that
pdfminer cannot (it reads the font's own tables).

The drawing census (``Census``: image, curve, rect and line boxes, in pdfplumber's top-left
coordinates) is what page.py decides with: whether the page draws anything (OCR), bars across
the page (reading order), whether it has drawings (figures, tables: only then are they looked
for). Paths are classified as pdfminer classifies them (``_classify``); ``Census.paths`` keeps
each subpath (points, fill, stroke, colour), which ``pdfium_drawings`` makes pdfplumber's objects
of for the table finder and the figure search. On a page drawing more images and paths than
``ExtractConfig.max_page_drawings`` (a flood: 200,000 rectangles) the census keeps none of them,
only their count (``Census.overflow``): beyond the cap each path's segments are only typed, not
read as points (a third of the time).
"""
from __future__ import annotations

import ctypes
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as raw
from pdfminer.pdftypes import PDFStream

from pipeline.extract import limits, pdfium_fonts
from pipeline.extract.pdfrefs import font_programs, resolve, resource_fonts

# (text, x0, x1, top, bottom, size, font name, upright): as glyphs._Char
_Char = tuple[str, float, float, float, float, float, object, bool]
Box = tuple[float, float, float, float]  # x0, top, x1, bottom (pdfplumber's coordinates)

_KINDS = ("image", "curve", "rect", "line")
_MAX_FORM_DEPTH = 32  # Form XObjects nested deeper: the page is read by the reference reader


@dataclass(frozen=True)
class Drawing:
    """One subpath as pdfminer paints it: ``kind`` ("rect", "line" or "curve"), ``pts`` (its
    points in pdfplumber's top-left coordinates, as pdfminer keeps them: a Bézier by its end
    point), whether it is filled and stroked, and the fill colour (R, G, B in 0-1, as PDFium
    converts the path's colour space; None when PDFium has none)."""

    kind: str
    pts: tuple[tuple[float, float], ...]
    fill: bool
    stroke: bool
    colour: tuple[float, float, float] | None


@dataclass
class Census:
    """What a page draws besides glyphs: kind ("image", "curve", "rect", "line") → boxes.
    ``paths`` (PDFium's census only): every rect, line and curve in content order as
    ``Drawing``s, what ``pdfium_drawings`` makes pdfplumber's objects of."""

    boxes: dict[str, list[Box]] = field(default_factory=dict)
    paths: list[Drawing] = field(default_factory=list)
    # How many images and paths the page draws when that is more than the census was allowed to
    # keep (``max_drawings``): then ``boxes`` and ``paths`` hold none of them (the page is read
    # as text only: see page.py). 0 when all are kept.
    overflow: int = 0

    def get(self, kind: str, default=()):
        """The boxes of ``kind`` (``default`` when the page draws none), as ``page.objects.get``."""
        return self.boxes.get(kind, default)

    @classmethod
    def of_pdfplumber_page(cls, page) -> Census:
        """The census of a pdfplumber page, from its objects (the reference)."""
        objects = page.objects
        return cls({
            kind: [(float(o["x0"]), float(o["top"]), float(o["x1"]), float(o["bottom"])) for o in objects[kind]]
            for kind in _KINDS if objects.get(kind)
        })


@dataclass
class GlyphColumns:
    """A page's glyphs in content order as columns (one entry per glyph, valued as ``_Char``),
    what a text object shares kept once per object: ``source`` is each glyph's index into
    ``fonts`` (font name) and ``uprights``. ``glyphs._glyphs_from_columns`` makes the glyph
    records of them without a tuple per glyph."""

    texts: list[str]
    x0: np.ndarray  # float64, like x1, top, bottom and size
    x1: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    size: np.ndarray
    source: np.ndarray  # int64: index into fonts and uprights
    fonts: list[object]
    uprights: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.texts)

    def chars(self) -> list[_Char]:
        """The glyphs as ``_Char`` tuples."""
        fonts = np.array(list(self.fonts) + [None], dtype=object)[:-1][self.source].tolist()
        return list(zip(
            self.texts, self.x0.tolist(), self.x1.tolist(), self.top.tolist(), self.bottom.tolist(),
            self.size.tolist(), fonts, self.uprights[self.source].tolist(), strict=True,
        ))

    @classmethod
    def of_chars(cls, chars: list[_Char]) -> GlyphColumns:
        """The columns of ``_Char`` tuples (each glyph its own source)."""
        n = len(chars)
        texts, x0, x1, top, bottom, size, fonts, uprights = zip(*chars, strict=True) if n else ([],) * 8
        return cls(list(texts), *(np.array(v, dtype=np.float64).reshape(n) for v in (x0, x1, top, bottom, size)),
                   np.arange(n, dtype=np.int64), list(fonts), np.array(uprights, dtype=bool).reshape(n))


@dataclass
class PdfiumPage:
    """One page as PDFium reads it: glyphs in content order and the drawing census."""

    columns: GlyphColumns
    census: Census

    @property
    def chars(self) -> list[_Char]:
        """The glyphs as ``_Char`` tuples, in content order."""
        return self.columns.chars()


def open_document(path: Path) -> pdfium.PdfDocument:
    """The PDF opened by PDFium (the caller has opened it with pdfplumber already, which says
    what is wrong with a file that cannot be opened)."""
    return pdfium.PdfDocument(str(path))


# Raw entry points with plain pointer arguments and results (ints): one ctypes conversion less
# per call than pypdfium2's typed bindings, on calls made once per glyph.
def _fn(name: str, restype, *argtypes):
    address = ctypes.cast(getattr(raw, name), ctypes.c_void_p).value
    return ctypes.CFUNCTYPE(restype, *argtypes)(address)


def _bare_fn(name: str, restype):
    """The entry point ``name`` without declared argument types, for the calls made once per
    glyph: ctypes then converts no argument through a type's ``from_param`` (a third to a
    half of each call's cost). Arguments must be passed as C values: the text page as a
    ``ctypes.c_void_p``, an index as a Python int (a C int), an address as ``ctypes.byref``."""
    address = ctypes.cast(getattr(raw, name), ctypes.c_void_p).value
    return ctypes.CFUNCTYPE(restype)(address)


_VP, _INT, _DBL = ctypes.c_void_p, ctypes.c_int, ctypes.c_double
_text_object = _bare_fn("FPDFText_GetTextObject", ctypes.c_size_t)  # (page, index): 0 for none
# (page, index, ctypes.byref(box)): a glyph's box written into an element of a C array of
# FS_RECTF (fpdfview.h: four C floats, left, top, right, bottom)
_loose_box_at = _bare_fn("FPDFText_GetLooseCharBox", _INT)
_is_hyphen = _fn("FPDFText_IsHyphen", _INT, _VP, _INT)
_map_error = _bare_fn("FPDFText_HasUnicodeMapError", _INT)  # (page, index)
_unicode = _fn("FPDFText_GetUnicode", ctypes.c_uint, _VP, _INT)
_font_size = _fn("FPDFText_GetFontSize", _DBL, _VP, _INT)
_char_matrix = _fn("FPDFText_GetMatrix", _INT, _VP, _INT, ctypes.POINTER(raw.FS_MATRIX))
_count_objects = _fn("FPDFPage_CountObjects", _INT, _VP)
_get_object = _fn("FPDFPage_GetObject", _VP, _VP, _INT)
_form_count = _fn("FPDFFormObj_CountObjects", _INT, _VP)
_form_object = _fn("FPDFFormObj_GetObject", _VP, _VP, ctypes.c_ulong)
_object_type = _fn("FPDFPageObj_GetType", _INT, _VP)
_object_matrix = _fn("FPDFPageObj_GetMatrix", _INT, _VP, ctypes.POINTER(raw.FS_MATRIX))
_object_bounds = _fn("FPDFPageObj_GetBounds", _INT, _VP, *(ctypes.POINTER(ctypes.c_float),) * 4)
_text_font = _fn("FPDFTextObj_GetFont", _VP, _VP)
_text_size = _fn("FPDFTextObj_GetFontSize", _INT, _VP, ctypes.POINTER(ctypes.c_float))
_font_descent = _fn("FPDFFont_GetDescent", _INT, _VP, ctypes.c_float, ctypes.POINTER(ctypes.c_float))
_font_name = _fn("FPDFFont_GetBaseFontName", ctypes.c_size_t, _VP, ctypes.c_char_p, ctypes.c_size_t)
_count_segments = _fn("FPDFPath_CountSegments", _INT, _VP)
_get_segment = _fn("FPDFPath_GetPathSegment", _VP, _VP, _INT)
_segment_point = _fn("FPDFPathSegment_GetPoint", _INT, _VP, ctypes.POINTER(ctypes.c_float),
                     ctypes.POINTER(ctypes.c_float))
_segment_type = _fn("FPDFPathSegment_GetType", _INT, _VP)
_segment_close = _fn("FPDFPathSegment_GetClose", _INT, _VP)
_draw_mode = _fn("FPDFPath_GetDrawMode", _INT, _VP, ctypes.POINTER(_INT), ctypes.POINTER(_INT))
_fill_colour = _fn("FPDFPageObj_GetFillColor", _INT, _VP, *(ctypes.POINTER(ctypes.c_uint),) * 4)


def read_page(document: pdfium.PdfDocument, number: int, height: float, resources=None, *,
              max_drawings: int | None = None) -> PdfiumPage | None:
    """Page ``number`` (1-based) of ``document``: glyphs valued as pdfplumber's ``page.chars``
    (top-left coordinates on a page ``height`` high, as pdfplumber's ``page.height``) and its
    drawing census; None when the page must be read by the reference reader (see the module).
    ``resources``: the page's /Resources as pdfminer resolves them (pdfplumber's
    ``page.page_obj.resources``), to find fonts set in vertical writing. ``max_drawings``: on a
    page drawing more images and paths than this, they are only counted (``Census.overflow``);
    None keeps them all."""
    if resources is not None and _has_vertical_font(resources):
        return None
    try:
        page = document[number - 1]
    except pdfium.PdfiumError:  # PDFium cannot load it: the reference reader says what is wrong
        return None
    try:
        if page.get_rotation() % 360:
            return None
        objects: list[tuple[int, int]] = []  # (object, depth) of every page object, content order
        if not _walk(page.raw, objects):
            return None
        census = _census(objects, height, max_drawings)
        try:
            textpage = page.get_textpage()
        except pdfium.PdfiumError:
            return None
        try:
            columns = _chars(textpage, objects, height, resources)
        finally:
            textpage.close()
    finally:
        page.close()
    if columns is None:
        return None
    return PdfiumPage(columns, census)


def check_streams(page_obj, checked: set[int], limit: int = 10_000) -> None:
    """Inflate, through pdfminer's bounded decoders, every stream PDFium will inflate to read the
    page: its content, the Form XObjects it draws (and theirs), embedded fonts. Within
    ``limits.reading()`` a stream beyond ``ExtractConfig.max_stream_mb`` raises
    ``limits.StreamTooLarge`` here, as it does when pdfminer reads the page (PDFium's own
    inflater has no such cap), and what they take counts against the memory budget. (Skipping
    the streams whose encoded length could not inflate beyond the cap was tried: many such
    streams on one page then escaped the budget, inflated by PDFium.) ``checked``: object numbers already checked (a font or a form
    shared by many pages is inflated once)."""
    streams = page_obj.contents if isinstance(page_obj.contents, list) else [page_obj.contents]
    todo = [resolve(s) for s in streams]
    resources = [page_obj.resources]
    seen: set[int] = set()
    while (todo or resources) and len(seen) < limit:
        if todo:
            stream = todo.pop()
            if not isinstance(stream, PDFStream):
                continue
            key = stream.objid if stream.objid is not None else id(stream)
            if key in checked:
                continue
            checked.add(key)
            if "Resources" in stream.attrs:
                resources.append(stream.attrs["Resources"])
            stream.get_data()
            continue
        res = resolve(resources.pop())
        if not isinstance(res, dict) or id(res) in seen:
            continue
        seen.add(id(res))
        xobjects = resolve(res.get("XObject"))
        for ref in (xobjects.values() if isinstance(xobjects, dict) else ()):
            stream = resolve(ref)
            if isinstance(stream, PDFStream) and getattr(resolve(stream.attrs.get("Subtype")), "name", "") == "Form":
                todo.append(stream)
        fonts = resolve(res.get("Font"))
        for spec in (fonts.values() if isinstance(fonts, dict) else ()):
            todo += font_programs(resolve(spec))
        limits.check_memory()


def _has_vertical_font(resources, limit: int = 200) -> bool:
    """Whether a font of the page (or of a Form XObject it draws) is set in vertical writing
    (an encoding CMap named ...-V, or one with /WMode 1): pdfminer places such glyphs down the
    line, with boxes PDFium does not give. Looked up in the resource dictionaries only, at most
    ``limit`` of them."""
    for spec in resource_fonts(resources, limit):
        encoding = resolve(spec.get("Encoding")) if isinstance(spec, dict) else None
        if isinstance(encoding, PDFStream):
            if resolve(encoding.get("WMode")) == 1:
                return True
            encoding = resolve(encoding.get("CMapName"))
        name = getattr(encoding, "name", None)
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if isinstance(name, str) and name.endswith("-V"):
            return True
    return False


def _walk(page_handle, objects: list[tuple[int, int]]) -> bool:
    """List the page's objects, those inside Form XObjects included (each after its form), with
    their matrix's form chain; False when forms nest deeper than ``_MAX_FORM_DEPTH``."""
    handle = ctypes.cast(page_handle, _VP).value
    stack: list[tuple[int, int, int]] = []  # (form object, next index, depth)
    for i in range(_count_objects(handle)):
        obj = _get_object(handle, i)
        objects.append((obj, 0))
        if _object_type(obj) == raw.FPDF_PAGEOBJ_FORM:
            stack.append((obj, 0, 1))
            while stack:
                form, k, depth = stack.pop()
                if depth > _MAX_FORM_DEPTH:
                    return False
                if k >= _form_count(form):
                    continue
                stack.append((form, k + 1, depth))
                child = _form_object(form, k)
                objects.append((child, depth))
                if _object_type(child) == raw.FPDF_PAGEOBJ_FORM:
                    stack.append((child, 0, depth + 1))
            limits.check_memory()
    return True


def _chars(textpage: pdfium.PdfTextPage, objects: list[tuple[int, int]], height: float,
           resources=None) -> GlyphColumns | None:
    """The page's glyphs in content order (by text object, as the content stream draws them);
    None when one is set at an angle or cannot be placed, or when a text object that gives no
    glyph is set in an embedded font PDFium could not load (``pdfium_fonts``; ``resources``: the
    page's /Resources as pdfminer resolves them, None to skip that check).

    PDFium is asked per glyph only what differs between glyphs (its text object, its loose box,
    whether its Unicode mapping failed), in chunks of ``_CHUNK`` glyphs, each question for the
    whole chunk at once; the boxes land in one C array that numpy turns into coordinates for the
    whole page, and what a text object shares is asked once per object."""
    tp = ctypes.cast(textpage.raw, _VP).value
    n = textpage.count_chars()
    if n <= 0:  # no glyph: the page is empty, unless it has text objects PDFium could not read
        return None if n < 0 or _has_text_objects(objects) else GlyphColumns.of_chars([])
    text = textpage.get_text_range(0, n)
    if len(text) != n:  # (a glyph outside the Basic Multilingual Plane): one code point per glyph
        text = "".join(chr(_unicode(tp, i)) for i in range(n))
    boxes = (raw.FS_RECTF * n)()
    step = ctypes.sizeof(raw.FS_RECTF)
    owners: list[int] = []  # each glyph's text object (0: a generated space or line break, no glyph)
    placed: list[int] = []
    unmapped: list[int] = []
    text_object, loose_box, map_error, byref = _text_object, _loose_box_at, _map_error, ctypes.byref
    page = ctypes.c_void_p(tp)  # (the per-glyph entry points take C values: see _bare_fn)
    for start in range(0, n, _CHUNK):
        span = range(start, min(n, start + _CHUNK))
        owners += [text_object(page, i) for i in span]
        placed += [loose_box(page, i, byref(boxes, step * i)) for i in span]
        unmapped += [i for i in span if map_error(page, i)]
        limits.check_memory()
    objs = np.array(owners, dtype=np.uint64)
    index = np.flatnonzero(objs)  # the glyphs
    if not np.array(placed, dtype=bool)[index].all():
        return None
    # each text object once, in the order of its first glyph: (font name, size as set, upright,
    # vertical scale) from that glyph, or None (the page is then read by the reference reader)
    unique, first, which = np.unique(objs[index], return_index=True, return_inverse=True)
    order = {obj: k for k, (obj, _) in enumerate(objects)}
    last = len(order)
    shared: dict[int, tuple] = {}
    names: dict[int, bytes] = {}
    matrix = raw.FS_MATRIX()
    for u in np.argsort(first, kind="stable").tolist():
        obj, i = int(unique[u]), int(index[first[u]])
        info = _object_info(tp, i, obj, matrix, names)
        if info is None:
            return None
        shared[obj] = info
    infos = [shared[obj] for obj in unique.tolist()]
    fs = np.array([info[1] for info in infos], dtype=np.float64)
    d = np.array([info[3] for info in infos], dtype=np.float64)
    rising, dfs = (d > 0)[which], (d * fs)[which]
    sizes = (np.abs(d) * fs)[which]
    object_fonts = [info[0] for info in infos]
    object_uprights = np.array([info[2] for info in infos], dtype=bool)
    places = np.array([order.get(obj, last) for obj in unique.tolist()], dtype=np.int64)[which]
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)[index]
    for k in np.flatnonzero((codes < 0x20) | (codes == 0xFFFE)).tolist():
        # (rare) control characters: PDFium marks a hyphen that ends a line 0x2 (its text "\ufffe")
        if _is_hyphen(tp, int(index[k])):
            codes[k] = ord("-")
    if unmapped:
        codes[np.isin(index, unmapped)] = 0xFFFD
    texts = list(codes.tobytes().decode("utf-32-le", "surrogatepass"))
    rect = np.frombuffer(boxes, dtype=np.float32).reshape(n, 4)[index].astype(np.float64)
    left, top, right, bottom = rect[:, 0], rect[:, 1], rect[:, 2], rect[:, 3]
    y1 = np.where(rising, bottom + dfs, top)
    y0 = np.where(rising, bottom, top + dfs)
    x0 = np.minimum(left, right)
    x1 = np.maximum(left, right)
    columns = GlyphColumns(texts, x0, x1, height - y1, height - y0, sizes, which.astype(np.int64), object_fonts,
                           object_uprights)
    limits.check_memory()  # the page's records, all built at once
    unseen = [(k, obj) for k, (obj, depth) in enumerate(objects)
              if obj not in shared and _object_type(obj) == raw.FPDF_PAGEOBJ_TEXT]
    if unseen and _has_unloaded_font(unseen, set(names), resources):
        return None
    if not unseen:
        if len(places) < 2 or bool((places[1:] >= places[:-1]).all()):
            return columns  # in content order already (glyph indexes increase)
        return _reordered(columns, np.lexsort((index, places)))
    chars = columns.chars()
    found = [(k, i, c, owners[i]) for k, i, c in zip(places.tolist(), index.tolist(), chars, strict=True)]
    blank = _blank_objects(unseen, objects, names, height)
    found += [(k, -1, c, obj) for k, obj, c in blank]
    blank_ids = {obj for _, obj, _ in blank}
    found += _doubles(found, [(k, obj) for k, obj in unseen if obj not in blank_ids], shared, height)
    found.sort()  # by place in content order, then index (unique: the rest is never compared)
    return GlyphColumns.of_chars([entry[2] for entry in found])


def _reordered(columns: GlyphColumns, order: np.ndarray) -> GlyphColumns:
    """``columns`` with its glyphs in ``order`` (indexes)."""
    texts = columns.texts
    return GlyphColumns([texts[k] for k in order.tolist()], columns.x0[order], columns.x1[order],
                        columns.top[order], columns.bottom[order], columns.size[order], columns.source[order],
                        columns.fonts, columns.uprights)


_CHUNK = 1024  # glyphs asked of PDFium between two checks of the memory budget


def _blank_objects(unseen: list[tuple[int, int]], objects: list[tuple[int, int]], names: dict[int, bytes],
                   height: float) -> list[tuple[int, int, _Char]]:
    """Text objects that draw only blank glyphs (a space, an ideographic space U+3000: a Word
    PDF draws many such runs on their own), which ``CPDF_TextPage`` leaves out (their bounds
    have no width), as one whitespace glyph each: (object's place in content order, object,
    glyph). Its advance runs to the next text object on the same baseline (a font size when
    there is none); an advance of 0.9 em or more is an ideographic space, a shorter one a space.
    Objects inside Form XObjects, or not upright, are left out."""
    matrix = raw.FS_MATRIX()
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    origins: dict[int, tuple] = {}

    def origin(obj: int) -> tuple | None:  # (e, f, a, b, c, d) of the object's matrix
        if obj not in origins:
            if not _object_matrix(obj, ctypes.byref(matrix)):
                return None
            origins[obj] = (matrix.e, matrix.f, matrix.a, matrix.b, matrix.c, matrix.d)
        return origins[obj]

    texts = [(k, obj) for k, (obj, depth) in enumerate(objects) if depth == 0 and _object_type(obj) == raw.FPDF_PAGEOBJ_TEXT]
    position = {obj: n for n, (_, obj) in enumerate(texts)}
    size = ctypes.c_float()
    descent = ctypes.c_float()
    out = []
    for k, obj in unseen:
        if obj not in position:
            continue
        if not _object_bounds(obj, ctypes.byref(left), ctypes.byref(bottom), ctypes.byref(right), ctypes.byref(top)):
            continue
        if abs(right.value - left.value) >= 0.01:  # it has ink: a double (see _doubles)
            continue
        o = origin(obj)
        if o is None:
            continue
        x, y, a, b, c, d = o
        if b != 0 or c != 0 or a <= 0 or d == 0:
            continue
        if not _text_size(obj, ctypes.byref(size)):
            continue
        fs = size.value
        em = fs * a
        advance = em
        n = position[obj]
        if n + 1 < len(texts):
            nxt = origin(texts[n + 1][1])
            if nxt is not None and abs(nxt[1] - y) < 0.01 and 0 < nxt[0] - x < 3 * em:
                advance = nxt[0] - x
        font = _text_font(obj)
        name = names.get(font, None) if font else b""
        if name is None:
            length = _font_name(font, None, 0)
            buf = ctypes.create_string_buffer(max(length, 1))
            _font_name(font, buf, length)
            name = names[font] = buf.value
        low = 0.0
        if font and _font_descent(font, ctypes.c_float(fs), ctypes.byref(descent)):
            low = descent.value
        y0 = y + low * d
        y1 = y0 + fs * d
        y0, y1 = min(y0, y1), max(y0, y1)
        text = " "
        out.append((k, obj, (text, x, x + advance, height - y1, height - y0, abs(d) * fs, _decoded(name), a * d > 0)))
    return out


def _doubles(found: list[tuple], dropped: list[tuple[int, int]], shared: dict, height: float) -> list[tuple]:
    """The glyphs of text objects PDFium left out as drawn again at the same place (fake bold:
    ``CPDF_TextPage`` keeps the first drawing only), put back as copies of the glyphs they cover
    (same font, centre inside the dropped object's bounds), so that ``_dedupe_glyphs`` marks
    the kept glyph bold as it does with pdfminer's glyphs."""
    if not dropped:
        return []
    font_of = {obj: _text_font(obj) for obj in shared}
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    copies = []
    for k, obj in dropped:
        if not _object_bounds(obj, ctypes.byref(left), ctypes.byref(bottom), ctypes.byref(right), ctypes.byref(top)):
            continue
        font = _text_font(obj)
        x0, x1 = left.value - 1, right.value + 1
        t0, t1 = height - top.value - 1, height - bottom.value + 1
        for _, i, c, owner in found:
            if font_of.get(owner) == font and x0 <= (c[1] + c[2]) / 2 <= x1 and t0 <= (c[3] + c[4]) / 2 <= t1:
                copies.append((k, i, c, owner))
    return copies


def _has_text_objects(objects: list[tuple[int, int]]) -> bool:
    """Whether one of the page's ``objects`` (handle, depth) is a text object. On a page where
    PDFium finds no glyph, text objects are text it could not read (a font it rejects, where
    pdfminer reads 2,200 characters) or blank runs: the reference reader tells which."""
    return any(_object_type(obj) == raw.FPDF_PAGEOBJ_TEXT for obj, _ in objects)


def _has_unloaded_font(unseen: list[tuple[int, int]], placed: set[int], resources) -> bool:
    """Whether a font of the ``unseen`` text objects (place, object: those that give no glyph)
    is an embedded font PDFium could not load: its text is then lost to PDFium
    (``pdfium_fonts``; ``placed``: the fonts that give glyphs on the page, by handle)."""
    fonts = {_text_font(obj) for _, obj in unseen}
    fonts.discard(None)
    return pdfium_fonts.has_unloaded_font(fonts, placed, resources)


def _object_info(tp: int, i: int, obj: int, matrix, names: dict[int, bytes]) -> tuple | None:
    """(font name, font size as set (Tf), upright, vertical scale) of the text object of glyph ``i``; None
    when its glyphs are not axis-aligned (pdfminer's boxes of such glyphs are not rebuilt)."""
    if not _char_matrix(tp, i, ctypes.byref(matrix)):
        return None
    a, b, c, d = matrix.a, matrix.b, matrix.c, matrix.d
    if b != 0 or c != 0 or a == 0 or d == 0:
        return None
    font = _text_font(obj)
    name = names.get(font, None) if font else b""
    if name is None:
        size = _font_name(font, None, 0)
        buf = ctypes.create_string_buffer(max(size, 1))
        _font_name(font, buf, size)
        name = names[font] = buf.value
    fs = _font_size(tp, i)
    # pdfminer's LTChar.upright with no horizontal scaling (a*d > 0 and b*c <= 0)
    return _decoded(name), fs, a * d > 0, d


def _decoded(name: bytes) -> object:
    """The font's name as pdfminer gives it: a str when it is UTF-8, else the bytes (page.py
    decodes them as it decodes pdfminer's)."""
    try:
        return name.decode("utf-8")
    except UnicodeDecodeError:
        return name


# ---------------------------------------------------------------------------------------------
# The drawing census
# ---------------------------------------------------------------------------------------------


def _census(objects: list[tuple[int, int]], height: float, max_drawings: int | None = None) -> Census:
    """Images and paths of the page, paths split into subpaths and classified as pdfminer does.
    Once there are more than ``max_drawings`` (None: no limit), the rest are only counted
    (``_count_drawings``) and the census keeps none (``Census.overflow``)."""
    boxes: dict[str, list[Box]] = {}
    paths: list[Drawing] = []
    matrix = raw.FS_MATRIX()
    rgba = [ctypes.c_uint() for _ in range(4)]
    fill, stroke = _INT(), _INT()
    forms: list[tuple[int, tuple]] = []  # the chain of form matrices down to the current depth
    cap = sys.maxsize if max_drawings is None else max_drawings
    for i, (obj, depth) in enumerate(objects):
        if len(paths) + len(boxes.get("image", ())) > cap:  # the rest only counted
            return Census({}, [], len(paths) + len(boxes.get("image", ())) + _count_drawings(objects[i:]))
        del forms[depth:]
        kind = _object_type(obj)
        if kind == raw.FPDF_PAGEOBJ_FORM:
            _object_matrix(obj, ctypes.byref(matrix))
            forms.append(_compose(_matrix(matrix), forms[-1] if forms else None))
            continue
        if kind == raw.FPDF_PAGEOBJ_IMAGE:
            # the unit square through the image's matrix and its forms' (PDFium's bounds of an
            # object inside a Form XObject are in the form's space), as pdfminer places LTImage
            _object_matrix(obj, ctypes.byref(matrix))
            a, b, c, d, e, f = _compose(_matrix(matrix), forms[-1] if forms else None)
            xs = (e, a + e, c + e, a + c + e)
            ys = (f, b + f, d + f, b + d + f)
            boxes.setdefault("image", []).append((min(xs), height - max(ys), max(xs), height - min(ys)))
        elif kind == raw.FPDF_PAGEOBJ_PATH:
            _draw_mode(obj, ctypes.byref(fill), ctypes.byref(stroke))
            filled, stroked = fill.value != 0, bool(stroke.value)
            colour = None
            if filled and _fill_colour(obj, *(ctypes.byref(v) for v in rgba)):
                colour = (rgba[0].value / 255, rgba[1].value / 255, rgba[2].value / 255)
            _object_matrix(obj, ctypes.byref(matrix))
            m = _compose(_matrix(matrix), forms[-1] if forms else None)
            for kind_name, pts in _subpaths(obj, m):
                xs = [p[0] for p in pts]
                ys = [p[1] for p in pts]
                boxes.setdefault(kind_name, []).append((min(xs), height - max(ys), max(xs), height - min(ys)))
                paths.append(Drawing(kind_name, tuple((x, height - y) for x, y in pts), filled, stroked, colour))
    if len(paths) + len(boxes.get("image", ())) > cap:
        return Census({}, [], len(paths) + len(boxes.get("image", ())))
    return Census(boxes, paths)


def _count_drawings(objects: list[tuple[int, int]]) -> int:
    """How many images and subpaths ``objects`` draw, as ``_census`` would keep them: an image
    each, and a path's subpaths (each starts with a move: ``_subpaths`` drops a subpath that
    does not), without reading a point or building a record."""
    count = 0
    moveto = raw.FPDF_SEGMENT_MOVETO
    count_segments, get_segment, segment_type = _count_segments, _get_segment, _segment_type
    for n, (obj, _) in enumerate(objects):
        kind = _object_type(obj)
        if kind == raw.FPDF_PAGEOBJ_IMAGE:
            count += 1
        elif kind == raw.FPDF_PAGEOBJ_PATH:
            for k in range(count_segments(obj)):
                count += segment_type(get_segment(obj, k)) == moveto
        if not n & 1023:
            limits.check_memory()
    return count


def _matrix(m) -> tuple[float, float, float, float, float, float]:
    return (m.a, m.b, m.c, m.d, m.e, m.f)


def _compose(inner: tuple, outer: tuple | None) -> tuple:
    """``inner`` then ``outer`` (a point through inner's matrix, then outer's)."""
    if outer is None:
        return inner
    a, b, c, d, e, f = inner
    A, B, C, D, E, F = outer
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def _subpaths(path: int, m: tuple) -> list[tuple[str, list[tuple[float, float]]]]:
    """(kind, points) of each subpath of a path object, as pdfminer's ``paint_path`` makes an
    LTLine, LTRect or LTCurve of it."""
    a, b, c, d, e, f = m
    x, y = ctypes.c_float(), ctypes.c_float()
    out: list[tuple[str, list[tuple[float, float]]]] = []
    shape, pts = "", []
    bezier = 0
    for k in range(_count_segments(path)):
        seg = _get_segment(path, k)
        kind = _segment_type(seg)
        _segment_point(seg, ctypes.byref(x), ctypes.byref(y))
        px, py = x.value, y.value
        point = (a * px + c * py + e, b * px + d * py + f)
        if kind == raw.FPDF_SEGMENT_MOVETO:
            if shape:
                out.append(_classify(shape, pts))
            shape, pts = "m", [point]
        elif kind == raw.FPDF_SEGMENT_LINETO:
            shape += "l"
            pts.append(point)
        else:  # a Bézier point: three make one "c", placed (as pdfminer places it) at its end
            bezier += 1
            if bezier % 3 == 0:
                shape += "c"
                pts.append(point)
        if _segment_close(seg):
            shape += "h"
            pts.append(pts[0])
    if shape:
        out.append(_classify(shape, pts))
    return [(kind, p) for kind, p in out if kind]


def _classify(shape: str, pts: list[tuple[float, float]]) -> tuple[str, list[tuple[float, float]]]:
    """pdfminer's classification of one subpath (``PDFLayoutAnalyzer.paint_path``)."""
    if not shape.startswith("m"):
        return "", pts
    if len(shape) > 3 and shape[-2:] == "lh" and _same(pts[-2], pts[0]):
        shape = shape[:-2] + "h"
        pts = pts[:-2] + pts[-1:]
    if shape in ("mlh", "ml"):
        return "line", pts[:2] if shape == "ml" else pts
    if shape in ("mlllh", "mllll"):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3), _ = pts
        closed = _same(pts[0], pts[4])
        square = (x0 == x1 and y1 == y2 and x2 == x3 and y3 == y0) or (y0 == y1 and x1 == x2 and y2 == y3 and x3 == x0)
        return ("rect" if closed and square else "curve"), pts
    return "curve", pts


def _same(p: tuple[float, float], q: tuple[float, float]) -> bool:
    return abs(p[0] - q[0]) < 1e-3 and abs(p[1] - q[1]) < 1e-3
