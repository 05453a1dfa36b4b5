"""OCR of pages without a usable text layer (pipeline/extract/ocr.py): vertical and horizontal
writing, mixed PDFs, pages where OCR finds nothing, the cost of --ocr auto, clear errors."""
from __future__ import annotations

import shutil
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image
from pdfdraw import MIN, draw_paragraph, save_pdf
from reportlab.pdfgen import canvas
from scanned import merge_pages, scanned_copy

from pipeline.errors import ExtractError, NoUsableTextError
from pipeline.extract import ExtractConfig, extract_pdf, ocr, reader
from pipeline.extract.ocr import OcrWord, character_error_rate, line_text, render_scale

SHARED = Path(__file__).resolve().parents[2] / "shared" / "pdfs"
BOCCHAN = SHARED / "bocchan_notextlayer.pdf"

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None,
                                reason="tesseract is not installed (scripts/install-system-deps.sh)")

PARA = ("新興技術は、経済の成長と国の安全の双方を左右するだけでなく、気候変動や感染症のような地球規模の"
        "課題に取り組むうえでも欠かせないものとなった。韓国は量子技術と半導体を国家戦略技術に指定した。")


def _text_page(c):
    draw_paragraph(c, PARA, 72, 760, width=36, size=12, leading=20)


@pytest.fixture(scope="module")
def two_pages(tmp_path_factory) -> Path:
    return save_pdf(tmp_path_factory.mktemp("ocr") / "two.pdf", [_text_page, _text_page])


@pytest.fixture(scope="module")
def bocchan():
    if not BOCCHAN.is_file():
        pytest.skip(f"{BOCCHAN} is not there")
    return extract_pdf(BOCCHAN)


def test_bocchan_is_read_by_ocr_in_vertical_writing(bocchan):
    pages = bocchan.pages
    assert [p.text_source for p in pages] == ["ocr"] * 5
    assert all(p.ocr_engine.startswith("tesseract ") and not p.has_text_layer for p in pages)
    assert [p.ocr_language for p in pages[2:]] == ["jpn_vert"] * 3  # the novel's pages: 縦書き
    assert all(p.ocr_confidence is not None and p.ocr_confidence > 80 for p in pages[2:])
    text = "".join(p.text for p in pages).replace("\n", "")
    for phrase in ("小供の時から損ばかりしている", "小学校に居る時分学校の二階から飛び降りて一週間ほど",
                   "何でも切ってみせると受け合った", "山城屋の地面は菜園より六尺がた低い"):
        assert phrase in text
    body = [b for b in bocchan.blocks if b.page >= 3]
    # read as vertical lines (one line at the edge of page 5 comes out as a horizontal row: known)
    assert sum(len(b.text) for b in body if b.vertical) >= 0.9 * sum(len(b.text) for b in body)
    # furigana beside the text are furniture, not text
    assert "むやみ" in pages[2].removed_lines and "むやみ" not in pages[2].text
    assert not bocchan.problems


def test_bocchan_with_ocr_off_fails_naming_the_option():
    if not BOCCHAN.is_file():
        pytest.skip(f"{BOCCHAN} is not there")
    with pytest.raises(NoUsableTextError) as info:
        extract_pdf(BOCCHAN, ExtractConfig(ocr="off"))
    assert "pages 1-5 have no text layer" in info.value.what and "--ocr auto" in info.value.todo


def test_mixed_pdf_reads_the_scanned_page_by_ocr(tmp_path, two_pages):
    scan = scanned_copy(two_pages, tmp_path / "scan.pdf", pages=[2])
    mixed = merge_pages([(two_pages, 1), (scan, 1)], tmp_path / "mixed.pdf")

    doc = extract_pdf(mixed, workers=1)

    first, second = doc.pages
    assert (first.text_source, first.ocr_engine, first.ocr_confidence) == ("text_layer", "", None)
    assert (second.text_source, second.ocr_language) == ("ocr", "jpn") and second.ocr_confidence > 80
    assert not second.has_text_layer
    assert character_error_rate(first.text, second.text) < 0.05
    assert "国家戦略技術" in second.text and " " not in second.text  # no spaces between CJK characters
    assert not doc.problems


