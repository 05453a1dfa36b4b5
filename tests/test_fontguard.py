"""The reference reader (pdfminer) on hostile font dictionaries (pipeline/extract/fontguard.py and
pdfrefs.bound_references): reference loops anywhere in a font's structure, maps and width tables
built to expand to millions of entries, containers that hold themselves, a Type0 font that is
its own descendant, damaged fonts pdfminer cannot build. Each ends at once, with the page read
(a loop reads as a missing object) or the font refused (a loop where pdfminer cannot do without
the entry): the page is read without the text set in that font and gets a ``font_refused``
problem naming the font and the reason; a document left without usable text is refused with a
clear error naming them. Under the pdfplumber engine and under the default engine on the pages
it leaves to pdfminer (a page turned by /Rotate, a font PDFium cannot load).

Before the fix: a loop hung both engines (for ever); a bomb map took gigabytes or minutes. Then
a font refused failed the whole document, and a damaged /CIDSystemInfo failed it with "page 1
cannot be read (PdfminerException: 'NoneType' object has no attribute 'decode')"."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hostilepdf import DEJAVU, cmap_only_truetype, cmap_stream, direct_font_form_pdf, font_dict_pdf, many_refused_fonts_pdf

pytestmark = pytest.mark.skipif(not DEJAVU.is_file(), reason="DejaVu Sans is not installed")

HELLO = {"pages": ["Hello world"]}


def extract_in_child(pdf: Path, engine: str, timeout: float = 60, workers: int = 1, ocr: str = "off") -> dict:
    """``pdf`` read by ``engine`` in a fresh process with 1.5 GiB of address space at most and a
    time limit (a hang or a blow-up fails the test, not the suite): {"pages": [text, ...]}, with
    "problems": [[page, "font_refused", detail], ...] when fonts were refused, or {"error": class
    name, "what": ..., "todo": ...} for a PipelineError. ``workers``: as extract_pdf's; ``ocr``:
    as ExtractConfig's."""
    code = textwrap.dedent(f"""
        import json, resource
        resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
        from pipeline.errors import PipelineError
        from pipeline.extract import ExtractConfig, extract_pdf
        try:
            doc = extract_pdf({str(pdf)!r}, ExtractConfig(ocr={ocr!r}, engine={engine!r}, max_worker_memory_mb=1024),
                              workers={workers})
        except PipelineError as exc:
            print(json.dumps({{"error": type(exc).__name__, "what": exc.what, "todo": exc.todo}}))
        else:
            problems = [[p.page, p.kind, p.detail] for p in doc.problems if p.kind == "font_refused"]
            print(json.dumps({{"pages": [page.text.strip() for page in doc.pages]}}
                             | ({{"problems": problems}} if problems else {{}})))
    """)
    # in a session of its own: a hang is ended with the worker processes the child started
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        raise
    assert child.returncode == 0, err[-2000:]
    return json.loads(out)


# (kind, where, loop): a reference loop (two objects referring to each other) in that entry of the
# font (F), its Type0 descendant (C) or its descriptor (D); each hung pdfminer before
LOOPS = [
    ("simple", "page", "F/FontDescriptor"),
    ("simple", "form", "F/Widths"),
    ("simple", "page", "F/FirstChar"),
    ("simple", "form", "D/FontBBox"),
    ("simple", "page", "D/MissingWidth"),
    ("type0", "page", "C/W"),
    ("type0", "form", "C/FontDescriptor"),
    ("type0", "page", "C/CIDSystemInfo"),
    ("type0", "form", "C/DW"),
    ("type0", "page", "D/Ascent"),
]


@pytest.mark.parametrize(("kind", "where", "loop"), LOOPS)
def test_the_reference_reader_reads_a_page_whose_font_holds_a_reference_loop(tmp_path, kind, where, loop):
    pdf = font_dict_pdf(tmp_path / "loop.pdf", kind=kind, where=where, loop=loop)
    assert extract_in_child(pdf, "pdfplumber", timeout=30) == HELLO


