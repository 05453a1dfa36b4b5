"""One page: its glyphs read (pass 1), then its blocks built (pass 2)."""
from __future__ import annotations

from pathlib import Path

import pdfplumber

from pipeline.errors import ExtractError
from pipeline.extract.blocks import _build_blocks
from pipeline.extract.constants import _FEW_GLYPHS, _PAGE_NUMBER, _PAGE_NUMBER_ZONE
from pipeline.extract.furniture import (
    _drop_rows,
    _in_zone,
    _running_line_candidates,
    _running_line_keys,
)
from pipeline.extract.glyphs import (
    _dedupe_glyphs,
    _drop_unmapped,
    _glyphs_from_chars,
    _inside_any,
    _page_chars,
)
from pipeline.extract.layout import _find_gutters, _reading_order
from pipeline.extract.lines import (
    _body_size,
    _cluster_rows,
    _join_lines,
    _make_line,
    _mostly_bold,
)
from pipeline.extract.model import (
    ExtractConfig,
    _BlockDraft,
    _Draft,
    _PageRecord,
    _RawPage,
    _SizeStats,
)
from pipeline.extract.opening import _TODO_REFETCH
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
) -> _PageRecord:
    """Read one page (pass 1) and build its blocks (pass 2) without the rows in ``assumed``
    (None: all candidate rows) and the bare page numbers."""
    raw = _read_page(page, path, config)
    index = {id(row): i for i, row in enumerate(raw.rows)}
    candidates = (
        [(index[id(row)], row.top, frozenset(_running_line_keys(row))) for row in _running_line_candidates(raw)]
        if n_pages >= 3
        else []
    )
    bare = frozenset(
        i for i, row in enumerate(raw.rows)
        if _in_zone(row, raw.height, _PAGE_NUMBER_ZONE) and _PAGE_NUMBER.match(row.text)
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
        sizes=_size_groups(raw, bare, {i for i, _, _ in candidates} - bare),
        removed_lines=raw.removed_lines,
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
    record.pending = None


def _needs_doc_body_size(raw: _RawPage) -> bool:
    """Whether ``_page_blocks`` would fall back to the document's body size for this page."""
    return len(raw.glyphs) < _FEW_GLYPHS or all(g.text.isspace() for g in raw.glyphs)


def _compact_draft(d: _BlockDraft) -> _Draft:
    first = d.lines[0]
    return _Draft(
        page=d.page,
        kind=d.kind,
        numbering=d.numbering,
        number_level=d.number_level,
        larger=d.larger,
        size=d.size,
        text=_join_lines([line.text for line in d.lines]),
        bold=_mostly_bold([g for line in d.lines for g in line.glyphs]),
        x0=round(first.page_x0, 2),
        top=round(first.page_top, 2),
        column=first.column,
        vertical=first.vertical,
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
    for position, g in enumerate(raw.glyphs):
        if g.text.isspace():
            continue
        group = group_of.get(id(g), -1)
        if group is None:
            continue
        stats = groups.setdefault(group, {})
        size = round(g.size * 2) / 2
        entry = stats.get(size)
        if entry is None:
            stats[size] = [1, position]
        else:
            entry[0] += 1
    return groups

def _read_page(page: pdfplumber.page.Page, path: Path, config: ExtractConfig) -> _RawPage:
    number = page.page_number
    try:
        chars = _page_chars(page)
        found_tables = page.find_tables() if config.extract_tables and chars else []
    except Exception as exc:  # a broken content stream: say which page
        raise ExtractError(
            f"{path.name}: page {number} cannot be read ({type(exc).__name__}: {exc})",
            _TODO_REFETCH,
        ) from exc

    upright, rotated = _glyphs_from_chars(chars, page.bbox)
    glyphs = _dedupe_glyphs(upright)
    glyph_count = sum(1 for g in glyphs if not g.text.isspace()) + rotated
    glyphs, unmapped = _drop_unmapped(glyphs)

    tables = _tables(found_tables, glyphs, number)
    table_boxes = [t.bbox for t in tables]
    body = [g for g in glyphs if not _inside_any(g, table_boxes)]
    horizontal, vertical_runs = _split_vertical(body)
    rows = [_make_line(r) for r in _cluster_rows(horizontal)]
    vertical_lines = [_make_vertical_line(run, page.width) for run in vertical_runs]
    return _RawPage(
        number=number,
        width=float(page.width),
        height=float(page.height),
        glyph_count=glyph_count,
        unmapped=unmapped,
        glyphs=body,
        rows=rows,
        vertical_lines=vertical_lines,
        tables=tables,
    )


def _page_blocks(raw: _RawPage, doc_body_size: float | None) -> list[_BlockDraft]:
    """Blocks of a page in reading order: horizontal text (by columns) then vertical tiers."""
    # A page with little text (a form, a title page) has no reliable body size of its own.
    body_size = _body_size(raw.glyphs, doc_body_size) if len(raw.glyphs) >= 200 else doc_body_size
    gutters = _find_gutters(raw.rows, body_size, raw.width)
    tiers = _vertical_tiers(raw.vertical_lines)
    segments = _reading_order(raw.rows, gutters, body_size) + tiers
    for index, segment in enumerate(segments):
        for line in segment:
            line.segment = index
    raw.columns = max(len(gutters) + 1 if raw.rows else 0, len(tiers))
    lines = [line for segment in segments for line in segment if line.text.strip()]
    return _build_blocks(raw.number, lines, body_size)


