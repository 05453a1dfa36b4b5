"""Fonts checked before pdfminer builds them: the reference reader made safe against hostile fonts.

pdfminer builds a font (``PDFResourceManager.get_font``) from its dictionary when it starts on a
page, or a Form XObject the page draws, that lists the font in its resources. Three things in a
font dictionary make that take unbounded time or memory; none is found in a real font, and each
is refused here before pdfminer builds the font (``check_font`` raises ``FontRefused``):

* a range expanded entry by entry: one line of a /ToUnicode CMap (``<000000> <FFFFFF> <0041>
  bfrange``: 16 million entries, 2.3 GB; 4 billion for 4-byte codes), one range of a CID font's
  /W or /W2 (``[0 2000000000 500]``), one segment or group of the cmap table of an embedded
  TrueType program (read when a CID font has no /ToUnicode). More than ``MAX_ENTRIES`` entries
  in all, in any of these, is refused (a font has at most 65,536 glyphs; a real map has fewer
  entries than that). A cmap table counts each code once, however many of its subtables list
  it (large CJK fonts list the same codes for several platforms), and is refused too once its
  subtables add up to more than ``MAX_CMAP_WORK`` entries, which pdfminer reads all;
* a container that holds itself (``9 0 obj [9 0 R] endobj`` as a width, or as the /FontBBox):
  pdfminer resolves widths and the box by recursion, which would end in a RecursionError blamed
  on the page's nesting;
* a Type0 font whose descendant is a Type0 font (pdfminer builds it by recursion: a font
  that is its own descendant never ends); more than ``MAX_TYPE0_NESTING`` levels are refused.

A Type0 font without a descendant, or whose /Encoding leads nowhere, and a CID font whose
/CIDSystemInfo names its /Registry or /Ordering with anything but a string (a reference loop
included), are refused too: pdfminer cannot build them either, but fails with an empty
AssertionError, a TypeError or an AttributeError that says nothing. Any other error pdfminer
raises building a font (a damaged font) refuses that font the same way, saying what pdfminer
said; the limits (the stream cap, the memory budget) and a RecursionError are not caught: they
stop the page (and the document), as they do anywhere else.

A refused font costs its own text, not the page: ``GuardedResourceManager`` gives pdfminer a
``RefusedFont`` in its place, which draws nothing (the page's other fonts are read as before),
and notes it for the page being read (``start_page``, ``refused_fonts``); a page that sets text
in it gets a ``font_refused`` problem naming the font and the reason (``problems``), and a page
left with no text is treated as a page without a text layer (OCRed under ``--ocr auto``; no usable
page left: ``NoUsableTextError``, naming the fonts).

A reference loop (a chain of objects each holding a reference to the next) anywhere in a font's
structure, which pdfminer's ``resolve1`` would follow for ever, is answered as a missing object by
pdfminer's own resolution (``pdfrefs.bound_references``), so here it reads as an entry that is not
there, as it does for jstmine's own checks (``pdfrefs.resolve``).

``GuardedResourceManager`` replaces pdfplumber's resource manager for each PDF jstmine opens
(``opening._open_pdf``): the pdfplumber engine reads every page through it, the default engine
the pages it leaves to the reference reader (rotated pages, vertical writing, fonts PDFium
cannot load: see pdfium_glyphs). Nothing of pdfminer's is patched: a font that passes the
checks is built by pdfminer's own code, exactly as before, and the checks read nothing pdfminer
would not read (a font is checked once per process, as pdfminer builds it once; a refused one
is kept, by object number, as pdfminer keeps the fonts it builds; a font given as a direct
dictionary, which pdfminer would build again each time a Form XObject listing it is drawn, is kept
by that dictionary).
"""
from __future__ import annotations

import io
import struct

from pdfminer.cmapdb import CMapParser, FileUnicodeMap
from pdfminer.pdffont import PDFFont, TrueTypeFont
from pdfminer.pdfinterp import PDFResourceManager
from pdfminer.pdftypes import PDFStream
from pdfminer.psparser import PSLiteral

from pipeline.extract.limits import FontRefused, MemoryLimitReached, StreamTooLarge
from pipeline.extract.pdfrefs import resolve

