"""Tests for table trust (pipeline.extract.tables), figure regions and captions
(pipeline.extract.figures): on a page drawn with reportlab, and on the shared real PDFs in
../shared/pdfs (skipped when that folder is absent)."""
from __future__ import annotations

import functools
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pdfplumber
import pytest
from pdfdraw import GOTHIC, HEIGHT, MIN, WIDTH, draw_paragraph, draw_table, save_pdf

from pipeline.extract.figures import (
    CAPTION,
    assign_captions,
    caption_for,
    caption_lines,
    figure_regions,
)
from pipeline.extract.glyphs import (
    _dedupe_glyphs,
    _drop_unmapped,
    _glyphs_from_chars,
    _page_chars,
)
from pipeline.extract.lines import _cluster_rows
from pipeline.extract.tables import _tables, table_problem, trusted_tables

SHARED_PDFS = Path(__file__).resolve().parents[2] / "shared" / "pdfs"
MEXT_CH1 = "mext_hakusho_r6_ch1_ai.pdf"
MEXT_CH2 = "mext_hakusho_r6_ch2_ai_japan.pdf"
CIO = "cio_dp2021_07_metadata.pdf"
YOSHIKI = "mhlw_yoshiki23_0000196315-379-380.pdf"


def shared_pdf(name: str) -> Path:
    path = SHARED_PDFS / name
    if not path.is_file():
        pytest.skip(f"shared test PDF {path} is not available (expected next to the project)")
    return path


@contextmanager
def opened(path: Path, number: int):
    """(page, glyphs) of page ``number`` (1-based), glyphs read as the extractor reads them."""
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[number - 1]
        upright, _ = _glyphs_from_chars(_page_chars(page), page.bbox)
        glyphs, _ = _drop_unmapped(_dedupe_glyphs(upright))
        yield page, glyphs


def centre_in(g, box) -> bool:
    return box[0] <= g.cx <= box[2] and box[1] <= g.cy <= box[3]


def text_in(glyphs, box) -> str:
    return "".join(g.text for g in glyphs if centre_in(g, box) and not g.text.isspace())


@functools.cache
def read_page(path: Path, number: int, body_size: float = 10.5):
    """Tables, figure regions and captions of a page, wired as ``_read_page`` is meant to (read
    once per test session: the results are only looked at)."""
    with opened(path, number) as (page, glyphs):
        found = page.find_tables()
        tables = _tables(found, glyphs, number)
        regions = figure_regions(page, glyphs, body_size, tables=[t.bbox for t in tables])
        captions = caption_lines(glyphs)
        return SimpleNamespace(
            page=page, glyphs=glyphs, found=[t.bbox for t in found], tables=tables, regions=regions,
            captions=captions,
            table_captions=assign_captions([t.bbox for t in tables], captions),
            figure_captions=assign_captions(regions, captions),
        )


# ---------------------------------------------------------------------------------------------
# A page drawn with reportlab: header band, ruled table, bar chart, boxed column
# ---------------------------------------------------------------------------------------------

PARA = (
    "我が国の科学技術政策は、研究開発の推進と人材の育成を柱として、産学官の連携を強化しつつ、"
    "国際的な競争力の向上を目指している。特に量子技術と人工知能の分野では、基礎研究から社会実装"
    "までを一体的に支援する枠組みが整えられた。"
)
COLUMN = (
    "研究の現場では、若手研究者が自由な発想で挑戦できる環境づくりが求められている。"
    "長期的な視点で基礎研究を支える仕組みと、成果を社会に届ける仕組みの両方が必要であり、"
    "大学と企業の人材交流もその一つの鍵となる。"
)
ROWS = [("国名", "重点分野", "予算"), ("米国", "生命科学", "２０億ドル"), ("英国", "量子技術", "５億ポンド")]
BARS = [("大学", 60), ("企業", 120), ("国研", 45), ("その他", 25)]
RUNNING_HEAD = "第１章 科学技術・イノベーションの動向"


