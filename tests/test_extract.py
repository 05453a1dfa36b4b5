"""Tests for pipeline.extract: generated PDFs (reportlab, built-in CID fonts) for each layout rule,
and the shared real-world hard cases in ../shared/pdfs (skipped when that folder is absent)."""
from __future__ import annotations

import unicodedata
from pathlib import Path

import pdfplumber
import pytest
from reportlab.lib import pdfencrypt
from reportlab.pdfgen import canvas

from pdfdraw import GOTHIC, HEIGHT, MIN, WIDTH, draw_paragraph, draw_table, save_pdf, wrap
from pipeline.errors import ExtractError, NoUsableTextError
from pipeline.extract import ExtractConfig, ExtractedDocument, extract_pdf
from pipeline.extract.opening import _font_name_and_weight

SHARED_PDFS = Path(__file__).resolve().parents[2] / "shared" / "pdfs"

PARA_1 = (
    "我が国の科学技術政策は、研究開発の推進と人材の育成を柱として、産学官の連携を強化しつつ、"
    "国際的な競争力の向上を目指している。特に量子技術と人工知能の分野では、基礎研究から社会実装"
    "までを一体的に支援する枠組みが整えられた。"
)
PARA_2 = (
    "一方で、半導体の供給網をめぐる国際情勢は不安定であり、同盟国との協力による経済安全保障の"
    "確保が急務となっている。"
)


# ---------------------------------------------------------------------------------------------
# PDF generation helpers
# ---------------------------------------------------------------------------------------------


def paragraphs(doc: ExtractedDocument) -> list[str]:
    return [b.text for b in doc.blocks if b.kind == "body"]


def all_text(doc: ExtractedDocument) -> str:
    return "\n".join(b.text for b in doc.blocks)


def shared_pdf(name: str) -> Path:
    path = SHARED_PDFS / name
    if not path.is_file():
        pytest.skip(f"shared test PDF {path} is not available (expected next to the project)")
    return path


# ---------------------------------------------------------------------------------------------
# Generated layouts
# ---------------------------------------------------------------------------------------------


def test_wrapped_japanese_lines_are_joined_without_spaces(tmp_path):
    def page(c):
        y = draw_paragraph(c, PARA_1, 72, HEIGHT - 100)
        draw_paragraph(c, PARA_2, 72, y)

    doc = extract_pdf(save_pdf(tmp_path / "wrap.pdf", [page]))

    assert paragraphs(doc) == [PARA_1, PARA_2]  # exact: no space at any join, none invented
    assert doc.pages[0].text == f"{PARA_1}\n\n{PARA_2}"
    assert doc.pages[0].chars == len(PARA_1) + len(PARA_2)
    assert doc.pages[0].columns == 1
    assert doc.problems == ()


def test_letter_spaced_japanese_gets_no_spurious_spaces(tmp_path):
    def page(c):
        text = c.beginText(72, 700)
        text.setFont(MIN, 10.5)
        text.setCharSpace(3.5)  # justified/letter-spaced: 3.5 pt between kanji, a third of a char
        for line in wrap("\u3000" + PARA_2, 30):
            text.textLine(line)
        c.drawText(text)

    path = save_pdf(tmp_path / "spaced.pdf", [page])
    with pdfplumber.open(path) as pdf:  # the trap: a fixed 3 pt x_tolerance sees word gaps here
        assert " " in pdf.pages[0].extract_text()

    assert paragraphs(extract_pdf(path)) == [PARA_2]


def _justified(c, paragraphs: list[list[str]], x: float, y: float, size: float, leading: float) -> None:
    """Paragraphs of pre-broken lines, the first line of each indented by one character (the
    indent as a word processor sets it: a shift, not a space), each line drawn at its own width."""
    c.setFont(MIN, size)
    for lines in paragraphs:
        for k, line in enumerate(lines):
            c.drawString(x + (size if k == 0 else 0), y, line)
            y -= leading
        y -= 4