@pytest.mark.parametrize(("kind", "where", "loop"), [LOOPS[0], LOOPS[1], LOOPS[5], LOOPS[6]])
def test_the_default_engine_reads_a_turned_page_whose_font_holds_a_reference_loop(tmp_path, kind, where, loop):
    # PDFium's reading of a page turned by /Rotate is not used: pdfminer reads it (pdfium_glyphs)
    pdf = font_dict_pdf(tmp_path / "loop.pdf", kind=kind, where=where, loop=loop, fallback="rotate")
    assert extract_in_child(pdf, "pdfium", timeout=30) == HELLO


@pytest.mark.parametrize("engine", ["pdfium", "pdfplumber"])
@pytest.mark.parametrize("fallback", ["none", "rotate"])
def test_a_trailer_whose_info_is_a_reference_loop_opens(tmp_path, engine, fallback):
    # pdfminer resolves the trailer's /Info while pdfplumber opens the file, before any page is read
    pdf = font_dict_pdf(tmp_path / "info.pdf", info_loop=True, fallback=fallback)
    assert extract_in_child(pdf, engine, timeout=30) == HELLO


@pytest.mark.parametrize(("kind", "where", "loop"), [("simple", "page", "F/Widths"), ("simple", "form", "F/Widths[]")])
def test_the_default_engine_reads_a_page_whose_unloadable_font_holds_a_reference_loop(tmp_path, kind, where, loop):
    # the embedded program is not a font: PDFium cannot load it, and the page goes to pdfminer
    # (pdfium_fonts; a Type0 font PDFium cannot load gives glyphs of a substitute: PDFium reads that page)
    pdf = font_dict_pdf(tmp_path / "loop.pdf", kind=kind, where=where, loop=loop, fallback="damaged")
    assert extract_in_child(pdf, "pdfium", timeout=30) == HELLO


def _refused(result: dict, *words: str, pages: tuple[int, ...] = (1,), texts: list[str] | None = None,
             todo: str = "check where it came from") -> None:
    """The document was read (each page's text ``texts``, "Hello world" on every page when None),
    the font refused on ``pages`` only: a ``font_refused`` problem on each, naming the font
    and the reason (``words``) and what to do (``todo``)."""
    assert "error" not in result, result
    assert result["pages"] == (texts if texts is not None else ["Hello world"] * len(result["pages"])), result
    problems = result.get("problems", [])
    assert [(page, kind) for page, kind, _ in problems] == [(page, "font_refused") for page in pages], result
    for page, _, detail in problems:
        assert detail.startswith(f"page {page}: the font /DejaVuSans was refused and the text set in it left out ("), detail
        for word in words:
            assert word in detail, (word, detail)
        assert todo in detail, detail


def _refused_document(result: dict, pdf: Path, pages: str, *words: str) -> None:
    """No usable page left: the document refused, the error naming the pages, the font and the reason."""
    assert result.get("error") == "NoUsableTextError", result
    assert result["what"].startswith(f"{pdf.name} ("), result
    assert f"the text of {pages} " in result["what"] and "set in fonts that were refused (/DejaVuSans: " in result["what"]
    for word in words:
        assert word in result["what"], (word, result)
    assert "check where it came from" in result["todo"], result


BIG_MAP = cmap_stream(b"1 beginbfrange <000000> <FFFFFF> <0041> endbfrange", b"<000000> <FFFFFF>")  # 16 million
HUGE_MAP = cmap_stream(b"1 beginbfrange <00000000> <FFFFFFFF> <0041> endbfrange", b"<00000000> <FFFFFFFF>")  # 4 billion


@pytest.mark.parametrize(("kind", "where", "engine", "fallback", "data"), [
    ("simple", "page", "pdfplumber", "none", BIG_MAP),
    ("type0", "form", "pdfplumber", "none", HUGE_MAP),
    ("simple", "form", "pdfium", "rotate", HUGE_MAP),
    ("simple", "page", "pdfium", "damaged", BIG_MAP),
    ("type0", "page", "pdfium", "rotate", BIG_MAP),
])
def test_a_to_unicode_map_of_millions_of_entries_is_refused(tmp_path, kind, where, engine, fallback, data):
    pdf = font_dict_pdf(tmp_path / "bomb.pdf", kind=kind, where=where, to_unicode=data, fallback=fallback)
    _refused(extract_in_child(pdf, engine, timeout=30), "/ToUnicode map", "/DejaVuSans", "262,144")