def draw_designed_page(c) -> None:
    # A decorative header band: four filled rectangles (two of them bleed off the top), a
    # circle on it, the running head in white, and the first body lines drawn over its lower
    # part. pdfplumber makes a 2 x 2 "table" of it.
    c.setFillColorRGB(0.2, 0.5, 0.8)
    for x0, x1 in ((0, 300), (300, WIDTH)):
        for y0, y1 in ((HEIGHT - 75, HEIGHT - 35), (HEIGHT - 35, HEIGHT + 12)):
            c.rect(x0, y0, x1 - x0, y1 - y0, stroke=0, fill=1)
    c.setFillColorRGB(0.6, 0.8, 0.9)
    c.circle(480, HEIGHT - 30, 22, stroke=0, fill=1)
    c.setFillColorRGB(1, 1, 1)
    c.setFont(GOTHIC, 9)
    c.drawString(72, HEIGHT - 25, RUNNING_HEAD)
    c.setFillColorRGB(0, 0, 0)
    y = draw_paragraph(c, PARA, 72, HEIGHT - 60)
    # A ruled table, its caption above.
    c.setFont(GOTHIC, 10.5)
    c.drawString(72, y - 10, "表１ 主要国の重点分野と予算")
    y = draw_table(c, ROWS, 72, y - 18)
    # A bar chart: filled bars on two axis lines, short labels, caption below.
    base, left = y - 150, 110
    c.setLineWidth(0.8)
    c.line(left - 10, base, left + 300, base)
    c.line(left - 10, base, left - 10, base + 130)
    c.setFont(MIN, 8)
    for k, (label, value) in enumerate(BARS):
        x = left + 10 + k * 70
        c.setFillColorRGB(0.3, 0.4 + 0.1 * k, 0.7)
        c.rect(x, base, 40, value, stroke=0, fill=1)
        c.setFillColorRGB(0, 0, 0)
        c.drawString(x + 8, base - 11, label)
        c.drawString(x + 10, base + value + 3, str(value))
    c.drawString(left - 8, base + 134, "（億円）")
    c.setFont(GOTHIC, 10.5)
    c.drawString(160, base - 32, "図１ 研究主体別の研究費")
    # A boxed column (コラム): a filled, stroked frame with a title and a paragraph inside.
    top = base - 60
    c.setFillColorRGB(0.93, 0.96, 0.9)
    c.setStrokeColorRGB(0.3, 0.6, 0.3)
    c.rect(66, top - 150, 460, 150, stroke=1, fill=1)
    c.setFillColorRGB(0.3, 0.6, 0.3)  # an icon in the box's corner: drawings inside the frame
    c.circle(500, top - 18, 8, stroke=0, fill=1)
    c.circle(486, top - 24, 5, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    c.setFont(GOTHIC, 11)
    c.drawString(76, top - 20, "コラム１ 研究者の声")
    draw_paragraph(c, COLUMN, 76, top - 42)


@pytest.fixture(scope="module")
def designed(tmp_path_factory):
    path = save_pdf(tmp_path_factory.mktemp("figures") / "designed.pdf", [draw_designed_page])
    return read_page(path, 1)


def test_drawn_header_band_is_found_by_pdfplumber_but_rejected(designed):
    band = [t for t in designed.page.find_tables() if t.bbox[1] < 40]
    assert len(band) == 1 and len(band[0].rows) == 2  # the trap is there...
    assert table_problem(band[0], designed.glyphs) == "text crosses the edge"  # ...and is caught
    assert all(t.bbox[1] > 80 for t in designed.tables)
    # The body lines drawn over the band stay out of every table.
    first_line = PARA[:20]
    line_glyphs = [g for g in designed.glyphs if g.cy < 80 and g.size == 10.5]
    assert "".join(g.text for g in line_glyphs).startswith("\u3000" + first_line)
    assert not any(centre_in(g, t.bbox) for g in line_glyphs for t in designed.tables)


def test_drawn_ruled_table_is_kept_with_its_caption(designed):
    assert [t.rows for t in designed.tables] == [tuple(ROWS)]
    assert designed.table_captions == ["表１ 主要国の重点分野と予算"]


def test_drawn_bar_chart_is_one_figure_with_its_labels_and_caption(designed):
    assert len(designed.regions) == 1
    region = designed.regions[0]
    inside = text_in(designed.glyphs, region)
    for label, value in BARS:
        assert label in inside and str(value) in inside
    assert "（億円）" in inside
    # The caption is not figure text, but the figure's caption.
    assert "研究主体別" not in inside
    assert designed.figure_captions == ["図１ 研究主体別の研究費"]
    # Neither the table, the body paragraph nor the column is in the figure.
    assert not any(cell in inside for row in ROWS for cell in row)
    assert PARA[:6] not in inside and "研究者の声" not in inside and "若手研究者" not in inside


def test_drawn_boxed_column_and_header_band_are_not_figures(designed):
    frame = next(r for r in designed.page.rects if r["stroke"] and r["fill"])
    column = [g for g in designed.glyphs if centre_in(g, (frame["x0"], frame["top"], frame["x1"], frame["bottom"]))]
    head = [g for g in designed.glyphs if g.cy < 40]
    assert "".join(g.text for g in column).startswith("コラム１")
    assert "".join(g.text for g in head).replace(" ", "") == RUNNING_HEAD.replace(" ", "")
    for g in column + head:
        assert not any(centre_in(g, r) for r in designed.regions)


def test_figure_regions_finds_tables_itself_when_not_given_them(designed):
    assert figure_regions(designed.page, designed.glyphs, 10.5) == designed.regions


# ---------------------------------------------------------------------------------------------
# Captions
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("line", [
    "図1 研究費の推移", "図 1 メタデータのイメージ", "図1-1 推移", "図表2　主要国の比較", "表3-2 一覧",
    "第1-2-1図 研究費", "■第１-２-１図／ＡＩ分野の研究主体別研究費", "■第１-２-３表／「ポスト５Ｇ」",
    "Figure 1. Growth", "Fig. 2: Scaling laws", "Table 3 Budget", "表１：予算", "図２－３ 構成",
    "【図3】概要", "第１－２－１０図　事業",
])
def test_caption_pattern_matches_captions(line):
    assert CAPTION.match(line)


@pytest.mark.parametrize("line", [
    "図書館の利用者", "表現の自由", "図1に示すように", "表2の通り", "図1は", "（第１-２-２図）。",
    "図るために", "第1章 総論", "Figures are", "Tablet 3", "表彰式",
])
def test_caption_pattern_leaves_other_lines_alone(line):
    assert not CAPTION.match(line)


def line(text, x0, top, x1, bottom):
    return SimpleNamespace(text=text, x0=x0, top=top, x1=x1, bottom=bottom)


def test_caption_for_picks_the_nearest_overlapping_caption_above_or_below():
    box = (100, 200, 400, 400)
    above = line("図1 上の図", 100, 180, 300, 190)  # 10 pt above
    below = line("図2 下の図", 100, 405, 300, 415)  # 5 pt below
    beside = line("図3 横の図", 420, 190, 560, 200)  # no horizontal overlap
    far = line("図4 遠い図", 100, 100, 300, 110)  # 90 pt above: more than 3 line heights
    body = line("本文の行である。", 100, 195, 400, 199)  # not a caption

    assert caption_for(box, [above, below, beside, far, body]) == "図2 下の図"
    assert caption_for(box, [above, beside, far, body]) == "図1 上の図"
    tie = line("図1 上の図", 100, 185, 300, 195)  # 5 pt above, as close as the one below
    assert caption_for(box, [below, tie]) == "図1 上の図"
    assert caption_for(box, [beside, far, body]) is None


def test_assign_captions_gives_each_caption_to_one_box():
    upper, lower = (100, 100, 400, 200), (100, 240, 400, 340)
    own = line("図2 下の図", 100, 225, 300, 235)  # between the two: 25 pt below upper, 5 above lower
    assert caption_for(upper, [own]) == "図2 下の図"  # alone, the upper box would take it
    assert assign_captions([upper, lower], [own]) == [None, "図2 下の図"]


def test_caption_lines_join_a_wrapped_caption_and_split_side_by_side_captions():
    with opened(shared_pdf(MEXT_CH2), 8) as (_, glyphs):
        texts = [c.text for c in caption_lines(glyphs)]
    assert "■第１-２-７図／さくらインターネットデータセンターの設備" in texts
    assert "■第１-２-８図／ソフトバンクの生成ＡＩ計算基盤の設備" in texts
    assert not any(t.startswith("（第１-２-７図") for t in texts)  # a reference, not a caption


# ---------------------------------------------------------------------------------------------
# Real PDFs: tables
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [MEXT_CH1, MEXT_CH2])
def test_no_table_is_kept_on_the_mext_header_bands(name):
    path = shared_pdf(name)
    with pdfplumber.open(path) as pdf:
        n_pages = len(pdf.pages)
    band_pages = 0
    for number in range(1, n_pages + 1):
        result = read_page(path, number)
        page_top = result.page.bbox[1]
        # pdfplumber's header-band "tables" start above the visible page (top -145)...
        band_pages += any(bbox[1] < page_top for bbox in result.found)
        # ...none is kept, and no kept table reaches into the running-head zone.
        assert all(t.bbox[1] > page_top + 60 for t in result.tables), (name, number)
    assert band_pages >= 5


