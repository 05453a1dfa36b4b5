"""Acquire's limits: the deadline of a download, the hosts a listing or announcement page may send
it to, and what raw/ keeps (partial downloads of killed runs, file modes).

Loopback only: the scripted server of tests/httpserver.py on 127.0.0.1 (and, for a second host,
the same server class bound to 127.0.0.2, or the name ``localhost``), and a dripping server of this
file's own on 127.0.0.1.
"""
from __future__ import annotations

import fcntl
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline.acquire import (
    AcquireConfig,
    HostNotAllowed,
    acquire,
    host_refusal,
    load_manifest,
    normalize_allowed_host,
    registrable_domain,
)
from pipeline.errors import AcquireError, PipelineError, SourceError, TransientAcquireError
from pipeline.sources import Source, discover, load_sources
from httpserver import Reply
from test_acquire import make_pdf

PROJECT = Path(__file__).resolve().parents[1]


def cfg(tmp_path: Path, **kw) -> AcquireConfig:
    return AcquireConfig(raw_dir=tmp_path / "raw", **kw)


def raw_names(tmp_path: Path) -> list[str]:
    raw = tmp_path / "raw"
    return sorted(p.name for p in raw.iterdir()) if raw.exists() else []


def listing_html(href: str, entry: str = "fy24_rr02") -> str:
    return (f'<html><body><div id="{entry}"><p class="title">報告書</p>'
            f'<a href="{href}">全文(PDF)</a></div></body></html>')


# ---------------------------------------------------------------------------------------------
# A server that drips: it answers every request with ``head`` (the status line and headers) and
# ``body``, one byte every ``interval`` seconds from ``drip_from`` on (a byte offset into head +
# body), until the client hangs up or the server stops.


class DripServer:
    def __init__(self, head: bytes, body: bytes, interval: float, drip_from: int = 0) -> None:
        self.data = head + body
        self.interval = interval
        self.drip_from = drip_from
        self.stopping = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.sent = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(5)
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    request += chunk
                conn.sendall(self.data[: self.drip_from])
                for i in range(self.drip_from, len(self.data)):
                    if self.stopping.wait(self.interval):
                        return
                    conn.sendall(self.data[i:i + 1])
                    self.sent += 1
            except OSError:
                return

    def stop(self) -> None:
        self.stopping.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def drip():
    servers: list[DripServer] = []

    def start(head: bytes, body: bytes, interval: float, drip_from: int = 0) -> DripServer:
        server = DripServer(head, body, interval, drip_from)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def pdf_head(body: bytes, content_type: str = "application/pdf") -> bytes:
    return (f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode("ascii")


# ---------------------------------------------------------------------------------------------
# The deadline


def test_a_body_dripping_a_byte_every_0_9_s_is_stopped_by_the_deadline(drip, tmp_path):
    # each byte comes well within the 1 s read timeout, so only the deadline can stop it
    body = make_pdf("drip")
    server = drip(pdf_head(body), body, interval=0.9, drip_from=len(pdf_head(body)) + 10)

    started = time.monotonic()
    with pytest.raises(AcquireError) as info:
        acquire(server.url("/report.pdf"), cfg(tmp_path, read_timeout=1.0, deadline=1.5))
    elapsed = time.monotonic() - started

    err = info.value
    assert not isinstance(err, TransientAcquireError)  # not retried: a retry would take as long
    assert err.what == f"the download of {server.url('/report.pdf')} did not finish within its deadline of 1.5 s"
    assert "bytes of the body came in that time" in err.todo and "Not retried" in err.todo
    assert "--deadline SECONDS" in err.todo and "AcquireConfig.deadline" in err.todo
    assert 1.4 < elapsed < 2.4, elapsed  # stopped within a second of expiring, not at the next byte + timeout
    assert raw_names(tmp_path) == []  # no partial file left


def test_a_server_dripping_its_status_line_is_stopped_by_the_deadline_too(drip, tmp_path):
    body = make_pdf("drip")
    server = drip(pdf_head(body), body, interval=0.3)  # from the first byte of the status line on

    started = time.monotonic()
    with pytest.raises(AcquireError, match="deadline of 1 s") as info:
        acquire(server.url("/report.pdf"), cfg(tmp_path, read_timeout=5.0, deadline=1))
    assert time.monotonic() - started < 2.0
    assert info.value.todo.startswith("No answer came in that time")
    assert raw_names(tmp_path) == []


def test_a_listing_page_gets_the_shorter_page_deadline(drip, tmp_path):
    html = listing_html("/r.pdf").encode()
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {len(html)}\r\n"
            "Connection: close\r\n\r\n").encode()
    server = drip(head, html, interval=0.2, drip_from=len(head) + 5)

    started = time.monotonic()
    with pytest.raises(AcquireError) as info:
        acquire(server.url("/list.html") + "#fy24_rr02", cfg(tmp_path, deadline=300, page_deadline=1))
    assert time.monotonic() - started < 2.0
    err = info.value
    assert not isinstance(err, TransientAcquireError)
    assert f"fetching the page {server.url('/list.html')} did not finish within its deadline of 1 s" in err.what
    assert "pages get AcquireConfig.page_deadline, 1 s, never more than jstmine run --deadline" in err.todo


