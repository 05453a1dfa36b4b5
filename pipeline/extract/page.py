"""One page: its glyphs read (pass 1), then its blocks built (pass 2)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pdfplumber

from pipeline.errors import ExtractError
from pipeline.extract import pdfium_glyphs
from pipeline.extract.blocks import _build_blocks
from pipeline.extract.constants import _FEW_GLYPHS, _PAGE_NUMBER, _PAGE_NUMBER_ZONE
from pipeline.extract.figures import assign_captions, caption_lines, figure_regions
from pipeline.extract.fontguard import MAX_REFUSED_NAMED, GuardedResourceManager
from pipeline.extract.furniture import (
    _drop_rows,
    _edge_lines,
    _in_zone,
    _running_line_candidates,
    _running_line_keys,
)
from pipeline.extract.glyphs import (
    _dedupe_glyphs,
    _drop_unmapped,
    _glyphs_from_chars,
    _glyphs_from_columns,
    _inside,
    _inside_any,
    _page_chars_and_drawings,
)
from pipeline.extract.layout import _find_gutters, _reading_order
from pipeline.extract.lines import (
    _body_size,
    _cluster_rows,
    _dominant_size,
    _join_lines_with_markers,
    _lines_mostly_bold,
    _make_line,
)
from pipeline.extract.model import (
    ExtractConfig,
    _BlockDraft,
    _Draft,
    _Glyph,
    _Line,
    _PageRecord,
    _RawPage,
    _SizeStats,
)
from pipeline.extract.notes import (
    footnote_area,
    furigana_rows,
    mark_markers,
    merge_raised_rows,
    note_label,
    strip_written_markers,
)
from pipeline.extract.ocr import OcrPage, ocr_glyphs, ocr_page
from pipeline.extract.opening import _TODO_REFETCH
from pipeline.extract.pdfium_drawings import drawn_page
from pipeline.extract.table_finder import find_tables
from pipeline.extract.pdfium_glyphs import Census
from pipeline.extract.problems import _page_is_usable
from pipeline.extract.tables import _tables
from pipeline.extract.vertical import (
    _make_vertical_line,
    _split_vertical,
    _vertical_tiers,
)


def _page_record(
    page: pdfplumber.page.Page,
    path: Path,
    config: ExtractConfig,
    n_pages: int,
    assumed: frozenset[int] | None,
    doc_body_size: float | None,
    known_ocr: OcrPage | None = None,
    document=None,
) -> _PageRecord:
    """Read one page (pass 1) and build its blocks (pass 2) without the rows in ``assumed``
    (None: all candidate rows) and the bare page numbers. ``known_ocr``: what OCR read on the
    page in an earlier reading (it is not OCRed again). ``document``: the PDF opened by PDFium
    (``pdfium_glyphs.open_document``) when ``config.engine`` is "pdfium"."""
    raw = _read_page(page, path, config, known_ocr, document)
    index = {id(row): i for i, row in enumerate(raw.rows)}
    candidates = (
        [(index[id(row)], row.top, frozenset(_running_line_keys(row))) for row in _running_line_candidates(raw)]
        if n_pages >= 3
        else []
    )
    bare = frozenset(
        i for i, row in enumerate(raw.rows)
        if _in_zone(row, raw.top, raw.height, _PAGE_NUMBER_ZONE) and _PAGE_NUMBER.match(row.text)
    )
    if assumed is None:
        assumed = frozenset(i for i, _, _ in candidates)
    record = _PageRecord(
        number=raw.number,
        width=raw.width,
        height=raw.height,
        glyph_count=raw.glyph_count,
        unmapped=raw.unmapped,
        tables=raw.tables,
        candidates=candidates,
        bare=bare,
        assumed=assumed,
        # An OCR page's sizes are measured from its image, not set by the document's fonts:
        # they do not count towards the document's body size (see _page_blocks).
        sizes=_size_groups(raw, bare, {i for i, _, _ in candidates} - bare) if raw.ocr is None else {},
        removed_lines=raw.removed_lines,
        ocr=raw.ocr,
        drawn=raw.drawn,
        flood=raw.flood,
        refused=raw.refused,
        refused_more=raw.refused_more,
    )
    _drop_rows(raw, bare | assumed)
    if _page_is_usable(raw, config):
        if doc_body_size is None and _needs_doc_body_size(raw):
            record.pending = raw
        else:
            _finish_page(record, raw, doc_body_size)
    return record


def _finish_page(record: _PageRecord, raw: _RawPage, doc_body_size: float | None) -> None:
    record.drafts = [_compact_draft(d) for d in _page_blocks(raw, doc_body_size)]
    record.columns = raw.columns
    record.body_size = raw.body_size
    # the sizes of its text (contents entries are never headings, whatever their size)
    record.line_sizes = frozenset(round(d.size * 2) / 2 for d in record.drafts if d.kind != "contents")
    record.pending = None


def _needs_doc_body_size(raw: _RawPage) -> bool:
    """Whether ``_page_blocks`` would fall back to the document's body size for this page."""
    if raw.ocr is not None:  # an OCR page uses its own body size (see _page_blocks)
        return False
    return len(raw.glyphs) < _FEW_GLYPHS or all(g.text.isspace() for g in raw.glyphs)