MAX_ENTRIES = 1 << 18  # entries one map or width table of a font may expand to (262,144)
# entries pdfminer may add, repeats included, reading an embedded TrueType program's cmap table: a
# real font lists the same codes in up to four Unicode subtables (formats 4 and 12, two platforms)
MAX_CMAP_WORK = 4 * MAX_ENTRIES
MAX_TYPE0_NESTING = 4  # Type0 fonts nested in each other's /DescendantFonts, at most
# the fonts refused on one page that are named one by one, at most; the others are counted (a
# hostile file can list thousands on every page: a problem each would be fonts × pages)
MAX_REFUSED_NAMED = 5
MAX_DEPTH = 32  # arrays and dictionaries nested in a width or a /FontBBox, at most (a real one: 2)

REFUSED_TODO = ("no real font is built this way: the file is damaged or built to defeat the reader; check where "
         "it came from and fetch it again from the publisher (or, if the page must be read, print it to a "
         "new PDF)")
# a font pdfminer fails to build may be damaged, or sound and beyond what pdfminer reads
_UNBUILT = "the reference reader (pdfminer) cannot build its font"
UNBUILT_TODO = ("the font may be damaged, or use something the reference reader does not read: open the page in a "
                "PDF viewer; if it shows the text, print the document to a new PDF (which writes the font again) and "
                "run on that, or run with --ocr force to read the pages by OCR")


def font_todo(reason: str) -> str:
    """What to do about a font refused for ``reason`` (``RefusedFont.reason``): a font pdfminer
    could not build may be a sound one beyond pdfminer (``UNBUILT_TODO``); one the checks refused
    is built to defeat the reader or damaged (``REFUSED_TODO``).

    Parameters:
        reason: why the font was refused, as ``refused_fonts`` gives it.
    """
    return UNBUILT_TODO if reason.startswith(_UNBUILT) else REFUSED_TODO


# errors pdfminer may raise building a font that are not the font's fault: they stop the page
_NOT_THE_FONT = (StreamTooLarge, MemoryLimitReached, MemoryError, RecursionError)