@pytest.mark.parametrize("size, chars", [(10.5, 40), (9.0, 48)])
def test_lines_overhanging_the_margin_do_not_move_it(tmp_path, size, chars):
    # Two lines end in a run of Latin letters the typesetter could not break, past the margin, at
    # the same x; the margin is still where the other lines end, so no full line looks short.
    from reportlab.pdfbase.pdfmetrics import stringWidth

    line = "科学技術の国際協力は各国の研究開発戦略と深く結びついている。"
    full = (line * 3)[:chars]
    # a run of Latin capitals in place of the last two characters, 1.75 characters past the margin
    runs = ["CBRN-safety"[:n] for n in range(1, 12)] + ["QUAD and AUKUS"[:n] for n in range(1, 15)]
    run = min(runs, key=lambda r: abs(stringWidth(r, MIN, size) - 3.75 * size))
    assert 3.6 * size < stringWidth(run, MIN, size) < 3.9 * size
    over = full[:-2] + run
    text = [[full[:-1], full, over, full[:10] + "。"], [full[:-1], over, full, full[:12] + "。"]]

    def page(c):
        _justified(c, text, 72, HEIGHT - 100, size, size * 1.7)

    doc = extract_pdf(save_pdf(tmp_path / "overhang.pdf", [page]))

    assert paragraphs(doc) == ["".join(p) for p in text]


@pytest.mark.parametrize("width", [40, 30])
def test_a_one_line_paragraph_is_not_joined_to_the_indented_paragraph_after_it(tmp_path, width):
    # A paragraph of one indented line that ends its sentence near the margin, then another
    # paragraph whose first line has the same indent: two paragraphs (a paragraph's second line
    # starts at the left edge).
    before = ("各国は重要技術の一覧を定期的に見直している。" * 9)[: 4 * width - 2] + "。"
    one = ("韓国は量子技術の研究拠点を整備している。" * 3)[: width - 2] + "。"
    two = ("米国は半導体の国内生産を支援している。" * 4)[: 2 * width - 1]
    lines = [before[: width - 1]] + [before[k : k + width] for k in range(width - 1, len(before), width)]
    text = [lines, [one], [two[: width - 1], two[width - 1 :] + "。"]]

    def page(c):
        _justified(c, text, 72, HEIGHT - 100, 10.5, 18)

    doc = extract_pdf(save_pdf(tmp_path / "oneline.pdf", [page]))

    assert paragraphs(doc) == ["".join(p) for p in text]


def test_wrapped_latin_words_keep_one_space(tmp_path):
    def page(c):
        c.setFont(MIN, 10.5)
        c.drawString(72, 700, "\u3000新たな研究領域として Quantum")
        c.drawString(72, 684, "computing と AI safety が挙げられる。")

    doc = extract_pdf(save_pdf(tmp_path / "latin.pdf", [page]))

    assert paragraphs(doc) == ["新たな研究領域として Quantum computing と AI safety が挙げられる。"]


def test_running_header_and_page_numbers_are_removed(tmp_path):
    def page(n):
        def draw(c):
            c.setFont(MIN, 9)
            c.drawString(72, HEIGHT - 40, f"新興技術政策 {n}")
            c.drawCentredString(WIDTH / 2, 30, f"- {n} -")
            # The header's words inside the body must stay: removal goes by position.
            draw_paragraph(c, f"第{n}節では新興技術政策の課題を述べる。" + PARA_2, 72, HEIGHT - 100)

        return draw

    doc = extract_pdf(save_pdf(tmp_path / "running.pdf", [page(n) for n in range(1, 5)]))

    for info in doc.pages:
        assert info.removed_lines == (f"新興技術政策 {info.page}", f"- {info.page} -")
        assert f"- {info.page} -" not in info.text
    assert len(doc.blocks) == 4
    assert all(b.text.startswith(f"第{b.page}節では新興技術政策の課題") for b in doc.blocks)


def test_short_document_keeps_repeated_header_but_drops_page_numbers(tmp_path):
    def page(n):
        def draw(c):
            c.setFont(MIN, 9)
            c.drawString(72, HEIGHT - 40, "新興技術政策レポート")
            c.drawCentredString(WIDTH / 2, 30, f"- {n} -")
            draw_paragraph(c, PARA_1, 72, HEIGHT - 100)

        return draw

    doc = extract_pdf(save_pdf(tmp_path / "two_pages.pdf", [page(1), page(2)]))

    assert [p.removed_lines for p in doc.pages] == [("- 1 -",), ("- 2 -",)]
    assert [b.text for b in doc.blocks if b.page == 2][0] == "新興技術政策レポート"