def _compact_draft(d: _BlockDraft) -> _Draft:
    first = d.lines[0]
    text, markers = _join_lines_with_markers(d.lines)
    if d.kind in ("body", "heading"):
        text, markers = strip_written_markers(text, markers)
    return _Draft(
        page=d.page,
        kind=d.kind,
        numbering=d.numbering,
        number_level=d.number_level,
        larger=d.larger,
        size=d.size,
        text=text,
        bold=_lines_mostly_bold(d.lines),
        x0=round(first.page_x0, 2),
        top=round(first.page_top, 2),
        column=first.column,
        vertical=first.vertical,
        markers=tuple(markers),
        label=d.label,
    )


def _size_groups(raw: _RawPage, bare: frozenset[int], candidates: set[int]) -> dict[int, _SizeStats]:
    """Sizes of the page's body glyphs (as ``_body_size`` counts them), grouped: -1 for glyphs
    that stay whatever is decided, the row index for a candidate row's glyphs; glyphs of bare
    page numbers are left out (always removed). The position of each size's first glyph keeps
    the order in which a count over the whole document first meets the sizes."""
    group_of: dict[int, int | None] = {}
    for i, row in enumerate(raw.rows):
        if i in bare or i in candidates:
            group = None if i in bare else i
            for g in row.glyphs:
                group_of[id(g)] = group
    groups: dict[int, _SizeStats] = {}
    group_get = group_of.get
    halves: dict[float, float] = {}  # size → round(size * 2) / 2: once per size
    for position, g in enumerate(raw.glyphs):
        if g.text.isspace():
            continue
        group = group_get(id(g), -1) if group_of else -1
        if group is None:
            continue
        stats = groups.get(group)
        if stats is None:
            stats = groups[group] = {}
        size = halves.get(g.size)
        if size is None:
            size = halves[g.size] = round(g.size * 2) / 2
        entry = stats.get(size)
        if entry is None:
            stats[size] = [1, position]
        else:
            entry[0] += 1
    return groups