def test_mext_right_column_lines_are_no_longer_swallowed_by_the_header_band():
    with opened(shared_pdf(MEXT_CH2), 1) as (page, glyphs):
        band = next(t for t in page.find_tables() if t.bbox[1] < page.bbox[1])
        assert table_problem(band, glyphs) == "text crosses the edge"
        kept = trusted_tables(page.find_tables(), glyphs)
    lines = ["".join(g.text for g in row) for row in _cluster_rows(glyphs)]
    line = next(t for t in lines if t.startswith("前章で見てきたような"))
    assert "企業等において" in line  # the right column's first line, inside the band's bbox
    assert kept == []


@pytest.mark.parametrize("number, header, n_rows, caption", [
    (6, ("実施者", "概要"), 8, "■第１-２-３表／「ポスト５Ｇ情報通信システム基盤強化研究開発事業」に選定された法人等一覧"),
    (8, ("", "機関名", "課題名", "時期", "ノード数"), 4, "■第１-２-６表／大規模言語モデル構築支援プログラム2023採択課題"),
    (12, ("事業名", "対象", "概要"), 6, "■第１-２-９表／ＡＩ人材育成事業の例"),
])
def test_mext_ch2_real_tables_are_recovered_without_header_or_caption(number, header, n_rows, caption):
    result = read_page(shared_pdf(MEXT_CH2), number)

    assert len(result.tables) == 1
    table = result.tables[0]
    assert table.rows[0] == header and len(table.rows) == n_rows
    assert all(len(row) == len(header) for row in table.rows)
    assert result.table_captions == [caption]
    flat = "".join(cell for row in table.rows for cell in row)
    assert "■" not in flat and "資料" not in flat and "ＡＩがもたらす" not in flat  # no caption, note, running head
    # The caption is outside the table's bbox: it stays in the body.
    cap = next(c for c in result.captions if c.text == caption)
    assert cap.bottom <= table.bbox[1]


