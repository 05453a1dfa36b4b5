"""Following a PDF's indirect references a bounded number of times.

pdfminer's ``resolve1`` follows a reference until it reaches an object that is not one, so a
reference loop (``9 0 obj 10 0 R endobj`` and ``10 0 obj 9 0 R endobj``) in a hostile or broken
PDF never ends: extraction would hang with no error. ``resolve`` gives up after ``MAX_HOPS``
and answers None, as for a missing object (what pdfminer answers for a reference to nothing).
"""
from __future__ import annotations

from pdfminer.pdftypes import PDFObjRef

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
