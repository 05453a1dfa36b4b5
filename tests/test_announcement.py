"""Announcement pages as a source: the page → listing entry → PDF chain over the loopback server,
the page reader on hostile input, year-month dates, and announcement sources in sources.toml."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from httpserver import Reply
from pipeline.acquire import AcquireConfig, acquire, find_report_links, load_manifest, parse_date, parse_date_or_month
from pipeline.announcement import Announcement, clean_text, is_furniture, parse_announcement, scan_announcement
from pipeline.errors import AcquireError, SourceError, TransientAcquireError
from pipeline.sources import Report, Source, discover, load_sources
from samples.build import LISTING_FRAGMENT, build_announcement_html, build_listing_html, listing_entries
from test_acquire import make_pdf

REFERENCE = "reference/fy2024-rr02-executive-summary.txt"
PAGE_PATH = "/other_asia/experience/2025/topic_et_06.html"
LISTING_PATH = "/investigation/report_2022.html"
PDF_PATH = "/investigation/sample-report.pdf"
TITLE = "【調査報告書】『新興技術政策の国際動向（サンプル）』"
DATE_LINE = "2025年4月1日 JSTアジア・太平洋総合研究センター"
SUMMARY = ("第一段落の本文である。", "中国は、AIを重視している。", "米国は2020年に20の分野を定めた。")


def cfg(tmp_path: Path) -> AcquireConfig:
    return AcquireConfig(raw_dir=tmp_path / "raw")


def pdfs_in_raw(tmp_path: Path) -> list[str]:
    raw = tmp_path / "raw"
    return sorted(p.name for p in raw.iterdir() if p.suffix == ".pdf") if raw.exists() else []


# ---------------------------------------------------------------------------------------------
# The reference page's summary, read from ../shared at run time


def reference_summary(shared: Path) -> tuple[str, ...]:
    """The paragraphs after the file's エグゼクティブ・サマリー line, up to 上へ戻る: blank lines
    separate paragraphs, a paragraph's lines join without spaces."""
    path = shared / REFERENCE
    if not path.is_file():
        pytest.skip(f"{path} is not there")
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    start = lines.index("エグゼクティブ・サマリー") + 1
    paragraphs, current = [], []
    for line in lines[start:]:
        if line == "上へ戻る":
            break
        if line:
            current.append(line)
        elif current:
            paragraphs.append("".join(current))
            current = []
    if current:
        paragraphs.append("".join(current))
    assert len(paragraphs) >= 5
    return tuple(paragraphs)


@pytest.fixture(scope="module")
def reference(shared_dir) -> tuple[str, ...]:
    return reference_summary(shared_dir)


