"""ASCII85 decoding (the ``ASCII85Decode`` filter) with numpy, byte for byte as pdfminer decodes.

pdfminer's ``ascii85decode`` strips the framing (``<~``, ``~>``) with two regular expressions and
hands the rest to the standard library's ``base64.a85decode``, a loop in Python over every
character that keeps a list entry per four bytes (some twenty times its output: a 12 MB run of
"z", 48 MB decoded, took 1.1 GB). Here the framing is found without regular expressions (pdfminer's
trailing one backtracks over whitespace: 40,000 spaces took it 3 s, and the time grows with the
square of their number), and the five-character groups are decoded with numpy a window of
``WINDOW`` characters at a time, the group a window ends in carried into the next: the memory
taken is the output's (its pieces, then the joined bytes) and one window's arrays, whatever the
stream's length. Anything the quick path does not handle as ``a85decode`` would (a character
that is not ASCII85, a ``z`` inside a group, a group over 2^32) is handed, with the group it
falls in, to ``a85decode``, which raises what pdfminer always raised.
"""
from __future__ import annotations

import base64
import re

import numpy as np

# What ``a85decode`` skips (not \f, not NUL), and what the framing's ``\s`` matches (\f too).
_SKIPPED = b" \t\n\r\v"
_SPACE = re.compile(rb"\s*")
_FIRST, _LAST, _ZERO = ord("!"), ord("u"), ord("z")
_POWERS = np.array([85**4, 85**3, 85**2, 85, 1], dtype=np.uint64)
# What each byte is to ``a85decode``: skipped, a digit, "z", or an error.
_SKIP, _DIGIT, _Z, _BAD = 0, 1, 2, 3
_KIND = np.full(256, _BAD, dtype=np.uint8)
_KIND[_FIRST : _LAST + 1] = _DIGIT
_KIND[_ZERO] = _Z
_KIND[list(_SKIPPED)] = _SKIP
_IS_SPACE = np.zeros(256, dtype=bool)
_IS_SPACE[list(b" \t\n\r\f\v")] = True
# Characters decoded at once: its arrays take some 60 bytes a character at most (a "z" becomes a
# group of five codes held as 8-byte integers), a few MB; a page's content stream is one window.
WINDOW = 64 * 1024


class _NotQuick(Exception):
    """The window holds something only ``a85decode`` handles as pdfminer expects (an error)."""


