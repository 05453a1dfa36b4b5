"""Resource limits of extraction: how far a stream may inflate, how much memory a process reading
pages may take, how deep a page tree may be nested; and the clear errors when a PDF goes beyond.

A PDF of a few hundred KB can hold a stream that inflates to gigabytes (deflate reaches about
1,000 : 1, and a content stream drawn by every page is inflated in every process that reads a
page), or a page whose content draws millions of glyphs, or trees nested so deep that pdfminer's
recursive walks reach Python's recursion limit. Each of these ends in an ``ExtractError`` that
says what was too large or too deep, the limit, and what to do.

The limits (``ExtractConfig``):

* ``max_stream_mb`` (64): the most one stream may inflate to (a page's content, a Form XObject,
  a font, an object stream …). The content streams of real 100-page reports are a few MB at
  most; 64 MiB leaves a wide margin and still keeps a bomb far below the memory limit.
* ``max_worker_memory_mb`` (1024): the memory one process reading pages may take on top of what
  it held when it started reading. A worker process gets it as a hard limit on its address space
  (``RLIMIT_AS``, a little above the budget, so the worker can still answer); every process that
  reads pages, the caller included, also compares its resident size with it as pdfminer builds a
  page's layout and as pdfplumber turns it into objects, and stops with a clear error instead of
  being killed by the system. A page of a real report takes a few tens of MB.
* The page tree may be nested at most ``MAX_PAGE_TREE_DEPTH`` (500) levels deep: pdfminer walks
  it by recursion, which fails somewhere below 1,000 levels depending on how deep the caller's
  stack already is; real page trees are a few levels deep. Checked without recursion, before
  pdfminer walks the tree. Other recursion (Form XObjects drawing each other hundreds of levels
  deep, deeply nested arrays) is caught where the PDF is opened and where each page is read.

What is patched in pdfminer.six and pdfplumber, once, when this module is imported (by
``pipeline.extract.opening``). Each patch does exactly what the original does when no limit is in
force, that is outside ``reading()``, which ``extract_pdf`` and its worker processes enter:

* ``pdfminer.pdftypes.zlib``, the module ``PDFStream.decode`` calls ``zlib.decompress`` through, is
  replaced by a stand-in whose ``decompress`` inflates with ``zlib.decompressobj`` and
  ``max_length``: never more than the cap (plus one byte) is produced, and the same bytes or the
  same ``zlib.error`` as ``zlib.decompress`` otherwise;
* ``pdfminer.pdftypes.decompress_corrupted`` (pdfminer's fallback for a stream with a bad checksum
  or a cut-off end, which feeds the inflater one byte at a time and copies the output each time:
  quadratic) inflates in one bounded call, then the last three bytes one by one, as it did;
* ``pdfminer.pdftypes.lzwdecode`` and ``rldecode``: stop at the cap (LZW inflates over 1,000 : 1,
  RunLength 64 : 1, and pdfminer's RunLength decoder holds 8 bytes per output byte);
* ``pdfminer.pdftypes.PDFStream.decode``: a stream that still comes out longer than the cap (other
  filters) is refused too, and every refusal names the stream's object number and kind;
* ``pdfminer.layout.LTContainer.add`` and ``pdfplumber.page.Page.process_object``: every 1,024th
  call compares the process's resident memory with the budget (a counter and, rarely, one read
  of /proc/self/statm);
* ``pdfplumber.page.resolve_all`` (what pdfplumber resolves a page's /Rotate, /MediaBox and other
  boxes with, as it lists the pages, and its /Annots): a value that holds more than
  ``MAX_PAGE_VALUE_CONTAINERS`` arrays and dictionaries as ``resolve_all`` walks them is refused
  (``PageValueRefused``) before it is walked; any other value is resolved by pdfplumber's own
  function. In force always, within ``reading()`` or not.

Written against the pinned pdfminer.six 20260107 and pdfplumber 0.11.10; tests/test_extract_limits.py
fails if an upgrade goes around a patch (the bombs would no longer stop at the cap), and checks that
real PDFs extract exactly as with pdfminer unpatched.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pdfminer.pdftypes as pdftypes
import pdfplumber.page
from pdfminer import lzw
from pdfminer.layout import LTContainer
from pdfminer.pdfdocument import PDFDocument

from pipeline.errors import ExtractError
from pipeline.extract import ascii85
from pipeline.extract.pdfrefs import resolve

try:
    import resource
except ImportError:  # not POSIX: no address-space limit, the resident-size check only
    resource = None

MIB = 1 << 20
MAX_PAGE_TREE_DEPTH = 500
_CHECK_EVERY = 1024  # layout objects between two looks at the process's memory
_ANSWER_SLACK = 128 * MIB  # address space a worker has beyond its budget, to report the failure


# ---------------------------------------------------------------------------------------------
# The errors
# ---------------------------------------------------------------------------------------------


class StreamTooLarge(ExtractError):
    """A stream would inflate beyond ``ExtractConfig.max_stream_mb``."""

    def __init__(self, what: str, todo: str = "", *, objid: int | None = None, kind: str = "a stream",
                 cap_mb: float = 0.0) -> None:
        super().__init__(what, todo)
        self.objid, self.kind, self.cap_mb = objid, kind, cap_mb


class MemoryLimitReached(ExtractError):
    """A process reading pages took more than ``ExtractConfig.max_worker_memory_mb``."""

    def __init__(self, what: str, todo: str = "", *, budget_mb: float = 0.0) -> None:
        super().__init__(what, todo)
        self.budget_mb = budget_mb


class FontRefused(ExtractError):
    """A font whose dictionary pdfminer would take unbounded time or memory to build
    (``fontguard``): refused before pdfminer builds it."""


def _mb(value: float) -> str:
    return f"{value:g} MiB"


def _stream_todo(cap_mb: float) -> str:
    return (
        "the streams of real reports inflate to a few MB at most, so the file is probably damaged "
        "or built to exhaust memory (a decompression bomb): check where it came from; if you trust it, "
        f"raise the limit (now {cap_mb:g}): jstmine run --max-stream-mb N (ExtractConfig.max_stream_mb)"
    )


def _stream_error(objid: int | None, kind: str, cap_mb: float) -> StreamTooLarge:
    ref = f"PDF object {objid}" if objid is not None else "a stream"
    return StreamTooLarge(
        f"{ref} ({kind}) inflates to more than {_mb(cap_mb)}, the limit for one stream",
        _stream_todo(cap_mb), objid=objid, kind=kind, cap_mb=cap_mb,
    )


def memory_todo(budget_mb: float) -> str:
    return (
        "a page of a real report needs a few tens of MB; one that needs more draws millions of glyphs "
        "or paths, so the file is probably damaged or built to exhaust memory: check where it came "
        f"from; if you trust it, raise the limit (now {budget_mb:g}): jstmine run --max-worker-memory-mb N "
        "(ExtractConfig.max_worker_memory_mb), or leave that page out (qpdf IN --pages IN 1-4,6-z -- OUT)"
    )


def _memory_error(budget_mb: float) -> MemoryLimitReached:
    return MemoryLimitReached(
        f"reading a page needed more than {_mb(budget_mb)} of memory, the limit for one process "
        "reading pages", memory_todo(budget_mb), budget_mb=budget_mb,
    )


_DEPTH_TODO = (
    "real PDFs are nested a few levels deep, so the file is damaged or built to break PDF readers: "
    "check where it came from; if you need it, rewrite it with a flat page tree "
    "(qpdf --empty --pages IN -- OUT) and run again with OUT"
)
_PAGE_DEPTH_TODO = (
    "real PDFs are nested a few levels deep, so the file is damaged or built to break PDF readers: "
    "check where it came from; if you need the rest, leave that page out "
    "(qpdf IN --pages IN 1-4,6-z -- OUT) and run again with OUT"
)


def limit_cause(exc: BaseException) -> BaseException | None:
    """The limit error (a font refused included), RecursionError or MemoryError behind ``exc`` (pdfplumber wraps what pdfminer
    raises in a PdfminerException, our page code in an ExtractError), or None."""
    seen = set()
    todo = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, (StreamTooLarge, MemoryLimitReached, FontRefused, RecursionError, MemoryError)):
            return e
        todo += [e.__cause__, e.__context__]
        todo += [a for a in getattr(e, "args", ()) if isinstance(a, BaseException)]
    return None


def page_error(exc: BaseException, path: Path, number: int, budget_mb: float, resources=None) -> ExtractError | None:
    """The clear error for page ``number`` when reading it hit a limit, else None. ``resources``:
    the page's /Resources, to say how deep its Form XObjects are nested."""
    cause = limit_cause(exc)
    where = f"{path.name}: page {number}"
    if isinstance(cause, StreamTooLarge):
        return StreamTooLarge(f"{where} cannot be read: {cause.what}", cause.todo,
                              objid=cause.objid, kind=cause.kind, cap_mb=cause.cap_mb)
    if isinstance(cause, FontRefused):
        return FontRefused(f"{where} cannot be read: {cause.what}", cause.todo)
    if isinstance(cause, MemoryError) and not _address_space_limited:  # the system ran out first
        return MemoryLimitReached(
            f"{where} cannot be read: the process ran out of memory (MemoryError) before it took the "
            f"{_mb(budget_mb)} it may take (ExtractConfig.max_worker_memory_mb)",
            "the system has less memory free than the limit allows: free memory, or lower "
            "ExtractConfig.max_worker_memory_mb or the number of workers, and run again; " + memory_todo(budget_mb),
            budget_mb=budget_mb,
        )
    if isinstance(cause, (MemoryLimitReached, MemoryError)):
        return MemoryLimitReached(
            f"{where} cannot be read: it needs more than {_mb(budget_mb)} of memory, the limit for one "
            "process reading pages (ExtractConfig.max_worker_memory_mb)",
            memory_todo(budget_mb), budget_mb=budget_mb,
        )
    if isinstance(cause, RecursionError):
        return ExtractError(f"{where} cannot be read: {_nesting(resources)}", _PAGE_DEPTH_TODO)
    return None


