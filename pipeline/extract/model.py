"""The extractor's values: the public result types, and the records pages are read into."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from pipeline.records import quick_pickle


@dataclass(frozen=True)
class ExtractConfig:
    # Lines whose text (digits masked) repeats at the same height on at least this share of
    # pages are running headers/footers.
    repeat_share: float = 0.5
    # A page whose glyphs are mostly (cid:N) placeholders is reported as unusable.
    max_unmapped_share: float = 0.3
    extract_tables: bool = True
    # Text inside figures (images, drawings with labels) is kept apart as figure text.
    find_figures: bool = True
    # A page that draws more images and paths (rectangles, lines, curves; in Form XObjects too)
    # than this is read as text only: its tables and figures are not looked for (pdfplumber's
    # table finder and the figure search take time that grows faster than the drawings do), and
    # a ``too_many_drawings`` problem says so. The busiest page of the test PDFs draws 1,502
    # (glyphs drawn as paths), a page of text and tables a few hundred.
    max_page_drawings: int = 10_000
    # Resource limits (pipeline/extract/limits.py); beyond them extraction stops with an
    # ExtractError naming the page or object, the limit and this field. They change whether a
    # PDF is read, never what is read from it.
    # The most one stream (a page's content, a Form XObject, a font, an object stream) may
    # inflate to, in MiB: the content streams of real 100-page reports are a few MB at most,
    # while deflate inflates up to about 1,000 : 1 (a 309 KB file held a 300 MiB page content).
    max_stream_mb: float = 64
    # The memory one process reading pages may take on top of what it held when it started, in
    # MiB: a worker process's address space is limited to that (RLIMIT_AS), and every process
    # reading pages, the caller included, checks its resident size against it while pdfminer
    # builds a page. A page of a real report takes a few tens of MB; workers=None starts no more
    # processes than could all take this much from the memory available.
    max_worker_memory_mb: float = 1024
    # OCR (pipeline/extract/ocr.py: pypdfium2 renders, tesseract reads) of pages without a usable
    # text layer: "auto" OCRs the pages with no glyphs that draw something (paths or images) and
    # the pages with more unmapped glyphs than max_unmapped_share; "off" never (those pages are
    # reported and left out); "force" every page, ignoring the text layer.
    ocr: str = "auto"
    # Resolution pages are rendered at for OCR (bounded by ocr.MAX_RENDER_PIXELS).
    ocr_dpi: float = 200
    # What reads each page's glyphs and drawings: "pdfium" (pypdfium2, pipeline/extract/
    # pdfium_glyphs.py; pdfplumber still finds tables and figures on pages that draw some) or
    # "pdfplumber" (pdfminer, the reference reader). docs/engines.md lists where they differ.
    engine: str = "pdfium"


OCR_MODES = ("auto", "off", "force")
ENGINES = ("pdfium", "pdfplumber")
# How a page's text was obtained (PageInfo.text_source).
TEXT_LAYER, OCR = "text_layer", "ocr"


@dataclass(frozen=True)
class PageInfo:
    page: int  # 1-based
    width: float
    height: float
    chars: int  # characters of body text after clean-up
    has_text_layer: bool
    unmapped_share: float  # share of glyphs that come out as (cid:N)
    # Text columns of the page: 1 for a single column; for a page set in vertical writing,
    # the number of tiers (段). 0 when the page has no text.
    columns: int
    text: str  # cleaned body text of the page, blocks separated by a blank line
    removed_lines: tuple[str, ...] = ()  # running heads / feet / page numbers / furigana removed
    text_source: str = TEXT_LAYER  # TEXT_LAYER or OCR: where ``text`` comes from
    ocr_engine: str = ""  # "tesseract 5.3.0" on an OCR page, else ""
    ocr_language: str = ""  # the OCR model: "jpn" (horizontal) or "jpn_vert" (vertical writing)
    ocr_confidence: float | None = None  # mean word confidence (0-100) of an OCR page's words


# What a block is, as Docling and Unstructured label document elements: downstream code filters on
# it instead of guessing. Page furniture (running heads and feet, page numbers, furigana) never
# becomes a block: it is listed in ``PageInfo.removed_lines``.
BLOCK_KINDS = ("heading", "body", "caption", "footnote", "figure_text", "contents")


@quick_pickle
@dataclass(frozen=True, slots=True)  # many per report: no __dict__ each (see README, Memory with size)
class Block:
    page: int
    kind: str  # one of BLOCK_KINDS
    text: str  # as in the PDF (not NFKC-normalized); wrapped lines joined; footnote markers removed
    level: int = 0  # heading depth: 1 chapter (第1章, 1.), 2 section (1.2), 3 (（1）); 0 otherwise
    font_size: float = 0.0
    bold: bool = False
    x0: float = 0.0
    top: float = 0.0
    # 0: single-column page, or an element spanning the columns; 1..N: column from the left.
    column: int = 0
    vertical: bool = False  # set in vertical writing (縦書き)
    # Footnote reference markers removed from ``text``: (offset in text where it stood, label).
    markers: tuple[tuple[int, str], ...] = ()
    # A footnote's own number (kind "footnote"), as printed: "1", "12", "※2", "注3".
    label: str = ""


@dataclass(frozen=True)
class Table:
    page: int
    index: int  # 0-based within the page
    rows: tuple[tuple[str, ...], ...]
    bbox: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # x0, top, x1, bottom
    caption: str = ""  # its caption (表2-1 …), when one is found next to it


# The kinds of page problem, as PageProblem.kind and the pages table's problem column name them.
PAGE_PROBLEM_KINDS = ("no_text_layer", "unmapped_glyphs", "ocr_found_nothing", "font_refused", "too_many_drawings")


@dataclass(frozen=True)
class PageProblem:
    page: int
    kind: str  # one of PAGE_PROBLEM_KINDS
    detail: str


@dataclass(frozen=True)
class ContentsEntry:
    """An entry of the document's table of contents, as printed."""

    page: int  # the page of the PDF the entry is on
    level: int  # 1 chapter, 2 section, 3 below: from its numbering, else from its indent
    title: str  # without the leader and page number
    printed_page: str  # the page number printed after it ("5", "ii"), "" when there is none