def decoded_length_bound(data: bytes) -> int:
    """At most how many bytes ``data`` decodes to, counted without decoding: four per "z", four
    per five other characters (whitespace aside), plus a last partial group. A "z" stands for four
    bytes in one character, so a stream of them decodes to four times its length: the stream cap
    is checked against this first (``limits``).

    ``data``: the stream's bytes, framing included (counted as characters: a bound, not the size)."""
    zeros = data.count(b"z")
    others = len(data) - zeros - sum(data.count(w) for w in (b" ", b"\t", b"\n", b"\r", b"\v"))
    return 4 * zeros + 4 * (others // 5) + 4


def framing(data: bytes) -> tuple[int, int]:
    """Where the encoded body of ``data`` starts and ends, as pdfminer's ``start_re`` and
    ``end_re`` strip it (a leading ``<~`` or ``~``, a trailing ``~>`` or ``~``, with the
    whitespace around them): ``data[start:end]`` is what it hands to ``a85decode``. In time
    linear in the length (the regular expressions take the square of a run of whitespace).

    ``data``: the stream's bytes."""
    n = len(data)
    start = _SPACE.match(data, 0).end()
    if start < n and data[start] == ord("<"):
        start = _SPACE.match(data, start + 1).end()
    start = _SPACE.match(data, start + 1).end() if start < n and data[start] == ord("~") else 0
    tilde = data.rfind(b"~", start)
    if tilde < 0:
        return start, n
    after = _SPACE.match(data, tilde + 1).end()
    if after < n and data[after] == ord(">"):
        after = _SPACE.match(data, after + 1).end()
    if after != n:  # something other than whitespace and one ">" follows the last "~"
        return start, n
    return start, _end_of_text(data, start, tilde)


def _end_of_text(data: bytes, start: int, stop: int) -> int:
    """Where the whitespace that ends ``data[start:stop]`` begins (searched backwards a block at
    a time, with numpy)."""
    end, block = stop, 4096
    while end > start:
        lo = max(start, end - block)
        text = np.flatnonzero(~_IS_SPACE[np.frombuffer(data, dtype=np.uint8, count=end - lo, offset=lo)])
        if text.size:
            return lo + int(text[-1]) + 1
        end, block = lo, block * 2
    return start


def _groups(codes: np.ndarray) -> np.ndarray:
    """The values of ``codes`` (digits, a multiple of five) read as groups of five; ``_NotQuick``
    if one is over 2^32 (``a85decode``'s overflow)."""
    values = (codes.reshape(-1, 5).astype(np.uint64) - _FIRST) @ _POWERS
    if len(values) and int(values.max()) > 0xFFFFFFFF:
        raise _NotQuick
    return values


def _window(raw: np.ndarray, carry: np.ndarray) -> tuple[bytes, np.ndarray]:
    """The bytes of the whole groups in ``carry`` (the digits of a group begun before) followed by
    ``raw`` (characters of the stream), and the digits of the group left unfinished."""
    kind = _KIND[raw]
    keep = kind != _SKIP
    codes, kind = raw[keep], kind[keep]
    if (kind == _BAD).any():
        raise _NotQuick  # not ASCII85: a85decode says which character
    zero = kind == _Z
    if zero.any():
        # a z stands for a whole group: only where the digits before it fill whole groups
        before = len(carry) + np.cumsum(~zero)[zero]
        if (before % 5).any():
            raise _NotQuick  # a z inside a group
        # as "!!!!!" (the group of value 0): four zero bytes, and the groups stay aligned
        codes = np.repeat(codes, np.where(zero, 5, 1))
        codes[codes == _ZERO] = _FIRST
    if len(carry):
        codes = np.concatenate([carry, codes])
    whole = len(codes) - len(codes) % 5
    return _groups(codes[:whole]).astype(">u4").tobytes(), codes[whole:].copy()


def ascii85decode(data: bytes, *, window: int = WINDOW) -> bytes:
    """The bytes ``data`` encodes in ASCII85, as ``pdfminer.ascii85.ascii85decode(data)`` gives
    them (leading ``<~`` or ``~`` and trailing ``~`` or ``~>`` stripped, whitespace skipped, ``z``
    for four zero bytes, a last group of k characters giving k - 1 bytes), decoded ``WINDOW``
    characters at a time: memory about twice the output's, for a stream of any length.

    ``data``: the stream's bytes; ``window``: characters decoded at once (any size gives the
    same bytes). Raises ``ValueError`` exactly where pdfminer's decoder does (``a85decode`` is the
    one that raises, given the window at fault and the group begun before)."""
    start, end = framing(data)
    pieces: list[bytes] = []
    carry = np.zeros(0, dtype=np.uint8)
    for lo in range(start, end, window):
        count = min(window, end - lo)
        try:
            piece, carry_next = _window(np.frombuffer(data, dtype=np.uint8, count=count, offset=lo), carry)
        except _NotQuick:
            return _at_fault(data, start, end, bytes(carry) + data[lo : lo + count])
        pieces.append(piece)
        carry = carry_next
    tail = len(carry)
    if tail:  # padded with "u" as a85decode pads, then its bytes cut to tail - 1
        try:
            value = _groups(np.concatenate([carry, np.full(5 - tail, _LAST, dtype=np.uint8)]))
        except _NotQuick:
            return _at_fault(data, start, end, bytes(carry))
        pieces.append(value.astype(">u4").tobytes()[: tail - 1])
    return b"".join(pieces)


def _at_fault(data: bytes, start: int, end: int, window: bytes) -> bytes:
    """Raise the error ``a85decode`` raises on ``window`` (the stream's first window the quick
    path turned down, after the digits of the group begun before it): the windows before it
    decoded without error, so it is the error pdfminer raises on the whole stream. Should that
    window decode after all, the whole body is decoded by ``a85decode`` (pdfminer's bytes)."""
    base64.a85decode(window)
    return base64.a85decode(data[start:end])