def test_two_column_page_is_read_column_by_column(tmp_path):
    left = "左の段の本文である。" + PARA_1
    right = "右の段の本文である。" + PARA_2 + PARA_2

    def page(c):
        c.setFont(GOTHIC, 16)
        c.drawString(72, HEIGHT - 80, "第2章 二段組みの見出しは両方の段にまたがって置かれる")
        y_start = HEIGHT - 120
        for x, text in ((72, left), (310, right)):
            y = y_start
            c.setFont(MIN, 10)
            for line in wrap("\u3000" + text, 21):  # 21 × 10 pt = 210 pt wide; gutter 28 pt
                c.drawString(x, y, line)
                y -= 15

    doc = extract_pdf(save_pdf(tmp_path / "columns.pdf", [page]))

    assert doc.pages[0].columns == 2
    assert [b.text for b in doc.blocks] == [
        "第2章 二段組みの見出しは両方の段にまたがって置かれる",
        left,
        right,
    ]
    assert [b.column for b in doc.blocks] == [0, 1, 2]


def test_headings_get_levels_from_numbering_and_font(tmp_path):
    def page(c):
        c.setFont(GOTHIC, 16)
        c.drawString(72, 760, "第1章 科学技術政策の概要")
        y = draw_paragraph(c, PARA_1, 72, 730)
        c.setFont(GOTHIC, 13)
        c.drawString(72, y - 4, "1.2 研究開発の動向")
        y = draw_paragraph(c, PARA_2, 72, y - 30)
        c.setFont(MIN, 10.5)
        c.drawString(72, y - 4, "（1）量子技術")
        y = draw_paragraph(c, PARA_2, 72, y - 26)
        c.setFont(GOTHIC, 13)
        c.drawString(72, y - 4, "国際協力の枠組み")
        y = draw_paragraph(c, PARA_1, 72, y - 30)
        c.setFont(GOTHIC, 16)
        c.drawString(72, y - 8, "2 調査の方法")

    doc = extract_pdf(save_pdf(tmp_path / "headings.pdf", [page]))

    headings = [(b.text, b.level) for b in doc.blocks if b.kind == "heading"]
    assert headings == [
        ("第1章 科学技術政策の概要", 1),
        ("1.2 研究開発の動向", 2),
        ("（1）量子技術", 3),
        ("国際協力の枠組み", 2),  # unnumbered: the second-largest heading size → level 2
        ("2 調査の方法", 1),  # "N text" in a larger font
    ]
    first = doc.blocks[0]
    assert first.bold and first.font_size == 16.0  # W5 in the font name means bold
    assert all(b.level == 0 and not b.bold for b in doc.blocks if b.kind == "body")
    assert paragraphs(doc) == [PARA_1, PARA_2, PARA_2, PARA_1]


def test_numbered_sentence_in_body_font_is_not_a_heading(tmp_path):
    item = (
        "1. 本報告書は、主要国の科学技術政策の動向を調査し、我が国の政策立案に資する知見を"
        "整理したものである。"
    )

    def page(c):
        c.setFont(MIN, 10.5)
        y = 760
        for line in wrap(item, 40):
            c.drawString(72, y, line)
            y -= 16
        c.drawString(72, y - 8, "2. 調査の対象は量子技術と人工知能である。")

    doc = extract_pdf(save_pdf(tmp_path / "numbered.pdf", [page]))

    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("body", item),
        ("body", "2. 調査の対象は量子技術と人工知能である。"),
    ]


def test_table_is_extracted_and_its_text_not_duplicated(tmp_path):
    rows = [("国名", "重点分野", "予算"), ("米国", "生命科学", "２０億ドル"), ("英国", "量子技術", "５億ポンド")]

    def page(c):
        draw_paragraph(c, PARA_2, 72, 760)
        y = draw_table(c, rows, 72, 700)
        draw_paragraph(c, PARA_1, 72, y - 54)

    doc = extract_pdf(save_pdf(tmp_path / "table.pdf", [page]))

    assert len(doc.tables) == 1
    table = doc.tables[0]
    assert (table.page, table.index, table.rows) == (1, 0, tuple(rows))
    assert paragraphs(doc) == [PARA_2, PARA_1]
    for cell in ("米国", "生命科学", "５億ポンド", "重点分野"):
        assert cell not in all_text(doc)