def test_mext_ch2_page_6_table_rows_are_the_companies():
    table = read_page(shared_pdf(MEXT_CH2), 6).tables[0]
    assert table.rows[1][0] == "株式会社ABEJA"
    assert [row[0] for row in table.rows[1:]][-1] == "Turing株式会社"


def test_mext_figure_panels_and_boxes_are_not_tables():
    # ch2 page 4: a コラム box merged with the header band; pages 5, 7, 13: figure panels.
    for number in (1, 4, 5, 7, 9, 11, 13):
        assert read_page(shared_pdf(MEXT_CH2), number).tables == [], number
    # ch1: figure panels of vector charts (pages 1, 3-6) are found as 3-column grids.
    for number in (1, 3, 4, 5):
        assert read_page(shared_pdf(MEXT_CH1), number).tables == [], number


def test_cio_and_yoshiki_tables_are_still_found():
    cio = read_page(shared_pdf(CIO), 11)
    assert len(cio.tables) == 1
    assert cio.tables[0].rows[0][:3] == ("大項目", "内容", "互換性")
    assert len(cio.tables[0].rows) == 11
    assert cio.table_captions == ["図 5 メタデータ比較の例"]

    form = read_page(shared_pdf(YOSHIKI), 1, body_size=12)
    assert len(form.tables) == 1
    assert len(form.tables[0].rows) == 5 and {len(r) for r in form.tables[0].rows} == {3}
    assert form.tables[0].rows[1][0] == "重症者等療養環境特別加算に係る病床"