def xref_loop(exc: BaseException) -> tuple[int, str] | None:
    """Where a cross-reference chain that loops was entered again, and through which trailer
    entry ("/Prev" or "/XRefStm"), if that is what ``exc`` (a RecursionError raised while
    pdfminer opened a file) comes from, else None. pdfminer's ``PDFDocument.read_xref_from``
    reads a section, then calls itself on the section its trailer names as /XRefStm, then as
    /Prev: a chain that leads back to a section already read recurses until Python's recursion
    limit. The traceback holds those calls, each with its ``start`` (the section's byte offset);
    the first offset met twice is returned, with the entry of the caller's trailer that led to it.

    Parameters:
        exc: the RecursionError, with its traceback.
    """
    code = PDFDocument.read_xref_from.__code__
    starts: set[object] = set()
    caller: dict = {}
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is code:
            found = tb.tb_frame.f_locals
            start = found.get("start")
            if isinstance(start, int) and start in starts:
                trailer = caller.get("trailer")
                followed = resolve(trailer.get("XRefStm")) if isinstance(trailer, dict) else None
                return start, "/XRefStm" if followed == start else "/Prev"  # (/XRefStm is followed first)
            starts.add(start)
            caller = found
        tb = tb.tb_next
    return None


def open_error(exc: BaseException, path: Path) -> ExtractError | None:
    """The clear error when opening the PDF or listing its pages hit a limit (or pdfminer recursed
    along a cross-reference chain that loops: ``xref_loop``), else None."""
    cause = limit_cause(exc)
    if isinstance(cause, (StreamTooLarge, MemoryLimitReached)):
        return type(cause)(f"{path.name} cannot be opened: {cause.what}", cause.todo)
    if isinstance(cause, MemoryError):
        return ExtractError(f"{path.name} cannot be opened: it needs more memory than there is",
                            "check where the file came from; a real report opens in a few tens of MB")
    if isinstance(cause, RecursionError) and (loop := xref_loop(cause)) is not None:
        start, entry = loop
        return ExtractError(
            f"{path.name} cannot be opened: its cross-reference table is damaged: the {entry} chain that links "
            f"its sections loops back on itself (it leads back to the section at byte {start:,}, already read), "
            "so the file's objects cannot be found through it",
            f"repair the file, e.g. qpdf {path.name} OUT (qpdf rebuilds the table), or open it in a PDF viewer "
            "and save a copy (File > Save As), then run again with the repaired copy; if it was downloaded, "
            "fetch it again")
    if isinstance(cause, RecursionError):
        return ExtractError(
            f"{path.name} cannot be opened: its objects are nested too deep to read (pdfminer, which "
            "reads them by recursion, reached Python's recursion limit)", _DEPTH_TODO)
    return None


