"""The sample edition: PDF layout features the pipeline relies on, and the listing page."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pdfplumber
import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `samples` is a top-level package, not installed
    sys.path.insert(0, str(ROOT))

from samples import (  # noqa: E402
    COUNTRY_CHAPTERS,
    EXPECTED_TECHNOLOGIES,
    SAMPLE_EDITION,
    SAMPLE_PUBLISHER,
    SAMPLE_TITLE,
)
from samples.build import (  # noqa: E402
    BODY_FONT,
    HEADING_FONT,
    LISTING_FRAGMENT,
    Columns,
    Para,
    TableBlock,
    build_listing_html,
    build_sample_pdf,
    build_text_pdf,
    listing_entries,
    load_edition,
    looks_like_heading,
    main,
    parse_edition,
)

SUMMARY = Path(__file__).resolve().parents[2] / "shared" / "reference" / "fy2024-rr02-executive-summary.txt"
FOOTER_RE = re.compile(r"^- (\d+) -$")


def _pages_text(pdf_path: Path) -> list[str]:
    with pdfplumber.open(pdf_path) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


def _body(text: str) -> str:
    """Page text without the running header and the footer, wrapped lines joined."""
    lines = text.splitlines()
    if lines and lines[0].startswith(SAMPLE_TITLE + " "):
        lines = lines[1:]
    if lines and FOOTER_RE.match(lines[-1]):
        lines = lines[:-1]
    return "".join(lines)


def _is_font(char: dict, font: str) -> bool:
    # pdfminer reports reportlab's HeiseiKakuGo-W5 as "HeiseKakuGo-W5" (the name in the font
    # descriptor), so compare on the distinctive part.
    return font.split("-")[0].replace("Heisei", "") in char["fontname"]


def _header_chapter(text: str) -> str | None:
    first = text.splitlines()[0] if text else ""
    return first[len(SAMPLE_TITLE) + 1:] if first.startswith(SAMPLE_TITLE + " ") else None


@pytest.fixture(scope="module")
def sample_pdf(tmp_path_factory) -> Path:
    return build_sample_pdf(tmp_path_factory.mktemp("sample") / "sample-report.pdf")


@pytest.fixture(scope="module")
def pages(sample_pdf) -> list[str]:
    return _pages_text(sample_pdf)


def _page_index(pages: list[str], chapter: str) -> int:
    hits = [i for i, t in enumerate(pages) if _header_chapter(t) == chapter]
    assert hits, f"no page has the running header {chapter!r}"
    return hits[0]


# --- the format -------------------------------------------------------------------------------


def test_edition_parses_into_chapters_sections_and_a_table():
    edition = load_edition()
    assert edition.title == SAMPLE_TITLE
    assert edition.meta["publisher"] == SAMPLE_PUBLISHER
    titles = [c.heading.text for c in edition.chapters()]
    assert titles[0] == "第1章 要旨"
    assert titles[1:11] == list(COUNTRY_CHAPTERS)
    assert titles[-1] == "付録 各国の技術リスト"
    assert [c.columns for c in edition.chapters()].count(2) == 1
    tables = [b for b in edition.blocks if isinstance(b, TableBlock)]
    assert len(tables) == 1
    assert tables[0].header == ("国・地域", "文書", "年", "主な技術")
    assert [r[0] for r in tables[0].rows] == list(COUNTRY_CHAPTERS.values())
    for chapter in edition.chapters()[1:11]:
        paras = [b.text for b in chapter.blocks if isinstance(b, Para)]
        assert 600 <= sum(map(len, paras)) <= 1200, chapter.heading.text


def test_sample_text_is_not_copied_from_the_summary():
    if not SUMMARY.exists():
        pytest.skip(f"{SUMMARY} not present")
    summary = SUMMARY.read_text(encoding="utf-8")
    sample = SAMPLE_EDITION.read_text(encoding="utf-8")
    sentences = [s + "。" for s in re.split("。", summary) if len(s) >= 15]
    copied = [s for s in sentences if s.strip() in sample]
    assert copied == []


def test_parse_rejects_a_table_with_a_short_row():
    bad = "# 第1章 表\n\n| a | b |\n|---|---|\n| 1 |\n"
    with pytest.raises(ValueError, match="1 cells"):
        parse_edition(bad)


def test_columns_directive_applies_to_its_chapter():
    edition = parse_edition("# 第1章 甲\n\n本文。\n\n# 第2章 乙\n<!-- columns: 2 -->\n\n本文。\n")
    assert [c.columns for c in edition.chapters()] == [1, 2]
    assert not any(isinstance(b, Columns) for c in edition.chapters() for b in c.blocks)


# --- the sample PDF ---------------------------------------------------------------------------


def test_page_count_and_title_page(pages):
    assert 12 <= len(pages) <= 18
    title_lines = pages[0].splitlines()
    assert title_lines[0] == SAMPLE_TITLE
    assert "2025年4月" in title_lines and SAMPLE_PUBLISHER in title_lines
    assert not any(FOOTER_RE.match(line) for line in title_lines)


def test_every_later_page_has_running_header_and_page_number_footer(pages):
    for number, text in enumerate(pages[1:], start=2):
        lines = text.splitlines()
        assert lines[0].startswith(SAMPLE_TITLE + " "), number
        assert FOOTER_RE.match(lines[-1]) and int(FOOTER_RE.match(lines[-1]).group(1)) == number


def test_contents_page_numbers_point_at_the_chapters(pages):
    assert _header_chapter(pages[1]) == "目次"
    entries = re.findall(r"^(第\d+章 \S+|付録 \S+)[ .]*?(\d+)$", pages[1], flags=re.M)
    assert len(entries) == 13
    for title, number in entries:
        assert _header_chapter(pages[int(number) - 1]) == title
    assert "4.1 重要技術政策" in pages[1]


def test_fonts_body_mincho_headings_gothic_and_larger(sample_pdf, pages):
    index = _page_index(pages, "第4章 韓国")
    with pdfplumber.open(sample_pdf) as pdf:
        chars = pdf.pages[index].chars
    heading = [c for c in chars if c["text"] in "第4章韓国" and round(c["size"]) == 18]
    body = [c for c in chars if _is_font(c, BODY_FONT)]
    assert heading and all(_is_font(c, HEADING_FONT) for c in heading)
    assert body and {round(c["size"], 1) for c in body} == {10.5, 9.0}  # text, footer
    assert "(cid:" not in pages[index]


def test_body_text_round_trips_exactly_outside_the_two_column_chapter(pages):
    chapters = load_edition().chapters()
    full = "".join(_body(t) for t in pages)
    one_col_paras = [
        b.text for c in chapters if c.columns == 1 for b in c.blocks if isinstance(b, Para)
    ]
    two_col_paras = [
        b.text for c in chapters if c.columns == 2 for b in c.blocks if isinstance(b, Para)
    ]
    assert len(one_col_paras) > 40
    assert [p for p in one_col_paras if p not in full] == []
    # read straight across, lines of the two columns interleave where they sit side by side
    assert two_col_paras[0].startswith("本書で取り上げた") and two_col_paras[0] not in full


def test_body_paragraphs_have_a_first_line_indent(sample_pdf, pages):
    index = _page_index(pages, "第2章 中国")
    with pdfplumber.open(sample_pdf) as pdf:
        words = pdf.pages[index].extract_words()
    opening = next(w for w in words if w["text"].startswith("中国は、米中"))
    heading = next(w for w in words if w["text"].startswith("2.1"))
    assert opening["x0"] - heading["x0"] == pytest.approx(10.5, abs=0.5)


def test_each_country_chapter_names_its_expected_technologies(pages):
    for chapter, country in COUNTRY_CHAPTERS.items():
        text = "".join(_body(t) for t in pages if _header_chapter(t) == chapter)
        assert text.startswith(chapter), chapter
        missing = [term for term in EXPECTED_TECHNOLOGIES[country] if term not in text]
        assert missing == [], (country, missing)
    korea = "".join(_body(t) for t in pages if _header_chapter(t) == "第4章 韓国")
    assert "2022年10月に12の国家戦略技術を指定した" in korea


def test_two_column_chapter_has_two_columns_and_a_gutter_line(sample_pdf, pages):
    index = _page_index(pages, "第12章 総括と展望")
    with pdfplumber.open(sample_pdf) as pdf:
        page = pdf.pages[index]
        mid = page.width / 2
        left = "".join(page.crop((0, 0, mid - 2, page.height)).extract_text().splitlines())
        right = "".join(page.crop((mid + 2, 0, page.width, page.height)).extract_text().splitlines())
        gutter = [
            ln for ln in page.lines
            if abs(ln["x0"] - mid) < 1 and abs(ln["x1"] - mid) < 1 and ln["height"] > 300
        ]
    assert gutter
    assert "米中の技術競争は、各国の政策に大きな影響を与えている。" in left
    assert "日米豪印のQUAD、豪英米のAUKUS、米日韓の経済安保対話" in left
    assert "わが国にとって、アジア・太平洋の国々との科学技術協力は" in right
    assert "英仏独" in left + right


def test_appendix_table_is_found_by_extract_tables(sample_pdf, pages):
    index = _page_index(pages, "付録 各国の技術リスト")
    with pdfplumber.open(sample_pdf) as pdf:
        tables = pdf.pages[index].extract_tables()
    assert len(tables) == 1
    table = [[(cell or "").replace("\n", "") for cell in row] for row in tables[0]]
    assert table[0] == ["国・地域", "文書", "年", "主な技術"]
    rows = {row[0]: row for row in table[1:]}
    assert list(rows) == list(COUNTRY_CHAPTERS.values())
    assert rows["韓国"][1:3] == ["国家戦略技術", "2022"]
    assert rows["韓国"][3].count("、") == 11  # 12 items
    assert rows["英国"][3] == "人工知能、エンジニアリングバイオロジー、将来の通信、半導体、量子技術"
    assert rows["EU"][2] == "2023" and "4分野" in rows["EU"][3]
    assert rows["ドイツ"][2] == "―"


def test_same_input_gives_same_bytes(sample_pdf, tmp_path):
    again = build_sample_pdf(tmp_path / "again.pdf")
    assert again.read_bytes() == sample_pdf.read_bytes()


def test_edition_note_makes_a_different_edition(sample_pdf, tmp_path):
    note = "第2版：英国の重要技術を5から6に変更"
    second = build_sample_pdf(tmp_path / "second.pdf", edition_note=note)
    assert second.read_bytes() != sample_pdf.read_bytes()
    text = "".join(_body(t) for t in _pages_text(second))
    assert f"【改訂注記】{note}" in text
    assert build_sample_pdf(tmp_path / "second-again.pdf", edition_note=note).read_bytes() == (
        second.read_bytes()
    )


def test_source_override_renders_another_file(tmp_path):
    source = tmp_path / "other.md"
    source.write_text(
        "---\ntitle: 別の報告書\ndate: 2026年1月\npublisher: テスト\n---\n"
        "# 第1章 概要\n\n## 1.1 目的\n\nカナダは、量子技術の国家戦略を持つ。\n\n"
        "# 第2章 表\n\n| 国 | 技術 |\n|---|---|\n| カナダ | 量子技術 |\n",
        encoding="utf-8",
    )
    out = build_sample_pdf(tmp_path / "other.pdf", source=source)
    texts = _pages_text(out)
    assert texts[0].splitlines()[0] == "別の報告書"
    assert "カナダは、量子技術の国家戦略を持つ。" in "".join(_body(t) for t in texts)
    with pdfplumber.open(out) as pdf:
        assert pdf.pages[-1].extract_tables() == [[["国", "技術"], ["カナダ", "量子技術"]]]


# --- plain text → PDF -------------------------------------------------------------------------


def test_heading_heuristic():
    assert looks_like_heading("エグゼクティブ・サマリー")
    assert not looks_like_heading("https://spap.jst.go.jp/investigation/report_2022.html#fy24_rr02")
    assert not looks_like_heading("調査対象とした国・地域の結果概要は以下の通りである。")
    assert not looks_like_heading("2025年4月1日 JSTアジア・太平洋総合研究センター")


def test_text_pdf_from_the_shared_executive_summary(tmp_path):
    if not SUMMARY.exists():
        pytest.skip(f"{SUMMARY} not present")
    out = build_text_pdf(SUMMARY.read_text(encoding="utf-8"), tmp_path / "summary.pdf")
    with pdfplumber.open(out) as pdf:
        assert len(pdf.pages) >= 2
        texts = [p.extract_text() for p in pdf.pages]
        heading_chars = [
            c for p in pdf.pages for c in p.chars
            if _is_font(c, HEADING_FONT) and c["size"] > 12
        ]
    for number, text in enumerate(texts, start=1):
        assert text.splitlines()[-1] == f"- {number} -"
    joined = "".join("".join(t.splitlines()[:-1]) for t in texts)
    for fact in (
        "12の技術を国家戦略技術として位置づけ",
        "20の優先技術分野を指定し",
        "5つの重要技術",
        "経済安全保障上重要な10の技術を特定",
        "「8大新興技術産業」と「9大未来産業」",
        "https://spap.jst.go.jp/investigation/report_2022.html#fy24_rr02",
    ):
        assert fact in joined, fact
    assert "エグゼクティブ・サマリー" in "".join(c["text"] for c in heading_chars)
    again = build_text_pdf(SUMMARY.read_text(encoding="utf-8"), tmp_path / "again.pdf")
    assert again.read_bytes() == out.read_bytes()


def test_text_pdf_title_and_wrapping(tmp_path):
    long = "重要技術" * 200 + "。"
    out = build_text_pdf(f"{long}\n短い見出し\n", tmp_path / "t.pdf", title="表題")
    with pdfplumber.open(out) as pdf:
        lines = pdf.pages[0].extract_text().splitlines()
    assert lines[0] == "表題"
    assert len(lines) > 10  # wrapped at characters, not one long line
    assert "".join(lines[1:-2]) == long and lines[-2] == "短い見出し"


# --- listing page -----------------------------------------------------------------------------


def test_listing_page_links_the_pdf_under_the_fragment(tmp_path):
    out = build_listing_html(listing_entries("sample-report.pdf"), tmp_path / "report_2022.html")
    soup = BeautifulSoup(out.read_text(encoding="utf-8"), "html.parser")
    entry = soup.find(id=LISTING_FRAGMENT)
    assert entry is not None and "新興技術政策の国際動向" in entry.get_text()
    assert "2025年4月1日" in entry.get_text()
    links = entry.find_all("a", href=True)
    assert [(a.get_text(), a["href"]) for a in links] == [("PDF", "sample-report.pdf")]
    all_pdfs = [a["href"] for a in soup.find_all("a", href=re.compile(r"\.pdf$"))]
    assert len(all_pdfs) == 3 and all_pdfs[0] != "sample-report.pdf"  # first link is another report
    assert len({e["id"] for e in soup.select("div.report")}) == 3


def test_listing_rejects_duplicate_ids(tmp_path):
    entry = {"id": "a", "title": "t", "date": "d", "href": "x.pdf"}
    with pytest.raises(ValueError, match="duplicate"):
        build_listing_html([entry, dict(entry)], tmp_path / "l.html")


def test_cli_writes_pdf_and_listing(tmp_path, capsys):
    assert main(["--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.split()
    pdf, listing = tmp_path / "sample-report.pdf", tmp_path / "report_2022.html"
    assert printed == [str(pdf), str(listing)]
    assert pdf.read_bytes()[:5] == b"%PDF-"
    soup = BeautifulSoup(listing.read_text(encoding="utf-8"), "html.parser")
    assert soup.find(id=LISTING_FRAGMENT).find("a")["href"] == "sample-report.pdf"
    assert (listing.parent / soup.find(id=LISTING_FRAGMENT).find("a")["href"]).exists()


def test_every_summary_paragraph_of_the_sample_has_its_country(sample_pdf, nlp, lexicon):
    """The sample's summary paragraphs open with their country as topic, also as a possessive
    (インドの政策文書には…): each gets that subject, so the summary's claims can be checked."""
    from pipeline.attribute import attribute
    from pipeline.extract import extract_pdf
    from pipeline.segment import segment
    from pipeline.tag import tag_tokens
    from pipeline.tokenize import tokenize_sentences

    seg = segment(extract_pdf(sample_pdf, workers=1))
    att = attribute(seg, tag_tokens(nlp, lexicon, tokenize_sentences(seg.sentences)), lexicon)
    subject = {s.sentence_id: s.subject for s in att.sentences}
    india = [s for s in seg.sentences if s.text.startswith("インドの政策文書には")]
    assert india and all(subject[s.sentence_id] == "IN" for s in india)