# ---------------------------------------------------------------------------------------------
# Real PDFs: figures
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("number, captions", [
    (1, ["■第１-２-１図／ＡＩ分野の研究主体別研究費"]),
    (5, ["■第１-２-２図／tsuzumiとロボットの連携の様子"]),
    (7, ["■第１-２-４図／東京工業大学学術国際情報センターの最新スーパーコンピュータ「TSUBAME4.0」",
         "■第１-２-５図／ＡＢＣＩの外観"]),
    (13, ["■第１-２-10図／ツールキットJetson Nanoを使用している様子",
          "■第１-２-11図／ＤＸやＡＩ・データ利活用状況に関する地域企業へのオンライン調査の様子"]),
])
def test_mext_ch2_figures_are_found_with_their_captions(number, captions):
    result = read_page(shared_pdf(MEXT_CH2), number)

    assert sorted(c for c in result.figure_captions) == sorted(captions)
    for region in result.regions:
        # Each figure holds an image, and no body text (no long line at the body size).
        assert any(
            region[0] - 1 <= im["x0"] and im["x1"] <= region[2] + 1 and region[1] - 1 <= im["top"]
            and im["bottom"] <= region[3] + 1 for im in result.page.images
        )
        for row in _cluster_rows([g for g in result.glyphs if centre_in(g, region) and not g.text.isspace()]):
            assert not (len(row) >= 15 and all(g.size >= 10 for g in row)), "".join(g.text for g in row)
        # The caption stays outside: it is body text and the figure's caption.
        assert "■" not in text_in(result.glyphs, region)


def test_mext_ch2_figure_1_region_is_the_chart_panel_with_its_source_note():
    result = read_page(shared_pdf(MEXT_CH2), 1)
    assert len(result.regions) == 1
    inside = text_in(result.glyphs, result.regions[0])
    assert "資料：総務省統計局" in inside
    assert "企業等において" not in inside and "前章" not in inside


@pytest.mark.parametrize("number", [2, 3, 6, 9, 10, 11, 12])
def test_mext_ch2_text_and_table_pages_have_no_figures(number):
    # Pages 2, 3, 11 have QR codes in the footnotes (too small to be figures), 9 a QR code
    # drawn with 700 little rectangles; 6 and 12 have a table on a panel.
    assert read_page(shared_pdf(MEXT_CH2), number).regions == []


def test_mext_ch1_vector_charts_are_figures_and_column_box_is_not():
    ch1 = shared_pdf(MEXT_CH1)
    expected = {1: "■第１-１-１図", 3: "■第１-１-２図", 4: "■第１-１-３図", 5: "■第１-１-４図", 6: "■第１-１-６図"}
    for number, prefix in expected.items():
        result = read_page(ch1, number)
        assert len(result.regions) == 1, number
        assert (result.figure_captions[0] or "").startswith(prefix), number
    page_7 = read_page(ch1, 7)  # a table and a コラム box of paragraphs
    assert page_7.regions == []
    assert read_page(ch1, 2).regions == []


def test_cio_figures_images_and_a_vector_diagram():
    cio = shared_pdf(CIO)
    expected = {4: "図 1 メタデータのイメージ", 5: "図 2 メタデータの構造イメージ", 6: "図 3 詳細メタデータ（DCAT）",
                8: "図 4 医療機関の一覧", 12: "図 6 共通的なタグ活用のイメージ"}
    for number in range(1, 16):
        result = read_page(cio, number, body_size=10.5)
        if number in expected:
            assert result.figure_captions == [expected[number]], number
        else:
            assert result.regions == [], number  # the 要旨 box (p1), the 目次 bullets (p2), text pages
    diagram = read_page(cio, 12)
    inside = text_in(diagram.glyphs, diagram.regions[0])
    assert "自動車のエンジン" in inside and "メタデータで検索" in inside and "企業提供コンテンツ" in inside
    assert "会議資料" not in inside
