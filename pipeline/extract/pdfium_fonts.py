"""Whether PDFium failed to load an embedded font that the page uses (``has_unloaded_font``).

When PDFium cannot use an embedded font program (a damaged one), the text objects set in it
give no glyph: ``CPDF_TextPage`` leaves out a text object whose bounds have no width, and
without the font's outlines every glyph box is empty. pdfminer reads those glyphs all the
same (it needs only the font's mapping to Unicode and widths). Blank runs (spaces set on their
own) are left out for the same reason, so an object that gives no glyph is not by itself a
sign of failure: its font is. PDFium's API shows the failure in one of two ways:

- the program was rejected outright (FreeType cannot open it): PDFium substitutes a font of its
  own and reports the font as not embedded (``FPDFFont_GetIsEmbedded`` 0), while the PDF's font
  dictionary carries a font program (/FontFile, /FontFile2 or /FontFile3);
- the program opens but its glyphs cannot be read (a damaged glyph table, a stream that does not
  inflate whole): ``FPDFFont_GetGlyphPath`` gives no outline for any character the font's
  /ToUnicode maps to a visible character (a subset font holds the glyphs of the characters it
  maps; a healthy font gives their outlines).

Only the fonts of text objects that give no glyph are asked (on a normal page, the fonts of
blank runs: a few at most); for their outlines, only those that give no glyph anywhere on the
page (a font that gives some is loaded). A substitute may give some glyphs (Latin letters,
digits) and lose the rest: the first check does not ask for glyphs. Not detected: a program
damaged only in part (some of its glyphs still read on the page), and a font with no
/ToUnicode whose glyphs cannot be read (there is then no character to ask for). Seen in fuzzing
before this check: PDFium read 20 characters of a page where pdfminer reads 157.
"""
from __future__ import annotations

import ctypes
import io

import pypdfium2.raw as raw
from pdfminer.cmapdb import CMapParser, FileUnicodeMap
from pdfminer.pdftypes import PDFStream

from pipeline.extract.pdfrefs import font_programs, resolve, resource_fonts

_PROBES = 16  # visible characters of a font's /ToUnicode whose outlines are asked, at most
_MAX_ENTRIES = 4096  # entries of a /ToUnicode read to find them, at most


def has_unloaded_font(fonts: set[int], placed: set[int], resources, limit: int = 200) -> bool:
    """Whether one of ``fonts`` (PDFium font handles, FPDF_FONT as ints: the fonts of the text
    objects that give no glyph) is an embedded font PDFium could not load (see the module).
    ``placed``: the fonts that give glyphs on the page (only the others are asked for their
    outlines). ``resources``: the page's /Resources as pdfminer resolves them (the font
    dictionaries are looked up by /BaseFont there and in the Form XObjects the page draws, at
    most ``limit`` resource dictionaries); None: nothing is known of the PDF's fonts, and the
    answer is False."""
    if not fonts or resources is None:
        return False
    specs: dict[bytes, list[dict]] | None = None
    for font in fonts:
        handle = ctypes.cast(font, raw.FPDF_FONT)
        embedded = raw.FPDFFont_GetIsEmbedded(handle)
        if embedded and font in placed:
            continue
        if specs is None:
            specs = _font_specs(resources, limit)
        size = raw.FPDFFont_GetBaseFontName(handle, None, 0)
        buf = ctypes.create_string_buffer(max(size, 1))
        raw.FPDFFont_GetBaseFontName(handle, buf, size)
        candidates = specs.get(buf.value, [])
        if not any(font_programs(spec) for spec in candidates):
            continue
        if not embedded:
            return True  # rejected: PDFium set the text in a substitute
        visible = _visible_characters(candidates)
        if visible and not any(_has_outline(handle, u) for u in visible):
            return True
    return False


def _font_specs(resources, limit: int) -> dict[bytes, list[dict]]:
    """The font dictionaries of the page's resources and of its Form XObjects', by /BaseFont."""
    specs: dict[bytes, list[dict]] = {}
    for spec in resource_fonts(resources, limit):
        name = getattr(resolve(spec.get("BaseFont")), "name", None) if isinstance(spec, dict) else None
        if isinstance(name, str):
            name = name.encode("latin-1", "replace")
        if isinstance(name, bytes):
            specs.setdefault(name, []).append(spec)
    return specs


def _visible_characters(specs: list[dict]) -> list[str]:
    """Up to ``_PROBES`` visible characters the /ToUnicode of the first of ``specs`` that has
    one maps to (none when no spec has a readable /ToUnicode)."""
    for spec in specs:
        stream = resolve(spec.get("ToUnicode"))
        if not isinstance(stream, PDFStream):
            continue
        cmap = _ProbeMap()
        try:
            CMapParser(cmap, io.BytesIO(stream.get_data())).run()
        except _Enough:  # enough characters read (or entries: a range of millions is not expanded)
            pass
        except Exception:  # a damaged map: nothing to ask
            continue
        return cmap.visible
    return []


class _Enough(Exception):
    """Raised by ``_ProbeMap`` to stop the parser once it has what is needed."""


class _ProbeMap(FileUnicodeMap):
    """A /ToUnicode map that keeps only its first ``_PROBES`` visible characters and stops the
    parser then, or after ``_MAX_ENTRIES`` entries in all: one line of a hostile map
    (``<000000> <FFFFFF> <0041> bfrange``) would otherwise make pdfminer add 16 million entries,
    gigabytes, on every page that uses the font."""

    def __init__(self):
        super().__init__()
        self.visible: list[str] = []
        self.entries = 0

    def add_cid2unichr(self, cid, code) -> None:
        super().add_cid2unichr(cid, code)
        text = self.cid2unichr.pop(cid, "")  # nothing kept: only the visible characters are needed
        self.entries += 1
        if len(text) == 1 and text.isprintable() and not text.isspace() and text not in self.visible:
            self.visible.append(text)
        if len(self.visible) >= _PROBES or self.entries >= _MAX_ENTRIES:
            raise _Enough


def _has_outline(font, char: str) -> bool:
    """Whether PDFium gives the outline of ``char``'s glyph in ``font`` (a glyph with segments)."""
    path = raw.FPDFFont_GetGlyphPath(font, ord(char), 12.0)
    return bool(path) and raw.FPDFGlyphPath_CountGlyphSegments(path) > 0

