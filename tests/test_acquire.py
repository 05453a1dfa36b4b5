"""Acquire stage: all network traffic goes to the loopback fixture server (tests/httpserver.py)."""
from __future__ import annotations

import hashlib
import io
import json
import socket
import time
from pathlib import Path

import pytest
from reportlab.pdfgen import canvas

from httpserver import Reply
from pipeline.acquire import (
    AcquireConfig,
    acquire,
    find_report_links,
    latest_entry,
    load_manifest,
    parse_date,
    resolve_listing,
)
from pipeline.errors import AcquireError, SourceError, TransientAcquireError


def make_pdf(text: str = "report") -> bytes:
    """A small valid one-page PDF (deterministic for a given text)."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    c.drawString(72, 720, text)
    c.showPage()
    c.save()
    data = buf.getvalue()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-32:]
    return data


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cfg(tmp_path: Path, **kw) -> AcquireConfig:
    return AcquireConfig(raw_dir=tmp_path / "raw", **kw)


def raw_files(tmp_path: Path) -> list[str]:
    raw = tmp_path / "raw"
    return sorted(p.name for p in raw.iterdir()) if raw.exists() else []


def pdfs_and_parts(tmp_path: Path) -> list[str]:
    return [n for n in raw_files(tmp_path) if n != "manifest.jsonl"]


LISTING = """<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>調査報告書 2022</title></head>
<body>
<div id="header"><a href="/index.html">トップ</a></div>
<div class="report-list">
  <a id="fy24_rr01"></a>
  <div class="report">
    <p class="title">中国の科学技術政策 2024</p>
    <p class="date">2025年3月</p>
    <a href="../pdf/rr01.pdf">全文(PDF 1.2MB)</a>
  </div>
  <a id="fy24_rr02"></a>
  <div class="report">
    <p class="title">韓国の研究開発動向</p>
    <a href="../pdf/rr02.pdf">全文(PDF 2.0MB)</a>
  </div>
  <div class="report" id="fy24_rr03">
    <h3>米国の AI 政策</h3>
    <a href="/download?no=3">ダウンロード</a>
  </div>
  <a id="fy24_rr04"></a>
  <div class="report"><p class="title">要旨のみ</p><a href="summary.html">要旨</a></div>
  <a id="fy24_rr05"></a>
