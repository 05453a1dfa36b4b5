"""Extraction's resource limits, against hostile PDFs forged byte by byte (tests/hostilepdf.py).

A stream inflating beyond ``ExtractConfig.max_stream_mb``, a page needing more memory than
``max_worker_memory_mb``, a worker process that dies, a page tree nested 5,000 deep, Form
XObjects nested as deep: each ends in an ExtractError that names the page or object, the limit
and what to do, and leaves no worker process behind. Real PDFs and a generated report extract
exactly as they did before the limits existed.
"""
from __future__ import annotations

import contextlib
import os
import re
import time
import zlib
from dataclasses import asdict
from pathlib import Path

import psutil
import pytest
from pdfminer import pdftypes
from pdfminer.layout import LTContainer
from pdfplumber.page import Page

import hostilepdf as forge
import pipeline.extract.reader as reader
from pipeline.errors import ExtractError
from pipeline.extract import ExtractConfig, ExtractedDocument, extract_pdf, limits
from pipeline.extract.limits import MemoryLimitReached, StreamTooLarge
from samples.build import build_sample_pdf

MIB = forge.MIB
SHARED_PDFS = Path(__file__).resolve().parents[2] / "shared" / "pdfs"


@pytest.fixture(autouse=True)
def no_process_left_behind():
    """Every test here: no child process it started is still there afterwards."""
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    yield
    deadline = time.monotonic() + 5
    while True:
        left = []
        for p in me.children(recursive=True):
            try:
                if p.pid not in before and p.status() != psutil.STATUS_ZOMBIE:
                    left.append(p)
            except psutil.NoSuchProcess:
                pass
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not left, f"worker processes left behind: {[p.pid for p in left]}"


def _message(info: pytest.ExceptionInfo) -> str:
    return str(info.value)


# ------------------------------------------------------------------------------ inflated streams


@pytest.mark.parametrize("workers", [1, 2])
def test_one_content_stream_shared_by_16_pages_over_the_cap(tmp_path, workers):
    """The issue's file in small: 16 pages drawing one stream that inflates beyond the cap."""
    path = forge.bomb_pdf(tmp_path / "shared-bomb.pdf", pages=16, inflated=8 * MIB)
    with pytest.raises(StreamTooLarge) as info:
        extract_pdf(path, ExtractConfig(max_stream_mb=2), workers=workers)
    message = _message(info)
    assert "shared-bomb.pdf: page 1 cannot be read" in message
    assert "PDF object 2 (a content stream) inflates to more than 2 MiB, the limit for one stream" in message
    assert "decompression bomb" in message and "raise the limit (now 2): jstmine run --max-stream-mb N" in message
    assert isinstance(info.value, ExtractError)


def test_the_issues_16_pages_and_300_mib_with_the_default_cap(tmp_path):
    """The 309 KB file itself: refused at 64 MiB, in well under a second per process (it took
    27.7 s and 972 MiB on 2 processes before; 4.5 GB on 8)."""
    path = forge.bomb_pdf(tmp_path / "bomb.pdf", pages=16, inflated=300 * MIB)
    assert path.stat().st_size < 320_000
    started = time.monotonic()
    with pytest.raises(StreamTooLarge, match=r"page 1 cannot be read: PDF object 2 \(a content stream\) "
                                              r"inflates to more than 64 MiB"):
        extract_pdf(path)
    assert time.monotonic() - started < 10


def test_default_cap_refuses_a_stream_just_above_it_and_reads_one_just_below(tmp_path):
    above = forge.bomb_pdf(tmp_path / "above.pdf", pages=1, inflated=65 * MIB)
    with pytest.raises(StreamTooLarge, match="inflates to more than 64 MiB") as info:
        extract_pdf(above)
    assert "(now 64): jstmine run --max-stream-mb N" in _message(info)
    below = forge.bomb_pdf(tmp_path / "below.pdf", pages=1, inflated=63 * MIB)
    assert [b.text for b in extract_pdf(below).blocks] == ["Bomb page"]


