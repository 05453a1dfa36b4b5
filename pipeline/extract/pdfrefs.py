"""Following a PDF's indirect references a bounded number of times, and its resource dictionaries.

pdfminer's ``resolve1`` follows a reference until it reaches an object that is not one, so a
reference loop (``9 0 obj 10 0 R endobj`` and ``10 0 obj 9 0 R endobj``) in a hostile or broken
PDF never ends: extraction would hang with no error. ``resolve`` gives up after ``MAX_HOPS``
and answers None, as for a missing object (what pdfminer answers for a reference to nothing).
``bound_references`` makes pdfminer's own resolution of one document end the same way.
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


def bound_references(doc) -> None:
    """Make pdfminer's resolution of ``doc``'s references end: an object whose value is a
    reference starting a chain of more than ``MAX_HOPS`` references (a loop) is answered as a
    missing object (``PDFObjectNotFound``, which ``PDFObjRef.resolve`` and so ``resolve1`` turn
    into their default, None), as ``resolve`` answers it. Every other object is answered as
    before, the reference it holds included. Only this document's ``getobj`` is replaced (an
    attribute of the instance): pdfminer's own code, other documents and other threads are left
    as they are.

    pdfminer's ``resolve1`` (and ``dict_value``, ``list_value``, ``int_value``, ``num_value``,
    ``stream_value``, which call it) follow a reference for ever while each object is a
    reference: a font dictionary whose /FontDescriptor, /Widths or /W is such a loop hung the
    reference reader (and the default engine on every page it leaves to it). A chain is only
    asked about when an object's value is itself a reference, which real PDFs hardly hold.

    Parameters:
        doc: the ``pdfminer.pdfdocument.PDFDocument`` (pdfplumber's ``pdf.doc``), just opened.
    """
    getobj = doc.getobj

    def bounded_getobj(objid: int):
        value = getobj(objid)
        if isinstance(value, PDFObjRef):
            hop = value
            try:
                for _ in range(MAX_HOPS):
                    hop = getobj(hop.objid)
                    if not isinstance(hop, PDFObjRef):
                        return value
            except PDFObjectNotFound:  # the chain ends at nothing: pdfminer's own answer (the default)
                return value
            raise PDFObjectNotFound(objid)
        return value

    bounded_getobj.__doc__ = f"{getobj.__doc__ or ''} (bounded: pipeline.extract.pdfrefs.bound_references)"
    doc.getobj = bounded_getobj


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