@pytest.mark.parametrize(("where", "engine", "fallback"), [("page", "pdfplumber", "none"), ("form", "pdfium", "rotate")])
def test_a_width_range_of_billions_is_refused(tmp_path, where, engine, fallback):
    pdf = font_dict_pdf(tmp_path / "w.pdf", kind="type0", where=where, entries={"C/W": b"[0 2000000000 318]"},
                        fallback=fallback)
    _refused(extract_in_child(pdf, engine, timeout=30), "/W", "2,000,000,001 characters")


@pytest.mark.parametrize(("where", "engine", "fallback"), [("page", "pdfplumber", "none"), ("form", "pdfium", "rotate")])
def test_an_embedded_cmap_table_of_billions_of_entries_is_refused(tmp_path, where, engine, fallback):
    # a CID font without /ToUnicode: pdfminer maps codes through its program's cmap table
    program = cmap_only_truetype([(0, 0xFFFFFFFF, 0)])
    pdf = font_dict_pdf(tmp_path / "ttf.pdf", kind="type0", where=where, program=program, fallback=fallback)
    _refused(extract_in_child(pdf, engine, timeout=30), "cmap table", "4,294,967,296 entries")


ENGINES = [("pdfplumber", "none"), ("pdfium", "rotate"), ("pdfium", "damaged")]


@pytest.mark.parametrize(("engine", "fallback"), ENGINES)
@pytest.mark.parametrize("where", ["page", "form"])
def test_a_font_refused_on_page_2_of_3_costs_only_its_text_there(tmp_path, engine, fallback, where):
    # was: the whole document failed ("bomb.pdf: page 2 cannot be read: ...")
    pdf = font_dict_pdf(tmp_path / "bomb.pdf", kind="simple", where=where, to_unicode=BIG_MAP, fallback=fallback,
                        pages=3, used_on=(2,))
    _refused(extract_in_child(pdf, engine, timeout=30), "/ToUnicode map", "262,144", "the rest of the page was read",
             pages=(2,))


@pytest.mark.parametrize(("engine", "fallback"), ENGINES)
def test_a_font_refused_shared_by_two_pages_is_reported_on_each(tmp_path, engine, fallback):
    # one font object on pages 2 and 3: refused once, kept refused (by object number) for page 3
    pdf = font_dict_pdf(tmp_path / "shared.pdf", kind="simple", entries={"F/Widths": b"[{self}]"}, fallback=fallback,
                        pages=3, used_on=(2, 3))
    _refused(extract_in_child(pdf, engine, timeout=30), "/Widths", "holds itself", pages=(2, 3))


# (with the font's program damaged and nothing else on the page, PDFium reads the page itself: not pdfminer's case)
@pytest.mark.parametrize(("engine", "fallback"), ENGINES[:2])
def test_a_page_whose_only_font_is_refused_is_left_out_and_the_others_read(tmp_path, engine, fallback):
    pdf = font_dict_pdf(tmp_path / "alone.pdf", kind="simple", to_unicode=BIG_MAP, fallback=fallback, pages=3,
                        used_on=(2,), alone=True)
    result = extract_in_child(pdf, engine, timeout=30)
    # the page has no text: said once, by font_refused (not "no text layer (scanned or drawn as paths)")
    _refused(result, "the page has no other text, so it was left out (--ocr off)", "--ocr auto", pages=(2,),
             texts=["Hello world", "", "Hello world"])


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")
def test_with_ocr_auto_a_page_whose_only_font_is_refused_is_read_by_ocr(tmp_path):
    # its glyphs drawn, not read: the page goes to OCR as one without a text layer would
    widths = {"F/FirstChar": b"32", "F/LastChar": b"126", "F/Widths": b"[%s]" % b" ".join([b"600"] * 95)}
    pdf = font_dict_pdf(tmp_path / "ocr.pdf", kind="simple", to_unicode=BIG_MAP, pages=3, used_on=(2,), alone=True,
                        entries=widths)
    _refused(extract_in_child(pdf, "pdfplumber", timeout=120, ocr="auto"), "the page was read by OCR instead",
             pages=(2,))
    # every page so set, its glyphs drawn over each other (no widths): OCR finds nothing either
    pdf = font_dict_pdf(tmp_path / "none.pdf", kind="simple", to_unicode=BIG_MAP, pages=2, alone=True)
    found = extract_in_child(pdf, "pdfplumber", timeout=120, ocr="auto")
    _refused_document(found, pdf, "pages 1-2", "/ToUnicode map", ", and OCR found no text on pages 1-2")
    assert "scan them again" not in found["todo"]