def test_a_page_of_its_own_over_the_cap_is_named(tmp_path):
    path = forge.bomb_pdf(tmp_path / "page3.pdf", pages=5, inflated=3 * MIB, shared=False, bomb_pages=(3,))
    with pytest.raises(StreamTooLarge, match=r"page3\.pdf: page 3 cannot be read: PDF object \d+ \(a content "
                                              r"stream\) inflates to more than 1 MiB"):
        extract_pdf(path, ExtractConfig(max_stream_mb=1))
    # the limit is settable: raised above the stream, the same file reads
    doc = extract_pdf(path, ExtractConfig(max_stream_mb=4))
    assert [b.text for b in doc.blocks] == ["Page 1", "Page 2", "Bomb page 3", "Page 4", "Page 5"]


@pytest.mark.parametrize("filters, encode", [
    (b"/LZWDecode", forge.lzw_run),
    (b"/RunLengthDecode", forge.runlength_run),
    (b"[/FlateDecode /RunLengthDecode]", lambda head, size: zlib.compress(forge.runlength_run(head, size))),
    (b"/ASCII85Decode", forge.ascii85_run),
])
def test_lzw_and_runlength_streams_are_capped_too(tmp_path, filters, encode):
    head = forge.TEXT % b"Encoded page"
    bomb = forge.filtered_pdf(tmp_path / "bomb.pdf", filters, encode(head, 4 * MIB))
    with pytest.raises(StreamTooLarge, match="inflates to more than 1 MiB"):
        extract_pdf(bomb, ExtractConfig(max_stream_mb=1))
    small = forge.filtered_pdf(tmp_path / "small.pdf", filters, encode(head, 100_000))
    assert [b.text for b in extract_pdf(small, ExtractConfig(max_stream_mb=1)).blocks] == ["Encoded page"]


def test_a_bomb_with_a_bad_checksum_stops_at_the_cap_at_once(tmp_path):
    """pdfminer inflates a stream with a bad checksum again, one input byte at a time, copying
    its output each time: quadratic, so 300 MiB would take hours."""
    data = bytearray(forge.deflate_padded(forge.TEXT % b"Bad sum", 300 * MIB))
    data[-1] ^= 0xFF
    path = forge.filtered_pdf(tmp_path / "badsum.pdf", b"/FlateDecode", bytes(data))
    started = time.monotonic()
    with pytest.raises(StreamTooLarge, match="inflates to more than 64 MiB"):
        extract_pdf(path)
    assert time.monotonic() - started < 10


