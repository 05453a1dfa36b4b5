"""Opening a PDF with clear errors, and decoding its metadata and font names."""
from __future__ import annotations

import ast
import functools
import re
import unicodedata
from pathlib import Path

import pdfplumber
from pdfminer.pdftypes import dict_value, str_value
from pdfminer.utils import PDFDocEncoding, decode_text

from pipeline.errors import ExtractError
from pipeline.extract import limits  # installs the stream and memory limits (see there)
from pipeline.extract.fontguard import GuardedResourceManager
from pipeline.extract import pdfrefs  # noqa: F401 (bounds pdfminer's reference resolution, see there)
from pipeline.extract.constants import _BOLD_FONT
from pipeline.extract.limits import MemoryLimitReached, StreamTooLarge
from pipeline.extract.model import OutlineEntry

# ---------------------------------------------------------------------------------------------
# Opening the file, metadata, font names
# ---------------------------------------------------------------------------------------------

_TODO_REFETCH = (
    "check that the file is a complete PDF (open it in a PDF viewer); if it was downloaded, "
    "fetch it again"
)


def _open_pdf(path: Path) -> pdfplumber.PDF:
    """Open with pdfplumber, turning every failure into an ExtractError that says what to do.

    Within ``limits.reading()`` the stream cap holds here too (object and cross-reference streams
    are inflated as the file is opened). A page tree nested deeper than
    ``limits.MAX_PAGE_TREE_DEPTH`` is refused before pdfminer walks it by recursion. A reference
    loop reads as a missing object, as the file is opened too (``pdfrefs.bound_references``,
    installed on import: the trailer's /Info is resolved then); once open, pdfminer builds fonts
    through ``fontguard.GuardedResourceManager`` (hostile fonts refused), before any page is
    listed or read."""
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
        raise (limits.open_error(exc, path) or _open_error(path, exc, truncated)) from exc
    pdf.rsrcmgr = GuardedResourceManager()
    try:
        _drop_unsound_page_labels(pdf)
        depth = _page_tree_depth(pdf)
        if depth > limits.MAX_PAGE_TREE_DEPTH:
            raise limits.page_tree_error(path, depth)
        page_count = len(pdf.pages)
    except limits.PageValueRefused as exc:
        _close_quietly(pdf)
        raise limits.PageValueRefused(f"{path.name} cannot be opened: {exc.what}", exc.todo) from exc
    except ExtractError:
        _close_quietly(pdf)
        raise
    except Exception as exc:
        _close_quietly(pdf)
        raise (limits.open_error(exc, path) or _open_error(path, exc, truncated)) from exc
    if page_count == 0:
        pdf.close()
        raise _no_pages_error(path)
    return pdf


def _page_tree_depth(pdf: pdfplumber.PDF) -> int:
    """The page tree's depth; 0 when it cannot be walked (pdfminer then says what is wrong)."""
    try:
        return limits.page_tree_depth(pdf.doc)
    except (StreamTooLarge, MemoryLimitReached):
        raise
    except Exception:
        return 0


def _drop_unsound_page_labels(pdf: pdfplumber.PDF) -> None:
    """Hide the catalog's /PageLabels from pdfminer when its number tree is a loop or lists a
    node twice (``limits.number_tree_sound``): pdfminer reads the whole tree before it lists the
    first page, and such a tree hung both engines (a node listed twice on each of forty levels)
    or failed the file with a RecursionError. jstmine reads no page label, so nothing else
    changes: the pages are those of the page tree, as before.

    Parameters:
        pdf: the PDF just opened (its document's catalog is replaced by a copy without the entry).
    """
    catalog = pdf.doc.catalog
    if isinstance(catalog, dict) and "PageLabels" in catalog and not limits.number_tree_sound(catalog["PageLabels"]):
        pdf.doc.catalog = {key: value for key, value in catalog.items() if key != "PageLabels"}


def _close_quietly(pdf: pdfplumber.PDF) -> None:
    """Close a PDF whose pages may not be listed (pdfplumber's close lists them, and would fail
    again as listing them failed)."""
    try:
        if "_pages" in vars(pdf):
            pdf.close()
        elif not pdf.stream_is_external:
            pdf.stream.close()
    except Exception:
        pass


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
            except (StreamTooLarge, MemoryLimitReached):
                raise
            except Exception:  # RecursionError (arrays nested thousands deep) included
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




_MAX_OUTLINE_ENTRIES = 10_000


def _read_outline(pdf: pdfplumber.PDF) -> list[OutlineEntry]:
    """The PDF's outline (bookmarks): level, title and the page each entry points to. A broken
    or hostile outline (cycles, bad references) gives what could be read, never an error; a
    stream over the cap or the memory budget stops extraction as anywhere else."""
    page_of = {}
    try:
        for number, page in enumerate(pdf.pages, start=1):
            page_of[page.page_obj.pageid] = number
        outlines = _outline_items(pdf.doc)
        entries = []
        for level, title, dest, action in outlines:
            if len(entries) >= _MAX_OUTLINE_ENTRIES:
                break
            # control and private-use characters (an ESC sequence in a bookmark) are not title text
            title = _to_str(title, fallback="pdfdoc")
            text = "".join(ch for ch in title if ch.isspace() or unicodedata.category(ch)[0] != "C").strip()
            entries.append(OutlineEntry(int(level), text, _outline_page(pdf, dest, action, page_of)))
        return entries
    except (StreamTooLarge, MemoryLimitReached):
        raise
    except Exception:  # broken trees: no outline
        return []


def _outline_items(doc):
    """(level, title, destination, action) of each outline entry, as pdfminer's
    ``PDFDocument.get_outlines`` gives them and in its order, but walked without recursion
    (pdfminer recurses once per entry, siblings included, so an outline of about a thousand
    entries, or one nested that deep, reached Python's recursion limit and was lost) and each
    entry once (a cycle of /Next or /First links ends)."""
    if "Outlines" not in doc.catalog:
        return
    seen: set[int] = set()
    stack = [(doc.catalog["Outlines"], 0)]
    while stack:
        ref, level = stack.pop()
        objid = getattr(ref, "objid", None)
        if objid is not None:
            if objid in seen:
                continue
            seen.add(objid)
        entry = dict_value(ref)
        if "Title" in entry and ("A" in entry or "Dest" in entry):
            yield level, decode_text(str_value(entry["Title"])), entry.get("Dest"), entry.get("A")
        if "Next" in entry:  # after the entry's children
            stack.append((entry["Next"], level))
        if "First" in entry and "Last" in entry:
            stack.append((entry["First"], level + 1))


def _outline_page(pdf: pdfplumber.PDF, dest, action, page_of: dict[int, int]) -> int | None:
    try:
        if dest is None and action is not None:
            action = action.resolve() if hasattr(action, "resolve") else action
            dest = action.get("D") if isinstance(action, dict) else None
        dest = dest.resolve() if hasattr(dest, "resolve") else dest
        if isinstance(dest, (bytes, str)) or hasattr(dest, "name"):
            name = dest if isinstance(dest, (bytes, str)) else dest.name
            dest = pdf.doc.get_dest(name)
            dest = dest.resolve() if hasattr(dest, "resolve") else dest
        if isinstance(dest, dict):
            dest = dest.get("D")
            dest = dest.resolve() if hasattr(dest, "resolve") else dest
        if isinstance(dest, (list, tuple)) and dest:
            ref = dest[0]
            objid = getattr(ref, "objid", None)
            if objid is not None:
                return page_of.get(objid)
            if isinstance(ref, int):
                return ref + 1
    except Exception:
        return None
    return None