@pytest.mark.parametrize(("engine", "fallback"), ENGINES[:2])
@pytest.mark.parametrize("where", ["page", "form"])
def test_a_document_whose_every_page_is_set_in_a_refused_font_is_refused_clearly(tmp_path, engine, fallback, where):
    pdf = font_dict_pdf(tmp_path / "all.pdf", kind="simple", where=where, to_unicode=HUGE_MAP, fallback=fallback,
                        pages=3, alone=True)
    _refused_document(extract_in_child(pdf, engine, timeout=30), pdf, "pages 1-3",
                      "the /ToUnicode map of its font /DejaVuSans expands to more than 262,144 entries")


def test_the_same_document_with_a_sound_font_is_read(tmp_path):
    # the layouts above with the font's map sound: the text set in it is read, no problem
    widths = {"F/FirstChar": b"32", "F/LastChar": b"126", "F/Widths": b"[%s]" % b" ".join([b"600"] * 95)}
    pdf = font_dict_pdf(tmp_path / "sound.pdf", kind="simple", pages=3, used_on=(2,), alone=True, entries=widths,
                        to_unicode=cmap_stream(b"1 beginbfrange <20> <7E> <0020> endbfrange"))
    assert extract_in_child(pdf, "pdfplumber", timeout=30) == {"pages": ["Hello world"] * 3}


@pytest.mark.parametrize(("engine", "fallback"), ENGINES[:2])  # (PDFium reads a Type0 font it cannot load)
@pytest.mark.parametrize(("key", "value"), [("Registry", b"{}"), ("Ordering", b"{}"), ("Registry", b"5"),
                                            ("Ordering", b"/Identity")])
def test_a_cid_system_info_entry_that_is_not_a_string_refuses_the_font(tmp_path, engine, fallback, key, value):
    # was, under --engine pdfplumber: "page 1 cannot be read (PdfminerException: 'NoneType' object has
    # no attribute 'decode')", the whole document refused; {} is a reference loop
    info = {"Registry": b"(Adobe)", "Ordering": b"(Identity)"} | {key: value}
    entries = {"C/CIDSystemInfo": b"<< /Registry %s /Ordering %s /Supplement 0 >>" % (info["Registry"], info["Ordering"])}
    pdf = font_dict_pdf(tmp_path / "info.pdf", kind="type0", loop="C/Unused", entries=entries, fallback=fallback,
                        pages=2, used_on=(1,))
    _refused(extract_in_child(pdf, engine, timeout=30),
             f"the /{key} in the /CIDSystemInfo of its font /DejaVuSans is not a string (a reference to nothing, "
             "a reference loop or another kind of value)")


@pytest.mark.parametrize(("engine", "fallback"), [("pdfplumber", "none"), ("pdfium", "rotate")])
def test_a_font_pdfminer_cannot_build_is_refused_saying_what_pdfminer_said(tmp_path, engine, fallback):
    # a vertical CID font whose /DW2 is a number, not a pair: pdfminer fails building it (a TypeError)
    pdf = font_dict_pdf(tmp_path / "dw2.pdf", kind="type0", entries={"F/Encoding": b"/Identity-V", "C/DW2": b"5"},
                        fallback=fallback)
    # it may be a sound font beyond pdfminer: not called "built to defeat the reader"
    _refused(extract_in_child(pdf, engine, timeout=30), "the reference reader (pdfminer) cannot build its font "
             "/DejaVuSans (TypeError: cannot unpack non-iterable int object)",
             todo="if it shows the text, print the document to a new PDF")
    detail = extract_in_child(pdf, engine, timeout=30)["problems"][0][2]
    assert "built to defeat" not in detail, detail


