"""The unloaded-font check (pipeline/extract/pdfium_fonts.py) on hostile font dictionaries: reference
loops and /ToUnicode maps built to expand to millions of entries end at once, with the page read."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hostilepdf import DEJAVU, embedded_font_pdf, to_unicode_map

pytestmark = pytest.mark.skipif(not DEJAVU.is_file(), reason="DejaVu Sans is not installed")

TESTS = Path(__file__).resolve().parent


def extract_in_child(pdf: Path, timeout: float = 120) -> list[str]:
    """The page texts of ``pdf`` read by the default engine in a fresh process with 1.5 GiB of
    address space at most, and a time limit (a hang or a blow-up fails the test, not the suite)."""
    code = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
        from pipeline.extract import ExtractConfig, extract_pdf
        doc = extract_pdf({str(pdf)!r}, ExtractConfig(ocr="off", max_worker_memory_mb=1024), workers=1)
        for page in doc.pages:
            print(page.text.strip())
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.splitlines()


def test_the_page_of_an_embedded_font_giving_no_glyph_is_read(tmp_path):
    pdf = embedded_font_pdf(tmp_path / "plain.pdf", to_unicode=to_unicode_map(b"1 beginbfchar <20> <0020> endbfchar"))
    assert extract_in_child(pdf) == ["Hello world"]


@pytest.mark.parametrize("loop", ["base_font_loop", "to_unicode_loop"])
def test_a_reference_loop_in_a_font_dictionary_ends(tmp_path, loop):
    # 9 0 obj 10 0 R endobj / 10 0 obj 9 0 R endobj: pdfminer's resolve1 follows it for ever
    pdf = embedded_font_pdf(tmp_path / f"{loop}.pdf", **{loop: True})
    assert extract_in_child(pdf, timeout=60) == ["Hello world"]


def test_a_to_unicode_range_of_millions_is_not_expanded(tmp_path):
    # one line, <000000> <FFFFFF>: 16 million entries (gigabytes) if the map were read whole, on each page
    bomb = to_unicode_map(b"1 beginbfrange <000000> <FFFFFF> <0041> endbfrange")
    pdf = embedded_font_pdf(tmp_path / "bomb.pdf", to_unicode=bomb, pages=3)
    assert extract_in_child(pdf) == ["Hello world"] * 3


def test_the_probe_reads_no_more_than_it_needs(monkeypatch):
    from pdfminer.pdftypes import PDFStream

    from pipeline.extract import pdfium_fonts

    visible = b"1 beginbfrange <000000> <FFFFFF> <0041> endbfrange"  # A, B, C, ... for 16 million codes
    spec = {"ToUnicode": PDFStream({}, to_unicode_map(visible))}
    assert pdfium_fonts._visible_characters([spec]) == [chr(0x41 + k) for k in range(pdfium_fonts._PROBES)]
    monkeypatch.setattr(pdfium_fonts, "_MAX_ENTRIES", 3)  # entries that give no visible character count too
    assert pdfium_fonts._visible_characters([spec]) == ["A", "B", "C"]
    spaces = b"3 beginbfchar <01> <0020> <02> <0020> <03> <0020> endbfchar 1 beginbfchar <04> <0041> endbfchar"
    assert pdfium_fonts._visible_characters([{"ToUnicode": PDFStream({}, to_unicode_map(spaces))}]) == []


def test_a_reference_loop_resolves_to_the_default():
    from pdfminer.pdftypes import PDFObjRef

    from pipeline.extract.pdfrefs import MAX_HOPS, resolve

    class Doc:
        def __init__(self, objects):
            self.objects = objects

        def getobj(self, objid):
            return self.objects[objid]

    doc = Doc({})
    doc.objects = {9: PDFObjRef(doc, 10), 10: PDFObjRef(doc, 9), 11: PDFObjRef(doc, 12), 12: "value"}
    assert resolve(PDFObjRef(doc, 9)) is None
    assert resolve(PDFObjRef(doc, 9), default="missing") == "missing"
    assert resolve(PDFObjRef(doc, 11)) == "value"
    assert resolve("direct") == "direct"
    chain = {k: PDFObjRef(doc, k + 1) for k in range(MAX_HOPS + 5)}
    doc.objects = {**chain, MAX_HOPS + 5: "far"}
    assert resolve(PDFObjRef(doc, 0)) is None  # longer than any real PDF's: taken as a loop