def test_a_download_within_its_deadline_is_unaffected(http_server, tmp_path):
    body = make_pdf("quick")
    url = http_server.serve_pdf("/r.pdf", body)
    got = acquire(url, cfg(tmp_path, deadline=5, page_deadline=1))
    assert got.path.read_bytes() == body


def test_deadline_defaults_and_the_page_bound():
    config = AcquireConfig()
    assert config.deadline == 300 and config.page_deadline == 60 and config.page_bound == 60
    assert AcquireConfig(deadline=2).page_bound == 2  # --deadline lowers the pages' bound too
    assert AcquireConfig(deadline=600).page_bound == 60
    assert AcquireConfig(deadline=None, page_deadline=None).page_bound is None
    assert not hasattr(config, "total_timeout")


@pytest.mark.parametrize("field, value", [("deadline", 0), ("deadline", -1), ("deadline", "5"),
                                          ("page_deadline", float("nan")), ("deadline", True)])
def test_a_bad_deadline_is_refused(field, value):
    with pytest.raises(PipelineError, match=f"AcquireConfig.{field} must be a positive number"):
        AcquireConfig(**{field: value})


# ---------------------------------------------------------------------------------------------
# The registrable-domain rule and the host decision (pure)


@pytest.mark.parametrize("host, site", [
    ("spap.jst.go.jp", "jst.go.jp"),
    ("www.jst.go.jp", "jst.go.jp"),
    ("jst.go.jp", "jst.go.jp"),
    ("JST.GO.JP.", "jst.go.jp"),
    ("jst.go.jp.evil.com", "evil.com"),
    ("evil-jst.go.jp", "evil-jst.go.jp"),
    ("www.u-tokyo.ac.jp", "u-tokyo.ac.jp"),
    ("www.metro.tokyo.jp", "metro.tokyo.jp"),
    ("www.gov.uk", "www.gov.uk"),
    ("assets.publishing.service.gov.uk", "service.gov.uk"),
    ("www.whitehouse.gov", "whitehouse.gov"),
    ("a.b.example.org", "example.org"),
    ("example.org", "example.org"),
    ("localhost", "localhost"),
    ("127.0.0.1", "127.0.0.1"),
    ("::1", "::1"),
    ("[0:0::1]", "::1"),
    ("xn--wgv71a.jp", "xn--wgv71a.jp"),
])
def test_registrable_domain(host, site):
    assert registrable_domain(host) == site


PAGE = "https://spap.jst.go.jp/investigation/report_2022.html"
PUBLIC = {"spap.jst.go.jp": ["160.0.0.1"], "www.jst.go.jp": ["160.0.0.2"], "jst.go.jp": ["160.0.0.3"],
          "intra.jst.go.jp": ["10.1.2.3"], "mirror.example.org": ["93.184.216.34"],
          "rebind.jst.go.jp": ["160.0.0.4", "127.0.0.1"], "v6.jst.go.jp": ["fd00::5"]}