def test_a_refused_font_is_noted_on_each_page_that_sets_text_in_it():
    from pdfminer.pdftypes import PDFStream

    from pipeline.extract.fontguard import GuardedResourceManager, RefusedFont

    manager = GuardedResourceManager()
    bomb = {"Subtype": _lit("TrueType"), "BaseFont": _lit("Bomb"),
            "ToUnicode": PDFStream({}, BIG_MAP)}
    reason = "the /ToUnicode map of its font /Bomb expands to more than 262,144 entries (a font has at most 65,536 glyphs)"
    manager.start_page()
    font = manager.get_font(7, bomb)
    assert isinstance(font, RefusedFont) and font.decode(b"abc") == []  # draws nothing
    assert manager.refused_fonts() == (("/Bomb", reason),)
    manager.start_page()
    assert manager.get_font(7, bomb) is font  # kept: not checked again
    assert manager.refused_fonts() == ()  # listed in the page's resources, but no text set in it: it costs nothing
    font.decode(b"a")
    assert manager.refused_fonts() == (("/Bomb", reason),)
    manager.start_page()
    assert manager.refused_fonts() == ()
    sound = manager.get_font(8, {"Subtype": _lit("Type1"), "BaseFont": _lit("Helvetica")})
    assert not isinstance(sound, RefusedFont) and manager.refused_fonts() == ()


@pytest.mark.parametrize("refused", [False, True])
def test_a_direct_font_in_a_form_drawn_many_times_is_built_and_checked_once(tmp_path, monkeypatch, refused):
    # pdfminer keeps the fonts it builds by object number: a font given as a direct dictionary in a
    # Form XObject's resources was built (and checked) again at every Do, ~60 ms each for a map of
    # 65,536 entries, a refused one too: 100,000 Do's (600 bytes of content each 1,000) took hours
    from pdfminer.pdfinterp import PDFResourceManager

    from pipeline.extract import ExtractConfig, extract_pdf
    from pipeline.extract import fontguard

    data = BIG_MAP if refused else cmap_stream(b"1 beginbfrange <20> <20> <0020> endbfrange")
    pdf = direct_font_form_pdf(tmp_path / "forms.pdf", draws=40, to_unicode=data)
    built, checked = [], []
    real_build, real_check = PDFResourceManager.get_font, fontguard.check_font
    monkeypatch.setattr(PDFResourceManager, "get_font", lambda self, objid, spec: built.append(objid) or real_build(self, objid, spec))
    monkeypatch.setattr(fontguard, "check_font", lambda spec, done=None: checked.append(1) or real_check(spec, done))
    doc = extract_pdf(pdf, ExtractConfig(ocr="off", engine="pdfplumber"))
    assert [page.text.strip() for page in doc.pages] == ["Hello world"]
    assert len(checked) == 2  # Helvetica and the direct font, once each
    assert len(built) == (1 if refused else 2)  # (a refused font is not built)
    problems = [p.detail for p in doc.problems if p.kind == "font_refused"]
    assert len(problems) == (1 if refused else 0) and all("the font /Direct was refused" in d for d in problems)