def test_a_page_where_ocr_finds_nothing_is_reported_and_a_document_of_them_fails(tmp_path, two_pages):
    def drawing(c):
        c.rect(72, 600, 200, 100, fill=1)  # a picture: drawn, so OCR is tried, and finds no text

    with pytest.raises(NoUsableTextError) as info:
        extract_pdf(save_pdf(tmp_path / "drawing.pdf", [drawing, drawing]))
    assert "drawing.pdf (2 pages) has no usable text" in info.value.what
    assert "OCR found no text on pages 1-2" in info.value.what
    assert "scan them again" in info.value.todo

    mixed = save_pdf(tmp_path / "mixed.pdf", [_text_page, drawing])
    doc = extract_pdf(mixed)
    (problem,) = doc.problems
    assert problem.page == 2 and problem.kind == "ocr_found_nothing"
    assert "OCR (tesseract" in problem.detail and "found no text" in problem.detail
    assert doc.pages[1].text_source == "ocr" and doc.pages[1].chars == 0 and doc.pages[1].ocr_confidence is None


def test_unmapped_glyphs_over_the_threshold_are_read_by_ocr(tmp_path):
    from test_extract import save_pdf_without_unicode_map

    def page(c):
        draw_paragraph(c, PARA, 72, 760, width=36, size=12, leading=20)

    # The reference reader (for PDFium this fixture's glyphs are mapped: see test_extract)
    doc = extract_pdf(save_pdf_without_unicode_map(tmp_path / "nomap.pdf", page), ExtractConfig(engine="pdfplumber"))

    (info,) = doc.pages
    assert info.text_source == "ocr" and info.has_text_layer and info.unmapped_share > 0.3
    assert character_error_rate(PARA, info.text) < 0.05


def test_auto_renders_no_page_of_a_born_digital_pdf_and_force_renders_every_page(monkeypatch, two_pages):
    renders = []
    real = ocr.render_page
    monkeypatch.setattr(ocr, "render_page", lambda *a: renders.append(a[1]) or real(*a))

    auto = extract_pdf(two_pages, workers=1)
    assert renders == [] and {p.text_source for p in auto.pages} == {"text_layer"}

    forced = extract_pdf(two_pages, ExtractConfig(ocr="force"), workers=1)
    assert sorted(renders) == [1, 2] and {p.text_source for p in forced.pages} == {"ocr"}
    assert character_error_rate(auto.pages[0].text, forced.pages[0].text) < 0.05


def test_a_blank_page_is_not_rendered(monkeypatch, tmp_path):
    renders = []
    monkeypatch.setattr(ocr, "render_page", lambda *a: renders.append(a[1]))
    doc = extract_pdf(save_pdf(tmp_path / "blank.pdf", [_text_page, lambda c: None]), workers=1)
    assert renders == []
    assert doc.problems[0].page == 2 and "draws nothing" in doc.problems[0].detail


def test_missing_tesseract_or_models_give_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(ocr, "TESSERACT", str(tmp_path / "no-tesseract"))
    ocr.engine_version.cache_clear()
    try:
        with pytest.raises(ExtractError) as info:
            ocr.engine_version()
        assert "tesseract is not installed" in info.value.what
        assert "tesseract-ocr tesseract-ocr-jpn tesseract-ocr-jpn-vert" in info.value.todo
        assert "--ocr off" in info.value.todo
    finally:
        ocr.engine_version.cache_clear()
    monkeypatch.undo()
    fake = tmp_path / "tesseract"  # tesseract with only its English and script models
    fake.write_text('#!/bin/sh\ncase "$1" in\n  --version) echo "tesseract 5.3.0" ;;\n'
                    '  *) printf "List of available languages (2):\\neng\\nosd\\n" ;;\nesac\n')
    fake.chmod(0o755)
    monkeypatch.setattr(ocr, "TESSERACT", str(fake))
    try:
        with pytest.raises(ExtractError) as info:
            ocr.engine_version()
        assert "jpn, jpn_vert missing" in info.value.what and "tesseract-ocr-jpn-vert" in info.value.todo
    finally:
        ocr.engine_version.cache_clear()


def test_unknown_ocr_mode_is_refused(two_pages):
    with pytest.raises(ValueError, match="auto, off, force"):
        extract_pdf(two_pages, ExtractConfig(ocr="sometimes"))


