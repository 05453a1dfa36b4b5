"""Forging hostile PDFs byte by byte: decompression bombs, deep page trees and outlines, Form
XObjects that draw each other. Each builder writes a small, valid PDF (classic cross-reference
table) whose objects are as a hostile or broken generator would write them.
"""
from __future__ import annotations

import base64
import zlib
from pathlib import Path

MIB = 1 << 20
FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
TEXT = b"BT /F1 12 Tf 72 720 Td (%s) Tj ET\n"


class RawPdf:
    """Objects by number (1-based), written with a cross-reference table."""

    def __init__(self) -> None:
        self.objects: list[bytes | None] = []

    def reserve(self) -> int:
        self.objects.append(None)
        return len(self.objects)

    def add(self, body: bytes) -> int:
        self.objects.append(body)
        return len(self.objects)

    def set(self, number: int, body: bytes) -> None:
        self.objects[number - 1] = body

    @staticmethod
    def stream(entries: bytes, data: bytes) -> bytes:
        return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (entries, len(data), data)

    def write(self, path: Path, root: int, info: int | None = None) -> Path:
        out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(self.objects, start=1):
            assert body is not None, f"object {number} reserved but never set"
            offsets.append(len(out))
            out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(self.objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
        trailer = b"/Size %d /Root %d 0 R" % (len(self.objects) + 1, root)
        if info is not None:
            trailer += b" /Info %d 0 R" % info
        out += b"trailer\n<< %s >>\nstartxref\n%d\n%%%%EOF\n" % (trailer, xref)
        path.write_bytes(bytes(out))
        return path


def deflate_padded(head: bytes, size: int, filler: bytes = b" ") -> bytes:
    """``head`` followed by ``filler`` up to ``size`` bytes, deflated without ever holding the
    whole: 300 MiB of spaces deflate to about 300 KB."""
    packer = zlib.compressobj(9)
    parts = [packer.compress(head)]
    chunk = filler * (MIB // len(filler))
    left = size - len(head)
    while left > 0:
        piece = chunk[: min(left, len(chunk))]
        parts.append(packer.compress(piece))
        left -= len(piece)
    parts.append(packer.flush())
    return b"".join(parts)


def _pages_with_contents(pdf: RawPdf, contents: list[int], resources: bytes | list[bytes]) -> int:
    """A /Pages node holding one page per content stream; returns the /Pages object's number.
    ``resources``: every page's, or each page's."""
    pages = pdf.reserve()
    kids = []
    each = resources if isinstance(resources, list) else [resources] * len(contents)
    for c, res in zip(contents, each, strict=True):
        kids.append(pdf.add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Resources %s "
                            b"/Contents %d 0 R >>" % (pages, res, c)))
    pdf.set(pages, b"<< /Type /Pages /Kids [%s] /Count %d >>"
            % (b" ".join(b"%d 0 R" % k for k in kids), len(kids)))
    return pages


def bomb_pdf(path: Path, *, pages: int, inflated: int, shared: bool = True, bomb_pages: tuple[int, ...] = ()) -> Path:
    """``pages`` pages whose content inflates to ``inflated`` bytes (a line of text, then spaces).

    ``shared``: one content stream drawn by every page (as in the issue: 16 pages, 300 MiB);
    otherwise only the pages in ``bomb_pages`` (1-based) carry a bomb of their own, the others a
    line of text."""
    pdf = RawPdf()
    font = pdf.add(FONT)
    resources = b"<< /Font << /F1 %d 0 R >> >>" % font
    if shared:
        bomb = pdf.add(pdf.stream(b"/Filter /FlateDecode", deflate_padded(TEXT % b"Bomb page", inflated)))
        contents = [bomb] * pages
    else:
        contents = []
        for n in range(1, pages + 1):
            if n in bomb_pages:
                data = deflate_padded(TEXT % b"Bomb page %d" % n, inflated)
                contents.append(pdf.add(pdf.stream(b"/Filter /FlateDecode", data)))
            else:
                contents.append(pdf.add(pdf.stream(b"", TEXT % b"Page %d" % n)))
    root = pdf.add(b"<< /Type /Catalog /Pages %d 0 R >>" % _pages_with_contents(pdf, contents, resources))
    return pdf.write(path, root)


def deep_page_tree_pdf(path: Path, depth: int) -> Path:
    """One page under ``depth`` nested /Pages nodes (each with one kid, the next node)."""
    pdf = RawPdf()
    font = pdf.add(FONT)
    content = pdf.add(pdf.stream(b"", TEXT % b"Deep page"))
    nodes = [pdf.reserve() for _ in range(depth)]
    for level, node in enumerate(nodes):
        parent = b" /Parent %d 0 R" % nodes[level - 1] if level else b""
        kid = nodes[level + 1] if level + 1 < depth else None
        if kid is None:
            kid = pdf.add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] "
                          b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (node, font, content))
        pdf.set(node, b"<< /Type /Pages%s /Kids [%d 0 R] /Count 1 >>" % (parent, kid))
    root = pdf.add(b"<< /Type /Catalog /Pages %d 0 R >>" % nodes[0])
    return pdf.write(path, root)