def _read_page(page: pdfplumber.page.Page, path: Path, config: ExtractConfig,
               known_ocr: OcrPage | None = None, document=None) -> _RawPage:
    """Pass 1 of a page: its glyphs, tables and figures, laid out into rows. ``document``: the
    PDF opened by PDFium when ``config.engine`` is "pdfium" (its glyphs and drawing census are
    read there, and pdfplumber finds its tables and figures in PDFium's drawings
    (``pdfium_drawings``); pdfminer parses the page only when PDFium cannot read it as pdfminer
    would: see pdfium_glyphs). A font the reference reader refuses (fontguard) costs its own text:
    the page is read without it, and ``refused`` names it."""
    number = page.page_number
    fonts = page.pdf.rsrcmgr if isinstance(page.pdf.rsrcmgr, GuardedResourceManager) else None
    if fonts is not None:
        fonts.start_page()
    try:
        read = None
        if config.engine == "pdfium" and document is not None:
            pdfium_glyphs.check_streams(page.page_obj, _checked_streams(page))
            read = pdfium_glyphs.read_page(document, number, float(page.height), page.page_obj.resources,
                                           max_drawings=config.max_page_drawings)
        if read is None:
            chars, drawn_count = _page_chars_and_drawings(page, config.max_page_drawings)
            census = (pdfium_glyphs.Census.of_pdfplumber_page(page) if drawn_count <= config.max_page_drawings
                      else Census(overflow=drawn_count))
            drawings = page
        else:
            # pdfplumber finds tables and figures in PDFium's drawings: pdfminer never parses the page
            chars, census = read.columns, read.census
            drawings = drawn_page(page, census)
    except Exception as exc:  # a broken content stream: say which page
        raise ExtractError(
            f"{path.name}: page {number} cannot be read ({type(exc).__name__}: {exc})",
            _TODO_REFETCH,
        ) from exc

    positions: list | None = None  # the upright glyphs' x0 and top, as PDFium's columns give them
    if isinstance(chars, pdfium_glyphs.GlyphColumns):
        positions = []
        upright, rotated = _glyphs_from_columns(chars, page.bbox, positions=positions)
    else:
        upright, rotated = _glyphs_from_chars(chars, page.bbox)
    glyphs = _dedupe_glyphs(upright, positions)
    rotated, _ = _drop_unmapped(_dedupe_glyphs(rotated))
    glyph_count = sum(1 for g in glyphs if not g.text.isspace()) + sum(1 for g in rotated if not g.text.isspace())
    glyphs, unmapped = _drop_unmapped(glyphs)
    # (every font the page uses is built by now: pdfminer builds them as it starts on the page)
    refused = fonts.refused_fonts() if fonts is not None else ()
    refused, refused_more = refused[:MAX_REFUSED_NAMED], max(0, len(refused) - MAX_REFUSED_NAMED)
    # text set in a refused font is drawn, though not read: such a page is not blank
    drawn = glyph_count > 0 or _draws_anything(census) or bool(refused)
    read_by_ocr = None
    if _needs_ocr(config, glyph_count, unmapped, drawn):
        # The text layer (none, or mostly unmapped glyphs) is replaced by what OCR reads on the
        # page's image; its tables, figures and rotated glyphs with it (a scan is one image).
        read_by_ocr = known_ocr or ocr_page(path, number, tuple(float(v) for v in page.bbox), config.ocr_dpi)
        glyphs, rotated, chars = ocr_glyphs(read_by_ocr), [], []
    # A page drawing more than config.max_page_drawings images and paths is read as text only:
    # the table finder and the figure search are not run on it (reported: problems.py).
    looked_for = read_by_ocr is None and bool(config.extract_tables and chars or config.find_figures and glyphs)
    flood = census.overflow if looked_for else 0
    try:
        # Tables are made of ruled edges: a page drawing no rectangle or curve and at most two
        # lines has none (pdfplumber's table finder is not run).
        found_tables = (find_tables(drawings)
                        if config.extract_tables and chars and not flood and _may_hold_tables(census) else [])
    except Exception as exc:  # a broken content stream: say which page
        raise ExtractError(
            f"{path.name}: page {number} cannot be read ({type(exc).__name__}: {exc})",
            _TODO_REFETCH,
        ) from exc

    tables = _tables(found_tables, glyphs, number)
    table_boxes = [t.bbox for t in tables]
    figures: list[tuple[float, float, float, float]] = []
    if config.find_figures and glyphs and read_by_ocr is None and not flood and _has_drawings(census):
        try:
            size = _body_size(glyphs, 10.0, upper_part=(float(page.bbox[1]), float(page.height)))
            figures = figure_regions(drawings, glyphs, size, tables=table_boxes)
        except Exception as exc:  # a broken drawing: say which page
            raise ExtractError(
                f"{path.name}: page {number}'s drawings cannot be read ({type(exc).__name__}: {exc})",
                _TODO_REFETCH,
            ) from exc
    if tables:
        captions = assign_captions(table_boxes, caption_lines(glyphs))
        tables = [replace(t, caption=c or "") for t, c in zip(tables, captions, strict=True)]
    figure_glyphs: list[list[_Glyph]] = [[] for _ in figures]
    if not table_boxes and not figures:
        body = glyphs
    else:
        body = []
        for g in glyphs:
            if table_boxes and _inside_any(g, table_boxes):
                continue
            for k, box in enumerate(figures):
                if _inside(g, box):
                    figure_glyphs[k].append(g)
                    break
            else:
                body.append(g)
    horizontal, vertical_runs = _split_vertical(body)
    row_glyphs = merge_raised_rows(_cluster_rows(horizontal))
    for row in row_glyphs:
        mark_markers(row)
    rows = [_make_line(r) for r in row_glyphs]
    vertical_lines = [_make_vertical_line(run, page.width) for run in vertical_runs]
    return _RawPage(
        number=number,
        width=float(page.width),
        height=float(page.height),
        top=float(page.bbox[1]),
        glyph_count=glyph_count,
        unmapped=unmapped,
        glyphs=body,
        rows=rows,
        vertical_lines=vertical_lines,
        tables=tables,
        rotated=rotated,
        figures=[f for f in figure_glyphs if any(not g.text.isspace() for g in f)],
        spans=_spans(census, page.bbox),
        removed_lines=list(read_by_ocr.furigana) if read_by_ocr is not None else [],
        ocr=read_by_ocr,
        drawn=drawn,
        flood=flood,
        refused=refused,
        refused_more=refused_more,
    )