</div>
</body></html>
"""


# ---------------------------------------------------------------------------------------------
# Downloads that succeed


def test_pdf_url_is_downloaded_hashed_and_recorded(http_server, tmp_path):
    body = make_pdf("direct")
    url = http_server.serve_pdf("/docs/report.pdf", body, etag='"v1"',
                                last_modified="Tue, 01 Apr 2025 00:00:00 GMT")

    got = acquire(url, cfg(tmp_path))

    assert got.sha256 == sha(body)
    assert got.bytes == len(body)
    assert got.path.read_bytes() == body
    assert got.path.parent == (tmp_path / "raw").resolve()
    # the name is ours, not the server's: slug from the host, then the hash
    assert got.path.name == f"127.0.0.1-{sha(body)[:12]}.pdf"
    assert got.url == url and got.final_url == url and not got.not_modified
    assert got.etag == '"v1"' and got.last_modified == "Tue, 01 Apr 2025 00:00:00 GMT"
    assert got.fetched_at.endswith("Z")
    assert pdfs_and_parts(tmp_path) == [got.path.name]  # no temp file left behind

    (line,) = load_manifest(tmp_path / "raw")
    assert line == {
        "source": url, "url": url, "final_url": url, "etag": '"v1"',
        "last_modified": "Tue, 01 Apr 2025 00:00:00 GMT", "sha256": sha(body),
        "bytes": len(body), "path": got.path.name, "fetched_at": got.fetched_at,
        "status": "downloaded",
    }
    (req,) = http_server.requests_for("/docs/report.pdf")
    assert req.headers["user-agent"].startswith("jstmine/")
    assert "if-none-match" not in req.headers


def test_redirect_is_followed_and_final_url_recorded(http_server, tmp_path):
    body = make_pdf("moved")
    http_server.serve_pdf("/new/report.pdf", body)
    old = http_server.redirect("/old/report.pdf", "/new/report.pdf", status=301)

    got = acquire(old, cfg(tmp_path))

    assert got.url == old
    assert got.final_url == http_server.url("/new/report.pdf")
    assert got.path.read_bytes() == body
    assert latest_entry(tmp_path / "raw", old)["final_url"] == got.final_url


def test_listing_page_entry_resolves_to_its_pdf(http_server, tmp_path):
    rr01, rr02 = make_pdf("rr01"), make_pdf("rr02")
    http_server.serve_pdf("/pdf/rr01.pdf", rr01)
    http_server.serve_pdf("/pdf/rr02.pdf", rr02)
    listing = http_server.serve_html("/investigation/report_2022.html", LISTING)

    got = acquire(listing + "#fy24_rr02", cfg(tmp_path))

    assert got.url == http_server.url("/pdf/rr02.pdf")
    assert got.sha256 == sha(rr02) and got.path.read_bytes() == rr02
    assert got.path.name == f"127.0.0.1-fy24_rr02-{sha(rr02)[:12]}.pdf"
    assert got.source == listing + "#fy24_rr02"
    assert http_server.count("/pdf/rr01.pdf") == 0  # the neighbouring entry was not touched
    assert load_manifest(tmp_path / "raw")[0]["source"] == listing + "#fy24_rr02"


def test_listing_entry_link_without_pdf_suffix_is_probed(http_server, tmp_path):
    rr03 = make_pdf("rr03")
    http_server.serve_pdf("/download", rr03)
    listing = http_server.serve_html("/investigation/report_2022.html", LISTING)

    got = acquire(listing + "#fy24_rr03", cfg(tmp_path))

    assert got.url == http_server.url("/download?no=3")
    assert got.path.read_bytes() == rr03


def test_listing_entry_without_pdf_link_is_a_source_error(http_server, tmp_path):
    http_server.serve_html("/summary.html", "<html><body>要旨</body></html>")
    listing = http_server.serve_html("/investigation/report_2022.html", LISTING)

    with pytest.raises(SourceError, match="fy24_rr04.*no PDF link"):
        acquire(listing + "#fy24_rr04", cfg(tmp_path))
    # rr05 is the last anchor: nothing follows it, and it must not borrow another entry's PDF
    with pytest.raises(SourceError, match="fy24_rr05"):
        acquire(listing + "#fy24_rr05", cfg(tmp_path))
    assert pdfs_and_parts(tmp_path) == []


def test_listing_entry_not_found_names_existing_ids(http_server, tmp_path):
    listing = http_server.serve_html("/investigation/report_2022.html", LISTING)

    with pytest.raises(AcquireError) as info:
        acquire(listing + "#fy24_rr09", cfg(tmp_path))

    err = info.value
    assert not isinstance(err, TransientAcquireError)
    assert "fy24_rr09" in err.what
    assert "#fy24_rr01" in err.todo and "#fy24_rr02" in err.todo


def test_pdf_url_with_viewer_fragment_is_a_pdf_not_a_listing(http_server, tmp_path):
    body = make_pdf("page fragment")
    url = http_server.serve_pdf("/r.pdf", body)

    got = acquire(url + "#page=3", cfg(tmp_path))

    assert got.path.read_bytes() == body and got.url == url


# ---------------------------------------------------------------------------------------------
# Pure listing helpers


def test_resolve_listing_and_find_report_links_are_pure():
    base = "https://spap.jst.go.jp/investigation/report_2022.html"
    assert resolve_listing(LISTING, base, "fy24_rr02") == "https://spap.jst.go.jp/pdf/rr02.pdf"
    assert resolve_listing(LISTING.encode("utf-8"), base, "fy24_rr01") == "https://spap.jst.go.jp/pdf/rr01.pdf"

    links = find_report_links(LISTING, base)
    assert links == [
        # "2025年3月" names no day: the year and month
        {"id": "fy24_rr01", "title": "中国の科学技術政策 2024", "url": "https://spap.jst.go.jp/pdf/rr01.pdf",
         "date": "2025-03"},
        {"id": "fy24_rr02", "title": "韓国の研究開発動向", "url": "https://spap.jst.go.jp/pdf/rr02.pdf",
         "date": None},
    ]

    with pytest.raises(AcquireError, match="nope"):
        resolve_listing(LISTING, base, "nope")
    with pytest.raises(SourceError):
        resolve_listing(LISTING, base, "fy24_rr03")  # only a non-.pdf link: needs probing


def test_listing_variants_heading_anchor_base_tag_and_container():
    html = """<html><head><base href="https://cdn.example.org/files/"></head><body>
    <section id="fy2023">
      <h3><a name="rr10"></a>報告書10</h3>
      <p>説明 <a href="rr10.PDF?v=2#x">PDF</a></p>
      <h3 id="rr11">報告書11</h3>
      <ul><li><a href="https://other.example.org/rr11.pdf">本文</a></li></ul>
    </section></body></html>"""
    base = "https://www.example.org/list.html"
    assert resolve_listing(html, base, "rr10") == "https://cdn.example.org/files/rr10.PDF?v=2"
    assert resolve_listing(html, base, "rr11") == "https://other.example.org/rr11.pdf"
    links = find_report_links(html, base)
    # the <section id> container does not appear as a report of its own
    assert [(x["id"], x["title"]) for x in links] == [("rr10", "報告書10"), ("rr11", "報告書11")]


# ---------------------------------------------------------------------------------------------
# Publication dates and titles of listing entries


@pytest.mark.parametrize("text, expected", [
    ("2025年4月1日", "2025-04-01"),
    ("公開日：2025年 4月 1日（火）", "2025-04-01"),
    ("２０２５年４月１日", "2025-04-01"),  # full-width digits
    ("令和7年4月1日", "2025-04-01"),
    ("令和元年5月1日", "2019-05-01"),
    ("平成31年4月30日", "2019-04-30"),
    ("2025/4/1", "2025-04-01"),
    ("2025-04-01", "2025-04-01"),
    ("2025.4.1 掲載", "2025-04-01"),
    ("更新 2024/12/31、初版 2024/1/5", "2024-12-31"),  # the first date in the text
    ("2025年3月", None),  # year and month only
    ("2025年度", None),
    ("2025/13/40", None),  # not a calendar date
    ("2025-4/1", None),  # mixed separators
    ("第2.1.3節", None),
    ("", None),
    (None, None),
])
def test_parse_date_forms(text, expected):
    assert parse_date(text) == expected


DATED_LISTING = """<html><head><meta charset="utf-8"></head><body>
<section class="list">
  <div class="report" id="r1">
    <h3 class="report-title">報告書1</h3>
    <p class="report-date">2025年4月1日</p>
    <a href="pdf/r1.pdf">PDF</a>
  </div>
  <div class="report" id="r2">
    <h3>2024年10月1日施行の法律について</h3>
    <a href="pdf/r2.pdf">PDF</a> <span class="date">令和7年2月3日</span>
  </div>
  <a id="r3"></a>
  <dl><dt>報告書3</dt><dd>掲載 2024.11.5 <a href="pdf/r3.pdf">全文</a></dd></dl>
  <a id="r4"></a>
  <p class="title">報告書4</p> <a href="pdf/r4.pdf">PDF</a>
  <!-- 2020/1/1 in a comment is not a date -->
  <script>var updated = "2020-01-01";</script>
  <article id="r5"><h3>報告書5</h3><time datetime="2023-06-30">6月30日</time><a href="pdf/r5.pdf">PDF</a></article>
  <div id="r6"><h3>報告書6</h3><p>2025-03-14</p><a href="pdf/r6.pdf">PDF</a></div>
