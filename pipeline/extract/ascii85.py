"""ASCII85 decoding (the ``ASCII85Decode`` filter) with numpy, byte for byte as pdfminer decodes.

pdfminer's ``ascii85decode`` strips the framing (``<~``, ``~>``) and hands the rest to the
standard library's ``base64.a85decode``, a loop in Python over every character: on a report
whose content streams are ASCII85 and Flate (reportlab writes them so) it was a tenth of the
extraction time. Here the five-character groups are decoded for the whole stream at once.
Anything the quick path does not handle as ``a85decode`` would (a character that is not ASCII85,
a ``z`` inside a group, a group over 2^32) is handed to pdfminer's decoder, which raises what it
always raised.
"""
from __future__ import annotations

import numpy as np
from pdfminer import ascii85 as _pdfminer_ascii85

_original = _pdfminer_ascii85.ascii85decode
_WHITE = np.frombuffer(b" \t\n\r\v", dtype=np.uint8)  # what a85decode skips (not \f, not NUL)
_POWERS = np.array([85**4, 85**3, 85**2, 85, 1], dtype=np.uint64)
_FIRST, _LAST, _ZERO = ord("!"), ord("u"), ord("z")
# Streams longer than this (characters, "z" counted as five) are decoded by pdfminer: the quick
# path holds 8 bytes per character at once (a page's content stream is tens of KB; a hostile
# stream of megabytes of "z" would otherwise take 40 times its length).
FAST_MAX = 4 * 1024 * 1024


def decoded_length_bound(data: bytes) -> int:
    """At most how many bytes ``data`` decodes to, counted without decoding: four per "z", four
    per five other characters (whitespace aside), plus a last partial group. A "z" stands for four
    bytes in one character, so a stream of them decodes to four times its length (and
    the standard library's decoder takes some twenty times that while it works): the stream cap
    is checked against this first (``limits``).

    ``data``: the stream's bytes, framing included (counted as characters: a bound, not the size)."""
    zeros = data.count(b"z")
    others = len(data) - zeros - sum(data.count(w) for w in (b" ", b"\t", b"\n", b"\r", b"\v"))
    return 4 * zeros + 4 * (others // 5) + 4


def ascii85decode(data: bytes) -> bytes:
    """The bytes ``data`` encodes in ASCII85, as ``pdfminer.ascii85.ascii85decode(data)`` gives
    them (leading ``<~`` or ``~`` and trailing ``~`` or ``~>`` stripped, whitespace skipped, ``z``
    for four zero bytes, a last group of k characters giving k - 1 bytes).

    ``data``: the stream's bytes. Raises ``ValueError`` exactly where pdfminer's decoder does
    (it is the one that raises)."""
    if len(data) > FAST_MAX:  # its arrays would take several times pdfminer's memory
        return _original(data)
    body = _pdfminer_ascii85.end_re.sub(b"", _pdfminer_ascii85.start_re.sub(b"", data))
    codes = np.frombuffer(body, dtype=np.uint8)
    codes = codes[~np.isin(codes, _WHITE)]
    digit = (codes >= _FIRST) & (codes <= _LAST)
    if not digit.all():
        zero = codes == _ZERO
        if not (digit | zero).all():
            return _original(data)  # not ASCII85: pdfminer says which character
        if len(codes) + 4 * int(zero.sum()) > FAST_MAX:  # z-runs: each "z" becomes five codes
            return _original(data)
        # a z stands for a whole group: only where the digits before it fill whole groups
        before = np.cumsum(digit)[zero]  # the digits before each z
        if (before % 5).any():
            return _original(data)  # a z inside a group
        # as "!!!!!" (the group of value 0): four zero bytes, and the groups stay aligned
        codes = np.repeat(codes, np.where(zero, 5, 1))
        codes[codes == _ZERO] = _FIRST
    tail = len(codes) % 5
    if tail:  # padded with "u" as a85decode pads, then its bytes cut to tail - 1
        codes = np.concatenate([codes, np.full(5 - tail, _LAST, dtype=np.uint8)])
    values = (codes.reshape(-1, 5).astype(np.uint64) - _FIRST) @ _POWERS
    if len(values) and int(values.max()) > 0xFFFFFFFF:
        return _original(data)  # a group over 2^32: pdfminer's overflow error
    out = values.astype(">u4").tobytes()
    return out[: len(out) - (5 - tail)] if tail else out