def resolve(host: str) -> list[str]:
    return PUBLIC.get(host, [])


@pytest.mark.parametrize("url, refused", [
    ("https://spap.jst.go.jp/pdf/r.pdf", None),
    ("https://www.jst.go.jp/pdf/r.pdf", None),                       # same registrable domain
    ("http://jst.go.jp/r.pdf", None),                                # http, no subdomain
    ("https://WWW.JST.GO.JP./r.pdf", None),                          # case and trailing dot
    ("https://www.jst.go.jp:8443/r.pdf", None),                      # a port is the same site
    ("https://user:pw@www.jst.go.jp/r.pdf", None),                   # userinfo is not the host
    ("https://jst.go.jp.evil.com/r.pdf", "jst.go.jp.evil.com is not on the page's site (jst.go.jp)"),
    ("https://evil-jst.go.jp/r.pdf", "evil-jst.go.jp is not on the page's site"),
    ("https://go.jp/r.pdf", "go.jp is not on the page's site"),
    ("http://jst.go.jp@evil.com/r.pdf", "evil.com is not on the page's site"),
    ("http://www.jst.go.jp:80@evil.com/r.pdf", "evil.com is not on the page's site"),
    ("http://evil.com#@jst.go.jp/r.pdf", "evil.com is not on the page's site"),
    ("http://160.0.0.1/r.pdf", "160.0.0.1 is not on the page's site"),  # an IP literal is its own site
    ("http://[2001:db8::1]/r.pdf", "2001:db8::1 is not on the page's site"),
    ("http://jѕt.go.jp/r.pdf", "xn--jt-eoc.go.jp is not on the page's site"),  # Cyrillic ѕ: punycode, another site
    ("http://ｊｓｔ.go.jp/r.pdf", "not an http(s) URL with a host"),  # httpx refuses the name: so do we
    ("ftp://www.jst.go.jp/r.pdf", "not an http(s) URL with a host"),
    ("https://intra.jst.go.jp/r.pdf", "intra.jst.go.jp resolves to 10.1.2.3, a private address"),
    ("https://rebind.jst.go.jp/r.pdf", "resolves to 127.0.0.1, a loopback address"),
    ("https://v6.jst.go.jp/r.pdf", "resolves to fd00::5, a private address"),
])
def test_host_decision_for_links_from_a_public_page(url, refused):
    reason = host_refusal(url, PAGE, resolve=resolve)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason


@pytest.mark.parametrize("url, kind", [
    ("http://127.0.0.1/x", "127.0.0.1 is a loopback address"),
    ("http://127.8.9.10:8080/x", "loopback"),
    ("http://10.0.0.1/x", "private"),
    ("http://172.16.5.4/x", "private"),
    ("http://192.168.1.1/x", "private"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://224.0.0.1/x", "multicast"),
    ("http://0.0.0.0/x", "unspecified"),
    ("http://100.64.0.1/x", "not globally routable"),
    ("http://[::1]/x", "::1 is a loopback address"),
    ("http://[::]/x", "unspecified"),
    ("http://[fe80::1]/x", "link-local"),
    ("http://[fc00::1]/x", "private"),
    ("http://[ff02::1]/x", "multicast"),
    ("http://[::ffff:127.0.0.1]/x", "loopback"),         # IPv4-mapped
    ("http://[64:ff9b::a00:1]/x", "private"),            # NAT64 of 10.0.0.1
    ("http://[2002:7f00:1::]/x", "loopback"),            # 6to4 of 127.0.0.1
    ("http://2130706433/x", "resolves to 127.0.0.1"),    # 127.0.0.1 written as one number
    ("http://127.1/x", "resolves to 127.0.0.1"),
    ("http://localhost:8080/x", "resolves to 127.0.0.1"),
])
def test_redirects_of_a_public_source_to_non_public_addresses_are_refused(url, kind):
    # the redirects of the source's own request: no site rule, the address rule only (the real
    # resolver: these names are numeric, or localhost from /etc/hosts)
    reason = host_refusal(url, "https://www.example.org/report.pdf", site_limited=False,
                          resolve=lambda h: PUBLIC.get(h) or (socket.gethostbyname_ex(h)[2]
                                                              if h in ("2130706433", "127.1", "localhost") else []))
    assert reason is not None and kind in reason and "the source is not on such an address" in reason


def test_the_source_redirecting_to_another_public_host_is_fine_and_loopback_may_go_to_loopback():
    assert host_refusal("https://mirror.example.org/r.pdf", "https://www.example.org/r.pdf",
                        site_limited=False, resolve=resolve) is None
    assert host_refusal("http://127.0.0.1:9/r.pdf", "http://127.0.0.1:8/l.html", resolve=resolve) is None
    assert host_refusal("http://10.0.0.9/r.pdf", "http://10.0.0.8/l.html", site_limited=False) is None
    # …but a loopback page still keeps its links on its own host
    assert "127.0.0.2 is not on the page's site (127.0.0.1)" in host_refusal(
        "http://127.0.0.2:8/r.pdf", "http://127.0.0.1:8/l.html")


def test_allowed_hosts_let_a_host_or_a_domain_through_both_rules_waived():
    allowed = (normalize_allowed_host("mirror.example.org"), normalize_allowed_host("*.intra.jst.go.jp"),
               normalize_allowed_host("[FD00::5]"))
    assert host_refusal("https://mirror.example.org/r.pdf", PAGE, allowed, resolve=resolve) is None
    assert host_refusal("https://example.org/r.pdf", PAGE, allowed, resolve=resolve) is not None
    assert host_refusal("https://evilmirror.example.org/r.pdf", PAGE, allowed, resolve=resolve) is not None
    assert host_refusal("https://intra.jst.go.jp/r.pdf", PAGE, allowed, resolve=resolve) is None  # private, allowed
    assert host_refusal("https://a.intra.jst.go.jp/r.pdf", PAGE, allowed, resolve=resolve) is None
    assert host_refusal("http://[fd00:0::5]/r.pdf", PAGE, allowed, resolve=resolve) is None
    assert host_refusal("http://mirror.example.org.evil.com/", PAGE, allowed, resolve=resolve) is not None


@pytest.mark.parametrize("value, normal", [
    ("www.example.org", "www.example.org"),
    (" WWW.Example.ORG. ", "www.example.org"),
    ("*.example.org", "example.org"),
    (".example.org", "example.org"),
    ("日本.jp", "xn--wgv71a.jp"),
    ("10.0.0.5", "10.0.0.5"),
    ("[FD00:0::1]", "fd00::1"),
    ("localhost", "localhost"),
    ("jst.go.jp", "jst.go.jp"),
])
def test_allowed_hosts_are_normalized(value, normal):
    assert normalize_allowed_host(value) == normal


@pytest.mark.parametrize("value, what", [
    ("https://www.example.org/x", "is a URL; give the host name only (www.example.org)"),
    ("www.example.org:8080", "not a host name"),
    ("[::1]:8080", "not a host name"),
    ("www.example.org/pdf", "not a host name"),
    ("user@www.example.org", "not a host name"),
    ("www example org", "not a host name"),
    ("go.jp", "public suffix"),
    ("co.uk", "public suffix"),
    ("jp", "public suffix"),
    ("com", "public suffix"),
    ("a.*.example.org", "wildcard"),
    ("", "must be a host name"),
    (3, "must be a host name"),
    ("ｊｓｔ.go.jp", "not a valid host name"),
])
def test_bad_allowed_hosts_are_refused(value, what):
    with pytest.raises(ValueError, match=None) as info:
        normalize_allowed_host(value)
    assert what in str(info.value)
    with pytest.raises(PipelineError, match="AcquireConfig.allowed_hosts"):
        AcquireConfig(allowed_hosts=(value,))


# ---------------------------------------------------------------------------------------------
# The host rules end to end


def test_a_listing_page_linking_a_pdf_on_another_host_is_refused(http_server, second_host, tmp_path):
    pdf = second_host.serve_pdf("/r.pdf", make_pdf("elsewhere"))
    listing = http_server.serve_html("/list.html", listing_html(pdf))

    with pytest.raises(HostNotAllowed) as info:
        acquire(listing + "#fy24_rr02", cfg(tmp_path))

    err = info.value
    assert isinstance(err, AcquireError) and not isinstance(err, TransientAcquireError)
    assert err.what.startswith("refusing to download from 127.0.0.2: the PDF link of entry #fy24_rr02 on the "
                               f"listing page {listing} leads to {pdf}")
    assert "not on the page's site (127.0.0.1)" in err.what
    assert "--allow-host 127.0.0.2" in err.todo and 'allow_hosts = ["127.0.0.2"]' in err.todo
    assert second_host.count("/r.pdf") == 0  # nothing was sent there
    assert [n for n in raw_names(tmp_path) if n != "manifest.jsonl"] == []


def test_allowed_hosts_let_the_other_host_through(http_server, second_host, tmp_path):
    body = make_pdf("elsewhere")
    pdf = second_host.serve_pdf("/r.pdf", body)
    listing = http_server.serve_html("/list.html", listing_html(pdf))

    got = acquire(listing + "#fy24_rr02", cfg(tmp_path, allowed_hosts=("127.0.0.2",)))

    assert got.url == pdf and got.path.read_bytes() == body


def test_an_announcement_page_linking_to_another_host_is_refused(http_server, second_host, tmp_path):
    pdf = second_host.serve_pdf("/r.pdf", make_pdf("elsewhere"))
    page = http_server.serve_html("/topic.html", (
        "<html><head><title>報告書 | JST</title></head><body><main><h1>新興技術政策の国際動向</h1>"
        f'<p>2025年4月</p><p>報告書は<a href="{pdf}">こちら</a></p>'
        "<h2>エグゼクティブ・サマリー</h2><p>各国は重要技術を定めている。</p></main></body></html>"))

    with pytest.raises(HostNotAllowed) as info:
        acquire(page, cfg(tmp_path))

    assert f"the report link of the announcement page {page} leads to {pdf}" in info.value.what
    assert second_host.count("/r.pdf") == 0


def test_a_redirect_chain_is_checked_hop_by_hop(http_server, tmp_path):
    # on the page's site → localhost (another host, which is the same server) → back on the site:
    # where the chain ends is fine, but its first hop is not
    body = make_pdf("chain")
    http_server.serve_pdf("/real.pdf", body)
    http_server.redirect("/hop", http_server.url("/real.pdf"))
    http_server.redirect("/r.pdf", f"http://localhost:{http_server.port}/hop")
    listing = http_server.serve_html("/list.html", listing_html("/r.pdf"))

    with pytest.raises(HostNotAllowed) as info:
        acquire(listing + "#fy24_rr02", cfg(tmp_path))

    err = info.value
    assert err.what.startswith(f"refusing to download from localhost: {http_server.url('/r.pdf')} (the PDF link on "
                               f"{listing}) redirected to http://localhost:{http_server.port}/hop")
    assert "not on the page's site (127.0.0.1)" in err.what and "--allow-host localhost" in err.todo
    assert http_server.count("/hop") == 0 and http_server.count("/real.pdf") == 0

    got = acquire(listing + "#fy24_rr02", cfg(tmp_path, allowed_hosts=("localhost",)))
    assert got.final_url == http_server.url("/real.pdf") and got.path.read_bytes() == body


def test_a_loopback_source_may_redirect_to_loopback_and_a_pdf_source_to_another_host(http_server, tmp_path):
    body = make_pdf("moved")
    http_server.serve_pdf("/new.pdf", body)
    http_server.redirect("/old.pdf", f"http://localhost:{http_server.port}/new.pdf")

    got = acquire(http_server.url("/old.pdf"), cfg(tmp_path))  # the source's own redirect: address rule only

    assert got.final_url == f"http://localhost:{http_server.port}/new.pdf" and got.path.read_bytes() == body


def test_a_redirect_loop_still_stops_after_max_redirects(http_server, tmp_path):
    url = http_server.redirect_loop("/loop.pdf")
    with pytest.raises(AcquireError, match="too many redirects"):
        acquire(url, cfg(tmp_path, max_redirects=5))
    assert http_server.count("/loop.pdf") == 6


def test_a_name_checked_as_public_but_connected_to_loopback_is_refused_before_sending(http_server, tmp_path,
                                                                                     monkeypatch):
    # DNS rebinding: the check resolves localhost to a public address, the connection reaches
    # 127.0.0.1. The source (http://localhost…) then counts as public, and the address the PDF's
    # connection reached is checked before the request is sent.
    import pipeline.hosts as acq

    monkeypatch.setattr(acq, "_resolve", lambda host: ["93.184.216.34"] if host == "localhost" else [])
    http_server.serve_pdf("/r.pdf", make_pdf("rebound"))
    http_server.serve_html("/list.html", listing_html(f"http://localhost:{http_server.port}/r.pdf"))

    with pytest.raises(HostNotAllowed) as info:
        acquire(f"http://localhost:{http_server.port}/list.html#fy24_rr02", cfg(tmp_path))

    assert "localhost was reached at 127.0.0.1, a loopback address" in info.value.what
    assert http_server.count("/r.pdf") == 0


def test_a_probed_link_to_another_host_is_not_probed(http_server, second_host, tmp_path):
    second_host.serve_pdf("/download", make_pdf("elsewhere"))
    listing = http_server.serve_html("/list.html", listing_html(f"{second_host.base_url}/download?no=3"))

    with pytest.raises(SourceError, match="no PDF link") as info:
        acquire(listing + "#fy24_rr02", cfg(tmp_path))

    assert "--allow-host 127.0.0.2" in info.value.todo
    assert second_host.count("/download") == 0


def test_discover_refuses_a_named_entry_off_the_site_and_allow_hosts_lets_it_through(http_server, second_host,
                                                                                     tmp_path, caplog):
    pdf = second_host.serve_pdf("/r.pdf", make_pdf("elsewhere"))
    listing = http_server.serve_html("/list.html", listing_html(pdf))

    with pytest.raises(HostNotAllowed, match="127.0.0.2"):
        discover(Source(name="s", listing=listing, entries=("fy24_rr02",)), config=cfg(tmp_path))
    # matched by a pattern: left out, with a warning
    assert discover(Source(name="s", listing=listing, link_pattern="fy24"), config=cfg(tmp_path)) == []
    assert "entry #fy24_rr02 is not followed" in caplog.text and 'allow_hosts = ["127.0.0.2"]' in caplog.text

    (report,) = discover(Source(name="s", listing=listing, entries=("fy24_rr02",), allow_hosts=("127.0.0.2",)),
                         config=cfg(tmp_path))
    assert report.url == pdf and report.allow_hosts == ("127.0.0.2",)
    config = report.acquire_config(cfg(tmp_path))
    assert config.allowed_hosts == ("127.0.0.2",)
    assert acquire(report.listing_url, config).url == pdf


# ---------------------------------------------------------------------------------------------
# sources.toml: allow_hosts


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_allow_hosts_in_sources_toml(tmp_path):
    a, b = load_sources(write(tmp_path, '''
[[source]]
name = "a"
listing = "https://spap.jst.go.jp/investigation/report_2022.html"
entries = ["fy24_rr02"]
allow_hosts = ["WWW.Example.ORG.", "*.cdn.example.net", "www.example.org"]

[[source]]
name = "b"
announcement = "https://spap.jst.go.jp/other_asia/experience/2025/topic_et_06.html"
allow_hosts = ["10.0.0.5"]
'''))
    assert a.allow_hosts == ("www.example.org", "cdn.example.net")
    assert b.allow_hosts == ("10.0.0.5",) and b.announcements
    (default,) = load_sources()
    assert default.allow_hosts == ()


@pytest.mark.parametrize("value, what", [
    ('"www.example.org"', "allow_hosts must be a list of host names"),
    ('["https://www.example.org/"]', "is a URL; give the host name only"),
    ('["www.example.org:443"]', "not a host name"),
    ('["go.jp"]', "public suffix"),
    ('[1]', "must be a host name"),
])
def test_bad_allow_hosts_in_sources_toml(tmp_path, value, what):
    with pytest.raises(SourceError) as info:
        load_sources(write(tmp_path, f'''
[[source]]
name = "a"
listing = "https://spap.jst.go.jp/investigation/report_2022.html"
entries = ["fy24_rr02"]
allow_hosts = {value}
'''))
    assert "source #1 ('a')" in info.value.what and what in info.value.what
    assert "allow_hosts = [" in info.value.todo


def test_a_misspelt_allow_hosts_key_is_named(tmp_path):
    with pytest.raises(SourceError, match="did you mean 'allow_hosts'"):
        load_sources(write(tmp_path, '[[source]]\nname = "a"\nlisting = "https://e.org/l.html"\n'
                                     'entries = ["x"]\nallowed_hosts = ["www.e.org"]\n'))


# ---------------------------------------------------------------------------------------------
# raw/: partial downloads left by killed runs, file modes


def part(raw: Path, name: str, data: bytes = b"%PDF-1.4 partial") -> Path:
    raw.mkdir(parents=True, exist_ok=True)
    path = raw / name
    path.write_bytes(data)
    return path


def test_stale_part_files_are_removed_and_live_ones_kept(http_server, tmp_path, caplog):
    raw = tmp_path / "raw"
    stale = part(raw, ".acquire-dead1234.part")
    old_empty = part(raw, ".acquire-oldempty.part", b"")
    os.utime(old_empty, (time.time() - 3600, time.time() - 3600))
    young_empty = part(raw, ".acquire-justmade.part", b"")  # may be about to be locked: kept a while
    live = part(raw, ".acquire-live5678.part")
    other = part(raw, "notes.part")  # not ours
    target = part(tmp_path, "precious.txt", b"keep me")
    (raw / ".acquire-link.part").symlink_to(target)
    url = http_server.serve_pdf("/r.pdf", make_pdf("after a kill"))

    fd = os.open(live, os.O_RDONLY)  # a live download holds the lock (another open file description)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        got = acquire(url, cfg(tmp_path))
    finally:
        os.close(fd)

    assert not stale.exists() and not old_empty.exists()
    assert live.exists() and young_empty.exists() and other.exists()
    assert (raw / ".acquire-link.part").is_symlink() and target.read_bytes() == b"keep me"
    assert got.path.exists()
    assert "removed .acquire-dead1234.part" in caplog.text and "killed or crashed" in caplog.text


def test_a_download_killed_with_sigkill_leaves_a_part_that_the_next_run_removes(http_server, drip, tmp_path):
    body = b"%PDF-1.4\n" + b"0" * 300_000  # 200 kB at once (written to the part file), then a drip
    server = drip(pdf_head(body), body, interval=0.05, drip_from=len(pdf_head(body)) + 200_000)
    raw = tmp_path / "raw"
    code = ("from pathlib import Path; from pipeline.acquire import AcquireConfig, acquire; "
            f"acquire({server.url('/r.pdf')!r}, AcquireConfig(raw_dir=Path({str(raw)!r})))")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not any(p.stat().st_size for p in raw.glob(".acquire-*.part")):
            assert time.monotonic() < deadline and proc.poll() is None, "the download did not start"
            time.sleep(0.05)
        (partial,) = raw.glob(".acquire-*.part")
        # while the download runs, another acquire in the same raw/ keeps its part file
        acquire(http_server.serve_pdf("/other.pdf", make_pdf("other")), cfg(tmp_path))
        assert partial.exists()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert partial.exists()  # what kill -9 leaves

    acquire(http_server.url("/other.pdf"), cfg(tmp_path))

    assert not partial.exists() and list(raw.glob(".acquire-*.part")) == []


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_raw_files_are_created_as_a_normal_file_is(http_server, tmp_path, umask, mode):
    url = http_server.serve_pdf("/r.pdf", make_pdf("modes"))
    old = os.umask(umask)
    try:
        got = acquire(url, cfg(tmp_path))
    finally:
        os.umask(old)
    assert stat.S_IMODE(got.path.stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "raw" / "manifest.jsonl").stat().st_mode) == mode
    assert load_manifest(tmp_path / "raw")[0]["path"] == got.path.name