@pytest.mark.parametrize(("engine", "rotate"), [("pdfplumber", False), ("pdfium", True)])
def test_many_fonts_refused_on_a_page_are_named_up_to_five_and_the_rest_counted(tmp_path, engine, rotate):
    # was: a problem of ~450 characters per font and page, the reasons copied for each page: a 0.4 MB
    # file of 2,000 such fonts on 200 pages gave 400,000 problems, 180 MB of text (the document
    # was refused at the first such font before fonts were refused one by one)
    named = 5  # fontguard.MAX_REFUSED_NAMED
    pdf = many_refused_fonts_pdf(tmp_path / "many.pdf", fonts=named + 7, pages=2, rotate=rotate)
    result = extract_in_child(pdf, engine, timeout=60)
    assert result["pages"] == ["Hello world"] * 2, result
    assert [page for page, _, _ in result["problems"]] == [1] * (named + 1) + [2] * (named + 1)
    for page in (1, 2):
        details = [detail for p, _, detail in result["problems"] if p == page]
        assert [d.split(" was refused")[0] for d in details[:named]] == [f"page {page}: the font /Bad{i}" for i in range(named)]
        assert details[named].startswith(f"page {page}: 7 more fonts were refused and the text set in them left out "
                                         "(the rest of the page was read)"), details[named]
        assert "check where it came from" in details[named]
    # no other text: the document is refused, naming five fonts and saying there are more
    pdf = many_refused_fonts_pdf(tmp_path / "alone.pdf", fonts=named + 7, pages=2, alone=True, rotate=rotate)
    result = extract_in_child(pdf, engine, timeout=60)
    assert result.get("error") == "NoUsableTextError", result
    assert "(/Bad0: " in result["what"] and "; /Bad4: " in result["what"] and "/Bad5" not in result["what"], result
    assert result["what"].endswith("; and at least 7 more fonts)"), result["what"]


@pytest.mark.parametrize(("engine", "fallback"), [("pdfplumber", "none"), ("pdfium", "rotate")])
def test_a_large_cjk_cmap_listed_for_several_platforms_is_read(tmp_path, engine, fallback):
    # 100,000 codes, listed for four platforms as large CJK fonts do: a real font, read (was refused)
    program = cmap_only_truetype([(0x3400, 0x3400 + 99_999, 1)], records=4)
    pdf = font_dict_pdf(tmp_path / "cjk.pdf", kind="type0", program=program, fallback=fallback, pages=3, used_on=(2,))
    # the font's one glyph (3) is read through that map: U+3402; no problem
    assert extract_in_child(pdf, engine, timeout=60) == {"pages": ["Hello world", "Hello world\u3402", "Hello world"]}


@pytest.mark.parametrize(("where", "engine", "fallback"), [("page", "pdfplumber", "none"), ("form", "pdfium", "rotate")])
def test_a_type0_font_that_is_its_own_descendant_is_refused(tmp_path, where, engine, fallback):
    pdf = font_dict_pdf(tmp_path / "self.pdf", kind="type0", where=where, entries={"F/DescendantFonts": b"[{self}]"},
                        fallback=fallback)
    _refused(extract_in_child(pdf, engine, timeout=30), "its own descendant")


@pytest.mark.parametrize(("loop", "engine", "fallback", "words"), [
    ("F/DescendantFonts", "pdfplumber", "none", "has no descendant font"),
    ("F/Encoding", "pdfium", "rotate", "/Encoding of its Type0 font /DejaVuSans is a reference to nothing or a"),
])
def test_a_type0_font_whose_descendant_or_encoding_is_a_loop_is_refused(tmp_path, loop, engine, fallback, words):
    # pdfminer cannot build such a font (as with a missing object): said clearly, not as an empty AssertionError
    pdf = font_dict_pdf(tmp_path / "t0.pdf", kind="type0", loop=loop, fallback=fallback)
    _refused(extract_in_child(pdf, engine, timeout=30), words)


@pytest.mark.parametrize(("entry", "words"), [("F/Widths", "/Widths"), ("D/FontBBox", "/FontBBox")])
def test_a_width_or_box_that_holds_itself_is_refused(tmp_path, entry, words):
    # pdfminer resolves these by recursion: a RecursionError blamed on the page's nesting before
    pdf = font_dict_pdf(tmp_path / "self.pdf", kind="simple", entries={entry: b"[{self}]"})
    _refused(extract_in_child(pdf, "pdfplumber", timeout=30), words, "holds itself")


