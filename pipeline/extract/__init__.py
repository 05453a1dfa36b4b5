"""Extract: PDF → pages, blocks (headings, paragraphs), tables, with per-page quality figures.

Input: a PDF path. Output: an ``ExtractedDocument``. Pure with respect to the file: it reads the
PDF and returns values; it writes nothing.

How it works, per page (PDFium, or pdfplumber with ``ExtractConfig(engine="pdfplumber")``, gives
positioned glyphs; everything else is done here):

1. glyphs are read once, bold duplicates removed, glyphs without a Unicode mapping counted and
   dropped, table regions cut out (their text goes to ``Table`` only);
2. the remaining glyphs are grouped into lines: horizontal rows, plus vertical lines for
   vertical writing (縦書き), recognised by glyphs that follow each other downwards;
3. once all pages are read, rows that repeat at the same height on many pages (running
   headers, footers, page numbers) are removed;
4. columns are found from a whitespace gutter and read one after the other;
5. lines are joined into paragraphs and headings.

Pages are read independently, so a long document is read by several worker processes at once
(``extract_pdf(..., workers=N)``), each returning small per-page records rather than glyphs; the
steps that look across pages (3, the document's body size, heading levels) run in the caller.
See "Reading the pages" below for how that gives the same result as reading in one process.

The text is kept as the PDF gives it (no NFKC: a later stage normalizes).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


from pipeline.extract import limits
from pipeline.extract.blocks import _assign_heading_levels
from pipeline.extract.collection import fewer_collections
from pipeline.extract.model import (
    ENGINES,
    OCR_MODES,
    Block,
    ContentsEntry,
    ExtractConfig,
    ExtractedDocument,
    OutlineEntry,
    PageInfo,
    PageProblem,
    Table,
)
from pipeline.extract.opening import _decode_metadata, _open_pdf, _read_outline
from pipeline.extract.pdfrefs import resolve
from pipeline.extract.problems import _no_usable_text_error, _page_info, _page_problems
from pipeline.extract.reader import (
    MAX_AUTO_WORKERS,
    PARALLEL_MIN_PAGES,
    _PagePool,
    _read_document,
    _Reader,
    _worker_count,
)
from pipeline.extract.structure import confirm_headings, contents_entries, demote_cover

__all__ = [
    "MAX_AUTO_WORKERS",
    "PARALLEL_MIN_PAGES",
    "Block",
    "ContentsEntry",
    "OutlineEntry",
    "ExtractConfig",
    "ExtractedDocument",
    "PageInfo",
    "PageProblem",
    "Table",
    "extract_pdf",
]

# ---------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------


def extract_pdf(
    path: Path, config: ExtractConfig = ExtractConfig(), *, workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ExtractedDocument:
    """Read ``path`` and return its text as pages, blocks (reading order) and tables.

    ``workers``: processes that read pages in parallel, this one included; None uses one per CPU
    (``os.cpu_count()``), at most ``MAX_AUTO_WORKERS`` (4) and no more than can each take
    ``config.max_worker_memory_mb`` from the memory available; 1 reads in this process; a number
    is taken as given. Documents under ``PARALLEL_MIN_PAGES`` pages, and calls from a daemonic
    process (a Dask or multiprocessing worker), are read in this process. The result does not
    depend on it.

    ``config.ocr``: "auto" reads pages without a usable text layer by OCR (tesseract, on images
    pypdfium2 renders: ``pipeline.extract.ocr``), "off" reports and leaves them out, "force" OCRs
    every page; ``PageInfo.text_source`` says which pages were read how. Pages to OCR are read in
    parallel even in a document under ``PARALLEL_MIN_PAGES`` pages. No page is rendered unless it
    is OCRed.

    ``progress``: None, or a callable told ``progress(pages_read, total_pages)`` as the pages are
    read: ``(0, total)`` first, then increasing counts ending at ``(total, total)`` (after each
    page in this process, after each chunk of a few pages when worker processes read them),
    one call at a time, possibly from another thread. It only watches: the result does not
    depend on it, and an exception it raises stops the extraction.

    Resource limits (``pipeline.extract.limits``): no stream may inflate beyond
    ``config.max_stream_mb``, no process reading pages may take more than
    ``config.max_worker_memory_mb``, the page tree may be nested at most 500 deep. A page that
    draws more than ``config.max_page_drawings`` images and paths is read as text only (no table
    finder, no figure search: their time grows faster than the drawings), with a
    ``too_many_drawings`` page problem. A font the reference reader refuses (a hostile or damaged
    font: ``fontguard``) costs the text set in it, not the document: each page that sets text in
    it is read without that text, with a ``font_refused`` page problem naming the font and why.

    Raises ``ExtractError`` when the file cannot be opened as a PDF or goes beyond a limit (it
    says which page or object, the limit and what to do), or when a page needs OCR and tesseract
    or its Japanese models are not installed (it names the packages), and ``NoUsableTextError``
    when it opens but no page has usable text (no text layer with ``--ocr off``, fonts without
    Unicode mapping, text only in refused fonts, or nothing OCR could read). ``ValueError`` for an unknown ``config.ocr`` or ``config.engine``, or a ``config.max_page_drawings``
    that is not a positive whole number.
    """
    path = Path(path)
    if config.ocr not in OCR_MODES:
        raise ValueError(f"ExtractConfig.ocr must be one of {', '.join(OCR_MODES)}, not {config.ocr!r}")
    if config.engine not in ENGINES:
        raise ValueError(f"ExtractConfig.engine must be one of {', '.join(ENGINES)}, not {config.engine!r}")
    cap = config.max_page_drawings
    if not isinstance(cap, int) or isinstance(cap, bool) or cap < 1:
        raise ValueError(f"ExtractConfig.max_page_drawings must be a positive whole number, not {cap!r}")
    with fewer_collections():
        return _extract(path, config, workers, progress)


def _extract(path: Path, config: ExtractConfig, workers: int | None,
             progress: Callable[[int, int], None] | None) -> ExtractedDocument:
    """``extract_pdf`` once its arguments are checked."""
    with limits.reading(config), _open_pdf(path) as pdf:
        metadata = _decode_metadata(pdf)
        n_pages = len(pdf.pages)
        n_workers = _worker_count(workers, n_pages, config, _likely_ocr_pages(pdf, config, n_pages))
        reader = _PagePool(pdf, path, config, n_pages, n_workers) if n_workers > 1 else _Reader(pdf, path, config, n_pages)
        with reader:
            # read while the worker processes start (they take their first pages when this
            # process does): pdfminer resolving a long outline costs about as much as a start
            outline = _read_outline(pdf)
            records = _read_document(reader, n_pages, config, progress)

    blocks = _assign_heading_levels([d for rec in records for d in rec.drafts])
    contents = contents_entries(blocks)
    blocks = demote_cover(confirm_headings(blocks, contents, outline), n_pages)
    by_page: dict[int, list[Block]] = {}
    for block in blocks:
        by_page.setdefault(block.page, []).append(block)
    pages = tuple(_page_info(rec, by_page.get(rec.number, [])) for rec in records)
    if not any(info.chars for info in pages):
        raise _no_usable_text_error(path, records, config)
    return ExtractedDocument(
        pages=pages,
        blocks=tuple(blocks),
        tables=tuple(t for rec in records for t in rec.tables),
        problems=tuple(p for rec in records for p in _page_problems(rec, config)),
        metadata=metadata,
        contents=tuple(contents),
        outline=tuple(outline),
    )




def _likely_ocr_pages(pdf, config: ExtractConfig, n_pages: int) -> int:
    """How many pages will probably be OCRed, to decide whether a short document is worth worker
    processes: every page with ``ocr="force"``; with ``auto``, in a document under
    ``PARALLEL_MIN_PAGES`` pages, the pages whose resources name no font (scans, glyphs drawn as
    paths), found without parsing any content stream; else 0 (a long document is read in
    parallel anyway). Only the speed depends on it, never the result."""
    if config.ocr == "force":
        return n_pages
    if config.ocr != "auto" or n_pages >= PARALLEL_MIN_PAGES:
        return 0
    count = 0
    for page in pdf.pages:
        try:
            resources = page.page_obj.resources or {}
            fonts = resolve(resources.get("Font")) if isinstance(resources, dict) else None
        except Exception:  # a broken resource dictionary: reading the page will say so
            continue
        count += not fonts
    return count