# ---------------------------------------------------------------------------------------------
# Limits in force: reading()
# ---------------------------------------------------------------------------------------------


@dataclass
class _Active:
    stream_cap: int  # bytes
    stream_cap_mb: float
    budget: int  # bytes of resident memory over ``rss_base``
    budget_mb: float
    rss_base: int


_active: contextvars.ContextVar[_Active | None] = contextvars.ContextVar("jstmine_extract_limits", default=None)


def _positive(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
        raise ValueError(f"ExtractConfig.{name} must be a positive number of MiB, not {value!r}")
    return float(value)


@contextlib.contextmanager
def reading(config) -> Iterator[None]:
    """Put ``config``'s stream cap and memory budget in force for this thread (context) while
    extracting. The memory budget counts from the resident size at entry."""
    stream_mb = _positive("max_stream_mb", config.max_stream_mb)
    budget_mb = _positive("max_worker_memory_mb", config.max_worker_memory_mb)
    token = _active.set(_Active(int(stream_mb * MIB), stream_mb, int(budget_mb * MIB), budget_mb, _rss()))
    try:
        yield
    finally:
        _active.reset(token)


_address_space_limited = False  # set in a worker process once RLIMIT_AS is


def limit_address_space(budget_mb: float) -> None:
    """In a worker process: let its address space grow by at most ``budget_mb`` (plus a little to
    report the failure) from what it is now (RLIMIT_AS; a MemoryError beyond)."""
    global _address_space_limited
    size = _vm_size()
    if size is None or resource is None:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + int(budget_mb * MIB) + _ANSWER_SLACK
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft == resource.RLIM_INFINITY or limit < soft:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    _address_space_limited = True


def _statm() -> list[int] | None:
    """This process's /proc/self/statm: [size, resident] in pages; None without /proc. The file
    is opened once per process and read again at offset 0 each time (each read gives the
    figures of that moment): asked thousands of times per document, an open, read and close
    each time cost a quarter of a millisecond per page."""
    global _statm_file
    for _ in range(2):  # (again with the file opened anew if the descriptor was closed meanwhile)
        try:
            pid, fd = _statm_file
            if pid != os.getpid():  # a forked child: its own file (the inherited one is the parent's)
                fd = os.open("/proc/self/statm", os.O_RDONLY)  # (not inherited by processes started)
                _statm_file = (os.getpid(), fd)
            return [int(x) for x in os.pread(fd, 256, 0).split()[:2]]
        except (OSError, ValueError):
            _statm_file = (-1, -1)
    return None


_statm_file: tuple[int, int] = (-1, -1)  # (process id, descriptor of its /proc/self/statm)


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _rss() -> int:
    """This process's resident memory in bytes (peak resident size where /proc is missing)."""
    statm = _statm()
    if statm is not None:
        return statm[1] * _PAGE
    if resource is None:
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak * 1024 if os.uname().sysname == "Linux" else peak  # macOS: bytes


def _vm_size() -> int | None:
    statm = _statm()
    return statm[0] * _PAGE if statm is not None else None


def available_memory() -> int | None:
    """Memory the system can give without swapping (MemAvailable), in bytes; None if unknown."""
    try:
        with open("/proc/meminfo", "rb") as fh:
            for line in fh:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * _PAGE
    except (ValueError, OSError, AttributeError):
        return None


# ---------------------------------------------------------------------------------------------
# The memory check, from the layout hooks
# ---------------------------------------------------------------------------------------------

_countdown = _CHECK_EVERY


def _tick() -> None:
    global _countdown
    _countdown -= 1
    if _countdown > 0:
        return
    _countdown = _CHECK_EVERY
    check_memory()


def budget_mb() -> float | None:
    """The memory budget in force for this thread (``ExtractConfig.max_worker_memory_mb``, in MiB,
    within ``reading()``), or None outside."""
    active = _active.get()
    return active.budget_mb if active is not None else None


def check_memory() -> None:
    """Raise MemoryLimitReached when this process took more than its budget since reading()."""
    active = _active.get()
    if active is not None and _rss() - active.rss_base > active.budget:
        raise _memory_error(active.budget_mb)


_original_add = LTContainer.add
_original_process_object = pdfplumber.page.Page.process_object
_original_page_resolve_all = pdfplumber.page.resolve_all

MAX_PAGE_VALUE_CONTAINERS = 1 << 18  # arrays and dictionaries in one page entry, as resolve_all walks them


class PageValueRefused(ExtractError):
    """A page's entry (/Rotate, /MediaBox, another box, /Annots) that pdfplumber's ``resolve_all``
    would take unbounded time or memory to resolve; ``opening._open_pdf`` names the file."""


def _page_resolve_all(value):
    """pdfplumber's ``resolve_all`` (``pdfplumber.page`` resolves a page's entries with it), after
    counting the arrays and dictionaries it would walk, without recursion: more than
    ``MAX_PAGE_VALUE_CONTAINERS`` (an array listed twice on each of forty levels: a trillion; an
    array that holds itself: for ever) raises ``PageValueRefused``, where ``resolve_all`` ran for
    ever, or until the memory ran out, before the first page was listed.

    Parameters:
        value: the entry's value, as the page dictionary holds it.
    """
    from pdfminer.pdftypes import PDFObjRef
    from pdfplumber.utils.pdfinternals import get_dict_type

    containers, todo = 0, [value]
    while todo:
        item = todo.pop()
        if isinstance(item, PDFObjRef):
            item = item.resolve()
            if get_dict_type(item) == "Page":  # resolve_all stops there
                continue
        if isinstance(item, (list, tuple)):
            todo.extend(item)
        elif isinstance(item, dict):
            skipped = ("Parent",) if get_dict_type(item) == "Annot" else ()
            todo.extend(v for k, v in item.items() if k not in skipped)
        else:
            continue
        containers += 1
        if containers > MAX_PAGE_VALUE_CONTAINERS:
            raise PageValueRefused(
                f"one of its pages has an entry (/Rotate, /MediaBox or another box, /Annots) that holds more than "
                f"{MAX_PAGE_VALUE_CONTAINERS:,} arrays or dictionaries as it is read (an array that holds itself, or "
                "lists another over and over)",
                "no real PDF is built this way: the file is damaged or built to defeat the reader; check where it "
                "came from and fetch it again from the publisher (or print it to a new PDF)")
    return _original_page_resolve_all(value)


def _add(self, obj) -> None:
    _original_add(self, obj)
    _tick()


def _process_object(self, obj):
    _tick()
    return _original_process_object(self, obj)


# ---------------------------------------------------------------------------------------------
# Bounded decoders
# ---------------------------------------------------------------------------------------------


class _Overflow(Exception):
    """Raised by a bounded decoder; PDFStream.decode turns it into StreamTooLarge."""


def _inflate(data: bytes, cap: int) -> bytes:
    """``zlib.decompress(data)``, but never producing more than ``cap`` + 1 bytes."""
    d = zlib.decompressobj()
    out = d.decompress(data, cap + 1)
    if len(out) > cap or d.unconsumed_tail:
        raise _Overflow
    if not d.eof:  # as zlib.decompress says it
        raise zlib.error("Error -5 while decompressing data: incomplete or truncated stream")
    return out


def _inflate_corrupted(data: bytes, cap: int) -> bytes:
    """pdfminer's ``decompress_corrupted``: inflate what can be, tolerating an error in the last
    three bytes (the checksum), in linear time and never beyond the cap."""
    d = zlib.decompressobj()
    head, tail = data[: max(len(data) - 3, 0)], data[max(len(data) - 3, 0) :]
    out = bytearray(d.decompress(head, cap + 1))  # an error here is raised, as pdfminer does
    if len(out) > cap or d.unconsumed_tail:
        raise _Overflow
    for i in range(len(tail)):
        try:
            out += d.decompress(tail[i : i + 1], cap + 1 - len(out))
        except zlib.error:  # in the checksum: what was inflated so far, as pdfminer does
            break
        if len(out) > cap or d.unconsumed_tail:
            raise _Overflow
    return bytes(out)


class _BoundedZlib:
    """Stands in for the ``zlib`` module inside ``pdfminer.pdftypes``."""

    error = zlib.error

    def __getattr__(self, name: str):
        return getattr(zlib, name)

    @staticmethod
    def decompress(data, *args, **kwargs):
        active = _active.get()
        if active is None or args or kwargs:
            return zlib.decompress(data, *args, **kwargs)
        return _inflate(data, active.stream_cap)


_original_decompress_corrupted = pdftypes.decompress_corrupted
_original_lzwdecode = pdftypes.lzwdecode
_original_rldecode = pdftypes.rldecode


def _ascii85decode(data: bytes) -> bytes:
    """ASCII85 (``ascii85.ascii85decode``); while reading, a stream whose decoded size would pass
    the cap (a run of "z", four zero bytes per character) is refused before it is decoded."""
    active = _active.get()
    if active is not None and ascii85.decoded_length_bound(data) > active.stream_cap:
        raise _Overflow
    return ascii85.ascii85decode(data)


_original_decode = pdftypes.PDFStream.decode


def _decompress_corrupted(data: bytes) -> bytes:
    active = _active.get()
    if active is None:
        return _original_decompress_corrupted(data)
    return _inflate_corrupted(data, active.stream_cap)


def _lzwdecode(data: bytes) -> bytes:
    active = _active.get()
    if active is None:
        return _original_lzwdecode(data)
    parts, size = [], 0
    for part in lzw.LZWDecoder(pdftypes.io.BytesIO(data)).run():
        size += len(part)
        if size > active.stream_cap:
            raise _Overflow
        parts.append(part)
    return b"".join(parts)


def _rldecode(data: bytes) -> bytes:
    active = _active.get()
    if active is None:
        return _original_rldecode(data)
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        length = data[i]
        i += 1
        if length == 128:  # end of data
            break
        if length < 128:
            if i + length + 1 > n:  # cut off: pdfminer's own decoder fails as it always did
                return _original_rldecode(data)
            out += data[i : i + length + 1]
            i += length + 1
        else:
            if i >= n:
                return _original_rldecode(data)
            out += data[i : i + 1] * (257 - length)
            i += 1
        if len(out) > active.stream_cap:
            raise _Overflow
    return bytes(out)


def _stream_kind(attrs: dict) -> str:
    def name(key: str) -> str:
        value = resolve(attrs.get(key))
        return str(getattr(value, "name", "") or "")

    subtype, kind = name("Subtype"), name("Type")
    if subtype == "Form":
        return "a Form XObject"
    if subtype == "Image":
        return "an image"
    if kind == "ObjStm":
        return "an object stream"
    if kind == "XRef":
        return "the cross-reference stream"
    if kind in ("Metadata", "EmbeddedFile"):
        return f"a {kind} stream"
    if "Length1" in attrs or "Length2" in attrs or subtype in ("Type1C", "CIDFontType0C", "OpenType"):
        return "an embedded font"
    if "CMapName" in attrs or kind == "CMap":
        return "a CMap"
    return "a content stream"


def _decode(self) -> None:
    active = _active.get()
    if active is None:
        return _original_decode(self)
    raw = self.rawdata
    try:
        _original_decode(self)
    except _Overflow:
        raise _stream_error(self.objid, _stream_kind(self.attrs), active.stream_cap_mb) from None
    if self.data is not None and len(self.data) > active.stream_cap:  # other filters: too late to
        self.data, self.rawdata = None, raw  # not hold it, but it is not kept either
        raise _stream_error(self.objid, _stream_kind(self.attrs), active.stream_cap_mb)
    # Many streams each under the cap add up (pdfminer keeps what it decoded): the budget counts them.
    check_memory()


_original_ccittfaxdecode = pdftypes.ccittfaxdecode


def _ccittfaxdecode(data: bytes, params: dict) -> bytes:
    """While reading: CCITT fax images are left encoded. Text extraction needs none of an image's
    pixels, and pdfminer's pure-Python decoder takes minutes on a stream of a few KB built for it."""
    if _active.get() is not None:
        return data
    return _original_ccittfaxdecode(data, params)


def _install() -> None:
    if getattr(pdftypes, "_jstmine_limits", False):
        return
    pdftypes.zlib = _BoundedZlib()
    pdftypes.decompress_corrupted = _decompress_corrupted
    pdftypes.lzwdecode = _lzwdecode
    pdftypes.rldecode = _rldecode
    pdftypes.ccittfaxdecode = _ccittfaxdecode
    pdftypes.ascii85decode = _ascii85decode  # the same bytes, decoded with numpy, within the cap
    pdftypes.PDFStream.decode = _decode
    LTContainer.add = _add
    pdfplumber.page.Page.process_object = _process_object
    pdfplumber.page.resolve_all = _page_resolve_all
    pdftypes._jstmine_limits = True


_install()


# ---------------------------------------------------------------------------------------------
# Nesting: the page tree's depth (before pdfminer walks it), Form XObjects (for the message)
# ---------------------------------------------------------------------------------------------


def page_tree_depth(doc) -> int:
    """How many /Pages levels the deepest page is under, walked without recursion (as pdfminer
    walks it: /Kids of /Pages nodes, each node once)."""
    root = doc.catalog.get("Pages")
    if root is None:
        return 0
    deepest = 0
    seen: set[int] = set()
    stack = [(root, 1)]
    while stack:
        ref, depth = stack.pop()
        objid = getattr(ref, "objid", None)
        if objid is not None:
            if objid in seen:
                continue
            seen.add(objid)
        node = resolve(ref)
        if not isinstance(node, dict):
            continue
        kind = resolve(node.get("Type", node.get("type")))
        if getattr(kind, "name", None) != "Pages" or "Kids" not in node:
            continue
        deepest = max(deepest, depth)
        kids = resolve(node["Kids"])
        if isinstance(kids, list):
            stack.extend((kid, depth + 1) for kid in reversed(kids))
    return deepest


MAX_NUMBER_TREE_DEPTH = 64  # /Kids levels of a number tree (/PageLabels), at most (a real one: 1 or 2)


def number_tree_sound(tree) -> bool:
    """Whether pdfminer can walk the number tree ``tree`` (the catalog's /PageLabels) in time
    proportional to the file: each node reached once, at most ``MAX_NUMBER_TREE_DEPTH`` /Kids
    levels deep. pdfminer's ``NumberTree`` follows every /Kids entry by recursion, each time it
    is met, so a node listed twice (``<< /Kids [9 0 R 9 0 R] >>``, forty levels of it: 2**40
    leaves read) never ends, and a node that is its own kid ends in a RecursionError. Walked
    here without recursion, references bounded (``pdfrefs.resolve``).

    Parameters:
        tree: the number tree's root, a reference or a dictionary (anything else is sound:
            pdfminer refuses it at once).
    """
    seen: set[tuple[str, int]] = set()  # the nodes' object numbers, and ids (a direct node has no number)
    stack = [(tree, 0)]
    while stack:
        ref, depth = stack.pop()
        node = resolve(ref)
        if not isinstance(node, dict):
            continue
        keys = {("node", id(node))} | ({("obj", ref.objid)} if getattr(ref, "objid", None) is not None else set())
        if keys & seen or depth > MAX_NUMBER_TREE_DEPTH:
            return False
        seen |= keys
        kids = resolve(node.get("Kids"))
        if isinstance(kids, list):
            stack.extend((kid, depth + 1) for kid in kids)
    return True


def page_tree_error(path: Path, depth: int) -> ExtractError:
    return ExtractError(
        f"{path.name} cannot be read: its page tree is nested {depth:,} deep (jstmine reads page trees "
        f"up to {MAX_PAGE_TREE_DEPTH} deep)", _DEPTH_TODO)


def _form_depth(resources, limit: int = 100_000) -> int:
    """The longest chain of Form XObjects drawing one another from ``resources`` (a page's or a
    form's /Resources), a cycle counted once; without recursion, at most ``limit`` forms."""
    def forms_of(res) -> list:
        res = resolve(res)
        xobjects = resolve(res.get("XObject")) if isinstance(res, dict) else None
        if not isinstance(xobjects, dict):
            return []
        found = []
        for ref in xobjects.values():
            stream = resolve(ref)
            if isinstance(stream, pdftypes.PDFStream) and getattr(resolve(stream.get("Subtype")), "name", "") == "Form":
                found.append(stream)
        return found

    depth_of: dict[int, int] = {}
    on_path: set[int] = set()
    best = 0
    stack: list[tuple[pdftypes.PDFStream, list | None]] = [(f, None) for f in forms_of(resources)]
    while stack and len(depth_of) < limit:
        form, children = stack.pop()
        key = id(form)
        if children is None:
            if key in depth_of or key in on_path:
                continue
            on_path.add(key)
            kids = forms_of(form.get("Resources"))
            stack.append((form, kids))
            stack.extend((k, None) for k in kids)
        else:
            on_path.discard(key)
            depth_of[key] = 1 + max((depth_of.get(id(k), 0) for k in children), default=0)
            best = max(best, depth_of[key])
    return best


def _nesting(resources) -> str:
    """What is nested too deep on a page, as far as can be told after the fact."""
    try:
        depth = _form_depth(resources) if resources is not None else 0
    except Exception:
        depth = 0
    if depth > 50:
        return (f"it draws Form XObjects nested {depth:,} deep, too deep to read (pdfminer draws them "
                "by recursion and reached Python's recursion limit)")
    return ("its content is nested too deep to read (pdfminer reads it by recursion and reached "
            "Python's recursion limit)")
