"""Following a PDF's indirect references a bounded number of times, and its resource dictionaries.

pdfminer's ``resolve1`` follows a reference until it reaches an object that is not one, so a
reference loop (``9 0 obj 10 0 R endobj`` and ``10 0 obj 9 0 R endobj``) in a hostile or broken
PDF never ends: extraction would hang with no error. ``resolve`` gives up after ``MAX_HOPS``
and answers None, as for a missing object (what pdfminer answers for a reference to nothing).
``bound_references`` (installed on import) makes pdfminer's own resolution end the same way.
"""
from __future__ import annotations

from collections.abc import Iterator

from pdfminer.pdftypes import PDFObjectNotFound, PDFObjRef, PDFStream

MAX_HOPS = 32  # references followed from one value, at most (a real PDF needs one or two)


def resolve(value, default=None):
    """``value`` with its indirect references followed, at most ``MAX_HOPS`` of them; ``default``
    when they loop (or go on longer) or lead to nothing.

    Parameters:
        value: any value read from the PDF (a ``PDFObjRef`` or a direct object).
        default: what a reference loop or a reference to a missing object gives.
    """
    for _ in range(MAX_HOPS):
        if not isinstance(value, PDFObjRef):
            return value
        value = value.resolve(default=default)
    return default if isinstance(value, PDFObjRef) else value


_original_resolve = PDFObjRef.resolve


def _bounded_resolve(self: PDFObjRef, default: object = None):
    """``PDFObjRef.resolve`` (one step of pdfminer's ``resolve1``), except that a reference that
    starts a chain of more than ``MAX_HOPS`` references (a loop) resolves to ``default``, as a
    reference to a missing object does, and as it does to ``resolve``: ``resolve1`` and
    ``resolve`` come to the same object from any value; every other reference resolves as
    before, to the same object (a reference to a reference included: ``resolve1`` follows it on).

    Parameters: as ``PDFObjRef.resolve`` (``default``: what a reference to nothing resolves to)."""
    value = _original_resolve(self, default)
    if not isinstance(value, PDFObjRef):
        return value
    hop = value
    # self and value are two of the MAX_HOPS references resolve follows: pdfminer must come to
    # the same object as jstmine's checks (fontguard), or a chain one longer than they follow
    # hid a font's /ToUnicode from them and not from pdfminer
    for _ in range(MAX_HOPS - 1):
        try:
            hop = self.doc.getobj(hop.objid)
        except PDFObjectNotFound:  # the chain ends at nothing: resolve1 comes to the default itself
            return value
        if not isinstance(hop, PDFObjRef):
            return value
    return default


def bound_references() -> None:
    """Make pdfminer's resolution of references end on a loop, in every document: pdfminer's
    ``resolve1`` (and ``dict_value``, ``list_value``, ``int_value``, ``num_value``,
    ``stream_value``, which call it) follows a reference for ever while each object it reaches is a
    reference, so a loop (``9 0 obj 10 0 R endobj``, ``10 0 obj 9 0 R endobj``) in a font's
    /FontDescriptor, /Widths or /W, a page's /Resources, or the trailer's /Info (resolved while
    pdfplumber opens the file, before any page is listed) hung both engines with no error. Each
    step of it is ``PDFObjRef.resolve``, which this replaces with ``_bounded_resolve``: a loop then
    reads as a missing object, as it does to ``resolve``. A chain is only followed ahead when an
    object's value is itself a reference, which real PDFs hardly hold: nothing else changes.

    Installed when this module is imported (``pipeline.extract`` imports it before it opens any
    PDF, as ``limits`` installs the stream limits); installing it again does nothing."""
    PDFObjRef.resolve = _bounded_resolve


bound_references()


def resource_fonts(resources, limit: int = 200) -> Iterator[object]:
    """Each font dictionary (resolved; what the PDF holds, not always a dict) of the page's
    ``resources`` and of the Form XObjects' they draw, looked up in at most ``limit`` resource
    dictionaries (each once: XObjects that draw each other end).

    Parameters:
        resources: a page's /Resources as pdfminer reads them (a reference or a dict).
        limit: resource dictionaries looked into, at most.
    """
    seen: set[int] = set()
    todo = [resources]
    while todo and len(seen) < limit:
        res = resolve(todo.pop())
        if not isinstance(res, dict) or id(res) in seen:
            continue
        seen.add(id(res))
        fonts = resolve(res.get("Font"))
        for spec in (fonts.values() if isinstance(fonts, dict) else ()):
            yield resolve(spec)
        xobjects = resolve(res.get("XObject"))
        for ref in (xobjects.values() if isinstance(xobjects, dict) else ()):
            stream = resolve(ref)
            if isinstance(stream, PDFStream) and "Resources" in stream.attrs:
                todo.append(stream.attrs["Resources"])


def font_programs(spec) -> list:
    """The embedded font programs (/FontFile, /FontFile2, /FontFile3, resolved) of a font
    dictionary, a Type0 font's through its descendant; [] for anything else.

    Parameters:
        spec: a font dictionary (resolved).
    """
    if not isinstance(spec, dict):
        return []
    descendants = resolve(spec.get("DescendantFonts"))
    specs = [spec] + ([resolve(d) for d in descendants] if isinstance(descendants, list) else [])
    files = []
    for font in specs:
        descriptor = resolve(font.get("FontDescriptor")) if isinstance(font, dict) else None
        if isinstance(descriptor, dict):
            files += [resolve(descriptor[k]) for k in ("FontFile", "FontFile2", "FontFile3") if k in descriptor]
    return files