@dataclass(frozen=True)
class OutlineEntry:
    """An entry of the PDF's outline (bookmarks)."""

    level: int  # 1 for the top entries
    title: str
    page: int | None  # the page it points to (1-based), None when it cannot be resolved


@dataclass(frozen=True)
class ExtractedDocument:
    pages: tuple[PageInfo, ...]
    blocks: tuple[Block, ...]  # reading order
    tables: tuple[Table, ...]
    problems: tuple[PageProblem, ...]
    metadata: dict[str, str] = field(default_factory=dict)  # always str, never bytes
    contents: tuple[ContentsEntry, ...] = ()  # the table of contents, when the document has one
    outline: tuple[OutlineEntry, ...] = ()  # the PDF's bookmarks, when it has them

    def without_text(self) -> ExtractedDocument:
        """This document without its text (the blocks, and each page's ``text``), which segmenting
        turns into sentences: all that the stages after it and the tables read of it (pages'
        sizes, sources and problems, tables, contents, metadata), in less memory."""
        return replace(self, blocks=(), pages=tuple(replace(p, text="") for p in self.pages))


# ---------------------------------------------------------------------------------------------
# Internal records
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)  # identity semantics: glyphs and lines are compared by id
class _Glyph:
    """One drawn character, reduced to what we need (pdfplumber's dicts are large)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    font: str
    bold: bool
    marker: bool = False  # a footnote reference marker (small raised digits): not body text

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass(slots=True, eq=False)  # identity semantics: glyphs and lines are compared by id
class _Line:
    """A line of text in reading direction.

    For vertical writing the geometry is rotated so that the paragraph logic can treat it
    like a horizontal line: ``x0``/``x1`` run along the line (top to bottom on the page) and
    ``top``/``bottom`` across it (right to left on the page). ``page_x0``/``page_top`` keep
    the real position.
    """

    glyphs: list[_Glyph]
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool
    page_x0: float
    page_top: float
    column: int = 0
    segment: int = 0
    vertical: bool = False
    # Footnote markers left out of ``text``: (offset in text, label).
    markers: list[tuple[int, str]] = field(default_factory=list)
    font: str = ""  # the font most of its glyphs are set in
    # How many of its glyphs are not blank, and how many of those are bold, when counted as it
    # was made (lines._make_line), else -1: what lines._lines_mostly_bold adds up.
    visible: int = -1
    bold_glyphs: int = -1
    # Its glyphs that are not blank counted by font, in the order the fonts first come (as
    # _make_line counts them), else None: what lines._lines_dominant_font adds up.
    font_counts: dict[str, int] | None = None


@dataclass
class _RawPage:
    """What pass 1 keeps of a page (pdfplumber objects are released after it)."""

    number: int
    width: float
    height: float
    top: float  # where the page box starts (pdfplumber's page.bbox[1]; negative in some PDFs)
    glyph_count: int  # non-space glyphs after de-duplication, before dropping unmapped ones
    unmapped: int
    glyphs: list[_Glyph]  # body glyphs (no table text, no unmapped glyphs)
    rows: list[_Line]  # horizontal rows, top to bottom
    vertical_lines: list[_Line]
    tables: list[Table]
    removed_lines: list[str] = field(default_factory=list)
    columns: int = 0  # set when blocks are built
    rotated: list[_Glyph] = field(default_factory=list)  # glyphs set at an angle, content order
    figures: list[list[_Glyph]] = field(default_factory=list)  # glyphs inside each figure
    spans: list[tuple[float, float, float, float]] = field(default_factory=list)  # bars across the page
    body_size: float | None = None  # the body size its blocks were built with
    ocr: object | None = None  # the page's ocr.OcrPage when its text was read by OCR
    drawn: bool = True  # whether the page draws anything (glyphs, paths, images)
    # How many images and paths the page draws when that is more than
    # ExtractConfig.max_page_drawings and its tables and figures were not looked for, else 0.
    flood: int = 0
    # The fonts refused on the page whose text was left out (fontguard): (name, reason) each, at most
    # fontguard.MAX_REFUSED_NAMED of them; refused_more: how many more were.
    refused: tuple[tuple[str, str], ...] = ()
    refused_more: int = 0


@dataclass
class _BlockDraft:
    page: int
    kind: str
    lines: list[_Line]
    numbering: str = ""  # which numbering pattern made it a heading ("" if none)
    number_level: int = 0
    larger: bool = False
    label: str = ""  # a footnote's number

    @property
    def size(self) -> float:
        return Counter(round(line.size, 1) for line in self.lines).most_common(1)[0][0]


@dataclass(slots=True)
class _Draft:
    """A block as pass 2 leaves it: everything ``Block`` needs, and no glyphs (what a worker
    process sends back for each page)."""

    page: int
    kind: str
    numbering: str
    number_level: int
    larger: bool
    size: float  # most common line size
    text: str
    bold: bool
    x0: float
    top: float
    column: int
    vertical: bool
    markers: tuple[tuple[int, str], ...] = ()
    label: str = ""


_SizeStats = dict[float, list[int]]  # glyph size (0.5 pt) -> [count, position of the first glyph]


@dataclass(slots=True)
class _PageRecord:
    """What is kept of a page once it is read: figures, tables, blocks (``_Draft``), and what the
    document-wide steps need to know about it. Small, and free of pdfplumber objects and glyphs,
    so a long document is never held in memory glyph by glyph."""

    number: int
    width: float
    height: float
    glyph_count: int
    unmapped: int
    tables: list[Table]
    # Rows that may be running heads or feet: (row index, top, texts that must repeat).
    candidates: list[tuple[int, float, frozenset[str]]]
    bare: frozenset[int]  # rows that are only a page number near the edge: always removed
    assumed: frozenset[int]  # candidate rows this record was built without
    # Body glyph sizes per group: -1 for glyphs outside candidate and page-number rows, else the
    # candidate row's index (so the document's body size can be counted for any decision).
    sizes: dict[int, _SizeStats]
    removed_lines: list[str]
    columns: int = 0
    body_size: float | None = None  # the body size the blocks were built with
    line_sizes: frozenset[float] = frozenset()  # sizes of its lines (0.5 pt), for that decision
    drafts: list[_Draft] = field(default_factory=list)
    pending: _RawPage | None = None  # a page whose blocks wait for the document's body size
    # The page's ocr.OcrPage when its text was read by OCR (kept so that a page read again after
    # the document-wide decisions is not OCRed twice), else None.
    ocr: object | None = None
    drawn: bool = True  # whether the page draws anything besides glyphs (paths, images)
    flood: int = 0  # as _RawPage.flood: its tables and figures were not looked for
    refused: tuple[tuple[str, str], ...] = ()  # as _RawPage.refused: fonts whose text was left out
    refused_more: int = 0  # as _RawPage.refused_more