def wrapped(paragraph: str) -> str:
    """The paragraph with a line break between two Japanese characters near its middle, as HTML
    source wraps long lines: the reader must join it without a space."""
    for i in range(len(paragraph) // 2, len(paragraph) - 1):
        if re.match(r"[\u3040-\u30ff\u4e00-\u9fff]{2}", paragraph[i - 1:i + 1]):
            return paragraph[:i] + "\n      " + paragraph[i:]
    return paragraph


class Site:
    """JST's site in miniature on the loopback server: the listing (fy24_rr02 dated only
    2025年4月, as the real listing is), the PDF, and announcement pages."""

    def __init__(self, server, tmp_path: Path) -> None:
        self.server = server
        self.dir = tmp_path / "site"
        self.pdf = make_pdf("fy24_rr02")
        page = build_listing_html(listing_entries("sample-report.pdf", month_only=True), self.dir / "report_2022.html")
        self.listing_url = server.serve_html(LISTING_PATH, page.read_text(encoding="utf-8"))
        server.serve_pdf(PDF_PATH, self.pdf, etag='"v1"')
        self.pdf_url = server.url(PDF_PATH)
        self.entry_url = f"{self.listing_url}#{LISTING_FRAGMENT}"

    def announce(self, path: str = PAGE_PATH, *, report_url: str | None = None, summary=SUMMARY,
                 date_line: str = DATE_LINE, title: str = TITLE, **layout) -> str:
        out = self.dir / path.strip("/").replace("/", "_")
        page = build_announcement_html(title, date_line, report_url or self.entry_url, list(summary), out, **layout)
        return self.server.serve_html(path, page.read_text(encoding="utf-8"))


@pytest.fixture
def site(http_server, tmp_path) -> Site:
    return Site(http_server, tmp_path)


# ---------------------------------------------------------------------------------------------
# acquire: page → listing entry → PDF


LAYOUTS = [
    pytest.param(dict(heading="h3", link_after=False, wrap=True), id="h3-link-before-div"),
    pytest.param(dict(heading="strong", link_after=False, wrap=False), id="strong-link-before-bare"),
    pytest.param(dict(heading="h3", link_after=True, wrap=False), id="h3-link-after-bare"),
    pytest.param(dict(heading="strong", link_after=True, wrap=True), id="strong-link-after-div"),
]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_page_listing_pdf_chain_gives_entry_month_and_the_pages_summary(site, reference, tmp_path, layout):
    page_url = site.announce(summary=[wrapped(p) for p in reference], **layout)

    got = acquire(page_url, cfg(tmp_path))

    assert got.report_id == LISTING_FRAGMENT
    assert got.published == "2025-04"  # the listing's month, not the page's day nor the fetch day
    assert got.title == "【調査報告書】新興技術政策の国際動向（サンプル版）"  # the listing entry's title
    assert got.url == site.pdf_url and got.path.read_bytes() == site.pdf
    assert got.source == page_url
    ann = got.announcement
    assert isinstance(ann, Announcement)
    assert ann.url == page_url and ann.report_url == site.entry_url
    assert ann.title == TITLE and ann.published == "2025-04-01"
    assert ann.summary_heading == "エグゼクティブ・サマリー"
    assert ann.summary == reference  # paragraph for paragraph, lines joined without spaces
    # one GET each: the page, the listing, the PDF
    assert [r.path for r in site.server.requests] == [PAGE_PATH, LISTING_PATH, PDF_PATH]
    (line,) = load_manifest(tmp_path / "raw")
    assert line["announcement"] == page_url and line["source"] == page_url
    assert (line["report_id"], line["published"], line["url"]) == ("fy24_rr02", "2025-04", site.pdf_url)


def test_rerun_of_an_announcement_source_revalidates_the_pdf(site, tmp_path):
    page_url = site.announce()
    first = acquire(page_url, cfg(tmp_path))
    again = acquire(page_url, cfg(tmp_path))

    assert not first.not_modified and again.not_modified
    assert again.path == first.path and again.announcement == first.announcement
    assert again.report_id == "fy24_rr02" and again.published == "2025-04"
    assert load_manifest(tmp_path / "raw")[-1]["announcement"] == page_url
    assert site.server.requests_for(PDF_PATH)[-1].headers.get("if-none-match") == '"v1"'


@pytest.mark.parametrize("date_line, published", [(DATE_LINE, "2025-04-01"), ("令和7年4月 JST", "2025-04")])
def test_page_linking_straight_to_a_pdf(site, tmp_path, date_line, published):
    page_url = site.announce(report_url=site.pdf_url, date_line=date_line)

    got = acquire(page_url, cfg(tmp_path))

    assert (got.report_id, got.title, got.published) == ("sample-report", TITLE, published)
    assert got.url == site.pdf_url and got.announcement.report_url == site.pdf_url
    assert got.announcement.summary == SUMMARY
    assert site.server.count(LISTING_PATH) == 0 and site.server.count(PDF_PATH) == 1
    assert load_manifest(tmp_path / "raw")[0]["announcement"] == page_url


def test_listing_entry_without_a_date_falls_back_to_the_pages(http_server, site, tmp_path):
    http_server.serve_html("/undated.html", '<div id="rr9"><h3>日付のない報告書</h3><a href="/investigation/sample-report.pdf">PDF</a></div>')
    page_url = site.announce(report_url=http_server.url("/undated.html#rr9"))

    got = acquire(page_url, cfg(tmp_path))

    assert (got.report_id, got.title, got.published) == ("rr9", "日付のない報告書", "2025-04-01")


def test_announcement_url_with_a_fragment_that_is_no_entry_is_still_followed(site, tmp_path):
    page_url = site.announce()

    got = acquire(page_url + "#top", cfg(tmp_path))

    assert got.report_id == "fy24_rr02" and got.announcement.url == page_url


def test_a_pdf_url_still_costs_exactly_one_request(http_server, tmp_path):
    url = http_server.serve_pdf("/docs/report.pdf", make_pdf("one"))

    got = acquire(url, cfg(tmp_path))

    assert got.announcement is None and got.report_id is None
    assert len(http_server.requests) == 1
    assert "announcement" not in load_manifest(tmp_path / "raw")[0]


def test_a_listing_page_without_fragment_keeps_the_old_hint(site, tmp_path):
    with pytest.raises(AcquireError) as info:
        acquire(site.listing_url, cfg(tmp_path))

    assert not isinstance(info.value, TransientAcquireError)
    assert "HTML page, not a PDF" in info.value.what
    assert "This page lists reports, e.g. #fy24_rr03, #fy24_rr02" in info.value.todo
    assert len(site.server.requests) == 1 and pdfs_in_raw(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# acquire: pages that cannot be followed


@pytest.mark.parametrize("link", ["#top", "javascript:void(0)", "mailto:spap@example.org"])
def test_page_without_a_report_link_is_a_clear_error(site, tmp_path, link):
    page_url = site.announce(report_url=link)

    with pytest.raises(AcquireError) as info:
        acquire(page_url, cfg(tmp_path))

    assert not isinstance(info.value, TransientAcquireError)
    assert f"the announcement page {page_url} gives no usable report link" in info.value.what
    assert "no link to a listing entry" in info.value.what
    assert "listing entry" in info.value.todo and "PDF" in info.value.todo
    assert len(site.server.requests) == 1 and pdfs_in_raw(tmp_path) == []


def test_page_linking_only_to_itself_is_a_clear_error(site, tmp_path):
    page_url = site.server.url(PAGE_PATH)
    site.announce(report_url=page_url + "#fy24_rr02")

    with pytest.raises(AcquireError) as info:
        acquire(page_url, cfg(tmp_path))

    assert "gives no usable report link: its only links point to the page itself" in info.value.what
    assert len(site.server.requests) == 1  # no loop


def test_page_linking_to_another_announcement_page_is_a_clear_error(site, tmp_path):
    other = site.announce("/other_asia/experience/2025/topic_et_07.html")  # links to the listing
    page_url = site.announce(report_url=other + "#fy24_rr02")

    with pytest.raises(AcquireError) as info:
        acquire(page_url, cfg(tmp_path))

    assert f"the report link of the announcement page {page_url} leads to another announcement page" in info.value.what
    assert "jstmine follows one announcement page only" in info.value.what
    assert "listing entry" in info.value.todo
    assert site.server.count(LISTING_PATH) == 0 and pdfs_in_raw(tmp_path) == []  # the second page is not followed


def test_pdf_link_serving_an_announcement_page_is_a_clear_error(site, tmp_path):
    other = site.announce("/other_asia/experience/2025/topic_et_07.html")
    site.server.redirect("/files/report.pdf", other)
    page_url = site.announce(report_url=site.server.url("/files/report.pdf"))

    with pytest.raises(AcquireError, match="leads to another announcement page") as info:
        acquire(page_url, cfg(tmp_path))

    assert other in info.value.what  # the final URL is named
    assert site.server.count(LISTING_PATH) == 0 and pdfs_in_raw(tmp_path) == []


def test_link_redirecting_back_to_the_page_is_a_clear_error(site, tmp_path):
    page_url = site.server.url(PAGE_PATH)
    site.server.redirect("/alias.html", PAGE_PATH)
    site.announce(report_url=site.server.url("/alias.html#fy24_rr02"))

    with pytest.raises(AcquireError, match="leads back to itself"):
        acquire(page_url, cfg(tmp_path))
    assert site.server.count(PAGE_PATH) == 2  # the page, then the alias's target once: no loop


def test_page_with_several_candidate_links_is_a_clear_error(site, tmp_path):
    page_url = site.server.serve_html(PAGE_PATH, f"""<html><body><main>
      <h2>{TITLE}</h2><p>{DATE_LINE}</p>
      <p>本編 <a href="{site.entry_url}">一覧</a> 別冊 <a href="/investigation/annex.pdf">PDF</a></p>
      <h3>エグゼクティブ・サマリー</h3><p>{SUMMARY[0]}</p></main></body></html>""")

    with pytest.raises(AcquireError) as info:
        acquire(page_url, cfg(tmp_path))

    assert "gives 2 candidate report links and does not say which one is the report" in info.value.what
    assert site.entry_url in info.value.what and site.server.url("/investigation/annex.pdf") in info.value.what
    assert "give one of those links" in info.value.todo
    assert len(site.server.requests) == 1


def test_html_without_summary_or_single_link_is_the_old_html_error(http_server, tmp_path):
    url = http_server.serve_html("/r.pdf", "<html><body><h1>ログインしてください</h1><a href='/a.pdf'>a</a>"
                                           "<a href='/b.pdf'>b</a></body></html>")
    with pytest.raises(AcquireError, match="HTML page, not a PDF"):
        acquire(url, cfg(tmp_path))


# ---------------------------------------------------------------------------------------------
# parse_announcement (pure)

BASE = "https://spap.jst.go.jp/other_asia/experience/2025/topic_et_06.html"
ENTRY = "https://spap.jst.go.jp/investigation/report_2022.html#fy24_rr02"


def page(content: str, head: str = "<title>タイトル | JST</title>") -> str:
    return (f"<!DOCTYPE html><html><head>{head}</head><body>"
            '<header><h1>JST</h1><nav><a href="/investigation/report_2022.html#fy24_rr01">一覧</a>'
            '<a href="/pdf/brochure.pdf">PDF</a></nav></header>'
            f"{content}"
            '<footer><a href="/sitemap.html#x">サイトマップ</a><a href="/policy.pdf">方針</a></footer></body></html>')


def test_summary_runs_to_the_next_heading_of_the_same_rank_and_joins_br_without_space():
    html = page(f"""<div id="contents"><h2>報告書の題名</h2><p>2025年4月1日</p>
      <p><a href="/investigation/report_2022.html#fy24_rr02">{ENTRY}</a></p>
      <h3>【エグゼクティブ・サマリー】</h3>
      <p>一行目<br>二行目<br/>
         三行目</p>
      <h4>中国</h4>
      <ul><li>項目1</li><li>項目2<ul><li>入れ子</li></ul></li></ul>
      <p>English <b>words</b>
         stay apart.</p>
      <h3>関連リンク</h3><p>これは要約ではない。</p></div>""")
    ann = parse_announcement(html, BASE)
    assert ann.summary_heading == "【エグゼクティブ・サマリー】"
    assert ann.summary == ("一行目二行目三行目", "中国", "項目1", "項目2", "入れ子", "English words stay apart.")
    assert (ann.title, ann.published, ann.report_url) == ("報告書の題名", "2025-04-01", ENTRY)


@pytest.mark.parametrize("end", [
    '<p class="pagetop"><a href="#top">▲ ページの先頭へ</a></p>',
    '<a href="#top">Page top</a>',
    "<nav><p>メニュー</p></nav>",
    "<footer><p>著作権</p></footer>",
    "<h2>次の話題</h2>",
    "<aside><p>関連記事</p></aside>",
])
def test_summary_stops_at_furniture_nav_footer_or_a_higher_heading(end):
    html = f"""<html><body><h2>題名</h2><p><a href="{ENTRY}">リンク</a></p>
      <h3>要旨</h3><p>要旨の本文。</p>{end}<p>続きではない。</p></body></html>"""
    ann = parse_announcement(html, BASE)
    assert ann.summary == ("要旨の本文。",)


def test_link_before_the_summary_is_preferred_over_links_inside_it():
    html = page(f"""<main><h2>題名</h2><p><a href="{ENTRY}">ダウンロード</a></p>
      <p><strong>要旨</strong></p><p>詳細は<a href="/pdf/annex.pdf">別紙</a>を参照。</p></main>""")
    scan = scan_announcement(html, BASE)
    assert scan.announcement.report_url == ENTRY
    assert scan.links == (ENTRY, "https://spap.jst.go.jp/pdf/annex.pdf")
    assert scan.announcement.summary == ("詳細は別紙を参照。",)


def test_links_in_nav_header_footer_and_in_page_anchors_are_never_report_links():
    html = page("""<main><h2>題名</h2><p>2025年4月1日</p>
      <p><a href="#top">上</a> <a href="topic_et_06.html#s1">ここ</a> <a href="javascript:go()">js</a>
         <a href="mailto:a@example.org">mail</a></p><h3>要旨</h3><p>本文。</p></main>""")
    scan = scan_announcement(html, BASE)
    assert scan.announcement is None and scan.links == ()
    assert scan.self_links == (BASE + "#s1",)
    assert scan.looks_like_announcement and "point to the page itself" in scan.problem


def test_a_listing_page_is_no_announcement(tmp_path):
    listing = build_listing_html(listing_entries("sample-report.pdf"), tmp_path / "report_2022.html")
    html = listing.read_text(encoding="utf-8")
    assert parse_announcement(html, "https://spap.jst.go.jp/investigation/report_2022.html") is None
    assert parse_announcement("<html><body><p>no links</p></body></html>", BASE) is None
    assert parse_announcement("", BASE) is None


def test_page_without_summary_but_one_report_link_and_title_from_title_tag():
    ann = parse_announcement('<html><head><title> 報告書\n公開 </title></head><body><p>2025/4 公開</p>'
                             '<a href="/pdf/fy24_rr02.pdf#page=2">PDF</a></body></html>', BASE)
    assert ann.summary_heading is None and ann.summary == ()
    assert ann.title == "報告書公開" and ann.published == "2025-04"
    assert ann.report_url == "https://spap.jst.go.jp/pdf/fy24_rr02.pdf"  # the viewer fragment dropped


def test_time_datetime_base_href_and_bytes_with_a_charset():
    html = ('<html><head><base href="https://cdn.example.org/r/"></head><body><article><header><h1>題名</h1>'
            '<time datetime="2024-11-05">11月5日</time></header><p><a href="x.pdf">PDF</a></p>'
            "<h2>概要</h2><p>本文です。</p></article></body></html>")
    ann = parse_announcement(html.encode("shift_jis"), BASE, "shift_jis")
    assert (ann.title, ann.published, ann.report_url) == ("題名", "2024-11-05", "https://cdn.example.org/r/x.pdf")
    assert ann.summary == ("本文です。",)


def test_control_characters_and_terminal_escapes_are_stripped():
    title = "\x1b[31m報告\x1b[0m書\x1b]0;pwned\x07の\x07題\u202e名\x9b2J\x00"
    ann = parse_announcement(f"<h2>{title}</h2><p><a href='{ENTRY}'>x</a></p><h3>要旨</h3>"
                             f"<p>本文\x1b[2J\x08です。</p>", BASE)
    assert ann.title == "報告書の題名"
    assert ann.summary == ("本文です。",)
    assert clean_text("a\x1b[1;31mb\x1bc \n 日本 \n x  y") == "ab日本x y"
    assert is_furniture("上へ戻る") and is_furniture("▲PAGE TOP") and not is_furniture("上へ戻るには")


def test_deeply_nested_and_huge_pages_are_read_in_linear_time():
    depth = 50_000
    nested = ("<div>" * depth + f"<h2>題名</h2><p><a href='{ENTRY}'>x</a></p><h3>要旨</h3><p>深い本文。</p>"
              + "</div>" * depth)
    started = time.perf_counter()
    ann = parse_announcement(nested, BASE)
    assert ann.summary == ("深い本文。",) and ann.report_url == ENTRY

    paragraph = "<p>" + "長い段落。" * 200 + "</p>\n"
    huge = f"<h2>題名</h2><p><a href='{ENTRY}'>x</a></p><h3>要旨</h3>" + paragraph * 3000  # ≈ 9 MB
    ann = parse_announcement(huge.encode("utf-8"), BASE, "utf-8")
    assert len(ann.summary) == 3000
    many_links = "<h2>題名</h2>" + "".join(f"<p><a href='/p/{i}.pdf'>{i}</a></p>" for i in range(20_000))
    assert parse_announcement(many_links, BASE) is None
    assert time.perf_counter() - started < 120


# ---------------------------------------------------------------------------------------------
# Year-month dates


@pytest.mark.parametrize("text, expected", [
    ("2025年4月", "2025-04"),
    ("令和7年4月", "2025-04"),
    ("令和元年5月", "2019-05"),
    ("2025/4", "2025-04"),
    ("2025-04", "2025-04"),
    ("２０２５年４月", "2025-04"),
    ("2025年4月 公開（2025年4月1日 更新）", "2025-04-01"),  # a full date anywhere wins
    ("2025年4月1日", "2025-04-01"),
    ("2025年度", None),
    ("2025/13", None),
    ("2024-2025", None),
    ("10.2025/4", None),
    ("", None),
    (None, None),
])
def test_parse_date_or_month(text, expected):
    assert parse_date_or_month(text) == expected
    if expected and len(expected) == 7:
        assert parse_date(text) is None  # parse_date keeps giving full dates only


def test_listing_entries_with_only_a_month_and_a_full_date_elsewhere():
    html = """<div id="a"><h3>A</h3><p class="date">2025年4月</p><a href="a.pdf">PDF</a></div>
      <div id="b"><h3>B</h3><p class="date">2025年4月</p><p>公開 2025年4月8日</p><a href="b.pdf">PDF</a></div>
      <div id="c"><h3>C</h3><span>令和7年3月</span><a href="c.pdf">PDF</a></div>"""
    links = find_report_links(html, "https://example.org/list.html")
    assert [(x["id"], x["date"]) for x in links] == [("a", "2025-04"), ("b", "2025-04-08"), ("c", "2025-03")]


def test_month_only_listing_entry_names_the_month(site, tmp_path):
    got = acquire(site.entry_url, cfg(tmp_path))
    assert (got.report_id, got.published) == ("fy24_rr02", "2025-04")


# ---------------------------------------------------------------------------------------------
# sources.toml: announcement sources


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_announcement_sources_are_loaded(tmp_path):
    a, b = load_sources(write(tmp_path, '''
[[source]]
name = "page"
announcement = " https://spap.jst.go.jp/other_asia/experience/2025/topic_et_06.html "
expectations = { fy24_rr02 = "fy24_rr02" }

[[source]]
name = "pages"
announcements = ["https://e.org/a.html", "https://e.org/b.html", "https://e.org/a.html"]
expectations = "fy24_rr02"
'''))
    assert a == Source(name="page", announcements=("https://spap.jst.go.jp/other_asia/experience/2025/topic_et_06.html",),
                       expectations_by_entry=(("fy24_rr02", "fy24_rr02"),))
    assert a.listing is None and a.follows("anything")
    assert b.announcements == ("https://e.org/a.html", "https://e.org/b.html")
    assert b.expectations_for("x") == "fy24_rr02"


S = '[[source]]\nname = "x"\n'


@pytest.mark.parametrize("text, what", [
    (S + 'announcement = "https://e.org/a.html"\nlisting = "https://e.org/l.html"', "announcement is given with listing"),
    (S + 'announcement = "https://e.org/a.html"\nentries = ["a"]', "announcement is given with entries"),
    (S + 'announcements = ["https://e.org/a.html"]\nlink_pattern = "a"', "announcements is given with link_pattern"),
    (S + 'announcement = "https://e.org/a.html"\nannouncements = ["https://e.org/b.html"]',
     "both announcement and announcements"),
    (S + 'announcement = ["https://e.org/a.html"]', "announcement must be one URL string"),
    (S + "announcement = 3", "announcement must be a URL string"),
    (S + 'announcement = ""', "announcement must be a URL string"),
    (S + "announcements = []", "announcements must be a non-empty list"),
    (S + 'announcements = "https://e.org/a.html"', "announcements must be a non-empty list"),
    (S + 'announcements = ["https://e.org/a.html", 3]', "announcements must be a list of URL strings"),
    (S + 'announcement = "ftp://e.org/a.html"', "scheme 'ftp:'"),
    (S + 'announcement = "e.org/a.html"', "no scheme"),
    (S + 'announcement = "https:///a.html"', "no host"),
    (S + 'announcement = "https://e.org/a.html#fy24_rr02"', "has a #fragment"),
    (S + 'announcement = "https://e.org/r.pdf"', "is a PDF, not an announcement page"),
    (S + 'announcement = "https://e.org/a.html"\nexpectations = "nope"', "no expectations file named 'nope'"),
    (S + 'announcment = "https://e.org/a.html"', "did you mean 'announcement'"),
    (S, "missing key(s) listing (or announcement)"),
])
def test_bad_announcement_sources_say_what_is_wrong(tmp_path, text, what):
    with pytest.raises(SourceError) as info:
        load_sources(write(tmp_path, text))
    assert what in info.value.what
    assert info.value.todo


def test_discover_follows_each_page_to_its_report(site, tmp_path):
    via_listing = site.announce()
    straight = site.announce("/other_asia/experience/2025/topic_et_08.html", report_url=site.pdf_url,
                             date_line="2025年5月 JST")
    source = Source(name="pages", announcements=(via_listing, straight), expectations_by_entry=(("fy24_rr02", "fy24_rr02"),))

    reports = discover(source, config=cfg(tmp_path))

    assert reports == [
        Report(source="pages", entry_id="fy24_rr02", title="【調査報告書】新興技術政策の国際動向（サンプル版）",
               url=site.pdf_url, published="2025-04", listing_url=via_listing, expectations="fy24_rr02"),
        Report(source="pages", entry_id="sample-report", title=TITLE, url=site.pdf_url, published="2025-05",
               listing_url=straight, expectations=None),
    ]
    assert site.server.count(PDF_PATH) == 0  # discovery downloads no PDF
    assert not (tmp_path / "raw").exists()
    # what discover hands on is a source acquire follows the same way
    assert acquire(reports[0].listing_url, cfg(tmp_path)).report_id == "fy24_rr02"


def test_discover_says_what_is_wrong_with_a_page(site, tmp_path):
    no_link = site.announce(report_url="#top")
    with pytest.raises(AcquireError, match="gives no usable report link"):
        discover(Source(name="p", announcements=(no_link,)), config=cfg(tmp_path))
    with pytest.raises(AcquireError, match="is not an announcement page") as info:
        discover(Source(name="p", announcements=(site.listing_url,)), config=cfg(tmp_path))
    assert "#fy24_rr02" in info.value.todo  # it lists reports: a listing page
    with pytest.raises(AcquireError, match="is a PDF, not an announcement page"):
        discover(Source(name="p", announcements=(site.pdf_url,)), config=cfg(tmp_path))
    site.server.route("/busy.html", Reply(status=503))
    with pytest.raises(TransientAcquireError):
        discover(Source(name="p", announcements=(site.server.url("/busy.html"),)), config=cfg(tmp_path))


def test_jstmine_discover_lists_an_announcement_source(site, tmp_path):
    import flows  # noqa: F401  (Prefect's environment before Prefect is imported)
    from flows.main import app

    page_url = site.announce()
    sources = write(tmp_path, f'[[source]]\nname = "loopback-page"\nannouncement = "{page_url}"\n')

    result = CliRunner(env={"COLUMNS": "400", "NO_COLOR": "1", "FORCE_COLOR": None}).invoke(
        app, ["discover", "--sources", str(sources)])

    assert result.exit_code == 0, result.output
    assert "loopback-page" in result.output and "fy24_rr02" in result.output and "2025-04" in result.output
    assert site.pdf_url in result.output and page_url in result.output
    assert site.server.count(PDF_PATH) == 0


def test_listing_entry_whose_pdf_link_serves_html_is_the_html_error(site, tmp_path):
    site.server.serve_html("/list.html", '<div id="r1"><h3>報告書</h3><a href="/r1.pdf">PDF</a></div>')
    site.announce("/r1.pdf")  # an announcement page where the PDF should be

    with pytest.raises(AcquireError, match="HTML page, not a PDF") as info:
        acquire(site.server.url("/list.html#r1"), cfg(tmp_path))
    assert not isinstance(info.value, TransientAcquireError)
    assert site.server.count(LISTING_PATH) == 0 and pdfs_in_raw(tmp_path) == []
