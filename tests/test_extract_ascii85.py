"""pipeline.extract.ascii85 decodes ASCII85 byte for byte as pdfminer does, and fails where and
as pdfminer fails (same exception, same message), on well-formed and broken streams alike."""
from __future__ import annotations

import base64

from hypothesis import example, given, settings
from hypothesis import strategies as st
from pdfminer.ascii85 import ascii85decode as pdfminer_decode
from pdfminer.ascii85 import end_re, start_re

from pipeline.extract.ascii85 import ascii85decode, framing


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


@settings(max_examples=3000, deadline=None)
@given(st.lists(_PIECES, max_size=16).map(b"".join), st.integers(min_value=1, max_value=12))
@example(b"zzzzz", 1)
@example(b"!!!!!z!!", 5)
@example(b"!!!!z", 4)
@example(b"!!!! z", 5)
@example(b"z!!!!!!~>", 2)
@example(b"!!!!!!!!!u~>", 3)
@example(b"87cURD]i,\"Ebo80~>", 7)
def test_decodes_and_fails_as_pdfminer_a_window_at_a_time(data, window):
    """Window edges anywhere: in a group, next to a z, in whitespace, before a partial last group
    or an error; the group begun in one window is finished in the next."""
    assert _outcome(lambda d: ascii85decode(d, window=window), data) == _outcome(pdfminer_decode, data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.integers(min_value=1, max_value=700), st.booleans())
def test_long_streams_decode_the_same_in_any_window(payload, window, wrapped):
    encoded = b"<~" + base64.a85encode(payload, foldspaces=False, wrapcol=75 if wrapped else 0) + b"~>"
    assert ascii85decode(encoded, window=window) == payload == pdfminer_decode(encoded)


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from([b" ", b"\t", b"\n", b"\r", b"\x0b", b"\x0c", b"<", b"~", b">", b"a", b"z",
                                 b"\x00"]), max_size=14).map(b"".join))
@example(b"~>\n")
@example(b" <~ ~> ")
@example(b"a~ ~")
def test_the_framing_is_stripped_as_pdfminers_regular_expressions_strip_it(data):
    start, end = framing(data)
    assert data[start:end] == end_re.sub(b"", start_re.sub(b"", data))


def test_whitespace_before_the_end_is_stripped_as_pdfminer_strips_it():
    """pdfminer's ``end_re`` backtracks over a run of whitespace (its time grows with the run's
    square); the body found here is the same."""
    for data in (b"!!!!!" + b" " * 20_000 + b"~>", b"!!!!!" + b"\n" * 9_000 + b"!" + b" " * 9_000,
                 b"<~" + b" " * 10_000 + b"z" + b"\x0c" * 10_000 + b"~ \n"):
        start, end = framing(data)
        assert data[start:end] == end_re.sub(b"", start_re.sub(b"", data))
        assert ascii85decode(data) == pdfminer_decode(data)


def test_a_long_run_of_z_takes_memory_of_its_output_not_twenty_times_it(tmp_path):
    """12 MB of "z" (48 MB decoded, under the 64 MiB stream cap) read from a PDF in a fresh process
    (Linux: its peak is read from /proc/self/status):
    the standard library's decoder took 1.1 GB at its peak; a window at a time, the peak grows by
    about twice the output (the pieces, then the joined bytes). Bound: four times the output."""
    import subprocess
    import sys

    import hostilepdf as forge

    path = forge.filtered_pdf(tmp_path / "z.pdf", b"/ASCII85Decode", forge.ascii85_run(forge.TEXT % b"Z page", 48_000_000))
    # VmHWM, the peak of this process's own memory (ru_maxrss would start from the peak of the
    # process that forked it, which in a long test session is this one's hundreds of MB)
    code = ("import sys\n"
            "from pathlib import Path\n"
            "from pipeline.extract import ExtractConfig, extract_pdf\n"
            "def status(key):\n"
            "    line = next(s for s in open('/proc/self/status') if s.startswith(key + ':'))\n"
            "    return int(line.split()[1]) * 1024\n"
            "before = status('VmRSS')\n"
            "doc = extract_pdf(Path(sys.argv[1]), ExtractConfig(), workers=1)\n"
            "print([b.text for b in doc.blocks], status('VmHWM') - before)\n")
    run = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    texts, growth = run.stdout.rsplit(" ", 1)
    assert texts == "['Z page']"
    assert int(growth) < 4 * 48_000_000, f"peak grew by {int(growth) >> 20} MiB"