def test_the_bounded_decoders_give_what_pdfminer_gives():
    """Under the cap, each stand-in returns exactly pdfminer's bytes (or raises its error)."""
    text = b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET\n" * 500
    good = zlib.compress(text)
    flate_cases = [good, good + b"trailing", good[:-1] + bytes([good[-1] ^ 1]), good[:-2], good[:-4],
                   good[: len(good) // 2], b"", b"\x78", b"xyz", zlib.compress(b"")]
    rl_cases = [forge.runlength_run(text[:300], 5000), b"\x02abc\xfex\x80", b"\x02abc", b"\x00a", b"", b"\x80zz",
                b"\x05ab", b"\xfe"]
    lzw_cases = [forge.lzw_run(text[:50], 200_000), forge.lzw_run(b"", 10), b"", b"\x80"]

    def outcome(fn, data):
        try:
            return fn(data)
        except Exception as exc:  # the same kind of failure
            return type(exc)

    config = ExtractConfig(max_stream_mb=8)
    for data in flate_cases:
        expected = outcome(zlib.decompress, data), outcome(limits._original_decompress_corrupted, data)
        with limits.reading(config):
            assert (outcome(pdftypes.zlib.decompress, data), outcome(pdftypes.decompress_corrupted, data)) == expected
    for data in rl_cases:
        expected = outcome(limits._original_rldecode, data)
        with limits.reading(config):
            assert outcome(pdftypes.rldecode, data) == expected, data
    for data in lzw_cases:
        expected = outcome(limits._original_lzwdecode, data)
        with limits.reading(config):
            assert outcome(pdftypes.lzwdecode, data) == expected


# ------------------------------------------------------------------------------ memory


def test_a_page_over_the_memory_budget_in_this_process(tmp_path):
    """A small stream (3 KB, well under the cap) drawing 200,000 glyphs per page (read by
    pdfminer, whose layout objects take the most memory: page 1 is always over)."""
    path = forge.glyph_flood_pdf(tmp_path / "flood.pdf", pages=16, glyphs=200_000)
    with pytest.raises(MemoryLimitReached) as info:
        extract_pdf(path, ExtractConfig(max_worker_memory_mb=64, engine="pdfplumber"), workers=1)
    message = _message(info)
    assert "flood.pdf: page 1 cannot be read: it needs more than 64 MiB of memory, the limit for one " \
           "process reading pages (ExtractConfig.max_worker_memory_mb)" in message
    assert "raise the limit (now 64): jstmine run --max-worker-memory-mb N" in message and "qpdf" in message


def _memory_limit_in_a_fresh_process(path: Path, config: str, workers: int) -> str:
    """``extract_pdf(path, ExtractConfig(<config>), workers=workers)`` run in a fresh Python (the
    budget counts what resident memory grows by, which memory freed by earlier tests of a long
    session would hide); asserts that it raised MemoryLimitReached and returns its message."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from pathlib import Path\n"
            "from pipeline.extract import ExtractConfig, extract_pdf\n"
            "from pipeline.extract.limits import MemoryLimitReached\n"
            "try:\n"
            f"    extract_pdf(Path(sys.argv[1]), ExtractConfig({config}), workers={workers})\n"
            "except MemoryLimitReached as exc:\n"
            "    print(exc)\n"
            "    sys.exit(3)\n")
    run = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 3, f"exit {run.returncode}: {run.stdout}{run.stderr[-3000:]}"
    return run.stdout


def test_a_page_over_the_memory_budget_in_this_process_with_pdfium(tmp_path):
    """PDFium's glyph records take less memory than pdfminer's, so the flood is bigger (600,000
    glyphs a page: some 150 MB of records against a 64 MiB budget). The budget counts what the
    process's resident memory grows by, so it runs in a fresh process: in a long test session
    memory freed by earlier tests could hold a whole page without growing."""
    path = forge.glyph_flood_pdf(tmp_path / "flood.pdf", pages=4, glyphs=600_000)
    message = _memory_limit_in_a_fresh_process(path, "max_worker_memory_mb=64, engine='pdfium'", workers=1)
    assert re.search(r"flood\.pdf: page \d+ cannot be read: it needs more than 64 MiB of memory", message), message


def test_a_page_over_the_memory_budget_in_worker_processes(tmp_path):
    """Every page is over the budget; the first page is the one reported, whichever process read
    it. The caller reads pages too and its budget counts what its resident memory grows by, so
    the extraction runs in a fresh process: in a long test session memory freed by earlier tests
    could hold page 1 without growing, and a later page would be reported."""
    path = forge.glyph_flood_pdf(tmp_path / "flood.pdf", pages=16, glyphs=200_000)
    message = _memory_limit_in_a_fresh_process(path, "max_worker_memory_mb=64", workers=3)
    assert re.search(r"flood\.pdf: page 1 cannot be read: it needs more than 64 MiB", message), message
    worker = reader._WorkerProcess(path, ExtractConfig(max_worker_memory_mb=64), 16)
    try:  # the worker's own check, on a page only it reads
        with pytest.raises(MemoryLimitReached, match="page 5 cannot be read: it needs more than 64 MiB"):
            worker.read([5, 6], None, None)
    finally:
        worker.close()


def test_a_worker_hitting_its_address_space_limit(tmp_path):
    """With the stream cap raised out of the way, zlib's own allocation fails at the worker's
    RLIMIT_AS (no layout object is ever made, so only the hard limit can stop it)."""
    path = forge.bomb_pdf(tmp_path / "bomb.pdf", pages=16, inflated=300 * MIB)
    config = ExtractConfig(max_stream_mb=1000, max_worker_memory_mb=64)
    worker = reader._WorkerProcess(path, config, 16)
    try:
        with pytest.raises(MemoryLimitReached, match=r"bomb\.pdf: page 3 cannot be read: it needs more than 64 MiB"):
            worker.read([3], None, None)
        assert worker.proc.poll() is None  # it answered, and is still there to be closed
    finally:
        worker.close()


def test_a_worker_that_dies_is_named_with_its_pages_and_the_limit(tmp_path, monkeypatch):
    class Killed(reader._WorkerProcess):  # as the system's OOM killer would
        def send_request(self, numbers, decided, doc_body_size, *known_ocr):
            self.proc.kill()
            self.proc.wait()
            return super().send_request(numbers, decided, doc_body_size, *known_ocr)

    monkeypatch.setattr(reader, "_WorkerProcess", Killed)
    path = build_sample_pdf(tmp_path / "sample.pdf")
    with pytest.raises(ExtractError) as info:
        extract_pdf(path, workers=2)
    message = _message(info)
    assert re.search(r"sample\.pdf: the worker process reading pages \d+-\d+ ended unexpectedly "
                     r"\(killed by signal SIGKILL\)", message), message
    assert "ExtractConfig.max_worker_memory_mb" in message and "1024 MiB" in message and "fewer workers" in message


def test_worker_count_is_capped_whatever_the_cpu_count(monkeypatch):
    monkeypatch.setattr(reader.os, "cpu_count", lambda: 64)
    monkeypatch.setattr(limits, "available_memory", lambda: 64 << 30)
    assert reader._worker_count(None, 300) == reader.MAX_AUTO_WORKERS == 4
    monkeypatch.setattr(limits, "available_memory", lambda: 3 << 30)  # 3 GiB: three budgets of 1 GiB
    assert reader._worker_count(None, 300) == 3
    assert reader._worker_count(None, 300, ExtractConfig(max_worker_memory_mb=2048)) == 1
    monkeypatch.setattr(limits, "available_memory", lambda: 100 * MIB)
    assert reader._worker_count(None, 300) == 1
    monkeypatch.setattr(limits, "available_memory", lambda: None)
    assert reader._worker_count(None, 300) == 4
    assert reader._worker_count(8, 300) == 8  # a number is taken as given


def test_limits_must_be_positive(tmp_path):
    path = forge.bomb_pdf(tmp_path / "small.pdf", pages=1, inflated=1000)
    for config in (ExtractConfig(max_stream_mb=0), ExtractConfig(max_worker_memory_mb=-1)):
        with pytest.raises(ValueError, match="must be a positive number of MiB"):
            extract_pdf(path, config)


# ------------------------------------------------------------------------------ nesting


def test_a_page_tree_nested_5000_deep(tmp_path):
    path = forge.deep_page_tree_pdf(tmp_path / "deep.pdf", 5000)
    with pytest.raises(ExtractError) as info:
        extract_pdf(path)
    message = _message(info)
    assert "deep.pdf cannot be read: its page tree is nested 5,000 deep (jstmine reads page trees up to 500 deep)" \
           in message
    assert "qpdf --empty --pages IN -- OUT" in message
    assert "bug" not in message and "recursion" not in message.lower()


def test_a_page_tree_nested_400_deep_is_read(tmp_path):
    doc = extract_pdf(forge.deep_page_tree_pdf(tmp_path / "deep.pdf", 400))
    assert [b.text for b in doc.blocks] == ["Deep page"]


@pytest.mark.parametrize("engine", ["pdfium", "pdfplumber"])
@pytest.mark.parametrize(("sections", "key"), [(1, "Prev"), (2, "Prev"), (1, "XRefStm")])
def test_a_cross_reference_chain_that_loops_is_named_with_what_to_do(tmp_path, sections, key, engine):
    """A /Prev chain that loops (pdfminer follows it by recursion) was refused as objects "nested
    too deep", with advice to flatten a page tree that is not the problem."""
    path = forge.xref_loop_pdf(tmp_path / "looped.pdf", sections, key.encode())
    with pytest.raises(ExtractError) as info:
        extract_pdf(path, ExtractConfig(engine=engine))
    message = _message(info)
    assert f"looped.pdf cannot be opened: its cross-reference table is damaged: the /{key} chain" in message
    assert "loops back on itself" in message
    assert "qpdf looped.pdf OUT" in message and "Save As" in message
    assert "nested too deep" not in message and "page tree" not in message and "recursion" not in message.lower()


@pytest.mark.parametrize("engine", ["pdfium", "pdfplumber"])
@pytest.mark.parametrize("shape", ["shared", "loop"])
def test_a_page_label_tree_that_lists_a_node_twice_or_is_a_loop_is_left_aside(tmp_path, shape, engine):
    # pdfminer reads the whole /PageLabels tree before it lists a page: the shared one (2**40
    # leaves) hung both engines, the loop failed the file with a RecursionError
    from test_fontguard import extract_in_child

    path = forge.page_labels_pdf(tmp_path / "labels.pdf", shape=shape)
    assert extract_in_child(path, engine, timeout=60) == {"pages": ["Labelled page"]}


@pytest.mark.parametrize(("engine", "key"), [("pdfium", "Rotate"), ("pdfplumber", "CropBox")])
def test_a_page_entry_that_lists_an_array_over_and_over_is_refused(tmp_path, engine, key):
    # pdfplumber resolves a page's /Rotate and boxes whole as it lists the pages: 2**40 arrays,
    # both engines hung before the first page
    from test_fontguard import extract_in_child

    found = extract_in_child(forge.shared_page_value_pdf(tmp_path / "shared.pdf", key=key), engine, timeout=60)
    assert found["error"] == "PageValueRefused"
    assert found["what"].startswith("shared.pdf cannot be opened: one of its pages has an entry")
    assert "over and over" in found["what"] and "fetch it again" in found["todo"]


def test_page_entries_resolve_as_pdfplumber_resolves_them():
    import pdfplumber.utils.pdfinternals as internals

    from pipeline.extract import limits

    value = {"Type": "x", "Rect": [0, 0, 10, 10], "MK": {"BG": [1, 0.5]}, "Kids": [[1], [2, [3]]]}
    assert limits._page_resolve_all(value) == internals.resolve_all(value)
    assert limits._page_resolve_all(90) == 90


def test_a_sound_page_label_tree_is_still_read_by_pdfminer(tmp_path):
    from pipeline.extract.opening import _open_pdf

    pdf = _open_pdf(forge.page_labels_pdf(tmp_path / "labels.pdf", shape="sound", depth=3))
    try:
        assert [page.page_obj.label for page in pdf.pages] == ["A-1"]
    finally:
        pdf.close()


def test_form_xobjects_nested_5000_deep(tmp_path):
    path = forge.xobject_pdf(tmp_path / "forms.pdf", depth=5000)
    with pytest.raises(ExtractError) as info:
        extract_pdf(path)
    message = _message(info)
    assert "forms.pdf: page 1 cannot be read: it draws Form XObjects nested 5,000 deep, too deep to read" in message
    assert "leave that page out" in message and "bug" not in message


@pytest.mark.parametrize("ring", [1, 3])
def test_form_xobjects_drawing_each_other_in_a_cycle_are_drawn_once(tmp_path, ring):
    """pdfminer refuses to draw a form inside itself; the page reads."""
    doc = extract_pdf(forge.xobject_pdf(tmp_path / "cycle.pdf", cycle=ring))
    assert len(doc.pages) == 1 and doc.pages[0].chars > 0


@pytest.mark.parametrize("shape", ["depth", "flat"])
def test_outlines_nested_5000_deep_or_3000_long_are_read(tmp_path, shape):
    """pdfminer walks outlines by recursion (siblings too): such outlines were lost before."""
    n = 5000 if shape == "depth" else 3000
    doc = extract_pdf(forge.deep_outline_pdf(tmp_path / "outline.pdf", **{shape: n}))
    assert len(doc.outline) == n
    assert doc.outline[0].title == "Entry 1" and doc.outline[-1].title == f"Entry {n}"
    assert [e.level for e in doc.outline] == (list(range(1, n + 1)) if shape == "depth" else [1] * n)
    assert {e.page for e in doc.outline} == {1}


# ------------------------------------------------------------------------------ nothing else changes


@contextlib.contextmanager
def _pdfminer_as_shipped():
    """pdfminer and pdfplumber without any of the limits' stand-ins, and no limits in force."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pdftypes, "zlib", zlib)
        mp.setattr(pdftypes, "decompress_corrupted", limits._original_decompress_corrupted)
        mp.setattr(pdftypes, "lzwdecode", limits._original_lzwdecode)
        mp.setattr(pdftypes, "rldecode", limits._original_rldecode)
        mp.setattr(pdftypes.PDFStream, "decode", limits._original_decode)
        mp.setattr(LTContainer, "add", limits._original_add)
        mp.setattr(Page, "process_object", limits._original_process_object)
        mp.setattr(limits, "reading", lambda config: contextlib.nullcontext())
        yield


def _as_data(doc: ExtractedDocument) -> dict:
    return {
        "pages": [asdict(p) for p in doc.pages], "blocks": [asdict(b) for b in doc.blocks],
        "tables": [asdict(t) for t in doc.tables], "problems": [asdict(p) for p in doc.problems],
        "metadata": doc.metadata, "contents": [asdict(c) for c in doc.contents],
        "outline": [asdict(o) for o in doc.outline],
    }


def _extract_or_error(path: Path, **kwargs):
    try:
        return _as_data(extract_pdf(path, **kwargs))
    except ExtractError as exc:  # bocchan has no text layer: the same error both ways
        return (type(exc).__name__, str(exc))


@pytest.mark.parametrize("name", sorted(p.name for p in SHARED_PDFS.glob("*.pdf")) or ["(none)"])
def test_real_pdfs_extract_exactly_as_before(name):
    path = SHARED_PDFS / name
    if not path.is_file():
        pytest.skip(f"{SHARED_PDFS} is not there")
    with _pdfminer_as_shipped():
        before = _extract_or_error(path, workers=1)
    assert _extract_or_error(path) == before


def test_a_generated_report_extracts_exactly_as_before(tmp_path):
    path = build_sample_pdf(tmp_path / "sample.pdf")  # 16 pages: read by worker processes too
    with _pdfminer_as_shipped():
        before = _as_data(extract_pdf(path, workers=1))
    assert _as_data(extract_pdf(path)) == before
    assert _as_data(extract_pdf(path, workers=2)) == before
    assert before["blocks"] and before["tables"]


def _one_page_of_streams(path: Path, streams: list[bytes]) -> Path:
    """One page whose content is the given streams, in order (the first holds the text)."""
    pdf = forge.RawPdf()
    font = pdf.add(forge.FONT)
    ids = [pdf.add(s) for s in streams]
    pages = pdf.reserve()
    page = pdf.add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 %d 0 R >> >> "
                   b"/Contents [%s] >>" % (pages, font, b" ".join(b"%d 0 R" % i for i in ids)))
    pdf.set(pages, b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % page)
    return pdf.write(path, pdf.add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages))


def test_many_streams_each_under_the_cap_count_against_the_memory_budget(tmp_path):
    # 24 content streams of 40 MiB each on one page: every one is under the 64 MiB cap, together
    # 960 MiB; the budget of 256 MiB stops them long before that.
    text = forge.TEXT % b"Hello world this is text"
    streams = [forge.RawPdf.stream(b"/Filter /FlateDecode", forge.deflate_padded(text if i == 0 else b"", 40 * MIB))
               for i in range(24)]
    path = _one_page_of_streams(tmp_path / "many.pdf", streams)
    assert path.stat().st_size < 2_000_000
    before = psutil.Process().memory_info().rss
    with pytest.raises(MemoryLimitReached) as info:
        extract_pdf(path, ExtractConfig(max_worker_memory_mb=256), workers=1)
    assert "256 MiB" in _message(info) and "--max-worker-memory-mb" in _message(info)
    assert psutil.Process().memory_info().rss - before < 600 * MIB


def test_a_ccitt_stream_is_not_decoded_while_reading(tmp_path):
    # pdfminer's CCITT decoder is pure Python: 256 bytes at 8,000 columns took it 6 s, 1 KB 46 s.
    text = forge.RawPdf.stream(b"", forge.TEXT % b"Hello ccitt world text")
    fax = forge.RawPdf.stream(b"/Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns 8000 /BlackIs1 true >>",
                              b"\xff" * 1024)
    path = _one_page_of_streams(tmp_path / "fax.pdf", [text, fax])
    started = time.monotonic()
    doc = extract_pdf(path, workers=1)
    assert time.monotonic() - started < 5
    assert "Hello ccitt world text" in "".join(b.text for b in doc.blocks)
    assert pdftypes.ccittfaxdecode is limits._ccittfaxdecode  # outside reading() it calls pdfminer's own
    assert limits._original_ccittfaxdecode is not limits._ccittfaxdecode


def test_an_ascii85_run_of_z_over_the_cap_is_refused_before_it_is_decoded(tmp_path, monkeypatch):
    """A "z" is four zero bytes in one character (the standard library's decoder takes some twenty
    times the output while it works): the decoded size is bounded from the characters first."""
    from pipeline.extract import ascii85

    decoded = []
    real = ascii85.ascii85decode
    monkeypatch.setattr(ascii85, "ascii85decode", lambda data: decoded.append(len(data)) or real(data))
    bomb = forge.filtered_pdf(tmp_path / "z.pdf", b"/ASCII85Decode", forge.ascii85_run(forge.TEXT % b"Z page", 4 * MIB))
    with pytest.raises(StreamTooLarge, match="inflates to more than 1 MiB"):
        extract_pdf(bomb, ExtractConfig(max_stream_mb=1), workers=1)
    assert decoded == []
    assert ascii85.decoded_length_bound(forge.ascii85_run(b"abcd", 4 * MIB)) >= 4 * MIB


@pytest.mark.skipif(not Path("/proc/self/statm").is_file() or not hasattr(os, "fork"), reason="needs /proc and fork")
def test_the_memory_figures_are_this_process_s_own_even_in_a_forked_child():
    """``limits._statm`` keeps /proc/self/statm open and reads it again each time: the figures
    are those of the moment (a block of memory touched shows), and a forked child reads its
    own file, not the one it inherited from its parent."""
    before = limits._statm()
    block = bytearray(64 * 1024 * 1024)
    block[::4096] = b"x" * len(block[::4096])  # every page touched: resident
    after = limits._statm()
    assert after[1] - before[1] >= (48 * 1024 * 1024) // limits._PAGE
    del block
    os.close(limits._statm_file[1])  # closed behind its back: opened again
    assert limits._statm() is not None and limits._statm_file[0] == os.getpid()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report whose file it read
        try:
            limits._statm()
            os.write(write, str(limits._statm_file[0] == os.getpid()).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as fh:
        assert fh.read() == b"True"