class RefusedFont(PDFFont):
    """What pdfminer is given in place of a font refused (``GuardedResourceManager``): a font
    that decodes every string to no character, so its text is left out and nothing of its
    dictionary is read. ``name``: the font's /BaseFont as errors show it ("/Name"); ``reason``:
    why it was refused, as ``FontRefused`` says it ("the /ToUnicode map of its font ...")."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__({"FontBBox": [0, 0, 0, 0]}, {})  # (a box given: pdfminer warns of one missing)
        self.name, self.reason = name, reason
        self.strings = 0  # strings set in it since the manager's start_page (text left out)

    def __repr__(self) -> str:
        return f"<RefusedFont {self.name}>"

    def decode(self, bytes: bytes) -> list[int]:
        """No character for any string, counted (pdfminer's ``PDFFont.decode``; the parameter keeps its name)."""
        self.strings += 1
        return []


class GuardedResourceManager(PDFResourceManager):
    """pdfminer's resource manager, with each font's dictionary checked (``check_font``) before
    pdfminer builds the font; a font refused, or one pdfminer fails to build, is replaced by a
    ``RefusedFont`` and noted for the page being read (``refused_fonts``). Parameters as
    ``PDFResourceManager`` (``caching``: keep the fonts built, by object number, as pdfplumber does)."""

    def __init__(self, caching: bool = True) -> None:
        super().__init__(caching)
        self._nesting = 0
        self._checked: set[int] = set()  # ToUnicode and font program streams found within the limit (object numbers)
        # the fonts refused on the page being read, each once (a Form XObject drawn many times asks again), as they come
        self._refused: dict[int, RefusedFont] = {}
        # fonts given as direct dictionaries (no object number: pdfminer would build one at each Do of a
        # Form XObject listing it), by the dictionary's id, with the dictionary (kept: its id is not reused)
        self._direct: dict[int, tuple[object, PDFFont]] = {}

    def start_page(self) -> None:
        """Forget the fonts refused so far: call before reading a page, then ``refused_fonts``."""
        for font in self._refused.values():  # (a font sets strings only on a page that lists it: noted there)
            font.strings = 0
        self._refused = {}

    def refused_fonts(self) -> tuple[tuple[str, str], ...]:
        """The fonts refused since ``start_page`` in which the page (or a Form XObject it draws)
        set text, each once: (name, reason), in the order met. A font kept from an earlier page
        is refused on every page that uses it; one listed in the page's resources but never
        used costs nothing and is left out."""
        found: dict[tuple[str, str], None] = {}
        for font in self._refused.values():
            if font.strings:
                found[(font.name, font.reason)] = None
        return tuple(found)

    def get_font(self, objid: object, spec):
        """The font of dictionary ``spec`` (object ``objid``, None for a direct or merged one),
        built by pdfminer once ``check_font`` finds nothing wrong, else a ``RefusedFont`` (noted
        for the page). Kept, as pdfminer keeps a font by its object number: one given as a direct
        dictionary by that dictionary (a Form XObject drawn many times lists the same one). Raises what pdfminer raises for a limit (``StreamTooLarge``,
        ``MemoryLimitReached``, ``MemoryError``) or a ``RecursionError``.

        Parameters:
            objid: the font dictionary's object number, or None.
            spec: the font dictionary (resolved).
        """
        outermost = self._nesting == 0  # (a Type0 font's descendant is built by a call within)
        direct = outermost and not objid and self.caching
        if direct and id(spec) in self._direct:
            font = self._direct[id(spec)][1]
        else:
            font = self._font(objid, spec)
            if direct:  # the same dictionary again (the document keeps its objects): the same font
                self._direct[id(spec)] = (spec, font)
        if outermost and isinstance(font, RefusedFont):
            self._refused.setdefault(id(font), font)
        return font

    def _font(self, objid: object, spec):
        """``get_font`` without noting the font refused."""
        if objid and objid in self._cached_fonts:
            return self._cached_fonts[objid]
        try:
            if self._nesting >= MAX_TYPE0_NESTING:
                raise FontRefused(f"its font {_name(spec)} is a Type0 font whose descendant font is a Type0 font, "
                                  f"nested more than {MAX_TYPE0_NESTING} deep (a font that is its own descendant)",
                                  REFUSED_TODO)
            check_font(spec, self._checked)
        except FontRefused as exc:
            font = RefusedFont(_name(spec), exc.what)
        else:
            self._nesting += 1
            try:
                return super().get_font(objid, spec)
            except _NOT_THE_FONT:
                raise
            except Exception as exc:  # a damaged font pdfminer cannot build: say what pdfminer said
                font = RefusedFont(_name(spec), f"{_UNBUILT} {_name(spec)} "
                                                f"({type(exc).__name__}: {str(exc)[:200]})")
            finally:
                self._nesting -= 1
        if objid and self.caching:  # refused on every page that uses it, and checked once
            self._cached_fonts[objid] = font
        return font


def check_font(spec, checked: set[int] | None = None) -> None:
    """Raise ``FontRefused`` when pdfminer would take unbounded time or memory to build the font
    of dictionary ``spec`` (see the module): what pdfminer reads of it, and only that, is looked
    at, with references followed a bounded number of times.

    Parameters:
        spec: a font dictionary (resolved), as ``PDFResourceManager.get_font`` is given it.
        checked: object numbers of the streams already counted and found within the limit (a
            map shared by many fonts is counted once); updated.
    """
    if not isinstance(spec, dict):
        return
    checked = set() if checked is None else checked
    subtype = _literal(spec.get("Subtype"))
    if subtype == "Type0":  # built from its descendant, merged with its /ToUnicode: checked as that (get_font)
        descendants = resolve(spec.get("DescendantFonts"))
        if not (isinstance(descendants, list) and descendants):  # pdfminer: an assertion with no message
            raise FontRefused(f"its Type0 font {_name(spec)} has no descendant font (its /DescendantFonts is missing "
                              "or empty, or a reference to nothing or a reference loop)", REFUSED_TODO)
        if "Encoding" in spec and resolve(spec["Encoding"]) is None:  # pdfminer: a TypeError
            raise FontRefused(f"the /Encoding of its Type0 font {_name(spec)} is a reference to nothing or a "
                              "reference loop", REFUSED_TODO)
        return
    if subtype in ("CIDFontType0", "CIDFontType2"):
        info = resolve(spec.get("CIDSystemInfo"))
        for key in ("Registry", "Ordering"):  # pdfminer: an AttributeError (it decodes them as strings)
            if isinstance(info, dict) and key in info and not isinstance(resolve(info[key]), bytes):
                raise FontRefused(f"the /{key} in the /CIDSystemInfo of its font {_name(spec)} is not a string (a "
                                  "reference to nothing, a reference loop or another kind of value)", REFUSED_TODO)
    descriptor = resolve(spec.get("FontDescriptor"))
    descriptor = descriptor if isinstance(descriptor, dict) else {}
    for where, value in (("/Widths", spec.get("Widths")), ("/W", spec.get("W")), ("/W2", spec.get("W2")),
                         ("/FontBBox", spec.get("FontBBox")), ("its descriptor's /FontBBox", descriptor.get("FontBBox"))):
        if value is not None and not _shallow(value):
            raise FontRefused(f"{where} of its font {_name(spec)} holds itself, or arrays nested more than "
                              f"{MAX_DEPTH} deep, or lists the same array over and over (more than "
                              f"{MAX_ENTRIES:,} arrays)", REFUSED_TODO)
    if subtype in ("CIDFontType0", "CIDFontType2"):
        for key, step in (("W", 3), ("W2", 5)):
            ranges = _width_ranges(resolve(spec.get(key)), step, resolved=key == "W")
            if ranges > MAX_ENTRIES:
                raise FontRefused(f"its font {_name(spec)} gives widths (/{key}) to {ranges:,} characters, more "
                                  f"than the {MAX_ENTRIES:,} a font can have", REFUSED_TODO)
    to_unicode = resolve(spec.get("ToUnicode"))
    if isinstance(to_unicode, PDFStream):
        if _key(to_unicode) not in checked:
            if not _map_within(to_unicode):
                raise FontRefused(f"the /ToUnicode map of its font {_name(spec)} expands to more than "
                                  f"{MAX_ENTRIES:,} entries (a font has at most 65,536 glyphs)", REFUSED_TODO)
            checked.add(_key(to_unicode))  # (only a map that passed: one refused is refused on every page)
    elif "ToUnicode" not in spec and subtype in ("CIDFontType0", "CIDFontType2"):
        program = resolve(descriptor.get("FontFile2"))
        if isinstance(program, PDFStream) and _key(program) not in checked:
            entries = truetype_map_entries(program.get_data())
            if entries > MAX_ENTRIES:
                raise FontRefused(f"the cmap table of its font {_name(spec)}'s embedded program expands to "
                                  f"{entries:,} entries, more than the {MAX_ENTRIES:,} a font can have", REFUSED_TODO)
            checked.add(_key(program))


def _key(stream: PDFStream) -> int:
    """The stream's object number (its id for a direct stream), as ``checked`` holds it."""
    return stream.objid if stream.objid is not None else id(stream)


def _literal(value) -> str | None:
    value = resolve(value)
    if isinstance(value, PSLiteral):
        name = value.name
        return name.decode("latin-1") if isinstance(name, bytes) else str(name)
    return None


def _name(spec) -> str:
    """The font's /BaseFont as the error shows it ("/Name"), or "(unnamed)"."""
    name = _literal(spec.get("BaseFont")) if isinstance(spec, dict) else None
    return f"/{name[:60]}" if name else "(unnamed)"


def _shallow(value) -> bool:
    """Whether ``value`` (references followed, bounded) nests arrays and dictionaries at most
    ``MAX_DEPTH`` deep with none holding itself, and at most ``MAX_ENTRIES`` of them as pdfminer's
    ``resolve_all`` walks them (an array listed twice is walked twice: ``[9 0 R 9 0 R]`` on each of
    thirty levels is a billion arrays, which took gigabytes): what ``resolve_all`` needs to end."""
    todo = [(value, 0, frozenset())]
    seen = 0
    while todo:
        item, depth, path = todo.pop()
        item = resolve(item)
        if not isinstance(item, (list, dict)):
            continue
        if depth >= MAX_DEPTH or id(item) in path:
            return False
        seen += 1
        if seen > MAX_ENTRIES:  # more than any font holds: the same array listed over and over (see above)
            return False
        inner = path | {id(item)}
        todo += [(v, depth + 1, inner) for v in (item.values() if isinstance(item, dict) else item)]
    return True


def _width_ranges(seq, step: int, resolved: bool) -> int:
    """The widths a CID font's /W (``step`` 3: first, last, width) or /W2 (5) gives by ranges,
    counted as pdfminer's ``get_widths`` (``resolved``: it resolves each element) or
    ``get_widths2`` (it does not) expand them; widths listed in arrays are not counted (as
    many as the file holds)."""
    if not isinstance(seq, list):
        return 0
    total, numbers = 0, []
    for v in seq:
        v = resolve(v) if resolved else v
        if isinstance(v, list):
            numbers = []
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            numbers.append(v)
            if len(numbers) == step:
                first, last = numbers[0], numbers[1]
                if isinstance(first, int) and isinstance(last, int):
                    total += max(0, last - first + 1)
                numbers = []
    return total


class _TooMany(Exception):
    """Raised by ``_CountingMap`` at the entry past ``MAX_ENTRIES``."""


class _CountingMap(FileUnicodeMap):
    """A /ToUnicode map that keeps nothing, counts the entries pdfminer's parser adds, and stops
    it past ``MAX_ENTRIES``."""

    def __init__(self) -> None:
        super().__init__()
        self.entries = 0

    def add_cid2unichr(self, cid, code) -> None:
        self.entries += 1
        if self.entries > MAX_ENTRIES:
            raise _TooMany


def _map_within(stream: PDFStream) -> bool:
    """Whether the /ToUnicode CMap ``stream`` expands to at most ``MAX_ENTRIES`` entries, read
    by pdfminer's own parser (a map it cannot read is left for pdfminer to say so)."""
    try:
        CMapParser(_CountingMap(), io.BytesIO(stream.get_data())).run()
    except _TooMany:
        return False
    except Exception:  # damaged: pdfminer reads what it can of it, as before
        return True
    return True


def truetype_map_entries(data: bytes) -> int:
    """The entries pdfminer's ``TrueTypeFont.create_unicode_map`` would make of the embedded
    TrueType program ``data``: the distinct codes its Unicode cmap subtables cover by ranges
    (formats 4 and 12; the other formats list their entries, as many as the data holds), read as
    pdfminer reads them; 0 when there is no cmap table (or as much as was counted when the table
    ends early: pdfminer fails there too). A code in several subtables counts once, as pdfminer
    keeps it once, but pdfminer reads every subtable whole: once the ranges add up to more than
    ``MAX_CMAP_WORK`` entries, repeats included, that sum is returned (above ``MAX_ENTRIES``: refused).

    Parameters:
        data: the font program (a /FontFile2 stream's data).
    """
    fp = io.BytesIO(data)
    tables = TrueTypeFont("", fp).tables  # pdfminer's own reading of the table directory
    if b"cmap" not in tables:
        return 0
    base, _ = tables[b"cmap"]
    ranges: list[tuple[int, int]] = []
    total = 0
    try:
        fp.seek(base)
        _, count = struct.unpack(">HH", fp.read(4))
        subtables = [struct.unpack(">HHL", fp.read(8)) for _ in range(count)]
        for platform, encoding, offset in subtables:
            if not (platform == 0 or (platform == 3 and encoding in (1, 10))):
                continue
            fp.seek(base + offset)
            (kind,) = struct.unpack(">H", fp.read(2))
            if kind == 4:
                fp.read(4)
                segments = struct.unpack(">HHHH", fp.read(8))[0] // 2
                ends = struct.unpack(f">{segments}H", fp.read(2 * segments))
                fp.read(2)
                starts = struct.unpack(f">{segments}H", fp.read(2 * segments))
                found = [(start, end) for start, end in zip(starts, ends, strict=False) if end >= start]
                ranges += found
                total += sum(end - start + 1 for start, end in found)
                if total > MAX_CMAP_WORK:
                    return total
            elif kind == 12:
                fp.read(10)
                (groups,) = struct.unpack(">I", fp.read(4))
                for _ in range(groups):  # (as many as the data holds: a short read ends the table)
                    start, end, _ = struct.unpack(">III", fp.read(12))
                    if end >= start:
                        ranges.append((start, end))
                        total += end - start + 1
                        if total > MAX_CMAP_WORK:
                            return total
    except struct.error:
        pass
    return _covered(ranges)


def _covered(ranges: list[tuple[int, int]]) -> int:
    """How many codes the inclusive ``ranges`` cover together (overlaps counted once)."""
    covered, reach = 0, -1
    for start, end in sorted(ranges):
        if end > reach:
            covered += end - max(start, reach + 1) + 1
            reach = end
    return covered
