"""sources.toml and discovery: listing pages served by the loopback fixture server only."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from httpserver import Reply
from pipeline.acquire import AcquireConfig
from pipeline.errors import AcquireError, SourceError, TransientAcquireError
from pipeline.sources import (
    DEFAULT_SOURCES,
    Report,
    Source,
    discover,
    discover_all,
    find_source,
    load_sources,
)
from samples.build import build_listing_html


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# sources.toml


def test_default_file_lists_the_jst_page_with_fy24_rr02():
    assert DEFAULT_SOURCES.name == "sources.toml" and DEFAULT_SOURCES.is_file()
    (jst,) = load_sources()
    assert jst.listing == "https://spap.jst.go.jp/investigation/report_2022.html"
    assert jst.entries == ("fy24_rr02",)
    assert jst.expectations_for("fy24_rr02") == "fy24_rr02"
    assert jst.expectations_path("fy24_rr02").is_file()


def test_load_sources_reads_entries_patterns_and_expectations(tmp_path):
    path = write(tmp_path, r'''
[[source]]
name = "jst-apr"
listing = "https://spap.jst.go.jp/investigation/report_2022.html"
entries = ["fy24_rr02", "#fy24_rr01", "fy24_rr02"]
expectations = { fy24_rr02 = "fy24_rr02" }

[[source]]
name = "jst.all-2024"
listing = "http://example.org/list.html"
link_pattern = "fy24_rr\\d+"
expectations = "fy24_rr02"

[[source]]
name = "urls"
listing = "https://example.org/other.html"
link_pattern = '/pdf/2025/.*\.pdf$'
''')
    a, b, c = load_sources(path)

    assert a == Source(name="jst-apr", listing="https://spap.jst.go.jp/investigation/report_2022.html",
                       entries=("fy24_rr02", "fy24_rr01"), link_pattern=None, expectations=None,
                       expectations_by_entry=(("fy24_rr02", "fy24_rr02"),))
    assert a.expectations_for("fy24_rr02") == "fy24_rr02" and a.expectations_for("fy24_rr01") is None
    assert a.follows("fy24_rr01") and not a.follows("fy24_rr03")

    assert b.entries is None and b.link_pattern == r"fy24_rr\d+"
    assert b.follows("fy24_rr07") and not b.follows("fy23_rr01")
    assert b.expectations_for("anything") == "fy24_rr02"  # one name for every entry

    # the pattern is searched in the PDF URL when the id does not match
    assert c.follows("x1", "https://example.org/pdf/2025/a.pdf")
    assert not c.follows("x1", "https://example.org/pdf/2024/a.pdf")
    assert find_source([a, b, c], "urls") is c


@pytest.mark.parametrize("text, what", [
    ("", "lists no source"),
    ("[[source]\nname = 1", "not valid TOML"),
    ('name = "x"', "unknown top-level key"),
    ('source = "x"', "array of tables"),
    ('[[source]]\nlisting = "https://e.org/l.html"\nentries = ["a"]', "missing key(s) name"),
    ('[[source]]\nname = "x"\nentries = ["a"]', "missing key(s) listing"),
    ('[[source]]\nname = "x"\nlisting = "https://e.org/l.html"', "neither entries nor link_pattern"),
    ('[[source]]\nname = "x"\nlisting = "https://e.org/l.html"\nentries = ["a"]\nlink_pattern = "a"',
     "both entries and link_pattern"),
    ('[[source]]\nname = "x"\nlisting = "https://e.org/l.html"\nentries = []', "non-empty list"),
    ('[[source]]\nname = "x"\nlisting = "https://e.org/l.html"\nentries = "a"', "non-empty list"),
    ('[[source]]\nname = "x"\nlisting = "https://e.org/l.html"\nlink_pattern = "fy24_rr(\\\\d+"',
     "not a valid regular expression"),
    ('[[source]]\nname = "x"\nlisting = "ftp://e.org/l.html"\nentries = ["a"]', "scheme 'ftp:'"),
    ('[[source]]\nname = "x"\nlisting = "e.org/l.html"\nentries = ["a"]', "no scheme"),
    ('[[source]]\nname = "x"\nlisting = "https:///l.html"\nentries = ["a"]', "no host"),
    ('[[source]]\nname = "x"\nlisting = "https://e.org/l.html#a"\nentries = ["a"]', "#fragment"),
    ('[[source]]\nname = "a b"\nlisting = "https://e.org/l.html"\nentries = ["a"]', "not a short name"),
    ('[[source]]\nname = "x"\nlisting = "https://e.org/l.html"\nentry = ["a"]', "did you mean 'entries'"),
    ('[[source]]\nname = "x"\nlisting = "https://e.org/l.html"\nentries = ["a"]\nexpectations = "nope"',
     "no expectations file named 'nope'"),
    ('[[source]]\nname = "x"\nlisting = "https://e.org/l.html"\nentries = ["a"]\nexpectations = {b = "fy24_rr02"}',
     "not in entries"),
    ('[[source]]\nname = "x"\nlisting = "https://e.org/l.html"\nentries = ["a"]\nexpectations = 3',
     "expectations must be"),
    ('[[source]]\nname = "x"\nlisting = "https://e.org/l.html"\nentries = ["a"]\n'
     '[[source]]\nname = "x"\nlisting = "https://e.org/m.html"\nentries = ["b"]', "two sources are named 'x'"),
])
def test_bad_sources_files_say_what_is_wrong(tmp_path, text, what):
    with pytest.raises(SourceError) as info:
        load_sources(write(tmp_path, text))
    assert what in info.value.what
    assert info.value.todo  # and what to do about it


def test_missing_sources_file_and_unknown_source_name(tmp_path):
    with pytest.raises(SourceError, match="not found") as info:
        load_sources(tmp_path / "nope.toml")
    assert "[[source]]" in info.value.todo
    with pytest.raises(SourceError, match="did you mean 'jst-apr'") as info:
        find_source(load_sources(), "jst-ap")
    assert "jst-apr" in info.value.todo


# ---------------------------------------------------------------------------------------------
# discover


ENTRIES = [
    {"id": "fy24_rr03", "title": "研究人材の流動", "date": "2025年5月12日", "href": "fy24_rr03.pdf"},
    {"id": "fy24_rr02", "title": "新興技術政策の国際動向", "date": "令和7年4月1日", "href": "../pdf/fy24_rr02.pdf"},
    {"id": "fy24_rr01", "title": "東南アジアのデジタル政策", "date": "2025/3/14", "href": "archive/fy24_rr01.pdf"},
    {"id": "fy23_rr09", "title": "前年度の報告書", "date": "2024-03-29", "href": "/old/fy23_rr09.pdf"},
    {"id": "fy24_memo", "title": "日付のない資料", "date": "近日公開", "href": "/pdf/2025/memo.pdf"},
]


@pytest.fixture
def listing(http_server, tmp_path) -> str:
    html = build_listing_html(ENTRIES, tmp_path / "report_2022.html").read_text(encoding="utf-8")
    return http_server.serve_html("/investigation/report_2022.html", html)


def src(listing: str, **kw) -> Source:
    return Source(name="test", listing=listing, **kw)


def cfg(tmp_path: Path, **kw) -> AcquireConfig:
    return AcquireConfig(raw_dir=tmp_path / "raw", **kw)


def test_discover_by_entries_gives_pdf_title_date_and_listing_url(http_server, listing, tmp_path):
    source = src(listing, entries=("fy24_rr02", "fy23_rr09"), expectations_by_entry=(("fy24_rr02", "fy24_rr02"),))

    reports = discover(source, config=cfg(tmp_path))

    assert reports == [
        Report(source="test", entry_id="fy24_rr02", title="新興技術政策の国際動向",
               url=http_server.url("/pdf/fy24_rr02.pdf"), published="2025-04-01",
               listing_url=listing + "#fy24_rr02", expectations="fy24_rr02"),
        Report(source="test", entry_id="fy23_rr09", title="前年度の報告書",
               url=http_server.url("/old/fy23_rr09.pdf"), published="2024-03-29",
               listing_url=listing + "#fy23_rr09", expectations=None),
    ]
    # one GET of the listing page, with acquire's User-Agent, and no PDF downloaded
    (req,) = http_server.requests
    assert req.path == "/investigation/report_2022.html"
    assert req.headers["user-agent"].startswith("jstmine/")
    assert not (tmp_path / "raw").exists()


def test_discover_by_link_pattern_follows_matching_ids_or_urls_in_page_order(listing, tmp_path):
    by_id = discover(src(listing, link_pattern=r"fy24_rr\d+"), config=cfg(tmp_path))
    assert [(r.entry_id, r.published) for r in by_id] == [
        ("fy24_rr03", "2025-05-12"), ("fy24_rr02", "2025-04-01"), ("fy24_rr01", "2025-03-14")]
    assert all(r.listing_url == f"{listing}#{r.entry_id}" for r in by_id)

    by_url = discover(src(listing, link_pattern=r"/pdf/2025/"), config=cfg(tmp_path))
    assert [(r.entry_id, r.title, r.published) for r in by_url] == [("fy24_memo", "日付のない資料", None)]

    assert discover(src(listing, link_pattern=r"^fy99_"), config=cfg(tmp_path)) == []


def test_discover_with_a_borrowed_client_leaves_it_open(listing, tmp_path):
    with httpx.Client() as client:
        first = discover(src(listing, entries=("fy24_rr01",)), client=client)
        assert not client.is_closed
        both = discover_all([src(listing, entries=("fy24_rr01",)), src(listing, link_pattern="fy23")], client=client)
    assert [r.entry_id for r in first] == ["fy24_rr01"]
    assert [r.entry_id for r in both] == ["fy24_rr01", "fy23_rr09"]


def test_discover_probes_an_entry_whose_link_does_not_end_in_pdf(http_server, tmp_path):
    http_server.serve_html("/list.html", '<div id="x1"><h3>報告書</h3><p>2025年1月6日</p>'
                                         '<a href="/download?no=1">ダウンロード</a></div>')
    http_server.serve_pdf("/download", b"%PDF-1.4\n%%EOF\n")

    (report,) = discover(src(http_server.url("/list.html"), entries=("x1",)), config=cfg(tmp_path))

    assert (report.url, report.title, report.published) == (http_server.url("/download?no=1"), "報告書", "2025-01-06")


def test_discover_entry_missing_or_without_pdf(http_server, listing, tmp_path):
    with pytest.raises(AcquireError) as info:
        discover(src(listing, entries=("fy24_rr02", "fy24_rr09")), config=cfg(tmp_path))
    assert not isinstance(info.value, TransientAcquireError)
    assert "fy24_rr09" in info.value.what and "#fy24_rr02" in info.value.todo

    http_server.serve_html("/nolink.html", '<div id="x1"><h3>要旨のみ</h3><a href="/s.html">要旨</a></div>')
    http_server.serve_html("/s.html", "<p>要旨</p>")
    with pytest.raises(SourceError, match="x1.*no PDF link"):
        discover(src(http_server.url("/nolink.html"), entries=("x1",)), config=cfg(tmp_path))


@pytest.mark.parametrize("status", [500, 503, 429])
def test_discover_server_errors_are_transient(http_server, tmp_path, status):
    url = http_server.route("/list.html", Reply(status=status, body=b"busy"))
    with pytest.raises(TransientAcquireError, match=str(status)):
        discover(src(url, entries=("a",)), config=cfg(tmp_path))


@pytest.mark.parametrize("status", [404, 403, 410])
def test_discover_client_errors_are_permanent(http_server, tmp_path, status):
    url = http_server.route("/list.html", Reply(status=status, body=b"no"))
    with pytest.raises(AcquireError, match=str(status)) as info:
        discover(src(url, link_pattern="."), config=cfg(tmp_path))
    assert not isinstance(info.value, TransientAcquireError)


def test_discover_network_faults(http_server, tmp_path):
    # connection refused: a port nobody listens on
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/list.html"
    with pytest.raises(TransientAcquireError, match="could not connect"):
        discover(src(dead, entries=("a",)), config=cfg(tmp_path))

    slow = http_server.hang("/slow.html", seconds=2)
    with pytest.raises(TransientAcquireError, match="stopped sending"):
        discover(src(slow, entries=("a",)), config=cfg(tmp_path, read_timeout=0.3))

    loop = http_server.redirect_loop("/loop.html")
    with pytest.raises(AcquireError, match="too many redirects") as info:
        discover(src(loop, entries=("a",)), config=cfg(tmp_path, max_redirects=3))
    assert not isinstance(info.value, TransientAcquireError)


def test_discover_refuses_a_pdf_or_an_oversized_page(http_server, tmp_path):
    pdf = http_server.serve_pdf("/report.pdf", b"%PDF-1.4\n%%EOF\n")
    with pytest.raises(AcquireError, match="is a PDF, not a report listing page"):
        discover(src(pdf, entries=("a",)), config=cfg(tmp_path))

    big = http_server.serve_html("/big.html", "<p>" + "x" * 5000 + "</p>")
    with pytest.raises(AcquireError, match="larger than the cap"):
        discover(src(big, link_pattern="."), config=cfg(tmp_path, max_bytes=1000))