# What the second sample's executive summary states (its own facts and figures, as claims).
AI_POLICY_CLAIMS = {
    "SG names ai", "SG names quantum", "JP names ai", "JP names semiconductors", "JP names quantum",
    "KR names ai", "KR names semiconductors", "IN names ai", "VN names ai", "VN names semiconductors",
    "TH names ai", "TH names biotechnology", "ID names ai", "ID names digital", "AU names ai", "AU names quantum",
    "SG: 3 重点分野 (2023)", "IN: 5 重点分野 (2018)", "VN: 6 重点技術 (2021)", "ID: 5 優先分野 (2020)",
    "SG partner US", "SG partner GB", "JP framework G7", "KR partner US", "IN framework QUAD", "VN partner JP",
    "VN partner KR", "AU framework AUKUS",
}


@pytest.fixture(scope="module")
def ai_policy_pdf(tmp_path_factory) -> Path:
    from samples import AI_POLICY_EDITION

    return build_sample_pdf(tmp_path_factory.mktemp("ai-policy") / "ai-policy.pdf", source=AI_POLICY_EDITION)


def test_a_second_report_has_its_summarys_claims_read_and_matched_by_its_body(ai_policy_pdf, nlp, lexicon):
    """Another subject, other countries and counts, written after the rules: the claims read from
    its summary are exactly what the summary states, and its body chapters support every one."""
    from stages import check_pdf

    seg, claims, findings = check_pdf(nlp, lexicon, ai_policy_pdf)
    assert [s.heading for s in seg.sections if s.role == "summary"] == ["第1章 エグゼクティブ・サマリー"]
    assert {c.text for c in claims} == AI_POLICY_CLAIMS
    assert [(f.claim, f.status, f.detail) for f in findings if f.status != "matched"] == []
    # 医療 and 農業 are sectors (India's 5 areas), 15の行動 are actions, 2030年まで is a deadline:
    # none of them is a claim.
    assert not [c for c in claims if c.technology in ("medtech", "agritech") or c.count == 15 or c.year == 2030]
