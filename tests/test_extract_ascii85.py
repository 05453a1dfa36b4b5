"""pipeline.extract.ascii85 decodes ASCII85 byte for byte as pdfminer does, and fails where and
as pdfminer fails (same exception, same message), on well-formed and broken streams alike."""
from __future__ import annotations

import base64

from hypothesis import example, given, settings
from hypothesis import strategies as st
from pdfminer.ascii85 import ascii85decode as pdfminer_decode

from pipeline.extract.ascii85 import ascii85decode


def _outcome(decode, data: bytes):
    try:
        return "ok", decode(data)
    except ValueError as exc:
        return type(exc).__name__, str(exc)


# pieces a stream is made of: encoded data, whitespace (skipped, and \f and NUL, which are not),
# z (four zero bytes; wrong inside a group), framing, characters that are not ASCII85
_PIECES = st.one_of(
    st.binary(max_size=40).map(lambda b: base64.a85encode(b)),
    st.binary(max_size=12).map(lambda b: base64.a85encode(b, foldspaces=False)[:-1]),  # cut groups
    st.sampled_from([b" ", b"\n", b"\r\n", b"\t", b"\x0b", b"\x0c", b"\x00", b"z", b"zz", b"~", b"~>", b"<~",
                     b"u", b"uuuuu", b"s8W-!", b"s8W-\"", b"y", b"v", b"{", b"\xff", b"!"]),
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_PIECES, max_size=12).map(b"".join))
@example(b"")
@example(b"z")
@example(b"<~z~>")
@example(b"!!z")
@example(b"u")
@example(b"s8W-\"")
@example(b"87cURD]i,\"Ebo80~>")
@example(b"  <~ 87cUR\nD]i,\"Ebo80 ~> \n")
def test_decodes_and_fails_as_pdfminer(data):
    assert _outcome(ascii85decode, data) == _outcome(pdfminer_decode, data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4000), st.booleans(), st.booleans())
def test_round_trips_what_the_standard_library_encodes(payload, wrapped, framed):
    encoded = base64.a85encode(payload, foldspaces=False, wrapcol=75 if wrapped else 0)
    if framed:
        encoded = b"<~" + encoded + b"~>"
    assert ascii85decode(encoded) == payload == pdfminer_decode(encoded)


def test_a_stream_beyond_the_quick_paths_size_is_decoded_by_pdfminer(monkeypatch):
    """A long stream (a run of "z" counts five characters each) goes to pdfminer's decoder, whose
    memory is that of its output, not eight bytes per character; the bytes are the same."""
    from pipeline.extract import ascii85

    calls = []
    monkeypatch.setattr(ascii85, "_original", lambda data: calls.append(len(data)) or pdfminer_decode(data))
    monkeypatch.setattr(ascii85, "FAST_MAX", 1000)
    small, zeros, long = b"<~" + b"z" * 100 + b"~>", b"z" * 300, base64.a85encode(bytes(range(256)) * 4)
    assert ascii85decode(small) == pdfminer_decode(small) and calls == []
    assert ascii85decode(zeros) == pdfminer_decode(zeros) == bytes(1200) and calls == [300]
    assert ascii85decode(long) == pdfminer_decode(long) and calls == [300, len(long)]