</section></body></html>"""


def test_find_report_links_gives_each_entry_its_own_date():
    links = find_report_links(DATED_LISTING, "https://example.org/list.html")

    assert [(x["id"], x["title"], x["date"]) for x in links] == [
        ("r1", "報告書1", "2025-04-01"),
        # a date in the title loses to the element whose class names a date
        ("r2", "2024年10月1日施行の法律について", "2025-02-03"),
        ("r3", "報告書3", "2024-11-05"),
        # no date of its own: not the next entry's, not a comment's or a script's
        ("r4", "報告書4", None),
        ("r5", "報告書5", "2023-06-30"),  # <time datetime>
        ("r6", "報告書6", "2025-03-14"),
    ]
    assert links[0]["url"] == "https://example.org/pdf/r1.pdf"


def test_listing_source_gives_report_id_title_and_date_also_in_manifest(http_server, tmp_path):
    body = make_pdf("dated")
    http_server.serve_pdf("/pdf/r2.pdf", body, etag='"d1"')
    listing = http_server.serve_html("/list.html", DATED_LISTING)
    config = cfg(tmp_path)

    got = acquire(listing + "#r2", config)

    assert (got.report_id, got.title, got.published) == ("r2", "2024年10月1日施行の法律について", "2025-02-03")
    assert got.url == http_server.url("/pdf/r2.pdf")
    (line,) = load_manifest(tmp_path / "raw")
    assert (line["report_id"], line["title"], line["published"]) == (got.report_id, got.title, got.published)
    assert line["status"] == "downloaded"

    # a re-run answered with 304 carries them as well
    again = acquire(listing + "#r2", config)
    assert again.not_modified
    assert (again.report_id, again.title, again.published) == (got.report_id, got.title, got.published)
    assert load_manifest(tmp_path / "raw")[-1]["published"] == "2025-02-03"


def test_listing_entry_without_date_and_probed_link_still_give_id_and_title(http_server, tmp_path):
    http_server.serve_pdf("/download", make_pdf("rr03"))
    http_server.serve_pdf("/pdf/rr02.pdf", make_pdf("rr02"))
    listing = http_server.serve_html("/investigation/report_2022.html", LISTING)

    probed = acquire(listing + "#fy24_rr03", cfg(tmp_path))
    plain = acquire(listing + "#fy24_rr02", cfg(tmp_path))

    assert (probed.report_id, probed.title, probed.published) == ("fy24_rr03", "米国の AI 政策", None)
    assert (plain.report_id, plain.title, plain.published) == ("fy24_rr02", "韓国の研究開発動向", None)


def test_pdf_url_and_local_path_have_no_entry_fields(http_server, tmp_path):
    body = make_pdf("plain")
    url = http_server.serve_pdf("/r.pdf", body)
    local = tmp_path / "local.pdf"
    local.write_bytes(body)

    for got in (acquire(url, cfg(tmp_path)), acquire(url + "#page=2", cfg(tmp_path)), acquire(str(local), cfg(tmp_path))):
        assert (got.report_id, got.title, got.published) == (None, None, None)
    # the manifest lines of plain PDF URLs keep their original keys
    assert all("report_id" not in line for line in load_manifest(tmp_path / "raw"))


# ---------------------------------------------------------------------------------------------
# Re-runs


def test_rerun_with_etag_gets_304_and_reuses_stored_copy(http_server, tmp_path):
    body = make_pdf("etag")
    url = http_server.serve_pdf("/r.pdf", body, etag='"abc"')
    config = cfg(tmp_path)

    first = acquire(url, config)
    second = acquire(url, config)

    assert second.not_modified is True
    assert second.path == first.path and second.sha256 == first.sha256 == sha(body)
    assert second.path.read_bytes() == body
    first_req, second_req = http_server.requests_for("/r.pdf")
    assert "if-none-match" not in first_req.headers
    assert second_req.headers["if-none-match"] == '"abc"'
    statuses = [e["status"] for e in load_manifest(tmp_path / "raw")]
    assert statuses == ["downloaded", "not_modified"]
    assert latest_entry(tmp_path / "raw", url)["status"] == "not_modified"
    assert pdfs_and_parts(tmp_path) == [first.path.name]


def test_rerun_with_last_modified_sends_if_modified_since(http_server, tmp_path):
    body = make_pdf("lm")
    lm = "Wed, 02 Apr 2025 10:00:00 GMT"
    url = http_server.serve_pdf("/r.pdf", body, last_modified=lm)
    config = cfg(tmp_path)

    acquire(url, config)
    again = acquire(url, config)

    assert again.not_modified and again.last_modified == lm
    assert http_server.requests_for("/r.pdf")[1].headers["if-modified-since"] == lm


def test_rerun_downloads_again_when_stored_copy_is_missing_or_changed(http_server, tmp_path):
    body = make_pdf("again")
    url = http_server.serve_pdf("/r.pdf", body, etag='"e1"')
    config = cfg(tmp_path)

    first = acquire(url, config)
    first.path.unlink()
    second = acquire(url, config)
    assert not second.not_modified and second.path.read_bytes() == body

    second.path.write_bytes(b"%PDF-1.4 tampered %%EOF")
    third = acquire(url, config)
    assert not third.not_modified and third.path.read_bytes() == body

    headers = [r.headers for r in http_server.requests_for("/r.pdf")]
    assert ["if-none-match" in h for h in headers] == [False, False, False]


def test_server_ignoring_conditional_request_replaces_with_new_content(http_server, tmp_path):
    v1, v2 = make_pdf("v1"), make_pdf("v2")
    url = http_server.route("/r.pdf", Reply(body=v1, etag='"1"', content_type="application/pdf"),
                            Reply(body=v2, etag='"2"', content_type="application/pdf"))
    config = cfg(tmp_path)

    first = acquire(url, config)
    second = acquire(url, config)

    assert not second.not_modified and second.sha256 == sha(v2)
    assert first.path.read_bytes() == v1  # earlier version kept under its own name
    assert second.path != first.path
    assert latest_entry(tmp_path / "raw", url)["etag"] == '"2"'


# ---------------------------------------------------------------------------------------------
# Failures and their classification


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_5xx_and_429_are_transient(http_server, tmp_path, status):
    url = http_server.route("/r.pdf", Reply(status=status, body=b"busy", headers={"Retry-After": "7"}))

    with pytest.raises(TransientAcquireError) as info:
        acquire(url, cfg(tmp_path))

    assert str(status) in info.value.what and url in info.value.what
    assert "7" in info.value.todo
    assert pdfs_and_parts(tmp_path) == []


def test_transient_failure_then_success_on_retry(http_server, tmp_path):
    body = make_pdf("retry")
    url = http_server.route("/r.pdf", Reply(status=500), Reply(body=body, content_type="application/pdf"))
    config = cfg(tmp_path)

    with pytest.raises(TransientAcquireError):
        acquire(url, config)
    got = acquire(url, config)  # what the Prefect task's retry does

    assert got.path.read_bytes() == body
    assert http_server.count("/r.pdf") == 2


@pytest.mark.parametrize("status", [404, 403, 410, 400])
def test_4xx_is_permanent(http_server, tmp_path, status):
    url = http_server.route("/missing.pdf", Reply(status=status, body=b"no"))

    with pytest.raises(AcquireError) as info:
        acquire(url, cfg(tmp_path))

    assert not isinstance(info.value, TransientAcquireError)
    assert f"HTTP {status}" in info.value.what and url in info.value.what
    assert info.value.todo
    assert load_manifest(tmp_path / "raw") == []


def test_html_served_as_pdf_is_rejected_and_nothing_written(http_server, tmp_path):
    login = "<!DOCTYPE html><html><body><form>ログインしてください</form></body></html>"
    url = http_server.route("/r.pdf", Reply(body=login.encode(), content_type="application/pdf"))

    with pytest.raises(AcquireError) as info:
        acquire(url, cfg(tmp_path))

    assert not isinstance(info.value, TransientAcquireError)
    assert "HTML page, not a PDF" in info.value.what
    assert "login" in info.value.todo
    assert pdfs_and_parts(tmp_path) == []
    assert load_manifest(tmp_path / "raw") == []


def test_html_page_without_fragment_asks_for_pdf_or_entry_id(http_server, tmp_path):
    listing = http_server.serve_html("/investigation/report_2022.html", LISTING)

    with pytest.raises(AcquireError) as info:
        acquire(listing, cfg(tmp_path))

    assert "HTML page" in info.value.what
    assert "#" in info.value.todo and "#fy24_rr01" in info.value.todo  # lists entries it found
    assert pdfs_and_parts(tmp_path) == []


def test_non_pdf_binary_is_rejected(http_server, tmp_path):
    url = http_server.serve_bytes("/r.pdf", b"PK\x03\x04 zip archive", "application/zip")

    with pytest.raises(AcquireError, match="did not return a PDF") as info:
        acquire(url, cfg(tmp_path))
    assert not isinstance(info.value, TransientAcquireError)


def test_truncated_download_is_transient_and_leaves_earlier_file_intact(http_server, tmp_path):
    body = make_pdf("truncate me")
    url = http_server.route(
        "/r.pdf",
        Reply(body=body, content_type="application/pdf"),
        Reply(body=body[: len(body) // 2], content_length=len(body), content_type="application/pdf"),
    )
    config = cfg(tmp_path)
    earlier = acquire(url, config)
    before = raw_files(tmp_path)
    manifest_before = (tmp_path / "raw" / "manifest.jsonl").read_bytes()

    with pytest.raises(TransientAcquireError, match="incomplete|broke"):
        acquire(url, config)

    assert raw_files(tmp_path) == before  # no partial or temp file
    assert earlier.path.read_bytes() == body
    assert (tmp_path / "raw" / "manifest.jsonl").read_bytes() == manifest_before


def test_pdf_without_eof_marker_is_treated_as_truncated(http_server, tmp_path):
    body = make_pdf("cut")
    cut = body[: body.rindex(b"%%EOF") - 200]
    url = http_server.serve_pdf("/r.pdf", cut)  # Content-Length matches: the cut is invisible to HTTP

    with pytest.raises(TransientAcquireError, match="%%EOF"):
        acquire(url, cfg(tmp_path))
    assert pdfs_and_parts(tmp_path) == []


def test_over_max_bytes_by_content_length(http_server, tmp_path):
    body = make_pdf("big")
    url = http_server.serve_pdf("/big.pdf", body)

    with pytest.raises(AcquireError) as info:
        acquire(url, cfg(tmp_path, max_bytes=1000))

    assert not isinstance(info.value, TransientAcquireError)
    assert "1,000" in info.value.what and "Content-Length" in info.value.what
    assert "max_bytes" in info.value.todo
    assert http_server.count("/big.pdf") == 1
    assert pdfs_and_parts(tmp_path) == []


def test_over_max_bytes_counted_while_streaming(http_server, tmp_path):
    body = make_pdf("big") + b"\n" * 5000 + b"%%EOF\n"
    url = http_server.route("/big.pdf", Reply(body=body, omit_length=True, content_type="application/pdf"))

    with pytest.raises(AcquireError, match="counted while downloading") as info:
        acquire(url, cfg(tmp_path, max_bytes=2000))

    assert not isinstance(info.value, TransientAcquireError)
    assert pdfs_and_parts(tmp_path) == []
    # the same response under the cap is fine: a body without Content-Length is allowed
    got = acquire(url, cfg(tmp_path))
    assert got.sha256 == sha(body)


def test_redirect_loop_is_permanent(http_server, tmp_path):
    url = http_server.redirect_loop("/loop.pdf")

    with pytest.raises(AcquireError, match="redirect") as info:
        acquire(url, cfg(tmp_path))

    assert not isinstance(info.value, TransientAcquireError)
    assert http_server.count("/loop.pdf") == 21  # the first request and 20 redirects


def test_connection_refused_is_transient(tmp_path):
    # a bound socket that does not listen: connecting to it is refused, and no one can take the port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(TransientAcquireError, match="could not connect"):
            acquire(f"http://127.0.0.1:{port}/r.pdf", cfg(tmp_path, connect_timeout=2))
    assert pdfs_and_parts(tmp_path) == []


def test_read_timeout_is_transient(http_server, tmp_path):
    url = http_server.hang("/slow.pdf", seconds=5, body=make_pdf(), content_type="application/pdf")

    started = time.monotonic()
    with pytest.raises(TransientAcquireError, match="stopped sending"):
        acquire(url, cfg(tmp_path, read_timeout=0.3))

    assert time.monotonic() - started < 3
    assert pdfs_and_parts(tmp_path) == []


def test_stall_mid_body_is_transient(http_server, tmp_path):
    url = http_server.route("/stall.pdf", Reply(body=make_pdf(), body_delay=5, content_type="application/pdf"))

    with pytest.raises(TransientAcquireError):
        acquire(url, cfg(tmp_path, read_timeout=0.3))
    assert pdfs_and_parts(tmp_path) == []


@pytest.mark.parametrize("source, scheme", [
    ("ftp://ftp.example.org/r.pdf", "ftp:"),
    ("data:application/pdf;base64,JVBERi0=", "data:"),
    ("javascript:alert(1)", "javascript:"),
    ("s3://bucket/r.pdf", "s3:"),
])
def test_unsupported_scheme_is_a_source_error(tmp_path, source, scheme):
    with pytest.raises(SourceError) as info:
        acquire(source, cfg(tmp_path))
    assert scheme in info.value.what
    assert "http(s) URL" in info.value.todo and "local file path" in info.value.todo


# ---------------------------------------------------------------------------------------------
# Names cannot escape raw/


def test_dot_dot_in_url_or_entry_id_cannot_escape_raw(http_server, tmp_path):
    body = make_pdf("escape")
    http_server.serve_pdf("/evil.pdf", body)
    http_server.serve_pdf("/a/..%2F..%2F..%2Fevil.pdf", body)
    http_server.serve_html(
        "/list.html",
        '<div id="../../../../outside"><a href="/a/..%2F..%2F..%2Fevil.pdf">x</a></div>',
    )
    config = cfg(tmp_path)
    raw = (tmp_path / "raw").resolve()

    got = [
        acquire(http_server.base_url + "/a/b/../../../../../evil.pdf", config),
        acquire(http_server.base_url + "/a/..%2F..%2F..%2Fevil.pdf", config),
        acquire(http_server.url("/list.html") + "#../../../../outside", config),
    ]

    for g in got:
        assert g.path.parent == raw and ".." not in g.path.name
        assert g.path.read_bytes() == body
    assert got[2].path.name == f"127.0.0.1-outside-{sha(body)[:12]}.pdf"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]  # nothing written beside raw/
    assert all(not Path(e["path"]).is_absolute() and "/" not in e["path"]
               for e in load_manifest(raw))


# ---------------------------------------------------------------------------------------------
# Local files


def test_local_path_is_verified_in_place_not_copied(tmp_path, monkeypatch):
    body = make_pdf("local")
    pdf = tmp_path / "docs" / "report.pdf"
    pdf.parent.mkdir()
    pdf.write_bytes(body)
    config = cfg(tmp_path)
    monkeypatch.chdir(tmp_path)

    for source in (str(pdf), "docs/report.pdf", pdf.as_uri()):
        got = acquire(source, config)
        assert got.path == pdf.resolve()
        assert got.sha256 == sha(body) and got.bytes == len(body)
        assert got.url is None and got.source == source

    assert raw_files(tmp_path) == []  # nothing copied, no manifest


def test_local_non_pdf_and_missing_file_are_source_errors(tmp_path):
    html = tmp_path / "page.pdf"
    html.write_text("<html>not a pdf</html>")

    with pytest.raises(SourceError, match="not a PDF") as info:
        acquire(str(html), cfg(tmp_path))
    assert "HTML" in info.value.todo
    with pytest.raises(SourceError, match="not found"):
        acquire(str(tmp_path / "nope.pdf"), cfg(tmp_path))
    with pytest.raises(SourceError, match="not a regular file"):
        acquire(str(tmp_path), cfg(tmp_path))
    with pytest.raises(SourceError, match="https://spap.jst.go.jp"):
        acquire("spap.jst.go.jp/report.pdf", cfg(tmp_path))  # suggests the scheme


# ---------------------------------------------------------------------------------------------
# Manifest


def test_manifest_reader_skips_a_damaged_line_and_appends_after_it(http_server, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "manifest.jsonl").write_text(
        json.dumps({"url": "http://x/a.pdf", "status": "downloaded"}) + "\n" + '{"url": "http://x/b.pd'
    )
    assert load_manifest(raw) == [{"url": "http://x/a.pdf", "status": "downloaded"}]
    assert latest_entry(raw, "http://x/b.pdf") is None
    assert load_manifest(tmp_path / "elsewhere") == []

    url = http_server.serve_pdf("/r.pdf", make_pdf())
    acquire(url, cfg(tmp_path))

    entries = load_manifest(raw)
    assert [e["url"] for e in entries] == ["http://x/a.pdf", url]
    assert latest_entry(raw, url)["status"] == "downloaded"


def test_a_listing_nesting_its_entries_thousands_deep_is_refused_not_read_for_hours():
    """Each element with an id is an entry whose region (its subtree, its title and date) was
    walked in full: 3,000 <div id> nested in each other (180 KB) took ~15 s, 10,000 minutes and a
    20 MB page hours, in every scheduled `update`. Such a page is refused at once, saying why;
    thousands of entries side by side (a long real listing) are read as before."""
    import time

    depth = 3000
    html = ("<html><body>" + "".join(f'<div id="d{i}"><h3>t{i}</h3>' for i in range(depth))
            + '<a href="x.pdf">PDF</a>' + "</div>" * depth + "</body></html>")
    started = time.perf_counter()
    with pytest.raises(AcquireError) as info:
        find_report_links(html, "https://spap.jst.go.jp/x.html")
    assert time.perf_counter() - started < 10
    assert "nest" in info.value.what and "3,000" in info.value.what, info.value.what
    assert "PDF" in info.value.todo

    wide = "".join(f'<div class="report" id="fy{i:05d}"><h3 class="report-title">報告書 {i}</h3>'
                   f'<p class="report-date">2025年4月1日</p><ul><li><a href="r{i}.pdf">PDF</a></li></ul></div>'
                   for i in range(4000))
    links = find_report_links(f"<html><body><main id='main'><section id='all'>{wide}</section></main></body></html>",
                              "https://spap.jst.go.jp/x.html")
    assert len(links) == 4000 and links[-1]["id"] == "fy03999" and links[-1]["date"] == "2025-04-01"