def xobject_pdf(path: Path, *, depth: int = 0, cycle: int = 0) -> Path:
    """A page that draws a Form XObject. ``cycle`` = n: n forms drawing each other in a ring (1: a
    form that draws itself); ``depth`` = n: a chain of n distinct forms, each drawing the next."""
    pdf = RawPdf()
    font = pdf.add(FONT)
    n = cycle or depth
    forms = [pdf.reserve() for _ in range(n)]
    for i, form in enumerate(forms):
        nxt = forms[(i + 1) % n] if cycle or i + 1 < n else None
        draw = b"q /X Do Q\n" if nxt is not None else b""
        xobjects = b" /XObject << /X %d 0 R >>" % nxt if nxt is not None else b""
        pdf.set(form, pdf.stream(
            b"/Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources << /Font << /F1 %d 0 R >>%s >>"
            % (font, xobjects), (TEXT % b"Form %d" % i) + draw))
    content = pdf.add(pdf.stream(b"", (TEXT % b"Page text") + b"q /X Do Q\n"))
    resources = b"<< /Font << /F1 %d 0 R >> /XObject << /X %d 0 R >> >>" % (font, forms[0])
    root = pdf.add(b"<< /Type /Catalog /Pages %d 0 R >>" % _pages_with_contents(pdf, [content], resources))
    return pdf.write(path, root)


def deep_outline_pdf(path: Path, *, depth: int = 0, flat: int = 0) -> Path:
    """One page and an outline of ``depth`` entries each nested in the one before, or of ``flat``
    entries side by side (pdfminer walks both by recursion)."""
    pdf = RawPdf()
    font = pdf.add(FONT)
    content = pdf.add(pdf.stream(b"", TEXT % b"Outlined page"))
    pages = _pages_with_contents(pdf, [content], b"<< /Font << /F1 %d 0 R >> >>" % font)
    page = pages + 1  # _pages_with_contents adds the page right after the /Pages node
    outlines = pdf.reserve()
    n = depth or flat
    items = [pdf.reserve() for _ in range(n)]
    for i, item in enumerate(items):
        links = b""
        if depth:
            links += b" /Parent %d 0 R" % (items[i - 1] if i else outlines)
            if i + 1 < n:
                links += b" /First %d 0 R /Last %d 0 R /Count 1" % (items[i + 1], items[i + 1])
        else:
            links += b" /Parent %d 0 R" % outlines
            if i:
                links += b" /Prev %d 0 R" % items[i - 1]
            if i + 1 < n:
                links += b" /Next %d 0 R" % items[i + 1]
        pdf.set(item, b"<< /Title (Entry %d) /Dest [%d 0 R /Fit]%s >>" % (i + 1, page, links))
    last = items[0] if depth else items[-1]
    pdf.set(outlines, b"<< /Type /Outlines /First %d 0 R /Last %d 0 R /Count %d >>" % (items[0], last, n))
    root = pdf.add(b"<< /Type /Catalog /Pages %d 0 R /Outlines %d 0 R >>" % (pages, outlines))
    return pdf.write(path, root)