def test_the_part_file_is_locked_while_the_download_runs(drip, tmp_path):
    body = make_pdf("locked")
    server = drip(pdf_head(body), body, interval=0.05, drip_from=len(pdf_head(body)) + 100)
    raw = tmp_path / "raw"
    errors: list[BaseException] = []

    def run() -> None:
        try:
            acquire(server.url("/r.pdf"), cfg(tmp_path, deadline=2))
        except AcquireError as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not list(raw.glob(".acquire-*.part")):
            time.sleep(0.02)
        (partial,) = raw.glob(".acquire-*.part")
        fd = os.open(partial, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    finally:
        thread.join(timeout=10)
    assert errors and "deadline of 2 s" in errors[0].what  # and the part file went with it
    assert list(raw.glob(".acquire-*.part")) == []


# ------------------------------------------------------------------------------------------------
# Compressed bodies nobody asked for: decoded a bounded piece at a time


def _gzip_of_zeros(head: bytes, total: int) -> bytes:
    """gzip of ``head`` and ``total`` zero bytes, made a MB at a time."""
    import zlib

    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [c.compress(head)]
    block = b"\0" * (1 << 20)
    out += [c.compress(block) for _ in range(total >> 20)]
    return b"".join(out) + c.flush()


@pytest.mark.parametrize("path", ["/bomb.pdf", "/bomb.html"])
def test_a_stacked_gzip_bomb_is_decoded_in_bounded_pieces(http_server, tmp_path, path):
    """jstmine asks for no encoding (Accept-Encoding: identity), but a hostile server can send one
    anyway, stacked: 'gzip, gzip' of 512 MB of zeros is 2 KB on the wire, and httpx inflated a
    whole 2 KB read at once, 512 MB in one piece, before any cap was counted (3 layers: the disk's
    size). Each layer now gives at most one chunk at a time, and the cap stops it."""
    import gzip
    import tracemalloc

    from pipeline.listing import fetch_listing

    head = b"%PDF-1.4\n" if path.endswith(".pdf") else b"<html><body>"
    body = gzip.compress(_gzip_of_zeros(head, 512 << 20), 9)
    assert len(body) < 4096
    url = http_server.route(path, Reply(body=body, content_type="application/pdf" if path.endswith(".pdf") else "text/html",
                                        headers={"Content-Encoding": "gzip, gzip"}))
    tracemalloc.start()
    try:
        with pytest.raises(AcquireError) as info:
            if path.endswith(".pdf"):
                acquire(url, cfg(tmp_path, max_bytes=100 << 20))
            else:
                fetch_listing(url, config=cfg(tmp_path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "larger than the cap" in info.value.what and "gzip" in info.value.what, info.value.what
    assert peak < 64 << 20 if path.endswith(".html") else peak < 32 << 20, f"{peak / 2**20:.0f} MB at the peak"


def test_a_gzip_or_deflate_encoded_pdf_is_still_read(http_server, tmp_path):
    import gzip
    import zlib

    pdf = make_pdf("encoded")
    for name, encoding, body in (("g", "gzip", gzip.compress(pdf)), ("d", "deflate", zlib.compress(pdf)),
                                 ("r", "deflate", zlib.compress(pdf)[2:-4]), ("i", "identity", pdf)):
        url = http_server.route(f"/{name}.pdf", Reply(body=body, content_type="application/pdf",
                                                     headers={"Content-Encoding": encoding}))
        got = acquire(url, cfg(tmp_path))
        assert got.path.read_bytes() == pdf, encoding
    url = http_server.route("/bad.pdf", Reply(body=b"%PDF-not gzip at all", content_type="application/pdf",
                                              headers={"Content-Encoding": "gzip"}))
    with pytest.raises(AcquireError, match="gzip"):
        acquire(url, cfg(tmp_path))