def test_bold_drawn_twice_is_deduplicated(tmp_path):
    def page(c):
        c.setFont(MIN, 14)
        for dx in (0, 0.3):  # fake bold: the same string drawn twice, 0.3 pt apart
            c.drawString(72 + dx, 760, "研究開発の重点分野")
        draw_paragraph(c, PARA_2, 72, 730)

    doc = extract_pdf(save_pdf(tmp_path / "bold.pdf", [page]))

    heading, body = doc.blocks
    assert heading.text == "研究開発の重点分野"
    assert heading.bold and heading.kind == "heading"
    assert body.text == PARA_2 and not body.bold
    assert doc.pages[0].chars == len("研究開発の重点分野") + len(PARA_2)


def test_metadata_bytes_are_decoded_to_str(tmp_path):
    def page(c):
        c.setTitle("X" * 15)  # placeholders with the byte length of the values patched in below
        c.setAuthor("YYYY")
        draw_paragraph(c, PARA_2, 72, 760)

    path = save_pdf(tmp_path / "meta.pdf", [page])
    data = path.read_bytes()
    title, author = "坊っちゃん".encode("utf-8"), "東京".encode("cp932")  # 15 and 4 bytes
    data = data.replace(b"(" + b"X" * 15 + b")", b"(" + title + b")")
    path.write_bytes(data.replace(b"(YYYY)", b"(" + author + b")"))

    doc = extract_pdf(path)

    assert doc.metadata["Title"] == "坊っちゃん"
    assert doc.metadata["Author"] == "東京"
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in doc.metadata.items())


def test_twenty_pages_of_headers_headings_and_paragraphs(tmp_path):
    def page(n):
        def draw(c):
            c.setFont(MIN, 9)
            c.drawString(72, HEIGHT - 40, "新興技術政策の動向")
            c.drawCentredString(WIDTH / 2, 30, f"- {n} -")
            c.setFont(GOTHIC, 14)
            c.drawString(72, HEIGHT - 80, f"第{n}章 研究開発の現状")
            y = HEIGHT - 110
            for k in range(6):
                y = draw_paragraph(c, f"（{n}-{k}）" + PARA_1 + PARA_2, 72, y, width=42)

        return draw

    path = save_pdf(tmp_path / "twenty.pdf", [page(n) for n in range(1, 21)])
    doc = extract_pdf(path)

    assert len(doc.pages) == 20
    assert sum(b.kind == "heading" for b in doc.blocks) == 20
    assert sum(b.kind == "body" for b in doc.blocks) == 120
    assert all(p.removed_lines == ("新興技術政策の動向", f"- {p.page} -") for p in doc.pages)
    # Speed is measured by the benchmark (bench/), not by a timed test.


# ---------------------------------------------------------------------------------------------
# Files that cannot be read
# ---------------------------------------------------------------------------------------------