@pytest.mark.parametrize("engine", ["pdfplumber", "pdfium"])
def test_worker_processes_read_and_refuse_alike(tmp_path, engine):
    # 20 pages: read by this process and a worker process, each opening the PDF (opening._open_pdf)
    fallback = "rotate" if engine == "pdfium" else "none"
    pdf = font_dict_pdf(tmp_path / "loop.pdf", kind="type0", loop="C/W", fallback=fallback, pages=20)
    assert extract_in_child(pdf, engine, workers=2) == {"pages": ["Hello world"] * 20}
    pdf = font_dict_pdf(tmp_path / "bomb.pdf", kind="simple", where="form", to_unicode=HUGE_MAP, fallback=fallback,
                        pages=20)
    _refused(extract_in_child(pdf, engine, workers=2), "/ToUnicode map", pages=tuple(range(1, 21)))
    # the same font on every other page: refused on each page that uses it, in each process
    pdf = font_dict_pdf(tmp_path / "some.pdf", kind="type0", to_unicode=BIG_MAP, fallback=fallback, pages=20,
                        used_on=tuple(range(2, 21, 2)))
    _refused(extract_in_child(pdf, engine, workers=2), "/ToUnicode map", pages=tuple(range(2, 21, 2)))


def test_a_normal_page_of_each_layout_is_read_as_before(tmp_path):
    for kind in ("simple", "type0"):
        for where in ("page", "form"):
            for fallback, engine in (("none", "pdfplumber"), ("rotate", "pdfium"), ("damaged", "pdfium")):
                pdf = font_dict_pdf(tmp_path / f"{kind}-{where}-{fallback}.pdf", kind=kind, where=where,
                                    fallback=fallback, to_unicode=cmap_stream(b"1 beginbfchar <0003> <0020> endbfchar",
                                                                              b"<0000> <FFFF>") if kind == "type0" else None)
                assert extract_in_child(pdf, engine) == HELLO, (kind, where, fallback)


def test_the_checks_count_without_expanding():
    from pdfminer.pdftypes import PDFStream

    from pipeline.extract import fontguard
    from pipeline.extract.limits import FontRefused

    program = DEJAVU.read_bytes()
    assert 0 < fontguard.truetype_map_entries(program) <= fontguard.MAX_ENTRIES  # a real font passes
    assert fontguard.truetype_map_entries(cmap_only_truetype([(0x20, 0x7E, 3), (0x3000, 0x30FF, 100)])) == 95 + 256
    assert fontguard.truetype_map_entries(b"not a font") == 0
    # a large CJK font lists the same codes for several platforms: each code counts once ...
    cjk = [(0x3400, 0x3400 + 99_999, 1)]  # 100,000 codes (the CJK blocks and extensions)
    assert fontguard.truetype_map_entries(cmap_only_truetype(cjk, records=4)) == 100_000  # was 400,000: refused
    assert fontguard.truetype_map_entries(cmap_only_truetype(cjk + [(0x3400, 0x3500, 1)])) == 100_000
    # ... but pdfminer reads every subtable whole: past MAX_CMAP_WORK entries read, refused all the same
    wide = [(0x10000, 0x10000 + 250_000, 1)]
    assert fontguard.truetype_map_entries(cmap_only_truetype(wide, records=4)) <= fontguard.MAX_CMAP_WORK
    assert fontguard.truetype_map_entries(cmap_only_truetype(wide, records=5)) > fontguard.MAX_CMAP_WORK
    cid = _lit("CIDFontType2")
    fontguard.check_font({"Subtype": cid, "W": [1, [500, 600], 0, 65535, 1000]})  # every code of 2 bytes: fine
    with pytest.raises(FontRefused, match="300,001 characters"):
        fontguard.check_font({"Subtype": cid, "W": [1, [500, 600], 0, 300000, 1000]})
    with pytest.raises(FontRefused, match="/W2"):
        fontguard.check_font({"Subtype": cid, "W2": [0, 4000000000, 1000, 500, 880]})
    spaces = PDFStream({}, cmap_stream(b"1 beginbfrange <0000> <FFFF> <0041> endbfrange", b"<0000> <FFFF>"))
    fontguard.check_font({"Subtype": _lit("Type1"), "ToUnicode": spaces})  # 65,536 entries: a full 2-byte map
    too_many = PDFStream({}, cmap_stream(b"1 beginbfrange <000000> <04FFFF> <0041> endbfrange", b"<000000> <FFFFFF>"))
    checked: set[int] = set()
    for _ in range(2):  # refused every time it is asked (the next page's font is built anew)
        with pytest.raises(FontRefused, match="/ToUnicode"):
            fontguard.check_font({"Subtype": _lit("Type1"), "ToUnicode": too_many}, checked)
    fontguard.check_font({"Subtype": _lit("Type1"), "ToUnicode": spaces}, checked)
    assert checked == {id(spaces)}  # only what passed is not counted again


