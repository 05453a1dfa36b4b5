"""Extract: PDF → pages, blocks (headings, paragraphs), tables, with per-page quality figures.

Input: a PDF path. Output: an ``ExtractedDocument``. Pure with respect to the file: it reads the
PDF and returns values; it writes nothing.

How it works, per page (pdfplumber gives positioned glyphs; everything else is done here):

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

import ast
import functools
import math
import multiprocessing
import os
import pickle
import re
import statistics
import subprocess
import sys
import threading
import traceback
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pdfplumber
from pdfminer.layout import LTChar, LTContainer
from pdfminer.utils import PDFDocEncoding
from pdfplumber.page import fix_fontname_bytes
from pdfplumber.utils import resolve_all

from pipeline.errors import ExtractError, NoUsableTextError, PipelineError


@dataclass(frozen=True)
class ExtractConfig:
    # Lines whose text (digits masked) repeats at the same height on at least this share of
    # pages are running headers/footers.
    repeat_share: float = 0.5
    # A page whose glyphs are mostly (cid:N) placeholders is reported as unusable.
    max_unmapped_share: float = 0.3
    extract_tables: bool = True


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
    removed_lines: tuple[str, ...] = ()  # running headers / footers / page numbers removed


@dataclass(frozen=True)
class Block:
    page: int
    kind: str  # "heading" | "paragraph"
    text: str  # as in the PDF (not NFKC-normalized); wrapped lines joined
    level: int = 0  # heading depth: 1 chapter (第1章, 1.), 2 section (1.2), 3 (（1）); 0 otherwise
    font_size: float = 0.0
    bold: bool = False
    x0: float = 0.0
    top: float = 0.0
    # 0: single-column page, or an element spanning the columns; 1..N: column from the left.
    column: int = 0
    vertical: bool = False  # set in vertical writing (縦書き)


@dataclass(frozen=True)
class Table:
    page: int
    index: int  # 0-based within the page
    rows: tuple[tuple[str, ...], ...]
    bbox: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # x0, top, x1, bottom


@dataclass(frozen=True)
class PageProblem:
    page: int
    kind: str  # "no_text_layer" | "unmapped_glyphs"
    detail: str


@dataclass(frozen=True)
class ExtractedDocument:
    pages: tuple[PageInfo, ...]
    blocks: tuple[Block, ...]  # reading order
    tables: tuple[Table, ...]
    problems: tuple[PageProblem, ...]
    metadata: dict[str, str] = field(default_factory=dict)  # always str, never bytes


# ---------------------------------------------------------------------------------------------
# Tuning constants (in units of the font size unless said otherwise)
# ---------------------------------------------------------------------------------------------

_DEDUPE_TOLERANCE = 1.0  # pt; pdfplumber's dedupe_chars default
_MARGIN_ZONE = 0.15  # share of page height at top and bottom where running headers/footers live
_PAGE_NUMBER_ZONE = 0.10  # share of page height where a bare page number is removed anyway
_SAME_HEIGHT = 4.0  # pt; "about the same vertical position" for running lines
_GUTTER_MIN_GAP = 1.5  # a gap this wide inside a row may be a column gutter
_SPACE_GAP_CJK = 0.95  # a gap of about a full character is a real space, even between kanji
_SPACE_GAP_LATIN = 0.15  # word spacing between Latin glyphs (often exactly 0.25 em)
_SHORT_LINE = 1.5  # a line ending this far before the right edge is "short"
_LARGER_FONT = 1.0  # pt above the body size counts as a larger (heading) font
_MAX_HEADING_CHARS = 60
_MAX_NUMBERED_BODY_HEADING_CHARS = 40

_CID_PLACEHOLDER = re.compile(r"\(cid:\d+\)")
# Characters that a simple font without a Unicode map produces from its byte codes 0x80-0x9F
# (WinAnsi fallback): in a font that also has (cid:N) glyphs they are garbage, not text.
_WINANSI_SPECIALS = frozenset(bytes(range(0x80, 0xA0)).decode("cp1252", errors="ignore"))
_SENTENCE_END = ("。", "．", "！", "？")
_DIGITS = "0-9０-９"
_KANJI_NUMBERS = "一二三四五六七八九十百〇"

# Heading numbering at line start -> level. Order matters: the first match wins.
_NUMBERING = (
    (re.compile(rf"^第[{_DIGITS}{_KANJI_NUMBERS}]+[章編部]"), 1, "chapter"),
    (re.compile(rf"^第[{_DIGITS}{_KANJI_NUMBERS}]+節"), 2, "section"),
    (re.compile(rf"^第[{_DIGITS}{_KANJI_NUMBERS}]+[\s\u3000]"), 1, "chapter"),  # 第１ 基本… (通知)
    (re.compile(rf"^[{_DIGITS}]+[.．][{_DIGITS}]+[.．][{_DIGITS}]+(?![{_DIGITS}])"), 3, "decimal"),
    (re.compile(rf"^[{_DIGITS}]+[.．][{_DIGITS}]+(?![.．]?[{_DIGITS}])"), 2, "decimal"),
    (re.compile(rf"^[{_DIGITS}]+(?:[.．](?![{_DIGITS}])|[\s\u3000]+)\s*\S"), 1, "bare"),
    (re.compile(rf"^[（(][{_DIGITS}{_KANJI_NUMBERS}]+[)）]"), 3, "paren"),
    (re.compile(r"^[\u2460-\u2473\u3251-\u325f]"), 3, "paren"),  # ①-⑳, ㉑-㉟
)
# A bullet or a number at line start: after a short line, such a line is the next list item.
_LIST_START = re.compile(
    rf"^(?:[・●○■□◆◇▪▫•※◎★☆\-*]|[{_DIGITS}]+[.．)）\s\u3000]|[（(][{_DIGITS}{_KANJI_NUMBERS}]+[)）]"
    rf"|[\u2460-\u2473\u3251-\u325f]|第[{_DIGITS}{_KANJI_NUMBERS}]+)"
)
# A line that is only a page number: "2", "- 2 -", "2/10", "p. 2", "ii".
_ROMAN = r"(?=[ivxIVX])(?:x{0,3}(?:ix|iv|v?i{0,3})|X{0,3}(?:IX|IV|V?I{0,3}))"
_PAGE_NUMBER = re.compile(
    rf"^[\s\-－―—‐−–ー]*(?:[pP][.．]?\s*)?"
    rf"(?:[{_DIGITS}]+(?:\s*[/／]\s*[{_DIGITS}]+)?|{_ROMAN})"
    r"[\s\-－―—‐−–ー]*$"
)
# Font names of bold faces: Bold/Black/Heavy/Demi (not DemiLight), Japanese weights W5 and up
# (HeiseiKakuGo-W5), and heading gothics (GothicBBB-Medium, MidashiGo, HGPGothicE). Not
# "Medium" in general: Yu Gothic Medium is a common body font.
_BOLD_FONT = re.compile(
    r"bold|black|heavy|demi(?!light)|(?<![a-z])w(?:[5-9]|1[0-4])(?![0-9])"
    r"|gothicbbb|midashigo|gothic.*[-_]?(?:db|b|e|eb|h|u)$|ゴシック.*(?:B|E|H|U)$",
    re.IGNORECASE,
)


# ---------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------


def extract_pdf(
    path: Path, config: ExtractConfig = ExtractConfig(), *, workers: int | None = None
) -> ExtractedDocument:
    """Read ``path`` and return its text as pages, blocks (reading order) and tables.

    ``workers``: processes that read pages in parallel; None uses every CPU (``os.cpu_count()``),
    1 reads in this process. Documents under ``PARALLEL_MIN_PAGES`` pages, and calls from a
    daemonic process (a Dask or multiprocessing worker), are read in this process. The result
    does not depend on it.

    Raises ``ExtractError`` when the file cannot be opened as a PDF, and ``NoUsableTextError``
    when it opens but no page has usable text (scanned, or fonts without Unicode mapping).
    """
    path = Path(path)
    with _open_pdf(path) as pdf:
        metadata = _decode_metadata(pdf)
        n_pages = len(pdf.pages)
        n_workers = _worker_count(workers, n_pages)
        reader = _PagePool(pdf, path, config, n_pages, n_workers) if n_workers > 1 else _Reader(pdf, path, config, n_pages)
        with reader:
            records = _read_document(reader, n_pages, config)

    blocks = _assign_heading_levels([d for rec in records for d in rec.drafts])
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
    )


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


@dataclass
class _RawPage:
    """What pass 1 keeps of a page (pdfplumber objects are released after it)."""

    number: int
    width: float
    height: float
    glyph_count: int  # non-space glyphs after de-duplication, before dropping unmapped ones
    unmapped: int
    glyphs: list[_Glyph]  # body glyphs (no table text, no unmapped glyphs)
    rows: list[_Line]  # horizontal rows, top to bottom
    vertical_lines: list[_Line]
    tables: list[Table]
    removed_lines: list[str] = field(default_factory=list)
    columns: int = 0  # set when blocks are built


@dataclass
class _BlockDraft:
    page: int
    kind: str
    lines: list[_Line]
    numbering: str = ""  # which numbering pattern made it a heading ("" if none)
    number_level: int = 0
    larger: bool = False

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
    drafts: list[_Draft] = field(default_factory=list)
    pending: _RawPage | None = None  # a page whose blocks wait for the document's body size


# ---------------------------------------------------------------------------------------------
# Opening the file, metadata, font names
# ---------------------------------------------------------------------------------------------

_TODO_REFETCH = (
    "check that the file is a complete PDF (open it in a PDF viewer); if it was downloaded, "
    "fetch it again"
)


def _open_pdf(path: Path) -> pdfplumber.PDF:
    """Open with pdfplumber, turning every failure into an ExtractError that says what to do."""
    if not path.is_file():
        raise ExtractError(f"{path}: no such file", "check the path and run again")
    with path.open("rb") as fh:
        head = fh.read(1024)
        fh.seek(max(0, path.stat().st_size - 2048))
        tail = fh.read()
    if not head:
        raise ExtractError(f"{path.name} is empty (0 bytes)", "fetch the file again")
    if b"%PDF-" not in head:
        raise ExtractError(
            f"{path.name} is not a PDF: it does not start with %PDF- (it starts with {head[:20]!r})",
            "check that the source really serves a PDF (an HTML error or login page is a common "
            "cause) and fetch it again",
        )
    truncated = b"%%EOF" not in tail
    try:
        pdf = pdfplumber.open(path)  # password="" by default: empty user passwords just open
    except Exception as exc:  # pdfminer raises many types; all mean "cannot open"
        raise _open_error(path, exc, truncated) from exc
    try:
        page_count = len(pdf.pages)
    except Exception as exc:
        pdf.close()
        raise _open_error(path, exc, truncated) from exc
    if page_count == 0:
        pdf.close()
        raise _no_pages_error(path)
    return pdf


def _no_pages_error(path: Path) -> ExtractError:
    """0 pages: an empty page tree, or page objects that a damaged cross-reference table hides."""
    with path.open("rb") as fh:
        has_page_objects = re.search(rb"/Type\s*/Page(?![A-Za-z])", fh.read()) is not None
    if has_page_objects:
        return ExtractError(
            f"{path.name} cannot be read: its cross-reference table is damaged (the file holds page "
            "objects, but none can be reached through the table, so 0 pages were found)",
            "repair it, e.g. qpdf IN OUT or mutool clean IN OUT (or open it in a PDF viewer and save a "
            "copy), then run again with the repaired file; if it was downloaded, fetch it again",
        )
    return ExtractError(f"{path.name} has no pages (0 pages in its page tree)", _TODO_REFETCH)


def _open_error(path: Path, exc: Exception, truncated: bool) -> ExtractError:
    cause = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
    reason = f"{type(cause).__name__}: {cause}".rstrip(": ")
    if "Password" in type(cause).__name__ or "Encrypt" in type(cause).__name__:
        return ExtractError(
            f"{path.name} is encrypted and needs a password to open ({reason})",
            "get an unprotected copy, or decrypt it first, e.g. "
            "qpdf --password=PASSWORD --decrypt IN OUT, then run again",
        )
    if truncated:
        return ExtractError(
            f"{path.name} cannot be opened: the file looks truncated (it does not end with %%EOF; "
            f"{reason})",
            "the download was probably cut off: fetch the file again",
        )
    return ExtractError(f"{path.name} cannot be opened as a PDF ({reason})", _TODO_REFETCH)


def _decode_bytes(raw: bytes, fallback: str = "latin-1") -> str:
    """Bytes from PDF dictionaries: UTF-16 with BOM, UTF-8, Shift-JIS, else ``fallback``."""
    if raw.startswith((b"\xfe\xff", b"\xff\xfe")):
        return raw.decode("utf-16", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp932")
        # Latin-1 bytes often decode as cp932 half-width katakana (® → ｮ); only trust cp932
        # when it produced at least one double-byte (full-width) character.
        if any(unicodedata.east_asian_width(ch) in "WF" for ch in text):
            return text
    except UnicodeDecodeError:
        pass
    if fallback == "pdfdoc":
        return "".join(PDFDocEncoding[b] for b in raw)
    return raw.decode("latin-1", errors="replace")


def _to_str(value: object, fallback: str = "latin-1") -> str:
    if isinstance(value, bytes):
        return _decode_bytes(value, fallback)
    if hasattr(value, "resolve"):
        return _to_str(value.resolve(), fallback)
    if hasattr(value, "name") and not isinstance(value, str):  # PSLiteral
        return _to_str(value.name, fallback)
    if isinstance(value, (list, tuple)):
        return ", ".join(_to_str(v, fallback) for v in value)
    return str(value)


def _decode_metadata(pdf: pdfplumber.PDF) -> dict[str, str]:
    """Document info as str → str, decoded from the raw bytes (pdfplumber decodes every
    string as PDFDocEncoding, which turns UTF-8 or Shift-JIS titles into mojibake)."""
    metadata: dict[str, str] = {}
    try:
        infos = list(pdf.doc.info)
    except Exception:  # a broken info dict must not stop extraction
        infos = []
    for info in infos:
        for key, value in dict(info).items():
            try:
                metadata[_to_str(key)] = _to_str(value, fallback="pdfdoc")
            except Exception:
                continue
    return metadata


@functools.lru_cache(maxsize=4096)
def _font_name_and_weight(raw: str | bytes) -> tuple[str, bool]:
    """Font name as str (pdfminer may give bytes, or a str like "b'ABC+\\x82l…'") and
    whether the name says it is a bold face."""
    name: str
    if isinstance(raw, bytes):
        name = _decode_bytes(raw)
    elif isinstance(raw, str) and len(raw) > 3 and raw[:2] in ("b'", 'b"') and raw[-1] == raw[1]:
        try:
            name = _decode_bytes(ast.literal_eval(raw))
        except (ValueError, SyntaxError):
            name = raw
    else:
        name = str(raw)
    base = name.split("+", 1)[1] if re.match(r"^[A-Z]{6}\+", name) else name  # subset prefix
    return name, bool(_BOLD_FONT.search(base))


# ---------------------------------------------------------------------------------------------
# Reading the pages: in this process or in worker processes
# ---------------------------------------------------------------------------------------------
#
# Each page is read on its own (pass 1, then pass 2: running lines dropped, columns, blocks) into
# a small ``_PageRecord``. Two things depend on other pages: which rows are running heads/feet,
# and the document's body size (used for pages with little text). A page is therefore built on
# the assumption that all its candidate rows are running lines (true of almost every page of a
# report with running heads); once all pages are read, the decision is taken as for the whole
# document, and the few pages whose assumption was wrong are read again with the decision.
# Pages with little text keep their glyphs until the body size is known. The result is the same
# as reading everything first and then deciding, however the pages are split among processes.

PARALLEL_MIN_PAGES = 16  # below this, starting worker processes costs more than it saves
_FEW_GLYPHS = 200  # a page with fewer body glyphs takes the document's body size


def _worker_count(workers: int | None, n_pages: int) -> int:
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 1:
        raise ValueError(f"workers must be at least 1 (or None for every CPU), not {workers}")
    if workers == 1 or n_pages < PARALLEL_MIN_PAGES:
        return 1
    if multiprocessing.current_process().daemon:  # a Dask worker: one task per core already
        return 1
    return min(workers, n_pages)


class _Reader:
    """Reads pages into records, in page order: ``read(numbers, decided, doc_body_size)``.

    ``decided``: None for the first reading (candidate rows assumed to be running lines), else
    the candidate rows to remove per page. ``doc_body_size``: None while it is not known.
    """

    def __init__(self, pdf: pdfplumber.PDF, path: Path, config: ExtractConfig, n_pages: int):
        self.pdf, self.path, self.config, self.n_pages = pdf, path, config, n_pages

    def read(
        self, numbers: list[int], decided: dict[int, frozenset[int]] | None, doc_body_size: float | None
    ) -> list[_PageRecord]:
        return _read_pages(self.pdf, self.path, self.config, self.n_pages, numbers, decided, doc_body_size)

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc_info) -> None:
        pass


class _PagePool(_Reader):
    """This process and ``workers - 1`` worker processes reading chunks of consecutive pages.

    The workers are plain ``python -c`` processes that import this module, open the PDF once
    and answer requests over a pipe (pickles): not ``multiprocessing``, whose fork is unsafe in
    a process that runs threads (Prefect's) and whose spawn and forkserver re-import the
    caller's main module in every worker (the whole CLI, Prefect included). A worker that cannot
    be started is simply not used.
    """

    def __init__(self, pdf: pdfplumber.PDF, path: Path, config: ExtractConfig, n_pages: int, workers: int):
        super().__init__(pdf, path, config, n_pages)
        self.workers: list[_WorkerProcess] = []
        for _ in range(workers - 1):
            try:
                self.workers.append(_WorkerProcess(path, config, n_pages))
            except OSError:
                break

    def __exit__(self, *exc_info) -> None:
        for worker in self.workers:
            worker.close()

    def read(self, numbers, decided, doc_body_size):
        if not self.workers:
            return super().read(numbers, decided, doc_body_size)
        # Small chunks balance the load (pages differ in cost); each costs one round trip.
        size = min(16, max(2, math.ceil(len(numbers) / ((len(self.workers) + 1) * 8))))
        chunks = [numbers[i : i + size] for i in range(0, len(numbers), size)]
        results: list[list[_PageRecord] | BaseException | None] = [None] * len(chunks)
        lock = threading.Lock()
        state = {"next": 0, "stop": False}

        def take() -> int | None:
            with lock:
                if state["stop"] or state["next"] >= len(chunks):
                    return None
                state["next"] += 1
                return state["next"] - 1

        def run(read_chunk) -> None:
            while (k := take()) is not None:
                chunk = chunks[k]
                chunk_decided = {n: decided[n] for n in chunk} if decided is not None else None
                try:
                    results[k] = read_chunk(chunk, chunk_decided, doc_body_size)
                except BaseException as exc:  # kept, and raised below in page order
                    results[k] = exc
                    state["stop"] = True

        threads = [threading.Thread(target=run, args=(w.read,), daemon=True) for w in self.workers]
        for t in threads:
            t.start()
        run(super().read)  # this process reads too
        for t in threads:
            t.join()
        records: list[_PageRecord] = []
        for result in results:  # in page order: the first page that fails is the one reported
            if isinstance(result, BaseException):
                raise result
            if result is None:  # not read because an earlier chunk failed (raised above)
                break
            records.extend(result)
        return records


_WORKER_CODE = "import pipeline.extract as e; e._worker_main()"


class _WorkerProcess:
    """One worker process (see ``_PagePool``) and its pipes."""

    def __init__(self, path: Path, config: ExtractConfig, n_pages: int):
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[1])  # import this very pipeline
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-c", _WORKER_CODE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        self._send((str(path), config, n_pages))

    def _send(self, message) -> None:
        pickle.dump(message, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self.proc.stdin.flush()

    def read(self, numbers, decided, doc_body_size) -> list[_PageRecord]:
        try:
            self._send((numbers, decided, doc_body_size))
            reply = pickle.load(self.proc.stdout)
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            code = self.proc.poll()
            raise RuntimeError(f"an extract worker process ended unexpectedly (exit code {code})") from exc
        kind, *rest = reply
        if kind == "ok":
            return rest[0]
        if kind == "error":  # a PipelineError: rebuilt from its parts (pickling loses them)
            cls, what, todo = rest
            raise cls(what, todo)
        exc, trace = rest
        raise exc if exc is not None else RuntimeError(f"extract worker failed:\n{trace}")

    def close(self) -> None:
        try:
            self._send(None)
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _worker_main() -> None:
    """A worker process's loop: open the PDF named by the first message, then answer each
    request (page numbers, decisions, body size) with their records, until None."""
    out = os.fdopen(os.dup(1), "wb")  # the replies; anything printed goes to stderr instead
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    path, config, n_pages = pickle.load(inp)
    pdf = pdfplumber.open(path)
    while True:
        try:
            request = pickle.load(inp)
        except EOFError:  # the caller is gone
            break
        if request is None:
            break
        numbers, decided, doc_body_size = request
        try:
            reply = ("ok", _read_pages(pdf, Path(path), config, n_pages, numbers, decided, doc_body_size))
        except PipelineError as exc:
            reply = ("error", type(exc), exc.what, exc.todo)
        except Exception as exc:
            try:
                pickle.dumps(exc)
                reply = ("exception", exc, traceback.format_exc())
            except Exception:
                reply = ("exception", None, traceback.format_exc())
        pickle.dump(reply, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()
    pdf.close()


def _read_pages(
    pdf: pdfplumber.PDF,
    path: Path,
    config: ExtractConfig,
    n_pages: int,
    numbers: list[int],
    decided: dict[int, frozenset[int]] | None,
    doc_body_size: float | None,
) -> list[_PageRecord]:
    pages = pdf.pages
    records = []
    for number in numbers:
        page = pages[number - 1]
        assumed = decided[number] if decided is not None else None
        records.append(_page_record(page, path, config, n_pages, assumed, doc_body_size))
        page.close()  # frees pdfplumber's cached layout; matters for long documents
    return records


def _read_document(reader: _Reader, n_pages: int, config: ExtractConfig) -> list[_PageRecord]:
    """Every page's record, with the document-wide decisions applied."""
    records = reader.read(list(range(1, n_pages + 1)), None, None)
    remove = _running_line_decision(records, n_pages, config)
    decided = {
        rec.number: frozenset(i for i, _, _ in rec.candidates if (rec.number, i) in remove) for rec in records
    }
    doc_body_size = _doc_body_size(records, decided)
    redo = [rec.number for rec in records if rec.bare | rec.assumed != rec.bare | decided[rec.number]]
    if redo:
        again = {rec.number: rec for rec in reader.read(redo, {n: decided[n] for n in redo}, doc_body_size)}
        records = [again.get(rec.number, rec) for rec in records]
    for rec in records:
        if rec.pending is not None:
            _finish_page(rec, rec.pending, doc_body_size)
    return records


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


def _doc_body_size(records: list[_PageRecord], decided: dict[int, frozenset[int]]) -> float:
    """``_body_size`` over the body glyphs of all pages once running lines are removed."""
    counts: Counter[float] = Counter()
    for rec in records:
        removed = decided[rec.number]
        merged: dict[float, list[int]] = {}
        for group, stats in rec.sizes.items():
            if group in removed:
                continue
            for size, (count, first) in stats.items():
                entry = merged.get(size)
                if entry is None:
                    merged[size] = [count, first]
                else:
                    entry[0] += count
                    entry[1] = min(entry[1], first)
        for size, (count, _) in sorted(merged.items(), key=lambda item: item[1][1]):
            counts[size] += count
    return counts.most_common(1)[0][0] if counts else 10.0


# ---------------------------------------------------------------------------------------------
# Pass 1: glyphs of one page
# ---------------------------------------------------------------------------------------------


# (text, x0, x1, top, bottom, size, font name, upright) of one glyph, valued as pdfplumber's
# page.chars gives them.
_Char = tuple[str, float, float, float, float, float, object, bool]


def _page_chars(page: pdfplumber.page.Page) -> list[_Char]:
    """The page's glyphs in content order, as ``page.chars`` would give them, without building
    pdfplumber's dict of ~25 resolved attributes per glyph (that alone was a third of the
    extraction time). The page's other objects (lines, rectangles: what table detection needs)
    go through pdfplumber as usual and are cached on the page for ``find_tables``."""
    if not _FAST_CHARS:
        return [
            (c["text"], c["x0"], c["x1"], c["top"], c["bottom"], c["size"], c.get("fontname", ""),
             c.get("upright", True))
            for c in page.chars
        ]
    height = page.height
    mb_x0, mb_top = page.mediabox[:2]
    containers_too = page.pdf.laparams is not None
    unicode_norm = page.pdf.unicode_norm
    chars: list[_Char] = []
    objects: dict[str, list[dict]] = {}

    # Same traversal and arithmetic as pdfplumber's Page.iter_layout_objects / process_object.
    def visit(layout_objects) -> None:
        for obj in layout_objects:
            if isinstance(obj, LTContainer):
                if containers_too:
                    add(obj)
                visit(obj._objs)
            elif type(obj) is LTChar:
                text = obj.get_text()
                if unicode_norm is not None:
                    text = unicodedata.normalize(unicode_norm, text)
                font = obj.fontname
                if type(font) is not str:
                    font = resolve_all(font)
                    if isinstance(font, bytes):
                        font = fix_fontname_bytes(font)
                x0, x1 = obj.x0, obj.x1
                if mb_x0 != 0:
                    x0, x1 = x0 + mb_x0, x1 + mb_x0
                chars.append(
                    (text, x0, x1, (height - obj.y1) + mb_top, (height - obj.y0) + mb_top, obj.size, font, obj.upright)
                )
            else:
                add(obj)

    def add(obj) -> None:
        kind = _LT_PREFIX.sub("", obj.__class__.__name__).lower()
        if kind != "anno":
            objects.setdefault(kind, []).append(page.process_object(obj))

    visit(page.layout._objs)
    page._objects = objects  # what page.objects would be, less the chars (nothing reads them)
    return chars


# pdfplumber's internals that _page_chars relies on (checked once, at import): without them,
# glyphs are read from page.chars, with the same result, only slower.
_LT_PREFIX = re.compile(r"^LT")
_FAST_CHARS = all(
    hasattr(pdfplumber.page.Page, name) for name in ("process_object", "iter_layout_objects", "layout", "objects")
) and getattr(pdfplumber.page, "lt_pat", None) is not None and pdfplumber.page.lt_pat.pattern == _LT_PREFIX.pattern


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


def _glyphs_from_chars(chars: list[_Char], bbox: tuple[float, float, float, float]) -> tuple[list[_Glyph], int]:
    """Compact glyph records in content-stream order, and the number of rotated glyphs.

    Glyphs outside the visible page are left out. Rotated glyphs (upright False: margin
    labels, watermarks, a table turned sideways) are counted as text layer but not read:
    their lines run in another direction.
    """
    x_min, top_min, x_max, bottom_max = bbox
    glyphs = []
    rotated = 0
    for text, x0, x1, top, bottom, size, fontname, upright in chars:
        cx, cy = (x0 + x1) / 2, (top + bottom) / 2
        if not (x_min <= cx <= x_max and top_min <= cy <= bottom_max):
            continue
        if not upright:
            rotated += not text.isspace()
            continue
        font, bold = _font_name_and_weight(fontname)
        glyphs.append(_Glyph(text, x0, x1, top, bottom, float(size), font, bold))
    return glyphs, rotated


def _dedupe_glyphs(glyphs: list[_Glyph]) -> list[_Glyph]:
    """Drop glyphs drawn twice at (almost) the same place, and mark the kept one bold.

    Same rule as pdfplumber's ``page.dedupe_chars()`` (same text, font and size within 1 pt),
    but a grid lookup instead of its sort by ``list.index``, which is quadratic (measured 50 ms
    on a 1,100-glyph page), and it tells which glyphs were doubled: fake bold.

    Kept glyphs are filed by (text, font, size) and then by the row of 1-pt cells they fall in;
    a glyph's twin is looked for in the 3 x 3 cells around it. When several kept glyphs are
    within the tolerance, the twin is the first found scanning the cells column by column (left
    to right, each top to bottom), then in the order kept.
    """
    tol = _DEDUPE_TOLERANCE
    grid: dict[tuple, dict[int, list[tuple[int, int, _Glyph]]]] = {}  # → cell row → (cell column, order, glyph)
    kept: list[_Glyph] = []
    for g in glyphs:
        x0, top = g.x0, g.top
        ix, iy = int(x0 // tol), int(top // tol)
        key = (g.text, g.font, round(g.size, 1))
        rows = grid.get(key)
        if rows is None:
            grid[key] = {iy: [(ix, len(kept), g)]}
            kept.append(g)
            continue
        twin, rank = None, None
        for dy in (-1, 0, 1):
            cell_row = rows.get(iy + dy)
            if cell_row is None:
                continue
            for cx, order, other in cell_row:
                dx = cx - ix
                if -1 <= dx <= 1 and abs(other.x0 - x0) <= tol and abs(other.top - top) <= tol:
                    if twin is None or (dx, dy, order) < rank:
                        twin, rank = other, (dx, dy, order)
        if twin is not None:
            twin.bold = True
            continue
        cell_row = rows.get(iy)
        if cell_row is None:
            rows[iy] = [(ix, len(kept), g)]
        else:
            cell_row.append((ix, len(kept), g))
        kept.append(g)
    return kept


@functools.lru_cache(maxsize=65536)
def _is_garbage_char(ch: str) -> bool:
    """Control, private-use, surrogate, unassigned or replacement characters are not text."""
    return ch == "\ufffd" or (unicodedata.category(ch) in ("Cc", "Co", "Cs", "Cn") and not ch.isspace())


def _is_unmapped(text: str) -> bool:
    """A "(cid:N)" placeholder or a garbage character in a glyph's text."""
    return ("(cid:" in text and _CID_PLACEHOLDER.search(text) is not None) or any(map(_is_garbage_char, text))


def _drop_unmapped(glyphs: list[_Glyph]) -> tuple[list[_Glyph], int]:
    """Remove glyphs without a Unicode mapping; return the rest and how many were removed.

    pdfminer writes "(cid:N)" for such glyphs. A font that has any of them is not trusted for
    its glyphs in the WinAnsi 0x80-0x9F range either (™ — › œ … are what such fonts emit for
    digits; kampo's header shows this).
    """
    unmapped = [_is_unmapped(g.text) for g in glyphs]
    if not any(unmapped):
        return glyphs, 0
    broken_fonts = {g.font for g, bad in zip(glyphs, unmapped) if bad}
    kept, dropped = [], 0
    for g, bad in zip(glyphs, unmapped):
        text = g.text
        if bad:
            cleaned = "".join(ch for ch in _CID_PLACEHOLDER.sub("", text) if not _is_garbage_char(ch))
            dropped += 1
            if not cleaned:
                continue
            g.text = cleaned
        elif g.font in broken_fonts and all(ch in _WINANSI_SPECIALS for ch in text):
            dropped += 1
            continue
        kept.append(g)
    return kept, dropped


def _inside(g: _Glyph, bbox: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = bbox
    return x0 <= g.cx <= x1 and top <= g.cy <= bottom


def _inside_any(g: _Glyph, boxes: list[tuple[float, float, float, float]]) -> bool:
    return any(_inside(g, b) for b in boxes)


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
# Lines: rows of glyphs, their text, joining wrapped lines
# ---------------------------------------------------------------------------------------------


def _cluster_rows(glyphs: list[_Glyph]) -> list[list[_Glyph]]:
    """Group glyphs into rows: a glyph joins the current row when at least half its height
    overlaps the row's vertical band. Rows come out top to bottom, glyphs left to right."""
    rows: list[list[_Glyph]] = []
    band_top = band_bottom = 0.0
    for g in sorted(glyphs, key=lambda g: (g.top, g.x0)):
        height = max(g.bottom - g.top, 0.1)
        overlap = min(band_bottom, g.bottom) - max(band_top, g.top)
        if rows and overlap >= 0.5 * height:
            rows[-1].append(g)
            band_bottom = max(band_bottom, g.bottom)
        else:
            rows.append([g])
            band_top, band_bottom = g.top, g.bottom
    for row in rows:
        row.sort(key=lambda g: g.x0)
    return [row for row in rows if any(not g.text.isspace() for g in row)]


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF"


def _is_latin_word_char(ch: str) -> bool:
    return ch.isalnum() and not _is_wide(ch) and ord(ch) < 0x2000


def _glyph_run_text(glyphs: list[_Glyph], start, end) -> str:
    """Text of glyphs in reading order. A space is added for a gap of about a full character
    (even between kanji: a visible blank), or for word spacing between Latin glyphs; never
    for the small gaps of justified Japanese text. ``start``/``end`` give a glyph's extent
    along the line (x for horizontal, y for vertical writing)."""
    parts: list[str] = []
    prev: _Glyph | None = None
    prev_end = 0.0
    for g in glyphs:
        if g.text.isspace():
            if parts and not parts[-1].isspace():
                parts.append(g.text)
            elif not parts:
                parts.append(g.text)  # a leading (full-width) space marks an indent; kept for now
            continue
        if prev is not None and parts and not parts[-1].isspace():
            gap = start(g) - prev_end
            size = max(g.size, prev.size)
            latin_pair = not _is_wide(prev.text[-1]) and not _is_wide(g.text[0])
            if gap >= _SPACE_GAP_CJK * size or (latin_pair and gap >= _SPACE_GAP_LATIN * size):
                parts.append(" ")
        parts.append(g.text)
        prev_end = max(prev_end, end(g)) if prev is not None else end(g)
        prev = g
    return "".join(parts).rstrip()


def _dominant_size(glyphs: list[_Glyph]) -> float:
    sizes = Counter(round(g.size, 1) for g in glyphs if not g.text.isspace())
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _mostly_bold(glyphs: list[_Glyph]) -> bool:
    visible = [g for g in glyphs if not g.text.isspace()]
    return bool(visible) and sum(g.bold for g in visible) * 2 > len(visible)


def _make_line(glyphs: list[_Glyph], column: int = 0) -> _Line:
    x0 = min(g.x0 for g in glyphs)
    top = min(g.top for g in glyphs)
    return _Line(
        glyphs=glyphs,
        text=_glyph_run_text(glyphs, lambda g: g.x0, lambda g: g.x1),
        x0=x0,
        x1=max(g.x1 for g in glyphs),
        top=top,
        bottom=max(g.bottom for g in glyphs),
        size=_dominant_size(glyphs),
        bold=_mostly_bold(glyphs),
        page_x0=x0,
        page_top=top,
        column=column,
    )


def _join_two(left: str, right: str) -> str:
    """Join a wrapped line to the next: no space, except between two Latin/digit words."""
    left, right = left.rstrip(), right.lstrip()
    if not left or not right:
        return left + right
    a, b = left[-1], right[0]
    if a.isdigit() and b.isdigit() and any(_is_wide(ch) for ch in left[-20:]):
        return left + right  # a number broken by the wrap inside Japanese text (平成2 / 8年)
    if (_is_latin_word_char(a) or a in ",.;:!?)%") and (_is_latin_word_char(b) or b == "("):
        return f"{left} {right}"
    return left + right


def _join_lines(texts: list[str]) -> str:
    joined = ""
    for text in texts:
        joined = _join_two(joined, text) if joined else text.strip()
    return joined.strip()


# ---------------------------------------------------------------------------------------------
# Vertical writing (縦書き)
# ---------------------------------------------------------------------------------------------


def _split_vertical(glyphs: list[_Glyph]) -> tuple[list[_Glyph], list[list[_Glyph]]]:
    """Separate glyphs set in vertical lines from horizontal ones.

    pdfminer reports vertical glyphs as upright, so geometry decides: in content order, a
    glyph followed by one of the same size directly below it (same column, at most one blank
    character in between) is part of a vertical line. Runs of three or more such glyphs are
    vertical lines (two suffice on a page that is mostly vertical); glyphs placed out of
    content order (brackets, item numbers) are then attached to the line they sit in.
    Horizontal text never stacks like this except in table cells, which are cut out before.
    Returns (horizontal glyphs, vertical lines as glyph lists).
    """
    visible = [g for g in glyphs if not g.text.isspace()]
    linked = [_stacked(a, b) for a, b in zip(visible, visible[1:])]
    if not any(linked):
        return glyphs, []
    runs: list[list[_Glyph]] = []
    start = None
    for i, is_linked in enumerate(linked + [False]):
        if is_linked and start is None:
            start = i
        elif not is_linked and start is not None:
            runs.append(visible[start : i + 1])
            start = None
    mostly_vertical = sum(len(r) for r in runs if len(r) >= 3) * 2 > len(visible)
    runs = [r for r in runs if len(r) >= 3 or (mostly_vertical and len(r) == 2)]
    if not runs:
        return glyphs, []
    in_vertical = {id(g) for run in runs for g in run}
    _attach_orphans([g for g in visible if id(g) not in in_vertical], runs, in_vertical)
    return [g for g in glyphs if id(g) not in in_vertical], runs


def _stacked(a: _Glyph, b: _Glyph) -> bool:
    """``b`` follows ``a`` downwards in the same vertical line."""
    size = max(a.size, b.size)
    return (
        abs(a.size - b.size) <= 0.1 * size
        and abs(a.cx - b.cx) <= 0.7 * size
        and 0.3 * size < b.top - a.top <= 2.6 * size
    )


def _attach_orphans(orphans: list[_Glyph], runs: list[list[_Glyph]], in_vertical: set[int]) -> None:
    """Put glyphs drawn out of content order into the vertical line they sit in: same size,
    same column, within or right next to the line's extent."""
    buckets: dict[int, list[list[_Glyph]]] = {}
    for run in runs:
        buckets.setdefault(int(run[0].cx // 4), []).append(run)
    for g in orphans:
        reach = 0.7 * g.size
        for key in range(int((g.cx - reach) // 4), int((g.cx + reach) // 4) + 1):
            match = next((run for run in buckets.get(key, ()) if _sits_in(g, run)), None)
            if match is not None:
                match.append(g)
                in_vertical.add(id(g))
                break


def _sits_in(g: _Glyph, run: list[_Glyph]) -> bool:
    ref = run[0]
    top, bottom = min(x.top for x in run), max(x.bottom for x in run)
    gap = max(top - g.bottom, g.top - bottom)
    same_font = abs(ref.size - g.size) <= 0.1 * g.size
    return same_font and abs(ref.cx - g.cx) <= 0.7 * g.size and gap <= g.size


def _make_vertical_line(glyphs: list[_Glyph], page_width: float) -> _Line:
    """A vertical line in rotated coordinates (see ``_Line``): along = y, across = -x."""
    glyphs = sorted(glyphs, key=lambda g: g.top)
    x0, x1 = min(g.x0 for g in glyphs), max(g.x1 for g in glyphs)
    top = min(g.top for g in glyphs)
    return _Line(
        glyphs=glyphs,
        text=_glyph_run_text(glyphs, lambda g: g.top, lambda g: g.bottom),
        x0=top,
        x1=max(g.bottom for g in glyphs),
        top=page_width - x1,
        bottom=page_width - x0,
        size=_dominant_size(glyphs),
        bold=_mostly_bold(glyphs),
        page_x0=x0,
        page_top=top,
        vertical=True,
    )


def _vertical_tiers(lines: list[_Line]) -> list[list[_Line]]:
    """Tiers (段) of vertical text: lines whose vertical extents overlap, read top tier first;
    inside a tier, lines right to left (ascending in the rotated coordinates)."""
    tiers: list[list[_Line]] = []
    tier_end = 0.0
    for line in sorted(lines, key=lambda ln: ln.x0):
        if tiers and line.x0 < tier_end:
            tiers[-1].append(line)
            tier_end = max(tier_end, line.x1)
        else:
            tiers.append([line])
            tier_end = line.x1
    return [sorted(t, key=lambda ln: ln.top) for t in tiers]


# ---------------------------------------------------------------------------------------------
# Running headers, footers, page numbers
# ---------------------------------------------------------------------------------------------


_Occurrence = tuple[float, int, tuple[int, int]]  # (top, page number, (page number, row index))


def _mask_digits(text: str) -> str:
    return re.sub(rf"[{_DIGITS}]+", "#", re.sub(r"\s+", "", text))


def _running_line_decision(pages: list[_PageRecord], n_pages: int, config: ExtractConfig) -> set[tuple[int, int]]:
    """Running heads and feet: candidate rows (near the top or bottom, see
    ``_running_line_candidates``) whose text repeats (digits masked, whole or in part) at about
    the same height on at least ``repeat_share`` of the pages, in documents of 3+ pages.
    Returns (page number, row index) pairs. Rows that are nothing but a page number near the top
    or bottom edge are removed in any document (``_PageRecord.bare``)."""
    remove: set[tuple[int, int]] = set()
    if n_pages >= 3:
        needed = max(2, math.ceil(config.repeat_share * n_pages))
        by_text: dict[str, list[_Occurrence]] = {}
        for page in pages:
            for index, top, keys in page.candidates:
                for key in keys:
                    by_text.setdefault(key, []).append((top, page.number, (page.number, index)))
        for occurrences in by_text.values():
            for cluster in _clusters_by_height(occurrences):
                if len({number for _, number, _ in cluster}) >= needed:
                    remove.update(ref for _, _, ref in cluster)
    return remove


def _drop_rows(page: _RawPage, remove: frozenset[int]) -> None:
    """Remove the rows at these indices (running lines, page numbers) and their glyphs."""
    if not remove:
        return
    kept = []
    for i, row in enumerate(page.rows):
        if i in remove:
            page.removed_lines.append(row.text.strip())
        else:
            kept.append(row)
    if len(kept) != len(page.rows):
        removed_glyphs = {id(g) for i, row in enumerate(page.rows) if i in remove for g in row.glyphs}
        page.glyphs = [g for g in page.glyphs if id(g) not in removed_glyphs]
        page.rows = kept


def _running_line_keys(row: _Line) -> set[str]:
    """What must repeat for a row to be a running line: its text with digits masked, or one
    of its parts set apart by a wide gap (a running head often pairs the fixed report title
    with the chapter's title or the page number)."""
    keys = {_mask_digits(row.text)}
    visible = [g for g in row.glyphs if not g.text.isspace()]
    parts: list[list[_Glyph]] = [[visible[0]]] if visible else []
    for a, b in zip(visible, visible[1:]):
        if b.x0 - a.x1 >= 2 * max(a.size, b.size):
            parts.append([])
        parts[-1].append(b)
    if len(parts) > 1:
        keys.update(_mask_digits("".join(g.text for g in part)) for part in parts)
    return keys


def _running_line_candidates(page: _RawPage) -> list[_Line]:
    """Rows that may be running heads or feet: up to two rows at the top and at the bottom
    of the page, set apart from the body by more than a line's spacing, inside the margin
    zone, and not set larger than the body (a chapter heading at the same place on each
    chapter's first page is not a running head; neither is a body line)."""
    rows = page.rows
    if not rows:
        return []
    body_size = _body_size(page.glyphs, default=0.0)
    apart = 1.2 * body_size
    candidates: list[_Line] = []
    for k in (1, 2):  # top: rows[:k] followed by a clear gap
        if k < len(rows) and rows[k].top - rows[k - 1].bottom >= apart:
            candidates += rows[:k]
            break
    for k in (1, 2):  # bottom: rows[-k:] preceded by a clear gap
        if k < len(rows) and rows[-k].top - rows[-k - 1].bottom >= apart:
            candidates += [r for r in rows[-k:] if r not in candidates]
            break
    return [
        row
        for row in candidates
        if _in_zone(row, page.height, _MARGIN_ZONE) and row.size < body_size + _LARGER_FONT
    ]


def _in_zone(row: _Line, page_height: float, share: float) -> bool:
    return row.bottom <= page_height * share or row.top >= page_height * (1 - share)


def _clusters_by_height(occurrences: list[_Occurrence]) -> list[list[_Occurrence]]:
    """Occurrences of one text grouped by height: neighbours within _SAME_HEIGHT chain."""
    clusters: list[list[_Occurrence]] = []
    for occ in sorted(occurrences, key=lambda o: o[0]):
        if clusters and occ[0] - clusters[-1][-1][0] <= _SAME_HEIGHT:
            clusters[-1].append(occ)
        else:
            clusters.append([occ])
    return clusters


# ---------------------------------------------------------------------------------------------
# Columns and reading order
# ---------------------------------------------------------------------------------------------


def _find_gutters(rows: list[_Line], body_size: float, page_width: float) -> list[float]:
    """x positions of column gutters: a vertical strip that falls inside a wide gap (≥1.5
    characters) of many rows, in the middle part of the text area. Rows that cross it (a
    heading over both columns) do not prevent it, so a full-width introduction above two
    columns still leaves the gutter visible."""
    if len(rows) < 4:
        return []
    width = int(page_width) + 2
    diff = [0] * (width + 1)
    min_gap = _GUTTER_MIN_GAP * body_size
    for row in rows:
        visible = [g for g in row.glyphs if not g.text.isspace()]
        reach = visible[0].x1 if visible else 0.0
        for g in visible[1:]:
            if g.x0 - reach >= min_gap:
                a, b = max(0, math.ceil(reach)), min(width, int(g.x0))
                if a < b:
                    diff[a] += 1
                    diff[b] -= 1
            reach = max(reach, g.x1)
    counts, running = [], 0
    for d in diff[:width]:
        running += d
        counts.append(running)

    needed = max(3, math.ceil(0.2 * len(rows)))
    left_edge = min(r.x0 for r in rows)
    right_edge = max(r.x1 for r in rows)
    extent = right_edge - left_edge
    gutters: list[float] = []
    x = 0
    while x < width:
        if counts[x] < needed:
            x += 1
            continue
        start = x
        while x < width and counts[x] >= needed:
            x += 1
        best = max(counts[start:x])
        peak = [i for i in range(start, x) if counts[i] == best]
        split = (peak[0] + peak[-1] + 1) / 2
        if (
            x - start >= 0.5 * body_size
            and left_edge + 0.2 * extent <= split <= right_edge - 0.2 * extent
        ):
            gutters.append(split)
    return gutters


def _crosses(row: _Line, split: float, body_size: float) -> bool:
    """Whether a row's text runs across the gutter at ``split`` (a full-width element)."""
    left = [g.x1 for g in row.glyphs if g.cx < split and not g.text.isspace()]
    right = [g.x0 for g in row.glyphs if g.cx >= split and not g.text.isspace()]
    if not left or not right:
        return False
    return min(right) - max(left) < _GUTTER_MIN_GAP * body_size


def _reading_order(rows: list[_Line], gutters: list[float], body_size: float) -> list[list[_Line]]:
    """Segments of lines in reading order. Without gutters: one segment. With gutters: rows
    crossing a gutter stand alone and split the page into bands; inside a band each column is
    read top to bottom, left column first."""
    if not gutters:
        return [rows] if rows else []
    segments: list[list[_Line]] = []
    pending: list[list[_Glyph]] = [[] for _ in range(len(gutters) + 1)]

    def flush() -> None:
        for index, glyphs in enumerate(pending):
            if glyphs:
                segments.append([_make_line(r, column=index + 1) for r in _cluster_rows(glyphs)])
            pending[index] = []

    for row in rows:
        if any(_crosses(row, split, body_size) for split in gutters):
            flush()
            segments.append([row])
        else:
            for g in row.glyphs:
                pending[sum(g.cx >= split for split in gutters)].append(g)
    flush()
    return segments


# ---------------------------------------------------------------------------------------------
# Paragraphs and headings
# ---------------------------------------------------------------------------------------------


def _body_size(glyphs: list[_Glyph], default: float) -> float:
    """The most common font size (rounded to 0.5 pt), weighted by glyph count."""
    sizes = Counter(round(g.size * 2) / 2 for g in glyphs if not g.text.isspace())
    return sizes.most_common(1)[0][0] if sizes else default


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


def _column_edges(lines: list[_Line], body_size: float) -> dict[tuple[bool, int], tuple[float, float]]:
    """Left and right text edge per column (vertical tiers keyed by segment)."""
    groups: dict[tuple[bool, int], list[_Line]] = {}
    for line in lines:
        key = (True, line.segment) if line.vertical else (False, line.column)
        groups.setdefault(key, []).append(line)
    edges = {}
    for key, group in groups.items():
        body = [ln for ln in group if abs(ln.size - body_size) <= 0.6] or group
        left = -_shared_extreme([-ln.x0 for ln in body])
        edges[key] = (left, _shared_extreme([ln.x1 for ln in body]))
    return edges


def _shared_extreme(values: list[float], tolerance: float = 1.5) -> float:
    """The largest value that at least two lines share (justified text ends its lines at the
    same x), so that one line overhanging the margin (a hanging 、) does not move the edge;
    the plain maximum when no two lines agree (ragged text)."""
    ordered = sorted(values, reverse=True)
    for a, b in zip(ordered, ordered[1:]):
        if a - b <= tolerance:
            return a
    return ordered[0]


def _edge_key(line: _Line) -> tuple[bool, int]:
    return (True, line.segment) if line.vertical else (False, line.column)


def _typical_gap(lines: list[_Line], body_size: float) -> float:
    """Median blank space between consecutive body lines of the same segment."""
    gaps = [
        b.top - a.bottom
        for a, b in zip(lines, lines[1:])
        if a.segment == b.segment and abs(a.size - body_size) <= 0.6 and abs(b.size - body_size) <= 0.6
        and -0.5 * body_size <= b.top - a.bottom <= 2 * body_size
    ]
    return statistics.median(gaps) if gaps else 0.5 * body_size


def _numbering(text: str) -> tuple[int, str]:
    for pattern, level, kind in _NUMBERING:
        if pattern.match(text):
            return level, kind
    return 0, ""


def _heading_kind(
    line: _Line, body_size: float, body_bold: bool, right_edge: float
) -> tuple[bool, int, str, bool]:
    """Decide whether a line starts a heading. Returns (is_heading, numbering level,
    numbering kind, larger font).

    A heading is set larger or bolder than the body, or starts with a section number; a
    numbered line in body font is a list item unless it is short, stands alone on its line and
    does not end like a sentence.
    """
    text = line.text.strip()
    larger = line.size >= body_size + _LARGER_FONT
    styled = larger or (line.bold and not body_bold)
    level, kind = _numbering(text)
    ends_sentence = text.endswith(_SENTENCE_END)
    if styled:
        if len(text) <= _MAX_HEADING_CHARS and not ends_sentence:
            return True, level, kind, larger
        return False, 0, "", larger
    if not level or kind == "bare":  # "1 text" / "1." need a heading font
        return False, 0, "", False
    short_line = line.x1 < right_edge - 2 * line.size
    if len(text) <= _MAX_NUMBERED_BODY_HEADING_CHARS and not ends_sentence and short_line:
        return True, level, kind, False
    return False, 0, "", False


def _build_blocks(page: int, lines: list[_Line], body_size: float) -> list[_BlockDraft]:
    edges = _column_edges(lines, body_size)
    gap = _typical_gap(lines, body_size)
    body_bold = _mostly_bold([g for line in lines for g in line.glyphs])  # bold is then no signal
    blocks: list[_BlockDraft] = []
    current: _BlockDraft | None = None
    for i, line in enumerate(lines):
        _, right_edge = edges[_edge_key(line)]
        is_heading, level, kind, larger = _heading_kind(line, body_size, body_bold, right_edge)
        if current is not None:
            prev = lines[i - 1]
            if current.kind == "heading":
                # Only an unnumbered line in the same style continues a (wrapped) heading.
                joins = not level and _continues_heading(current, prev, line, gap)
            else:
                joins = not is_heading and not _starts_paragraph(current, prev, line, edges, gap)
            if joins:
                current.lines.append(line)
                continue
        current = _BlockDraft(
            page=page,
            kind="heading" if is_heading else "paragraph",
            lines=[line],
            numbering=kind,
            number_level=level,
            larger=larger,
        )
        blocks.append(current)
    return blocks


def _continues_heading(current: _BlockDraft, prev: _Line, line: _Line, gap: float) -> bool:
    """A wrapped heading: same style, close below, heading not numbered in body font."""
    if not (current.larger or current.lines[0].bold):
        return False
    if len("".join(ln.text for ln in current.lines)) + len(line.text) > _MAX_HEADING_CHARS + 20:
        return False
    return (
        line.segment == prev.segment
        and abs(line.size - prev.size) <= 0.5
        and line.bold == prev.bold
        and line.top - prev.bottom <= gap + 0.5 * line.size
        and not _numbering(line.text.strip())[0]
    )


def _starts_paragraph(
    current: _BlockDraft,
    prev: _Line,
    line: _Line,
    edges: dict[tuple[bool, int], tuple[float, float]],
    gap: float,
) -> bool:
    """Whether ``line`` begins a new paragraph rather than continuing ``current``."""
    size = line.size or prev.size
    indent = 0.5 * size
    _, prev_right = edges[_edge_key(prev)]
    left, _ = edges[_edge_key(line)]
    prev_text = prev.text.rstrip()
    prev_short = prev.x1 < prev_right - _SHORT_LINE * size

    # A full line that stops mid-sentence wraps into the next one, whatever the indent says
    # (a hanging indent under a numbered item looks like a first-line indent).
    mid_sentence = not prev_short and not prev_text.endswith(_SENTENCE_END)

    if abs(line.size - prev.size) > 0.5 or line.bold != prev.bold:  # font change
        return True
    if line.segment != prev.segment:
        # Column (or tier) change: the paragraph goes on only if the last line was full and
        # the new one is not indented.
        return not mid_sentence or line.x0 > left + indent
    if line.top - prev.bottom > gap + 0.6 * size:  # blank space clearly larger than leading
        return True
    if prev_short and prev_text.endswith(_SENTENCE_END):  # sentence ended before the margin
        return True
    if _next_list_item(current, prev_short, line):
        return True
    if line.text[:1] in ("\u3000", " "):  # an explicit (full-width) space: first-line indent
        return not mid_sentence
    if line.x0 > prev.x0 + indent:
        # Indented: a first-line indent, unless it is the hanging indent under a list item's
        # first line whose sentence goes on.
        hanging = (
            len(current.lines) == 1
            and _LIST_START.match(prev_text.lstrip())
            and not prev_text.endswith(_SENTENCE_END)
        )
        return not (mid_sentence or hanging)
    if line.x0 < prev.x0 - indent and (len(current.lines) >= 2 or prev_short):
        # Back out from a hanging indent (the next item), or after a short indented line
        # (a title): a first-line indent would have filled its line.
        return True
    return False


def _next_list_item(current: _BlockDraft, prev_short: bool, line: _Line) -> bool:
    """A line starting with a bullet or number is the next list item after a short line, or
    when the paragraph itself began with such a marker at the same indent."""
    if not _LIST_START.match(line.text.strip()):
        return False
    first = current.lines[0]
    same_start = abs(first.x0 - line.x0) <= 0.5 * line.size
    return prev_short or (same_start and bool(_LIST_START.match(first.text.strip())))


def _assign_heading_levels(drafts: list[_Draft]) -> list[Block]:
    """Final blocks. Numbered headings take their level from the numbering; unnumbered ones
    (and （1）/① set in a larger font) from the rank of their font size in the document:
    the largest heading size is level 1, the next 2, the rest 3."""
    heading_sizes = sorted(
        {round(d.size * 2) / 2 for d in drafts if d.kind == "heading" and d.larger}, reverse=True
    )

    def size_level(draft: _Draft) -> int:
        if not draft.larger:
            return min(len(heading_sizes) + 1, 3)
        return min(heading_sizes.index(round(draft.size * 2) / 2) + 1, 3)

    blocks = []
    for d in drafts:
        level = 0
        if d.kind == "heading":
            if d.numbering in ("chapter", "section", "decimal", "bare"):
                level = d.number_level
            elif d.numbering == "paren":
                level = size_level(d) if d.larger else 3
            else:
                level = size_level(d)
        blocks.append(
            Block(
                page=d.page,
                kind=d.kind,
                text=d.text,
                level=level,
                font_size=d.size,
                bold=d.bold,
                x0=d.x0,
                top=d.top,
                column=d.column,
                vertical=d.vertical,
            )
        )
    return [b for b in blocks if b.text]


# ---------------------------------------------------------------------------------------------
# Page figures, problems, usability
# ---------------------------------------------------------------------------------------------


def _unmapped_share(raw: _RawPage | _PageRecord) -> float:
    return raw.unmapped / raw.glyph_count if raw.glyph_count else 0.0


def _page_is_usable(raw: _RawPage | _PageRecord, config: ExtractConfig) -> bool:
    return raw.glyph_count > 0 and _unmapped_share(raw) <= config.max_unmapped_share


def _page_info(raw: _PageRecord, blocks: list[Block]) -> PageInfo:
    text = "\n\n".join(b.text for b in blocks)
    return PageInfo(
        page=raw.number,
        width=raw.width,
        height=raw.height,
        chars=len(re.sub(r"\s+", "", text)),
        has_text_layer=raw.glyph_count > 0,
        unmapped_share=round(_unmapped_share(raw), 4),
        columns=raw.columns if blocks else 0,
        text=text,
        removed_lines=tuple(raw.removed_lines),
    )


def _page_problems(raw: _PageRecord, config: ExtractConfig) -> list[PageProblem]:
    if raw.glyph_count == 0:
        return [
            PageProblem(
                raw.number,
                "no_text_layer",
                f"page {raw.number} has no text layer (scanned or drawn as paths): run OCR on it",
            )
        ]
    if raw.unmapped:
        share = _unmapped_share(raw)
        detail = (
            f"page {raw.number}: {raw.unmapped} of {raw.glyph_count} glyphs have no Unicode "
            f"mapping ({share:.1%}; (cid:N) placeholders or garbage codes from a font without a "
            f"ToUnicode map); they were dropped from the text"
        )
        if share > config.max_unmapped_share:
            limit = config.max_unmapped_share
            detail += f"; more than {limit:.0%}, so the page's text was left out (OCR it)"
        return [PageProblem(raw.number, "unmapped_glyphs", detail)]
    return []


def _page_ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 5] -> "pages 1-3, 5"; [4] -> "page 4"."""
    spans: list[list[int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    text = ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in spans)
    return f"{'pages' if len(numbers) > 1 else 'page'} {text}"


def _no_usable_text_error(path: Path, pages: list[_PageRecord], config: ExtractConfig) -> NoUsableTextError:
    no_layer = [p.number for p in pages if p.glyph_count == 0]
    unmapped = [
        p.number for p in pages if p.glyph_count and _unmapped_share(p) > config.max_unmapped_share
    ]
    empty = [p.number for p in pages if p.number not in no_layer and p.number not in unmapped]
    reasons = []
    if no_layer:
        verb = "have" if len(no_layer) > 1 else "has"
        reasons.append(f"{_page_ranges(no_layer)} {verb} no text layer (scanned or drawn as paths)")
    if unmapped:
        reasons.append(
            f"{_page_ranges(unmapped)}: more than {config.max_unmapped_share:.0%} of the glyphs have "
            f"no Unicode mapping (fonts without a ToUnicode map)"
        )
    if empty:
        reasons.append(f"{_page_ranges(empty)}: only blank, rotated or unreadable glyphs")
    count = f"{len(pages)} page{'s' if len(pages) != 1 else ''}"
    return NoUsableTextError(
        f"{path.name} ({count}) has no usable text: " + "; ".join(reasons),
        "run OCR first, e.g. ocrmypdf --language jpn IN OUT (add --force-ocr when the PDF has a "
        "broken text layer), then run again with the OCR'd file",
    )