def test_truncated_pdf_raises_extract_error(tmp_path):
    full = save_pdf(tmp_path / "full.pdf", [lambda c: draw_paragraph(c, PARA_1, 72, 760)] * 3)
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(full.read_bytes()[: full.stat().st_size // 2])

    with pytest.raises(ExtractError) as info:
        extract_pdf(truncated)

    message = str(info.value)
    assert "truncated.pdf" in message and "truncated" in info.value.what
    assert "fetch the file again" in info.value.todo
    assert "Traceback" not in message


def test_garbage_file_raises_extract_error(tmp_path):
    garbage = tmp_path / "report.pdf"
    garbage.write_bytes(b"<html><body>404 Not Found</body></html>" * 20)

    with pytest.raises(ExtractError) as info:
        extract_pdf(garbage)

    assert "report.pdf is not a PDF" in info.value.what
    assert "HTML" in info.value.todo


def test_empty_and_missing_files_raise_extract_error(tmp_path):
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    with pytest.raises(ExtractError, match="empty"):
        extract_pdf(empty)
    with pytest.raises(ExtractError, match="no such file"):
        extract_pdf(tmp_path / "missing.pdf")


def test_pdf_with_zero_pages_raises_extract_error(tmp_path):
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 3\n0000000000 65535 f \n"
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    path = tmp_path / "nopages.pdf"
    path.write_bytes(bytes(out))

    with pytest.raises(ExtractError, match="has no pages"):
        extract_pdf(path)


def test_password_protected_pdf_raises_extract_error(tmp_path):
    path = tmp_path / "locked.pdf"
    c = canvas.Canvas(str(path), encrypt=pdfencrypt.StandardEncryption("secret", ownerPassword="owner"))
    c.setFont("Helvetica", 12)
    c.drawString(72, 700, "Confidential text.")
    c.showPage()
    c.save()

    with pytest.raises(ExtractError) as info:
        extract_pdf(path)

    assert "locked.pdf is encrypted and needs a password" in info.value.what
    assert "qpdf" in info.value.todo


def test_pdf_encrypted_with_empty_user_password_opens(tmp_path):
    path = tmp_path / "restricted.pdf"
    encryption = pdfencrypt.StandardEncryption("", ownerPassword="owner", canModify=0)
    c = canvas.Canvas(str(path), encrypt=encryption)
    c.setFont("Helvetica", 12)
    c.drawString(72, 700, "Protected but readable text.")
    c.showPage()
    c.save()

    assert paragraphs(extract_pdf(path)) == ["Protected but readable text."]


def save_pdf_without_unicode_map(path: Path, draw) -> Path:
    """A PDF whose CID font cannot be mapped to Unicode: renaming the font's character
    collection (Adobe-Japan1 → Adobe-NoMap1, same byte length) leaves pdfminer without a map,
    so every glyph of that font comes out as "(cid:N)", as in PDFs with fonts lacking ToUnicode."""
    save_pdf(path, [draw])
    data = path.read_bytes()
    assert data.count(b"(Japan1)") == 1
    path.write_bytes(data.replace(b"(Japan1)", b"(NoMap1)"))
    return path


def test_unmapped_glyphs_are_reported_and_dropped(tmp_path):
    english = "Science and technology policy supports research, talent and international cooperation."

    def page(c):
        c.setFont("Helvetica", 11)
        c.drawString(72, 760, english)
        c.setFont(MIN, 11)
        c.drawString(72, 700, "対応表")

    # The reference reader: PDFium reads the renamed collection's UCS-2 codes as Unicode (they
    # are), so this fixture has no unmapped glyph for it (docs/engines.md).
    doc = extract_pdf(save_pdf_without_unicode_map(tmp_path / "nomap.pdf", page), ExtractConfig(engine="pdfplumber"))

    assert [b.text for b in doc.blocks] == [english]
    glyphs = len(english.replace(" ", "")) + 3
    assert doc.pages[0].unmapped_share == pytest.approx(3 / glyphs, abs=1e-3)
    (problem,) = doc.problems
    assert problem.kind == "unmapped_glyphs" and f"3 of {glyphs} glyphs have no Unicode mapping" in problem.detail


def test_pdfium_reads_a_ucs2_encoding_whatever_its_collection_is_called(tmp_path):
    def page(c):
        c.setFont(MIN, 11)
        c.drawString(72, 700, "対応表")

    doc = extract_pdf(save_pdf_without_unicode_map(tmp_path / "nomap.pdf", page), ExtractConfig(engine="pdfium"))

    assert [b.text for b in doc.blocks] == ["対応表"] and doc.pages[0].unmapped_share == 0 and not doc.problems


def test_document_of_unmapped_glyphs_raises_no_usable_text_error(tmp_path):
    def page(c):
        draw_paragraph(c, PARA_1, 72, 760)

    with pytest.raises(NoUsableTextError) as info:
        extract_pdf(save_pdf_without_unicode_map(tmp_path / "nomap_only.pdf", page),
                    ExtractConfig(ocr="off", engine="pdfplumber"))

    assert "nomap_only.pdf (1 page) has no usable text" in info.value.what
    assert "page 1: more than 30% of the glyphs have no Unicode mapping" in info.value.what
    assert "--ocr auto" in info.value.todo and "tesseract-ocr-jpn" in info.value.todo


def test_page_without_text_layer_raises_no_usable_text_error(tmp_path):
    def page(c):
        c.rect(72, 600, 200, 100, fill=1)  # only drawings

    with pytest.raises(NoUsableTextError) as info:
        extract_pdf(save_pdf(tmp_path / "drawing.pdf", [page, page]), ExtractConfig(ocr="off"))

    assert "drawing.pdf (2 pages)" in info.value.what
    assert "pages 1-2 have no text layer" in info.value.what
    assert "--ocr auto" in info.value.todo


# ---------------------------------------------------------------------------------------------
# Shared real-world PDFs (../shared/pdfs/MANIFEST.md)
# ---------------------------------------------------------------------------------------------


def test_kampo_reports_unmapped_glyphs_and_passes_none_on():
    doc = extract_pdf(shared_pdf("pdfminer_nonfree_kampo.pdf"))

    assert len(doc.pages) == 1
    page = doc.pages[0]
    assert 0 < page.unmapped_share < 0.05 and page.has_text_layer
    problem = next(p for p in doc.problems if p.kind == "unmapped_glyphs")
    assert problem.page == 1 and "glyphs have no Unicode mapping" in problem.detail
    text = all_text(doc)
    assert "(cid:" not in text
    assert not set("™—›œŸ˜") & set(text)  # the header digits' garbage glyphs
    assert not any(unicodedata.category(ch) in ("Cc", "Co") for ch in text if ch != "\n")
    # Vertical writing is read down the lines, not across them.
    assert "道路交通法施行令の一部を改正する政令" in text


def test_mhlw_tsuchi_bytes_font_names_footer_and_fullwidth_digits():
    path = shared_pdf("mhlw_tsuchi_0000196315-1-2.pdf")
    with pdfplumber.open(path) as pdf:
        raw_font_name = pdf.pages[0].chars[0]["fontname"]  # Shift-JIS bytes (or their repr)
    assert _font_name_and_weight(raw_font_name) == ("HOTRMH+ＭＳ明朝", False)

    doc = extract_pdf(path)

    assert [p.removed_lines for p in doc.pages] == [("- 1 -",), ("- 2 -",)]
    text = all_text(doc)
    assert "- 2 -" not in text and "- 1 -" not in text
    assert "第２号" in text and "平成30年３月５日" in text  # full-width digits: no NFKC here
    assert ("heading", "第１ 基本診療料の施設基準等", 1) in [(b.kind, b.text, b.level) for b in doc.blocks]
    # A numbered item in body font that ends with 。 is a paragraph, not a heading.
    item = next(b for b in doc.blocks if b.text.startswith("１ 初・再診料"))
    assert item.kind == "body" and item.level == 0
    # A numbered item wrapped with a hanging indent stays one paragraph.
    item = "１ 基本診療料の施設基準等に係る届出に際しては、特に規定のある場合を除き、当該保険医療機関単位で行うものであること。"
    assert item in paragraphs(doc)
    assert all(isinstance(v, str) for v in doc.metadata.values())
    assert doc.tables == ()  # a white background box on page 2 is not a table


def test_mhlw_yoshiki23_form_has_one_5x3_table_on_page_1():
    doc = extract_pdf(shared_pdf("mhlw_yoshiki23_0000196315-379-380.pdf"))

    page_1_tables = [t for t in doc.tables if t.page == 1]
    assert len(page_1_tables) == 1
    rows = page_1_tables[0].rows
    assert len(rows) == 5 and {len(r) for r in rows} == {3}
    assert rows[1][0] == "重症者等療養環境特別加算に係る病床"  # wrapped cell text joined
    assert rows[2][0] == "入院患者数及び重症者数"  # stacked one character per line
    assert rows[3][0] == ""  # merged cell: None → ""
    body = all_text(doc)
    assert "重症者等療養環境特別加算に係る病床" not in body
    assert "［記載上の注意］" in body


def test_bocchan_without_text_layer_and_ocr_off_raises_no_usable_text_error():
    with pytest.raises(NoUsableTextError) as info:
        extract_pdf(shared_pdf("bocchan_notextlayer.pdf"), ExtractConfig(ocr="off"))

    error = info.value
    assert "bocchan_notextlayer.pdf (5 pages)" in error.what
    assert "pages 1-5 have no text layer" in error.what
    assert "--ocr auto" in error.todo and "OCR" in error.todo


def test_pdfjs_kangxi_radical_is_kept_raw():
    doc = extract_pdf(shared_pdf("pdfjs_issue15340_kangxi.pdf"))

    text = all_text(doc)
    assert "\u2f00" in text  # ⼀ KANGXI RADICAL ONE: NFKC to 一 happens in a later stage
    assert "構を\u2f00つの箱内" in text
    assert paragraphs(doc) == [
        "漏電遮断機構（電流制限器等に漏電遮断特性を持たせたもの）と検知機構を⼀つの箱内に収めたものは、"
        "「漏電遮断器」と解釈し、対象として取り扱う。"
    ]


def test_config_can_turn_tables_off():
    doc = extract_pdf(shared_pdf("mhlw_yoshiki23_0000196315-379-380.pdf"), ExtractConfig(extract_tables=False))

    assert doc.tables == ()
    assert "届出事項" in all_text(doc).replace(" ", "")  # table text now flows into the body