def test_a_width_or_box_that_lists_an_array_twice_on_each_level_is_refused():
    # thirty levels of [a a]: a billion arrays as pdfminer's resolve_all walks them (the descriptor's
    # /FontBBox so built took 17 s and ran a reader out of its 1 GiB); 31 levels are under MAX_DEPTH
    from pipeline.extract import fontguard
    from pipeline.extract.limits import FontRefused

    shared: list = [1, 2]
    for _ in range(30):
        shared = [shared, shared]
    for spec in ({"Subtype": _lit("TrueType"), "Widths": shared},
                 {"Subtype": _lit("TrueType"), "FontDescriptor": {"FontBBox": [0, 0, 1000, shared]}}):
        with pytest.raises(FontRefused, match="over and over"):
            fontguard.check_font(spec)
    fontguard.check_font({"Subtype": _lit("CIDFontType2"), "W": [n for c in range(0, 60000, 2) for n in (c, [500, 600])]})


def test_pdfminer_and_jstmine_s_checks_resolve_a_reference_chain_alike():
    # a chain of MAX_HOPS references to a font's /ToUnicode was a missing entry to fontguard
    # (pdfrefs.resolve) and the map itself to pdfminer (resolve1): its 4 billion entries built
    from pdfminer.pdftypes import PDFObjectNotFound, PDFObjRef, resolve1

    from pipeline.extract.pdfrefs import MAX_HOPS, resolve

    class Doc:
        def __init__(self, length):
            self.objects = {i: PDFObjRef(self, i + 1) for i in range(length)} | {length: "value"}

        def getobj(self, objid):
            if objid not in self.objects:
                raise PDFObjectNotFound(objid)
            return self.objects[objid]

    for length in range(MAX_HOPS + 3):  # objects that are references, before the value
        start = PDFObjRef(Doc(length), 0)
        assert resolve1(start) == resolve(start) == ("value" if length < MAX_HOPS else None), length


def _lit(name: str):
    from pdfminer.psparser import LIT

    return LIT(name)


def test_a_reference_chain_that_loops_is_a_missing_object_to_pdfminer():
    from pdfminer.pdftypes import PDFObjectNotFound, PDFObjRef, resolve1

    from pipeline.extract.pdfrefs import MAX_HOPS  # importing it bounds PDFObjRef.resolve (bound_references)

    class Doc:
        def __init__(self):
            self.objects = {}

        def getobj(self, objid):
            if objid not in self.objects:
                raise PDFObjectNotFound(objid)
            return self.objects[objid]

    doc = Doc()
    doc.objects = {9: PDFObjRef(doc, 10), 10: PDFObjRef(doc, 9), 11: PDFObjRef(doc, 12), 12: "value",
                   13: PDFObjRef(doc, 99), 14: 14}
    assert resolve1(PDFObjRef(doc, 9)) is None  # was: for ever
    assert resolve1(PDFObjRef(doc, 9), default="missing") == "missing"
    value = doc.getobj(11)
    assert isinstance(value, PDFObjRef) and value.objid == 12  # answered as before
    assert resolve1(PDFObjRef(doc, 11)) == "value"
    assert resolve1(PDFObjRef(doc, 13), default="gone") == "gone"  # a chain ending at nothing: as before
    assert doc.getobj(14) == 14
    assert doc.getobj(9).objid == 10  # the document itself answers as pdfminer's does
    chain = {k: PDFObjRef(doc, k + 1) for k in range(100, 100 + MAX_HOPS + 5)}
    doc.objects.update({**chain, 100 + MAX_HOPS + 5: "far"})
    assert resolve1(PDFObjRef(doc, 100)) is None  # longer than any real PDF's: taken as a loop