def glyph_flood_pdf(path: Path, *, pages: int, glyphs: int) -> Path:
    """``pages`` pages sharing one small deflated content stream that draws ``glyphs`` glyphs:
    well under any stream cap, but a layout of ``glyphs`` objects per page (memory, not size)."""
    line = b"(" + b"x" * 1000 + b") Tj\n"
    head = b"BT /F1 1 Tf 10 10 Td\n"
    body = head + line * (glyphs // 1000) + b"ET\n"
    pdf = RawPdf()
    font = pdf.add(FONT)
    data = zlib.compress(body, 9)
    content = pdf.add(pdf.stream(b"/Filter /FlateDecode", data))
    resources = b"<< /Font << /F1 %d 0 R >> >>" % font
    root = pdf.add(b"<< /Type /Catalog /Pages %d 0 R >>"
                   % _pages_with_contents(pdf, [content] * pages, resources))
    return pdf.write(path, root)


def filtered_pdf(path: Path, filters: bytes, data: bytes) -> Path:
    """One page whose content stream is ``data``, declared as encoded with ``filters``
    (e.g. b"/LZWDecode", b"[/FlateDecode /RunLengthDecode]")."""
    pdf = RawPdf()
    font = pdf.add(FONT)
    content = pdf.add(pdf.stream(b"/Filter %s" % filters, data))
    resources = b"<< /Font << /F1 %d 0 R >> >>" % font
    root = pdf.add(b"<< /Type /Catalog /Pages %d 0 R >>" % _pages_with_contents(pdf, [content], resources))
    return pdf.write(path, root)


def lzw_run(head: bytes, size: int, byte: int = 0x20) -> bytes:
    """LZW data (as pdfminer decodes it, early change) for ``head`` then ``byte`` repeated until at
    least ``size`` bytes. Each byte of the head is a literal after a clear code (so it adds no
    table entry); the run is the codes for runs of 1, 2, 3 … bytes, each the entry the decoder is
    about to add, the table cleared when full: about 1,300 : 1."""
    codes: list[tuple[int, int]] = []  # (code, width)
    for b in head:
        codes += [(256, 9), (b, 9)]
    out = len(head)
    table = 4095  # start the run with a clear
    width = 9
    while out < size:
        if table >= 4095:
            codes += [(256, width), (byte, 9)]
            width, table = 9, 258
            out += 1
            continue
        width = 9 if table < 511 else 10 if table < 1023 else 11 if table < 2047 else 12
        codes.append((table, width))  # decodes to the previous run and one byte more
        out += table - 256
        table += 1
    codes.append((257, width))
    bits, nbits, data = 0, 0, bytearray()
    for code, w in codes:
        bits, nbits = ((bits << w) | code) & ((1 << 64) - 1), nbits + w
        while nbits >= 8:
            nbits -= 8
            data.append((bits >> nbits) & 0xFF)
    if nbits:
        data.append((bits << (8 - nbits)) & 0xFF)
    return bytes(data)


def runlength_run(head: bytes, size: int, byte: int = 0x20) -> bytes:
    """RunLength data: ``head`` as literal runs, then ``byte`` in runs of 128 up to ``size``."""
    out = bytearray()
    for i in range(0, len(head), 128):
        part = head[i : i + 128]
        out += bytes([len(part) - 1]) + part
    out += bytes([129, byte]) * max(0, (size - len(head) + 127) // 128)
    return bytes(out + b"\x80")


def ascii85_run(head: bytes, size: int) -> bytes:
    """ASCII85 data: ``head`` (padded with spaces to whole groups), then zero bytes up to ``size``
    as "z", one character for four bytes."""
    head += b" " * (-len(head) % 4)
    return base64.a85encode(head) + b"z" * max(0, (size - len(head)) // 4) + b"~>"


DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def embedded_font_pdf(path: Path, *, to_unicode: bytes | None = None, base_font_loop: bool = False,
                      to_unicode_loop: bool = False, pages: int = 1) -> Path:
    """Pages with "Hello world" in Helvetica and a lone space in an embedded TrueType font (DejaVu
    Sans), which gives PDFium no glyph: the page's fonts are then looked into (has_unloaded_font).
    ``to_unicode``: the embedded font's /ToUnicode map (None: none); ``base_font_loop``: its
    /BaseFont a pair of references to each other; ``to_unicode_loop``: its /ToUnicode such a
    pair."""
    pdf = RawPdf()
    program = DEJAVU.read_bytes()
    fontfile = pdf.add(RawPdf.stream(b"/Filter /FlateDecode /Length1 %d" % len(program), zlib.compress(program)))
    descriptor = pdf.add(b"<< /Type /FontDescriptor /FontName /DejaVuSans /Flags 32 /FontBBox [-1021 -463 1793 1232] "
                         b"/ItalicAngle 0 /Ascent 928 /Descent -236 /CapHeight 700 /StemV 80 /FontFile2 %d 0 R >>" % fontfile)
    entries = b""
    if base_font_loop:
        a, b = pdf.reserve(), pdf.reserve()
        pdf.set(a, b"%d 0 R" % b)
        pdf.set(b, b"%d 0 R" % a)
        entries += b" /BaseFont %d 0 R" % a
    else:
        entries += b" /BaseFont /DejaVuSans"
    if to_unicode_loop:
        a, b = pdf.reserve(), pdf.reserve()
        pdf.set(a, b"%d 0 R" % b)
        pdf.set(b, b"%d 0 R" % a)
        entries += b" /ToUnicode %d 0 R" % a
    elif to_unicode is not None:
        entries += b" /ToUnicode %d 0 R" % pdf.add(RawPdf.stream(b"", to_unicode))
    font = pdf.add(b"<< /Type /Font /Subtype /TrueType /FirstChar 32 /LastChar 32 /Widths [318] "
                   b"/Encoding /WinAnsiEncoding /FontDescriptor %d 0 R%s >>" % (descriptor, entries))
    helvetica = pdf.add(FONT)
    content = b"BT /F2 12 Tf 72 720 Td (Hello world) Tj ET BT /F1 12 Tf 72 700 Td ( ) Tj ET\n"
    contents = [pdf.add(RawPdf.stream(b"", content)) for _ in range(pages)]
    resources = b"<< /Font << /F1 %d 0 R /F2 %d 0 R >> >>" % (font, helvetica)
    root = pdf.add(b"<< /Type /Catalog /Pages %d 0 R >>" % _pages_with_contents(pdf, contents, resources))
    return pdf.write(path, root)


def to_unicode_map(body: bytes) -> bytes:
    """A /ToUnicode CMap stream's data with ``body`` (bfchar / bfrange sections) inside."""
    return (b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Probe def "
            b"1 begincodespacerange <00> <FF> endcodespacerange\n" + body + b"\nendcmap end end\n")


def _loop(pdf: RawPdf) -> bytes:
    """A pair of objects that are references to each other; the reference to the first."""
    a, b = pdf.reserve(), pdf.reserve()
    pdf.set(a, b"%d 0 R" % b)
    pdf.set(b, b"%d 0 R" % a)
    return b"%d 0 R" % a


def font_dict_pdf(path: Path, *, kind: str = "simple", where: str = "page", loop: str | None = None,
                  entries: dict[str, bytes] | None = None, to_unicode: bytes | None = None,
                  program: bytes | None = None, fallback: str = "none", pages: int = 1,
                  info_loop: bool = False, used_on: tuple[int, ...] | None = None, alone: bool = False) -> Path:
    """Pages with "Hello world" in Helvetica and a lone space set in a font built as a hostile
    generator would build it: ``kind`` "simple" (a TrueType font) or "type0" (a Type0 font whose
    descendant is a CIDFontType2, Identity-H), embedding DejaVu Sans; used on the page
    (``where`` "page") or inside a Form XObject the page draws ("form").

    The font's parts are dictionaries named F (the font), C (the Type0 font's descendant) and D
    (the font descriptor). ``loop``: "PART/Key" makes that entry a reference loop (two objects
    referring to each other), "PART/Key[]" an array holding such a loop. ``entries``: entries
    to set or replace, "PART/Key" → the value's bytes (``{}`` in them is replaced by the loop
    reference ``loop`` makes, if any, ``{self}`` by a reference to the font itself). ``to_unicode``: the data of the font's /ToUnicode stream
    (None: none). ``program``: the embedded font program (None: DejaVu Sans). ``fallback``: how the page is made to be read by the reference
    reader under the default engine: "none", "rotate" (a page turned by /Rotate 90) or "damaged"
    (the embedded program is not a font: PDFium cannot load it, see pdfium_fonts). ``info_loop``:
    the trailer's /Info is a reference loop (pdfminer resolves it as it opens the file).
    ``used_on``: the pages (from 1) that use the font, one font object for all (None: every
    page); the others set "Hello world" in Helvetica and list no other font. ``alone``: the
    pages that use the font set their text in it alone ("Hello world" in it, for a simple font;
    DejaVu Sans's space for a Type0 one), with no Helvetica."""
    pdf = RawPdf()
    if program is None:
        program = DEJAVU.read_bytes() if fallback != "damaged" else b"not a font program " * 64
    fontfile = pdf.add(RawPdf.stream(b"/Filter /FlateDecode /Length1 %d" % len(program), zlib.compress(program)))
    parts: dict[str, dict[bytes, bytes]] = {
        "D": {b"Type": b"/FontDescriptor", b"FontName": b"/DejaVuSans", b"Flags": b"32",
              b"FontBBox": b"[-1021 -463 1793 1232]", b"ItalicAngle": b"0", b"Ascent": b"928",
              b"Descent": b"-236", b"CapHeight": b"700", b"StemV": b"80", b"FontFile2": b"%d 0 R" % fontfile},
    }
    if kind == "simple":
        parts["F"] = {b"Type": b"/Font", b"Subtype": b"/TrueType", b"BaseFont": b"/DejaVuSans", b"FirstChar": b"32",
                      b"LastChar": b"32", b"Widths": b"[318]", b"Encoding": b"/WinAnsiEncoding"}
        space = b"( )"
    elif kind == "type0":
        parts["F"] = {b"Type": b"/Font", b"Subtype": b"/Type0", b"BaseFont": b"/DejaVuSans",
                      b"Encoding": b"/Identity-H"}
        parts["C"] = {b"Type": b"/Font", b"Subtype": b"/CIDFontType2", b"BaseFont": b"/DejaVuSans",
                      b"CIDSystemInfo": b"<< /Registry (Adobe) /Ordering (Identity) /Supplement 0 >>",
                      b"W": b"[3 [318]]", b"DW": b"1000", b"CIDToGIDMap": b"/Identity"}
        space = b"<0003>"  # DejaVu Sans's space
    else:
        raise ValueError(kind)
    if to_unicode is not None:
        parts["F"][b"ToUnicode"] = b"%d 0 R" % pdf.add(RawPdf.stream(b"", to_unicode))
    reference = _loop(pdf) if loop is not None else b""
    font = pdf.reserve()
    if loop is not None:
        part, key = loop.split("/")
        array = key.endswith("[]")
        parts[part][key.removesuffix("[]").encode()] = b"[%s]" % reference if array else reference
    for name, value in (entries or {}).items():
        part, key = name.split("/")
        parts[part][key.encode()] = value.replace(b"{}", reference).replace(b"{self}", b"%d 0 R" % font)

    def body(part: str) -> bytes:
        return b"<< %s >>" % b" ".join(b"/%s %s" % item for item in parts[part].items())

    descriptor = pdf.add(body("D"))
    if kind == "type0":
        parts["C"].setdefault(b"FontDescriptor", b"%d 0 R" % descriptor)
        parts["F"].setdefault(b"DescendantFonts", b"[%d 0 R]" % pdf.add(body("C")))
    else:
        parts["F"].setdefault(b"FontDescriptor", b"%d 0 R" % descriptor)
    pdf.set(font, body("F"))
    helvetica = pdf.add(FONT)
    if alone and kind == "simple":
        space = b"(Hello world)"
    hostile = b"BT /F1 12 Tf 72 700 Td %s Tj ET\n" % space
    hello = b"" if alone else b"BT /F2 12 Tf 72 720 Td (Hello world) Tj ET\n"
    fonts = b"/Font << /F1 %d 0 R /F2 %d 0 R >>" % (font, helvetica)
    if where == "page":
        content, resources = hello + hostile, b"<< %s >>" % fonts
    elif where == "form":
        form = pdf.add(RawPdf.stream(b"/Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources << %s >>" % fonts,
                                     hostile))
        content = hello + b"q /X Do Q\n"
        resources = b"<< /Font << /F2 %d 0 R >> /XObject << /X %d 0 R >> >>" % (helvetica, form)
    else:
        raise ValueError(where)
    plain = b"BT /F2 12 Tf 72 720 Td (Hello world) Tj ET\n"
    plain_resources = b"<< /Font << /F2 %d 0 R >> >>" % helvetica
    on = range(1, pages + 1) if used_on is None else used_on
    contents = [pdf.add(RawPdf.stream(b"", content if n in on else plain)) for n in range(1, pages + 1)]
    each = [resources if n in on else plain_resources for n in range(1, pages + 1)]
    root = pdf.add(b"<< /Type /Catalog /Pages %d 0 R >>" % _pages_with_contents(pdf, contents, each))
    if fallback == "rotate":  # every page turned: PDFium's reading is not used for them (see pdfium_glyphs)
        for number, obj in enumerate(pdf.objects, start=1):
            if obj is not None and obj.startswith(b"<< /Type /Page /Parent"):
                pdf.set(number, obj.replace(b"/MediaBox", b"/Rotate 90 /MediaBox"))
    info = int(_loop(pdf).split()[0]) if info_loop else None
    return pdf.write(path, root, info=info)


def cmap_stream(body: bytes, codespace: bytes = b"<00> <FF>") -> bytes:
    """A /ToUnicode CMap stream's data with ``body`` (bfchar / bfrange sections) inside, for
    codes of ``codespace``."""
    return (b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Probe def "
            b"1 begincodespacerange " + codespace + b" endcodespacerange\n" + body + b"\nendcmap end end\n")


def cmap_only_truetype(groups: list[tuple[int, int, int]], records: int = 1) -> bytes:
    """A TrueType program holding nothing but a cmap table with one format 12 subtable (Windows,
    Unicode full repertoire) of ``groups`` (first code, last code, first glyph): PDFium cannot
    load it as a font, pdfminer reads its cmap (a CID font without /ToUnicode). ``records``:
    encoding records pointing at that subtable (Unicode ones, as real fonts list the same
    subtable for several platforms; pdfminer reads it once per record)."""
    import struct

    sub = struct.pack(">HHIII", 12, 0, 16 + 12 * len(groups), 0, len(groups))
    sub += b"".join(struct.pack(">III", *g) for g in groups)
    kinds = [(3, 10), (0, 4), (0, 6), (3, 1), (0, 3), (0, 2), (0, 1), (0, 0)]
    assert records <= len(kinds)
    cmap = struct.pack(">HH", 0, records) + b"".join(struct.pack(">HHI", *kinds[k], 4 + 8 * records)
                                                     for k in range(records)) + sub
    head = struct.pack(">IHHHH", 0x00010000, 1, 16, 0, 0) + struct.pack(">4sIII", b"cmap", 0, 28, len(cmap))
    return head + cmap


def page_labels_pdf(path: Path, *, shape: str, depth: int = 40) -> Path:
    """One page and a /PageLabels number tree: ``shape`` "shared" (each of ``depth`` levels lists
    the next twice: 2**depth leaves as pdfminer walks it), "loop" (a node that is its own kid) or
    "sound" (``depth`` levels, each node once, labels "A-1", ...)."""
    pdf = RawPdf()
    font = pdf.add(FONT)
    content = pdf.add(pdf.stream(b"", TEXT % b"Labelled page"))
    pages = _pages_with_contents(pdf, [content], b"<< /Font << /F1 %d 0 R >> >>" % font)
    if shape == "loop":
        top = pdf.reserve()
        pdf.set(top, b"<< /Kids [%d 0 R] >>" % top)
    else:
        top = pdf.add(b"<< /Nums [0 << /S /D /P (A-) >>] >>")
        for _ in range(depth):
            kids = [top, top] if shape == "shared" else [top]
            top = pdf.add(b"<< /Kids [%s] >>" % b" ".join(b"%d 0 R" % k for k in kids))
    root = pdf.add(b"<< /Type /Catalog /Pages %d 0 R /PageLabels %d 0 R >>" % (pages, top))
    return pdf.write(path, root)


def shared_page_value_pdf(path: Path, *, key: str = "Rotate", depth: int = 40) -> Path:
    """One page whose ``key`` entry (/Rotate, or a box: [0 0 595 842 value]) is an array that lists
    the next twice, on each of ``depth`` levels (2**depth arrays as pdfplumber resolves them)."""
    pdf = RawPdf()
    font = pdf.add(FONT)
    content = pdf.add(pdf.stream(b"", TEXT % b"Shared page"))
    top = pdf.add(b"[1 2]")
    for _ in range(depth):
        top = pdf.add(b"[%d 0 R %d 0 R]" % (top, top))
    value = b"%d 0 R" % top if key == "Rotate" else b"[0 0 595 842 %d 0 R]" % top
    entries = b"/MediaBox [0 0 595 842] " if key != "MediaBox" else b""
    pages = pdf.reserve()
    page = pdf.add(b"<< /Type /Page /Parent %d 0 R %s/%s %s /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
                   % (pages, entries, key.encode(), value, font, content))
    pdf.set(pages, b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % page)
    root = pdf.add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages)
    return pdf.write(path, root)


def xref_loop_pdf(path: Path, sections: int = 1, key: bytes = b"Prev") -> Path:
    """A one-page PDF whose cross-reference sections' /Prev chain loops: ``sections`` = 1, the
    only section's trailer names itself as /Prev (or as ``key``: b"XRefStm"); 2, an (empty)
    incremental update's section points back to the first, whose /Prev points to the update's
    again."""
    pdf = RawPdf()
    font = pdf.add(FONT)
    content = pdf.add(pdf.stream(b"", TEXT % b"Looped page"))
    root = pdf.add(b"<< /Type /Catalog /Pages %d 0 R >>"
                   % _pages_with_contents(pdf, [content], b"<< /Font << /F1 %d 0 R >> >>" % font))
    data = pdf.write(path, root).read_bytes()
    first = int(data.rsplit(b"startxref", 1)[1].split()[0])
    if sections == 1:
        data = data.replace(b"trailer\n<< ", b"trailer\n<< /%s %d " % (key, first))
    else:
        data = data.replace(b"trailer\n<< ", b"trailer\n<< /Prev 0000000000 ")  # set below
        second = len(data)
        data += (b"xref\n0 0\ntrailer\n<< /Size %d /Root %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
                 % (len(pdf.objects) + 1, root, first, second))
        data = data.replace(b"/Prev 0000000000", b"/Prev %010d" % second)
    path.write_bytes(data)
    return path


def many_refused_fonts_pdf(path: Path, *, fonts: int, pages: int, alone: bool = False, rotate: bool = False) -> Path:
    """``pages`` pages sharing one content stream and one resource dictionary, which set a space in
    each of ``fonts`` distinct fonts /Bad0, /Bad1 … whose /Widths holds itself (each refused, at no
    cost), and "Hello world" in Helvetica unless ``alone``: a small file whose refused fonts are
    fonts × pages. ``rotate``: every page turned (/Rotate 90: the default engine leaves it to pdfminer)."""
    pdf = RawPdf()
    numbers = []
    for i in range(fonts):
        n = pdf.reserve()
        pdf.set(n, b"<< /Type /Font /Subtype /TrueType /BaseFont /Bad%d /FirstChar 32 /LastChar 32 /Widths [%d 0 R] >>"
                % (i, n))
        numbers.append(n)
    helvetica = pdf.add(FONT)
    resources = pdf.add(b"<< /Font << /H %d 0 R %s >> >>"
                        % (helvetica, b" ".join(b"/F%d %d 0 R" % (i, n) for i, n in enumerate(numbers))))
    content = (b"" if alone else b"BT /H 12 Tf 72 720 Td (Hello world) Tj ET\n") + b"".join(
        b"BT /F%d 12 Tf 72 700 Td ( ) Tj ET\n" % i for i in range(fonts))
    stream = pdf.add(RawPdf.stream(b"", content))
    root = pdf.add(b"<< /Type /Catalog /Pages %d 0 R >>"
                   % _pages_with_contents(pdf, [stream] * pages, b"%d 0 R" % resources))
    if rotate:
        for number, obj in enumerate(pdf.objects, start=1):
            if obj is not None and obj.startswith(b"<< /Type /Page /Parent"):
                pdf.set(number, obj.replace(b"/MediaBox", b"/Rotate 90 /MediaBox"))
    return pdf.write(path, root)


def direct_font_form_pdf(path: Path, *, draws: int, to_unicode: bytes) -> Path:
    """One page that sets "Hello world" in Helvetica and draws ``draws`` times a Form XObject
    whose resources hold its font as a direct dictionary (no object number of its own): a TrueType
    font with the /ToUnicode map ``to_unicode``, in which the form sets a space."""
    pdf = RawPdf()
    to_unicode_ref = pdf.add(RawPdf.stream(b"", to_unicode))
    font = (b"<< /Type /Font /Subtype /TrueType /BaseFont /Direct /FirstChar 32 /LastChar 32 /Widths [318] "
            b"/ToUnicode %d 0 R >>" % to_unicode_ref)
    helvetica = pdf.add(FONT)
    form = pdf.add(RawPdf.stream(b"/Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources << /Font << /F1 %s >> >>"
                                 % font, b"BT /F1 12 Tf 72 700 Td ( ) Tj ET"))
    content = b"BT /F2 12 Tf 72 720 Td (Hello world) Tj ET\n" + b"/X Do\n" * draws
    stream = pdf.add(RawPdf.stream(b"", content))
    root = pdf.add(b"<< /Type /Catalog /Pages %d 0 R >>" % _pages_with_contents(
        pdf, [stream], b"<< /Font << /F2 %d 0 R >> /XObject << /X %d 0 R >> >>" % (helvetica, form)))
    return pdf.write(path, root)