def _checked_streams(page: pdfplumber.page.Page) -> set[int]:
    """The streams of the document already inflated within the stream cap (kept with it)."""
    pdf = page.pdf
    checked = getattr(pdf, "_jstmine_checked_streams", None)
    if checked is None:
        checked = pdf._jstmine_checked_streams = set()
    return checked


def _needs_ocr(config: ExtractConfig, glyph_count: int, unmapped: int, drawn: bool) -> bool:
    """Whether the page's text is read by OCR: every page with ``--ocr force``; with ``auto`` a
    page without glyphs that draws something (glyphs drawn as paths, a scan), or one whose share
    of unmapped glyphs is over ``config.max_unmapped_share``; never with ``off``."""
    if config.ocr == "force":
        return True
    if config.ocr != "auto":
        return False
    if glyph_count == 0:
        return drawn
    return unmapped / glyph_count > config.max_unmapped_share


def _draws_anything(census: Census) -> bool:
    """Whether the page draws an image, a path or a rule (a blank page draws nothing: no OCR)."""
    return census.overflow > 0 or any(census.get(kind) for kind in ("image", "curve", "rect", "line"))


def _spans(census: Census, bbox) -> list[tuple[float, float, float, float]]:
    """Bars and rules drawn across at least half the page's width (under section headings)."""
    x0, _, x1, _ = bbox
    wide = 0.5 * (x1 - x0)
    return [
        (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
        for kind in ("rect", "line")
        for b in census.get(kind)
        if b[2] - b[0] >= wide and b[3] - b[1] <= 40
    ]


def _has_drawings(census: Census) -> bool:
    """Whether the page draws anything a figure is made of: an image, a curve, a rectangle, or
    more than the two rules a running head or a footnote area draws (pages of text and rules
    skip the search)."""
    return any(census.get(kind) for kind in ("image", "curve", "rect")) or len(census.get("line")) > 2


def _may_hold_tables(census: Census) -> bool:
    """Whether pdfplumber's ruling-line table finder could find a table: it needs rectangles,
    curves or more than two lines (two lines cannot enclose a cell)."""
    return any(census.get(kind) for kind in ("curve", "rect")) or len(census.get("line")) > 2


def _page_blocks(raw: _RawPage, doc_body_size: float | None) -> list[_BlockDraft]:
    """Blocks of a page in reading order: horizontal text (by columns), vertical tiers, then the
    page's footnotes. Furigana rows are dropped (listed in ``removed_lines``)."""
    # The document's body size once it is known; before, the page's own (a page whose own size
    # differs from the document's is built again with the document's: see reader._read_document).
    if raw.ocr is not None:
        # Sizes read from an image are the page's own (line heights in pixels): its lines are
        # compared with its own body size, never with the document's fonts.
        body_size = _body_size(raw.glyphs, doc_body_size or 10.0, upper_part=(raw.top, raw.height))
    elif doc_body_size is not None or len(raw.glyphs) < _FEW_GLYPHS:
        body_size = doc_body_size
    else:
        body_size = _body_size(raw.glyphs, doc_body_size, upper_part=(raw.top, raw.height))
    raw.body_size = body_size
    edge, edge_vertical = _edge_lines(raw.rows, raw.vertical_lines, body_size)
    drop = furigana_rows(raw.rows, body_size) | edge
    if drop:
        _drop_rows(raw, frozenset(drop))
    if edge_vertical:
        raw.removed_lines += [v.text for i, v in enumerate(raw.vertical_lines) if i in edge_vertical]
        raw.vertical_lines = [v for i, v in enumerate(raw.vertical_lines) if i not in edge_vertical]
    first_note = footnote_area(raw.rows, body_size, raw.top, raw.height)
    note_rows = raw.rows[first_note:]
    raw.rows = raw.rows[:first_note]
    gutters = _find_gutters(raw.rows, body_size)
    tiers = _vertical_tiers(raw.vertical_lines)
    segments = _reading_order(raw.rows, gutters, body_size, raw.spans) + tiers
    for index, segment in enumerate(segments):
        for line in segment:
            line.segment = index
    raw.columns = max(len(gutters) + 1 if raw.rows else 0, len(tiers))
    lines = [line for segment in segments for line in segment if line.text.strip()]
    blocks = _build_blocks(raw.number, lines, body_size) + _footnote_blocks(raw.number, note_rows)
    blocks += [_figure_block(raw.number, glyphs) for glyphs in raw.figures]
    if raw.rotated and any(not g.text.isspace() for g in raw.rotated):
        blocks.append(_rotated_block(raw.number, raw.rotated))
    return blocks


def _figure_block(page: int, glyphs: list[_Glyph]) -> _BlockDraft:
    """The text inside a figure (labels, axes, legends) as one block, its rows top to bottom."""
    lines = [_make_line(row) for row in merge_raised_rows(_cluster_rows(glyphs))]
    text = ""
    markers: list[tuple[int, str]] = []
    for line in lines:
        if not line.text.strip() and not line.markers:
            continue
        if text:
            text += " "
        lead = len(line.text) - len(line.text.lstrip())
        markers += [(len(text) + max(o - lead, 0), label) for o, label in line.markers]
        text += line.text.strip()
    first = lines[0]
    merged = _Line(
        glyphs=[g for line in lines for g in line.glyphs], text=text, x0=first.x0, x1=first.x1,
        top=first.top, bottom=first.bottom, size=_dominant_size(glyphs), bold=False,
        page_x0=first.page_x0, page_top=first.page_top, markers=markers,
    )
    return _BlockDraft(page=page, kind="figure_text", lines=[merged])


def _rotated_block(page: int, glyphs: list[_Glyph]) -> _BlockDraft:
    """Rotated text (axis labels, margin notes) as one figure-text block, in content order."""
    text = "".join(g.text for g in glyphs).strip()
    first = glyphs[0]
    line = _Line(
        glyphs=glyphs, text=text, x0=first.x0, x1=first.x1, top=first.top, bottom=first.bottom,
        size=_dominant_size(glyphs), bold=False, page_x0=first.x0, page_top=first.top,
    )
    return _BlockDraft(page=page, kind="figure_text", lines=[line])


def _footnote_blocks(page: int, rows: list[_Line]) -> list[_BlockDraft]:
    """One block per footnote: a row that starts with a number opens one, rows without a
    number continue it. The number goes to ``label`` and is taken out of the text."""
    blocks: list[_BlockDraft] = []
    for row in rows:
        found = note_label(row.text)
        if found is None and blocks:
            blocks[-1].lines.append(row)
            continue
        label, rest = found if found is not None else ("", row.text)
        cut = len(row.text) - len(rest)
        line = _Line(
            glyphs=row.glyphs, text=rest, x0=row.x0, x1=row.x1, top=row.top, bottom=row.bottom,
            size=row.size, bold=row.bold, page_x0=row.page_x0, page_top=row.page_top,
            markers=[(max(o - cut, 0), lab) for o, lab in row.markers], visible=row.visible,
            bold_glyphs=row.bold_glyphs, font_counts=row.font_counts,
        )
        blocks.append(_BlockDraft(page=page, kind="footnote", lines=[line], label=label))
    return blocks