def test_rendering_a_huge_page_is_bounded(tmp_path):
    path = tmp_path / "huge.pdf"
    c = canvas.Canvas(str(path), pagesize=(14400, 14400))  # the largest page PDF allows: 200 x 200 inches
    c.setFont(MIN, 400)
    c.drawString(1000, 7000, "巨大")
    c.showPage()
    c.save()
    assert render_scale(595, 842, 200) == pytest.approx(200 / 72)
    assert 14400 * render_scale(14400, 14400, 200) <= ocr.MAX_RENDER_PIXELS ** 0.5 + 1

    image = ocr.render_page(path, 1, 200)

    assert image.width * image.height <= ocr.MAX_RENDER_PIXELS


def test_line_text_joins_cjk_without_spaces_and_latin_words_with_one():
    words = [OcrWord(t, 0, 0, 1, 1, 90) for t in ("韓", "国", "は", "AI", "Act", "を", "2024", "年")]
    assert line_text(words) == "韓国はAI Actを2024年"


def test_character_error_rate():
    assert character_error_rate("量子 技術", "量子技術") == 0
    assert character_error_rate("量子技術", "量子枝術") == 0.25
    assert character_error_rate("量子技術", "") == 1


def test_short_documents_with_pages_to_ocr_are_read_in_parallel():
    config = ExtractConfig()
    assert reader._worker_count(2, 5, config, ocr_pages=5) == 2
    assert reader._worker_count(4, 5, config, ocr_pages=2) == 2
    assert reader._worker_count(2, 5, config, ocr_pages=1) == 1
    assert reader._worker_count(2, 5, config) == 1


def test_pages_are_ocred_in_worker_processes_with_the_same_result(tmp_path, two_pages):
    scan = scanned_copy(two_pages, tmp_path / "scan.pdf")
    one = extract_pdf(scan, workers=1)
    two = extract_pdf(scan, workers=2)
    assert one == two and [p.text_source for p in two.pages] == ["ocr", "ocr"]
    assert pdfium.PdfDocument(str(scan)).get_page(0).get_textpage().count_chars() == 0


def test_the_ocr_mode_is_in_the_extract_cache_key_and_the_documents_config():
    import json
    from dataclasses import asdict

    from flows.process_report import RunConfig, stage_keys

    keys = {mode: stage_keys("0" * 64, RunConfig(extract=ExtractConfig(ocr=mode))) for mode in ("auto", "off", "force")}
    assert len({k["extract"] for k in keys.values()}) == 3 and len({k["run"] for k in keys.values()}) == 3
    assert json.loads(json.dumps(asdict(RunConfig(extract=ExtractConfig(ocr="force")))))["extract"]["ocr"] == "force"


def test_every_word_of_a_confident_line_is_kept_and_unsure_words_of_a_poor_line_dropped(monkeypatch):
    # tesseract's TSV for two lines: 8大新興技術産業 with 新興 at 9 (a real word after 大), and a
    # line over a logo of symbols it is unsure of
    words = [("8", 95, 1), ("大", 90, 1), ("新興", 9, 1), ("技術", 92, 1), ("産業", 91, 1),
             ("|", 12, 2), ("=", 35, 2), ("~", 5, 2)]
    data = {"level": [5] * len(words), "text": [w for w, _, _ in words], "conf": [c for _, c, _ in words],
            "block_num": [1] * len(words), "par_num": [1] * len(words), "line_num": [n for _, _, n in words],
            "left": [20 * k for k in range(len(words))], "top": [10 if n == 1 else 40 for _, _, n in words],
            "width": [18] * len(words), "height": [20] * len(words)}
    columns = ["level", "block_num", "par_num", "line_num", "left", "top", "width", "height", "conf", "text"]
    tsv = "\n".join(["\t".join(columns)] + ["\t".join(str(data[c][i]) for c in columns) for i in range(len(words))])
    monkeypatch.setattr(ocr, "run_tesseract", lambda *a, **k: tsv)
    lines = ocr.read_image(Image.new("L", (200, 100), 255), ocr.HORIZONTAL_LANGUAGE)
    assert [line_text(line.words) for line in lines] == ["8大新興技術産業", "="]
