"""Acquire: a source (PDF URL, listing-page URL with #entry-id, announcement page URL, or local path) → a verified PDF in raw/.

Input: a source string and an ``AcquireConfig``. Output: an ``Acquired`` record; every download
(and every 304 revalidation) is also appended to ``raw/manifest.jsonl``. A download is written to a
temporary file in raw/ and renamed into place only when complete and verified, so a failed run
never leaves a partial PDF or loses an earlier one. A local path is verified in place and hashed,
not copied, and not recorded in the manifest.

``acquire`` makes ONE attempt. Retrying is the caller's job (the Prefect task retries only on
``TransientAcquireError``), so errors are classified:

* ``TransientAcquireError``: connection refused, DNS failure, timeouts, remote protocol errors
  (connection dropped, body shorter than Content-Length), HTTP 5xx and 429, a PDF without
  ``%%EOF`` near its end (truncated).
* ``AcquireError``: HTTP 4xx (not 429), a body that is not a PDF (e.g. an HTML page that is no
  announcement page), a body over ``max_bytes``, a redirect loop, an entry id missing from a listing
  page, an announcement page without a usable report link (none, only links to itself, several)
  or whose link leads to another announcement page; a download that outlasts its deadline
  (``AcquireConfig.deadline``, see below); a link or redirect to a host it may not go to
  (``HostNotAllowed``, see below).
* ``SourceError``: an unsupported scheme, a missing/unreadable/non-PDF local file, a listing entry
  without a PDF link.

An announcement page (``pipeline.announcement``: title, date, a download link, the executive
summary) is a source too. A URL without a #fragment is fetched once: a PDF is downloaded, an HTML
page is read as an announcement page and its report link followed, to the listing page's entry and
its PDF, or straight to the PDF. At most one announcement page is followed: a report link that
leads to an announcement page again (another one, or the same) is an ``AcquireError``. An HTML page
that is no announcement page stays the error it always was (with the entries the page lists).
``Acquired.announcement`` holds what the page said; the manifest line names the page under
``announcement``.

For a listing-page source, ``Acquired.report_id``, ``title`` and ``published`` describe the entry,
and the manifest line carries them under the same keys; for an announcement page they come from the
listing entry its link goes through (``published`` falling back to the page's date), else from the
page (``report_id`` is then the PDF's file name, slugged); for a PDF URL or a local path they are
None and the manifest line does not have them. ``published`` is ISO ``YYYY-MM-DD``, or ``YYYY-MM``
when only a year and month are given (``parse_date_or_month``), else None.
``find_report_links`` lists every entry of a page with its date (``parse_date``: 2025年4月1日,
令和7年4月1日, 2025/4/1, 2025-04-01, 2025.4.1; else a year and month: 2025年4月, 令和7年4月,
2025/4, 2025-04); ``fetch_listing`` / ``listing_entry`` and ``fetch_announcement`` /
``announcement_entry`` are the network side of it, shared with ``pipeline.sources``.

The file name in raw/ is derived by the project, never taken from the server:
``<slug>-<sha256[:12]>.pdf``, the slug being the URL's host (plus the listing entry id), restricted
to ``[A-Za-z0-9._-]``. PDFs and the manifest are created with mode 0666 less the umask (0644 under
the usual 022), as a normal file is, so a shared raw/ is readable by other users. A part file
(``raw/.acquire-*.part``) is locked while its download runs; one left by a process that is gone
(killed with -9) is removed by the next acquire in that raw/ (``_remove_stale_parts``).

Deadlines. Besides the per-read ``read_timeout`` (a server silent that long), every request has
a wall-clock deadline covering its connection, redirects, headers and body: ``deadline`` (300 s)
for the PDF, ``page_deadline`` (60 s, never more than ``deadline``) for each HTML page on the way.
It is enforced while waiting for bytes, not between chunks: a watchdog shuts the request's
sockets down when it expires, so a server dripping a byte a second is stopped within a fraction of
a second. Expiry is an ``AcquireError``, not retried: the deadline is the user's bound on the
download, a retry would multiply it, and a server that slow for minutes is rarely fast seconds
later; the message names the deadline and ``jstmine run --deadline``.

Hosts (``host_refusal``). A download reached from a listing or announcement page (its PDF link,
a link probed for a PDF, the listing page an announcement links to) stays on that page's site,
its registrable domain (``registrable_domain``: jst.go.jp for spap.jst.go.jp). Redirects are
followed hop by hop and each hop is checked: for a request reached from a page, against its site;
for every request after the source's own first one, against the address rule: no loopback,
private, link-local, multicast, unspecified or other non-global address (an IP literal, a name
resolving to one, or the address a connection actually reaches), unless the source itself is on
one. ``AcquireConfig.allowed_hosts`` (hosts, or domains with every host under them) waives both.
A refusal is ``HostNotAllowed``, an ``AcquireError`` (not retried) naming the host, the link or
redirect that led there, and ``--allow-host`` / ``allow_hosts``.
"""
from __future__ import annotations

import contextlib
import difflib
import hashlib
import ipaddress
import json
import logging
import os
import re
import secrets
import socket
import ssl
import stat
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import httpx
from bs4 import BeautifulSoup, NavigableString, PageElement, Tag

from pipeline.announcement import Announcement, AnnouncementScan, scan_announcement
from pipeline.errors import AcquireError, PipelineError, SourceError, TransientAcquireError
from pipeline.source import SourceRef, check_local_file, looks_like_pdf_href, parse_source

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.jsonl"
PDF_MAGIC = b"%PDF-"
EOF_MARKER = b"%%EOF"
EOF_WINDOW = 1024  # %%EOF must appear within this many bytes of the end
HTML_CAP = 20 * 1024 * 1024  # listing pages larger than this are refused
PROBE_LIMIT = 5  # non-.pdf links of an entry probed for a PDF response
_HINT_BYTES = 2 * 1024 * 1024  # of an HTML page searched for report entries to name in the error
_CHUNK = 64 * 1024



@dataclass(frozen=True)
class AcquireConfig:
    raw_dir: Path = Path("raw")
    # Per connection attempt / per read: a server that sends nothing for this long is given up on.
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_bytes: int = 200 * 1024 * 1024
    user_agent: str = "jstmine/0.1 (+science-policy text mining)"
    max_redirects: int = 20
    # Wall-clock bound on downloading the PDF, in seconds (connecting, every redirect, the headers
    # and the whole body; None: no bound). A server dripping a byte now and then never trips
    # read_timeout; this stops it within a fraction of a second of expiring (``jstmine run
    # --deadline``). 300 s takes a 20 MB report at 70 kB/s; the size cap (200 MB) needs 0.7 MB/s.
    deadline: float | None = 300.0
    # The same bound for each HTML page fetched on the way (the listing page, an announcement
    # page, each probe of an entry's link), never more than ``deadline``: pages are small.
    page_deadline: float | None = 60.0
    # Hosts (``www.example.org``) or domains (``example.org``: it and every host under it) that
    # links and redirects may lead to besides the page's own site, private addresses included
    # (``jstmine run --allow-host``, ``allow_hosts`` in sources.toml). See ``host_refusal``.
    allowed_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("deadline", "page_deadline"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not value > 0 or value != value):
                raise PipelineError(f"AcquireConfig.{name} must be a positive number of seconds or None, not {value!r}",
                                    "give the deadline in seconds, e.g. jstmine run --deadline 300")
        # (the default instance is built before the helpers below exist: () needs none)
        hosts = normalize_allowed_hosts(self.allowed_hosts) if self.allowed_hosts else ()
        object.__setattr__(self, "allowed_hosts", hosts)

    @property
    def page_bound(self) -> float | None:
        """The deadline of one HTML page: ``page_deadline``, never more than ``deadline``."""
        bounds = [b for b in (self.page_deadline, self.deadline) if b is not None]
        return min(bounds) if bounds else None


@dataclass(frozen=True)
class Acquired:
    path: Path  # the PDF in raw/ (or the local file for a local source)
    sha256: str
    bytes: int
    source: str  # as given by the user
    url: str | None  # the PDF's URL (after resolving a listing page); None for a local path
    final_url: str | None  # after redirects
    etag: str | None
    last_modified: str | None
    fetched_at: str  # ISO 8601, UTC
    not_modified: bool = False  # True when the server answered 304 and the stored copy was used
    # For a listing-page source (…/page.html#entry): the entry's id, title and publication date
    # (ISO YYYY-MM-DD; YYYY-MM when the entry gives only a year and month; None when it gives
    # neither). For an announcement page: the entry's, when its link goes through one (the date
    # falling back to the page's), else the PDF's slugged file name and the page's title and date.
    # None for a PDF URL or a local path.
    report_id: str | None = None
    title: str | None = None
    published: str | None = None
    # For an announcement-page source: what the page says (title, date, report link, summary).
    announcement: Announcement | None = None


# --------------------------------------------------------------------------------------------
# Entry point


def acquire(source: SourceRef | str, config: AcquireConfig = AcquireConfig()) -> Acquired:
    """Fetch or verify ``source`` once; see the module docstring for the forms and errors.

    Parameters:
        source: the report, as parsed by ``pipeline.source.parse_source`` (a string is parsed here).
        config: where downloads go, timeouts, deadlines, size cap, allowed hosts.
    """
    ref = source if isinstance(source, SourceRef) else parse_source(source)
    source = ref.text
    if ref.kind == "local":
        return _acquire_local(source, ref.path)

    url, fragment = ref.url, ref.fragment or ""
    raw_dir = _prepare_raw_dir(config.raw_dir)
    with _make_client(config) as client:
        # A fragment on a .pdf URL is a viewer fragment (#page=3), not a listing entry.
        if ref.entry_id:
            page = _read_listing(client, url, config)
            if page is not None:
                if _place_on_announcement(page, fragment):
                    # …/topic_et_06.html#top: an announcement page, the fragment a place on it
                    scan = scan_announcement(page.soup, url, final_url=page.final_url)
                    if scan.announcement is not None:
                        return _acquire_announced(client, source, scan.announcement, raw_dir, config)
                    if scan.looks_like_announcement and _find_entry(page.soup, fragment) is None:
                        raise _no_report_link(scan)
                entry = listing_entry(client, page, fragment, config)
                try:
                    return _fetch_pdf(client, source, entry.url, _slug(url, entry.id), raw_dir, config, entry)
                except _HtmlPage as exc:  # the entry's "PDF" is a web page
                    html = exc
                raise html.error()
            # else the URL serves a PDF: the fragment was a viewer's after all
        try:
            return _fetch_pdf(client, source, url, _slug(url, None), raw_dir, config)
        except _HtmlPage as exc:  # no PDF: an announcement page, or the HTML error it always was
            html = exc
        return _acquire_announced(client, source, _announcement_of(html), raw_dir, config)


# --------------------------------------------------------------------------------------------
# Announcement pages


class _HtmlPage(Exception):
    """Internal: the response to a PDF request is an HTML page (read up to a cap)."""

    def __init__(self, url: str, final_url: str, body: bytes, charset: str | None, complete: bool) -> None:
        super().__init__(url)
        self.url = url
        self.final_url = final_url
        self.body = body
        self.charset = charset
        self.complete = complete  # the whole page was read (not cut at the cap)

    def scan(self) -> AnnouncementScan | None:
        if not self.complete:
            return None
        return scan_announcement(self.body, self.url, self.charset, final_url=self.final_url)

    def error(self) -> AcquireError:
        return _html_error(self.url, self.final_url, self.body)


def _place_on_announcement(page: ListingPage, fragment: str) -> bool:
    """Whether ``#fragment`` cannot name a listing entry of ``page``, so that the page may be an
    announcement page with the fragment a place on it: no element has that id, or it is the
    whole page (<body id="top">, <main id="contents">), or its region has no link to a .pdf."""
    el = _find_entry(page.soup, fragment)
    if el is None or el.name in ("html", "body", "main"):
        return True
    pdfs, _ = _entry_links(page.soup, fragment, page.base)
    return not pdfs


def _announcement_of(html: _HtmlPage) -> Announcement:
    """The announcement an HTML response is; else the error saying what was wrong."""
    scan = html.scan()
    if scan is not None and scan.announcement is not None:
        return scan.announcement
    if scan is not None and scan.looks_like_announcement:
        raise _no_report_link(scan)
    raise html.error()


def _no_report_link(scan: AnnouncementScan) -> AcquireError:
    todo = ("open the page and give the report's own link to `jstmine run --source`: the listing "
            "entry (…/report_2022.html#fy24_rr02) or the PDF's URL")
    if len(scan.preferred) > 1:
        todo = "give one of those links to `jstmine run --source` (the listing entry's or the PDF's URL)"
    return AcquireError(f"the announcement page {scan.url} gives no usable report link: {scan.problem}", todo)


def _another_announcement(announcement: Announcement, target: str, final_url: str) -> AcquireError:
    pages = {urldefrag(target)[0], urldefrag(final_url)[0]}
    what = "back to itself" if urldefrag(announcement.url)[0] in pages else "to another announcement page"
    return AcquireError(
        f"the report link of the announcement page {announcement.url} leads {what} ({target}"
        + (f", final URL {final_url}" if urldefrag(final_url)[0] != urldefrag(target)[0] else "")
        + "), not to a listing entry or a PDF; jstmine follows one announcement page only",
        "give the report's listing entry (…/report_2022.html#fy24_rr02) or its PDF URL to `jstmine run --source`",
    )


def _pdf_slug(pdf_url: str) -> str:
    """A report id from a PDF URL: its file name without .pdf, restricted to [A-Za-z0-9._-]."""
    name = unquote(urlsplit(pdf_url).path.rstrip("/").rsplit("/", 1)[-1])
    name = re.sub(r"(?i)\.pdf$", "", name)
    return _slug_part(name)[:80] or "report"


def fetch_announcement(
    url: str, *, client: httpx.Client | None = None, config: AcquireConfig = AcquireConfig()
) -> Announcement:
    """Download and read an announcement page (same timeouts, User-Agent, size cap and error
    classification as ``acquire``).

    Parameters:
        url: the page's http(s) URL (a #fragment is ignored).
        client: an httpx client to borrow (never closed); without one, one is made from ``config``.
        config: timeouts, User-Agent and size cap.

    Raises AcquireError when the URL serves a PDF, or a page that is no announcement page or gives
    no usable report link (saying which).
    """
    url = urldefrag(url)[0]
    page = _fetch_html_page(url, client, config, "an announcement page", "the report's announcement page URL")
    scan = scan_announcement(page.soup, url, final_url=page.final_url)
    if scan.announcement is not None:
        return scan.announcement
    if scan.looks_like_announcement:
        raise _no_report_link(scan)
    links = page_report_links(page)
    hint = (" It lists reports (" + ", ".join(f"#{x['id']}" for x in links[:5]) + "): it looks like a listing page."
            if links else "")
    raise AcquireError(
        f"{url} is not an announcement page: it has no executive summary heading and no single report link"
        f" ({scan.problem})",
        "give the report's announcement page (title, date, download link, エグゼクティブ・サマリー); a listing page "
        "goes under listing = … with entries = [...]." + hint,
    )


def announcement_entry(
    client: httpx.Client, announcement: Announcement, config: AcquireConfig = AcquireConfig()
) -> ListingEntry:
    """The report an announcement page links to, as a listing entry resolved to its PDF (no PDF
    is downloaded).

    A link to a listing entry is resolved as ``listing_entry`` resolves it; the entry's id, title
    and date are the report's, the page's title and date filling in what the entry lacks. A link
    straight to a PDF gives the PDF's slugged file name as id and the page's title and date.

    Parameters:
        client: the httpx client to fetch the listing page with (borrowed, not closed).
        announcement: the page, as ``fetch_announcement`` or ``parse_announcement`` gives it.
        config: timeouts, size cap (and the probing of links that do not end in .pdf).

    Raises AcquireError when the link leads to an announcement page again (another one or the
    same one), ``HostNotAllowed`` when it leads off the page's site, or as ``listing_entry`` does.
    """
    target, fragment = urldefrag(announcement.report_url)
    scope = _Scope.page((announcement.url, announcement.final_url), config)
    via = f"the report link of the announcement page {announcement.url}"
    scope.check_link(target, via)  # it stays on the page's site (see host_refusal)
    if fragment and not _looks_like_pdf_href(target):
        page = _read_listing(client, target, config, scope, via)
        if page is not None:
            entry_id = unquote(fragment)
            if _find_entry(page.soup, entry_id) is None:
                scan = scan_announcement(page.soup, target, final_url=page.final_url)
                if scan.announcement is not None or scan.looks_like_announcement:
                    raise _another_announcement(announcement, announcement.report_url, page.final_url)
            entry = listing_entry(client, page, entry_id, config)
            return ListingEntry(id=entry.id, url=entry.url, title=entry.title or announcement.title,
                                published=entry.published or announcement.published, found_on=entry.found_on)
        # the "listing page" is a PDF: the fragment was a viewer's
    return ListingEntry(id=_pdf_slug(target), url=target, title=announcement.title, published=announcement.published,
                        found_on=scope.origins)


def _acquire_announced(
    client: httpx.Client, source: str, announcement: Announcement, raw_dir: Path, config: AcquireConfig
) -> Acquired:
    """Follow an announcement page's report link (one page only) and download the PDF."""
    entry = announcement_entry(client, announcement, config)
    slug = _slug(urldefrag(announcement.report_url)[0], entry.id)
    try:
        return _fetch_pdf(client, source, entry.url, slug, raw_dir, config, entry, announcement)
    except _HtmlPage as exc:
        html = exc
    scan = html.scan()
    if scan is not None and (scan.announcement is not None or scan.looks_like_announcement):
        raise _another_announcement(announcement, entry.url, html.final_url)
    raise html.error()


# --------------------------------------------------------------------------------------------
# Sources


def check_source(source: str) -> SourceRef:
    """``source`` parsed, with a local file checked to be there, without any network access: what
    ``acquire`` would refuse before fetching anything. (The CLI calls it before starting a flow
    run, so such a mistake costs no Prefect start-up.)"""
    ref = parse_source(source)
    check_local_file(ref)
    return ref


def _acquire_local(source: str, path: Path) -> Acquired:
    path = path.expanduser()
    check_local_file(SourceRef(source, "local", path=path))
    try:
        with path.open("rb") as fh:
            head = fh.read(len(PDF_MAGIC))
            digest = hashlib.sha256(head)
            size = len(head)
            if head != PDF_MAGIC:
                raise SourceError(
                    f"not a PDF (does not start with %PDF-): {path}",
                    "give the path of a PDF file; " + _describe_start(head),
                )
            for chunk in iter(lambda: fh.read(1024 * 1024), b""):
                digest.update(chunk)
                size += len(chunk)
    except PermissionError as e:
        raise SourceError(f"cannot read {path}: permission denied", "fix the file's permissions") from e
    except OSError as e:
        raise SourceError(f"cannot read {path}: {e}", "check the file and the disk") from e
    return Acquired(
        path=path.resolve(),
        sha256=digest.hexdigest(),
        bytes=size,
        source=source,
        url=None,
        final_url=None,
        etag=None,
        last_modified=None,
        fetched_at=_now(),
    )


def _describe_start(head: bytes) -> str:
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
        return "the file looks like HTML or XML"
    return f"it starts with {head[:16]!r}"


# --------------------------------------------------------------------------------------------
# Hosts: where a listing or announcement page may send the download
#
# A download reached from a listing or announcement page stays on that page's site: its
# registrable domain (``registrable_domain``: jst.go.jp for spap.jst.go.jp, so www.jst.go.jp is
# the same site). A redirect of any request after the source's own first one (the page, the PDF,
# a probe) may not lead to a loopback, private, link-local, multicast, unspecified or otherwise
# not globally routable address, by an IP literal, by a name that resolves to one, or by the
# address the connection actually reaches (checked when it is made, before the request is sent,
# so a name that resolves one way for the check and another way for the connection is caught
# too) — unless the source itself is on such an address (tests serve from 127.0.0.1, an intranet
# mirror is on 10.x). ``AcquireConfig.allowed_hosts`` lets more hosts or domains through, both
# rules waived. Each hop of a redirect chain is checked, not only where it ends.

# The public-suffix decision is a small documented rule, not the Public Suffix List: no PSL
# library is among the project's dependencies (publicsuffixlist would be the one to add), and a
# system copy of the list is not something the project installs. The rule: a host's registrable
# domain is its last two labels, or three when the last two are a public second level: a
# two-letter country code under one of the generic second-level labels below (go.jp, ac.jp,
# co.jp, or.jp, ne.jp, lg.jp, gov.uk, ac.uk, co.uk, com.au, gov.cn, ac.kr …), or a Japanese
# prefecture (tokyo.jp). Where it errs, it errs on the side of a smaller site except for
# country-code suffixes it does not know (two labels are then taken as the site).
_GENERIC_SLD = frozenset(
    "ac ad co com ed edu go gob gouv gov govt gr id in lg ltd me mil mod ne net nhs nic or org "
    "plc police re res sch".split()
)
_JP_PREFECTURES = frozenset(
    "aichi akita aomori chiba ehime fukui fukuoka fukushima gifu gunma hiroshima hokkaido hyogo "
    "ibaraki ishikawa iwate kagawa kagoshima kanagawa kochi kumamoto kyoto mie miyagi miyazaki "
    "nagano nagasaki nara niigata oita okayama okinawa osaka saga saitama shiga shimane shizuoka "
    "tochigi tokushima tokyo tottori toyama wakayama yamagata yamaguchi yamanashi".split()
)
# Single labels refused as allowed hosts: they would let a whole top-level domain through.
_TOP_LEVEL = frozenset("com net org edu gov mil int info biz io app dev xyz site online".split())


class HostNotAllowed(AcquireError):
    """A link or redirect leads to a host the download may not go to. Not retried: the page or
    the server would send it there again."""


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _norm_host(host: str) -> str:
    """Lower case, without a trailing dot; an IP literal in its canonical form."""
    host = host.strip().lower().rstrip(".")
    ip = _ip(host)
    return ip.compressed if ip is not None else host


def _host_of(url: str) -> str | None:
    """The host a request to ``url`` goes to, as httpx parses it (the same parse the request
    uses: userinfo dropped, IDN as punycode); None when it is no http(s) URL with a host."""
    try:
        parsed = httpx.URL(url)
        raw = parsed.raw_host.decode("ascii")
    except Exception:
        return None
    if parsed.scheme not in ("http", "https") or not raw:
        return None
    return _norm_host(raw)


def _is_public_second_level(sld: str, tld: str) -> bool:
    if len(tld) == 2 and tld.isalpha() and sld in _GENERIC_SLD:
        return True
    return tld == "jp" and sld in _JP_PREFECTURES


def registrable_domain(host: str) -> str:
    """The site a host belongs to (pure): an IP literal is its own site; else the last two
    labels, three under a public second level (see the rule above). ``spap.jst.go.jp`` →
    ``jst.go.jp``, ``www.whitehouse.gov`` → ``whitehouse.gov``, ``jst.go.jp.evil.com`` →
    ``evil.com``. ``host`` is a host name (punycode for IDNs) or IP literal, any case, a trailing
    dot allowed."""
    host = _norm_host(host)
    if _ip(host) is not None or "." not in host:
        return host
    labels = host.split(".")
    keep = 3 if len(labels) >= 3 and _is_public_second_level(labels[-2], labels[-1]) else 2
    return ".".join(labels[-keep:])


def _matches_allowed(host: str, allowed: Iterable[str]) -> bool:
    """Whether ``host`` is one of ``allowed`` or (for a name) under one of them."""
    is_ip = _ip(host) is not None
    return any(host == a or (not is_ip and _ip(a) is None and host.endswith("." + a)) for a in allowed)


def _non_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What kind of address ``ip`` is when a download may not be sent to it, else None."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = [ip.ipv4_mapped, ip.sixtofour]
        if ip in ipaddress.IPv6Network("64:ff9b::/96"):  # NAT64
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        for v4 in embedded:
            if v4 is not None and (kind := _non_public(v4)):
                return kind
    for kind in ("unspecified", "loopback", "link_local", "multicast", "private"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if ip.is_global else "not globally routable"


def _resolve(host: str) -> list[str]:
    """The addresses ``host`` resolves to; [] when it does not (the request then fails itself)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        return []
    return [str(info[4][0]) for info in infos]


def _private_reason(host: str, resolve: Callable[[str], list[str]]) -> str | None:
    """Why ``host`` is on a non-public address ("127.0.0.1, a loopback address"), else None."""
    ip = _ip(host)
    if ip is not None:
        kind = _non_public(ip)
        return f"{ip.compressed} is a {kind} address" if kind else None
    for addr in resolve(host):
        found = _ip(addr.split("%", 1)[0])
        if found is not None and (kind := _non_public(found)):
            return f"{host} resolves to {found.compressed}, a {kind} address"
    return None


def host_refusal(
    url: str,
    origin: str | Iterable[str],
    allowed_hosts: Iterable[str] = (),
    *,
    site_limited: bool = True,
    resolve: Callable[[str], list[str]] | None = None,
) -> str | None:
    """Why a request to ``url``, reached from ``origin``, may not be made; None when it may (pure
    but for name resolution, which ``resolve`` replaces in tests).

    Parameters:
        url: the link's or the redirect's target.
        origin: the URL of the page the link is on, or of the source whose redirect it is; several
            (the page as requested and after its redirects) count as one site.
        allowed_hosts: hosts or domains let through whatever the rules say (normalized, as
            ``normalize_allowed_hosts`` gives them).
        site_limited: whether ``url`` must be on ``origin``'s site (links and redirects reached
            from a page); False for the redirects of the source's own request, which only the
            address rule limits.
        resolve: host name → its addresses (None: the system resolver; [] when unknown).

    The rules (in this order): an allowed host passes; off the site (``registrable_domain`` of
    the host and of the origin differ) is refused; a host on a non-public address (an IP literal,
    or a name resolving to one) is refused unless an origin host is on one too.
    """
    origins = (origin,) if isinstance(origin, str) else tuple(origin)
    resolve = resolve or _resolve
    host = _host_of(url)
    if host is None:
        return "it is not an http(s) URL with a host"
    if _matches_allowed(host, allowed_hosts):
        return None
    origin_hosts = [h for h in (_host_of(o) for o in origins) if h is not None]
    if site_limited:
        sites = sorted(dict.fromkeys(registrable_domain(h) for h in origin_hosts))
        if registrable_domain(host) not in sites:
            return f"{host} is not on the page's site ({', '.join(sites) or 'none'})"
    reason = _private_reason(host, resolve)
    if reason is not None and not any(_private_reason(h, resolve) for h in origin_hosts):
        return reason + ", and the source is not on such an address"
    return None


def _allow_todo(host: str) -> str:
    return (f"if {host} is meant to serve the report, allow it: jstmine run --allow-host {host} "
            f"(in sources.toml: allow_hosts = [\"{host}\"] in the source's [[source]] table; "
            "AcquireConfig.allowed_hosts); else give the PDF's own URL to `jstmine run --source`")


@dataclass(frozen=True)
class _Scope:
    """Where the requests of one step may go: the links of a page and their redirects
    (``site_limited``), or the redirects of the source's own request (only the address rule)."""

    origins: tuple[str, ...]
    site_limited: bool
    allowed: tuple[str, ...]

    @classmethod
    def source(cls, url: str, config: AcquireConfig) -> _Scope:
        return cls((url,), False, config.allowed_hosts)

    @classmethod
    def page(cls, urls: Iterable[str | None], config: AcquireConfig) -> _Scope:
        return cls(tuple(dict.fromkeys(u for u in urls if u)), True, config.allowed_hosts)

    def refusal(self, url: str) -> str | None:
        return host_refusal(url, self.origins, self.allowed, site_limited=self.site_limited)

    def check_link(self, url: str, how: str) -> None:
        """Raise ``HostNotAllowed`` when ``how`` (e.g. "the PDF link of entry #x on the listing
        page URL") leads off the scope to ``url``."""
        reason = self.refusal(url)
        if reason is not None:
            host = _host_of(url) or url
            raise HostNotAllowed(f"refusing to download from {host}: {how} leads to {url}, and {reason}",
                                 _allow_todo(host))

    def check_redirect(self, from_url: str, to_url: str, via: str) -> None:
        reason = self.refusal(to_url)
        if reason is not None:
            host = _host_of(to_url) or to_url
            raise HostNotAllowed(
                f"refusing to download from {host}: {from_url}{f' ({via})' if via else ''} redirected to {to_url}, "
                f"and {reason}", _allow_todo(host))

    def peer_refusal(self, host: str, peer: str) -> str | None:
        """Why the connection to ``host`` may not go on, having reached the address ``peer``."""
        if _matches_allowed(host, self.allowed):
            return None
        ip = _ip(peer.split("%", 1)[0])
        kind = _non_public(ip) if ip is not None else None
        if kind is None or any(_private_reason(h, _resolve) for h in map(_host_of, self.origins) if h):
            return None
        return f"{host} was reached at {ip.compressed}, a {kind} address, and the source is not on such an address"


def normalize_allowed_host(value: object) -> str:
    """One allowed host or domain, normalized (lower case, punycode, no trailing dot; ``*.x`` and
    ``.x`` mean ``x``); raises ValueError saying what is wrong with it (pure).

    Accepted: a host name (``www.example.org``), a domain (``example.org``: it and every host under
    it), an IPv4 or IPv6 literal (``10.0.0.5``, ``[fd00::1]``). Refused: URLs, ports, paths,
    userinfo, wildcards inside a name, and public suffixes (``go.jp``, ``co.uk``, ``com``) that
    would let a whole registry through."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"an allowed host must be a host name, not {value!r}")
    text = value.strip()
    if "://" in text:
        host = _host_of(text)
        raise ValueError(f"{text!r} is a URL; give the host name only" + (f" ({host})" if host else ""))
    if any(c in text for c in "/?#@\\ \t") or (text.count(":") == 1 and _ip(text) is None):
        raise ValueError(f"{text!r} is not a host name (no port, path or user name: e.g. www.example.org)")
    text = text.removeprefix("*.").removeprefix(".")
    ip = _ip(text)
    if ip is not None:
        return ip.compressed
    if ":" in text or "[" in text or "]" in text:
        raise ValueError(f"{text!r} is not a host name (no port, path or user name: e.g. www.example.org)")
    if "*" in text:
        raise ValueError(f"{value!r}: a wildcard may only lead the name (*.example.org); "
                         "example.org alone allows every host under it")
    host = _host_of(f"http://{text}/")
    if host is None or not host or host.startswith(".") or ".." in host:
        raise ValueError(f"{value!r} is not a valid host name")
    labels = host.split(".")
    if (len(labels) == 1 and ((len(host) == 2 and host.isalpha()) or host in _TOP_LEVEL)) or (
            len(labels) == 2 and _is_public_second_level(labels[0], labels[1])):
        raise ValueError(f"{value!r} is a public suffix: it would allow every site under it; "
                         "name the site itself (e.g. jst.go.jp)")
    return host


def normalize_allowed_hosts(values: Iterable[str], where: str = "AcquireConfig.allowed_hosts") -> tuple[str, ...]:
    """``normalize_allowed_host`` for each, duplicates dropped; a ``PipelineError`` naming
    ``where`` (e.g. ``--allow-host``) and the bad value otherwise."""
    if isinstance(values, str):
        values = (values,)
    out: dict[str, None] = {}
    for value in values:
        try:
            out[normalize_allowed_host(value)] = None
        except ValueError as exc:
            raise PipelineError(f"{where}: {exc}",
                                "give host names (www.example.org) or domains (example.org), e.g. "
                                "jstmine run --allow-host www.example.org") from None
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Requests: redirects followed hop by hop, under a deadline


class _Watchdog:
    """A deadline for one request and its redirects: when it expires, the sockets of the
    request's connections are shut down, which ends a read blocked on a server that drips bytes
    (or sends none) at once; the caller then reports the deadline, not the broken connection."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.end = None if seconds is None else time.monotonic() + seconds
        self.fired = False
        self.response: httpx.Response | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def __enter__(self) -> _Watchdog:
        if self.seconds is not None:
            self._timer = threading.Timer(self.seconds, self._fire)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._sockets.clear()

    def remaining(self) -> float | None:
        return None if self.end is None else self.end - time.monotonic()

    def watch(self, stream) -> None:
        """Shut ``stream``'s socket down when the deadline expires (at once if it has)."""
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            if not self.fired:
                self._sockets.append(sock)
                return
        _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    # socket.socket's own shutdown, also for an SSLSocket: it wakes a recv blocked in another
    # thread (close() would not) and leaves the TLS object to the thread using it.
    with contextlib.suppress(OSError, ValueError, TypeError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _clamped_timeouts(config: AcquireConfig, dog: _Watchdog) -> dict:
    remaining = dog.remaining()
    if remaining is not None and remaining <= 0:
        dog.fired = True
        raise httpx.ReadTimeout("deadline expired")

    def cap(value: float) -> float:
        return value if remaining is None else max(0.001, min(value, remaining))

    return httpx.Timeout(connect=cap(config.connect_timeout), read=cap(config.read_timeout),
                         write=cap(config.read_timeout), pool=cap(config.connect_timeout)).as_dict()


def _tracer(dog: _Watchdog, scope: _Scope | None, hop_url: str) -> Callable[[str, dict], None]:
    """httpcore's ``trace`` extension for one hop: every connection it opens is watched by the
    deadline, and (with ``scope``) the address it reached is checked before anything is sent.
    A connection through a proxy reaches the proxy: only the names were checked then."""
    hop_host = _host_of(hop_url)
    connecting: dict[str, str] = {}

    def trace(event: str, info: dict) -> None:
        if event == "connection.connect_tcp.started":
            connecting["host"] = _norm_host(str(info.get("host") or ""))
        elif event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            stream = info.get("return_value")
            dog.watch(stream)
            if scope is None or event != "connection.connect_tcp.complete" or connecting.get("host") != hop_host:
                return
            try:
                peer = str(stream.get_extra_info("server_addr")[0])
            except Exception:
                return
            reason = scope.peer_refusal(hop_host, peer)
            if reason is not None:
                with contextlib.suppress(Exception):
                    stream.close()
                raise HostNotAllowed(f"refusing to download from {hop_host}: {hop_url}: {reason}",
                                     _allow_todo(hop_host))

    return trace


def _send(client: httpx.Client, url: str, headers: dict[str, str] | None, config: AcquireConfig,
          scope: _Scope, dog: _Watchdog, via: str, check_first_peer: bool) -> httpx.Response:
    """GET ``url``, following redirects hop by hop, each hop checked against ``scope``; the final
    response is streaming (the caller closes it)."""
    request = client.build_request("GET", url, headers=headers)
    hops = 0
    while True:
        request.extensions = {
            **request.extensions,
            "timeout": _clamped_timeouts(config, dog),
            "trace": _tracer(dog, scope if (hops or check_first_peer) else None, str(request.url)),
        }
        resp = client.send(request, stream=True, follow_redirects=False)
        dog.response = resp
        dog.watch(resp.extensions.get("network_stream"))
        nxt = resp.next_request
        if nxt is None:
            return resp
        resp.close()
        hops += 1
        if hops > config.max_redirects:
            raise httpx.TooManyRedirects("Exceeded maximum allowed redirects.", request=request)
        scope.check_redirect(str(request.url), str(nxt.url), via)
        request = nxt


@contextlib.contextmanager
def _request(
    client: httpx.Client,
    url: str,
    config: AcquireConfig,
    scope: _Scope,
    *,
    page: bool,
    headers: dict[str, str] | None = None,
    via: str = "",
) -> Iterator[httpx.Response]:
    """A streaming GET of ``url`` under a deadline (``config.deadline`` for the PDF,
    ``config.page_bound`` for a ``page``), redirects checked hop by hop against ``scope``, httpx
    errors classified. The first hop's address is checked too unless ``scope`` is the source's
    own (the URL the user gave)."""
    seconds = config.page_bound if page else config.deadline
    with _Watchdog(seconds) as dog:
        try:
            with _http_errors(url, config):
                resp = _send(client, url, headers, config, scope, dog, via, check_first_peer=scope.site_limited)
                try:
                    yield resp
                finally:
                    resp.close()
        except Exception as exc:
            if dog.fired:
                raise _deadline_error(url, page, seconds, dog, config) from exc
            raise


def _deadline_error(url: str, page: bool, seconds: float | None, dog: _Watchdog, config: AcquireConfig) -> AcquireError:
    """Not retried (an ``AcquireError``, not transient): the deadline is the user's bound on how
    long a download may take, and a retry would multiply it (four attempts and the waits between
    them); a server this slow for minutes is rarely fast a few seconds later. Raising the
    deadline is the fix when the server is just slow."""
    if dog.response is None:
        came = "No answer came in that time"
    else:
        came = f"{dog.response.num_bytes_downloaded:,} bytes of the body came in that time"
    why = (f"{came}: the server is too slow or sends its answer a little at a time. Not retried: another "
           "attempt would take as long. If the server is just slow, give it more time: ")
    if not page:
        return AcquireError(f"the download of {url} did not finish within its deadline of {seconds:g} s",
                            why + "jstmine run --deadline SECONDS (AcquireConfig.deadline)")
    bound = ("AcquireConfig.page_deadline" + (f", {config.page_deadline:g} s" if config.page_deadline else "")
             + ", never more than jstmine run --deadline SECONDS (AcquireConfig.deadline)")
    return AcquireError(f"fetching the page {url} did not finish within its deadline of {seconds:g} s",
                        why + f"pages get {bound}")


# --------------------------------------------------------------------------------------------
# HTTP


def _make_client(config: AcquireConfig) -> httpx.Client:
    timeout = httpx.Timeout(
        connect=config.connect_timeout,
        read=config.read_timeout,
        write=config.read_timeout,
        pool=config.connect_timeout,
    )
    return httpx.Client(
        timeout=timeout,
        # Redirects are followed by ``_send``, one hop at a time, each checked (``_Scope``).
        follow_redirects=False,
        max_redirects=config.max_redirects,
        # A new connection per request: every connection is then opened under the deadline of
        # the request using it, which watches its socket from the start (``_Watchdog``).
        limits=httpx.Limits(max_keepalive_connections=0),
        headers={
            "User-Agent": config.user_agent,
            "Accept": "application/pdf, text/html;q=0.9, */*;q=0.5",
            # identity keeps byte counts equal to Content-Length and rules out compression bombs
            "Accept-Encoding": "identity",
        },
    )


def _is_cert_error(exc: BaseException) -> bool:
    seen = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(e):
            return True
        e = e.__cause__ or e.__context__
    return False


@contextlib.contextmanager
def _http_errors(url: str, config: AcquireConfig) -> Iterator[None]:
    """Turn httpx exceptions into classified pipeline errors."""
    retry = "it may pass on a later attempt; if it keeps failing, check the network and the host"
    try:
        yield
    except httpx.TooManyRedirects as e:
        raise AcquireError(
            f"too many redirects (more than {config.max_redirects}) fetching {url}: "
            "the server redirects in a loop",
            "open the URL in a browser to see where it leads and give the final PDF URL "
            "(or raise AcquireConfig.max_redirects if the chain is genuinely long)",
        ) from e
    except httpx.UnsupportedProtocol as e:
        raise AcquireError(
            f"{url} redirected to an unsupported URL ({e})",
            "give the PDF's http(s) URL directly",
        ) from e
    except httpx.ConnectTimeout as e:
        raise TransientAcquireError(
            f"timed out connecting to {url} (connect_timeout={config.connect_timeout}s)",
            retry + "; or give it more time: jstmine run --timeout SECONDS (AcquireConfig.connect_timeout)",
        ) from e
    except httpx.ReadTimeout as e:
        raise TransientAcquireError(
            f"the server stopped sending data for {config.read_timeout}s: {url}",
            retry + "; or give it more time: jstmine run --timeout SECONDS (AcquireConfig.read_timeout)",
        ) from e
    except httpx.TimeoutException as e:
        raise TransientAcquireError(f"timed out fetching {url} ({type(e).__name__})", retry) from e
    except httpx.ConnectError as e:
        if _is_cert_error(e):
            raise AcquireError(
                f"TLS certificate verification failed for {url}: {e}",
                "check the URL (host name) and the system's CA certificates",
            ) from e
        raise TransientAcquireError(f"could not connect for {url}: {e}", retry) from e
    except httpx.RemoteProtocolError as e:
        raise TransientAcquireError(
            f"the connection broke while fetching {url} (download incomplete): {e}", retry
        ) from e
    except (httpx.NetworkError, httpx.ProxyError, httpx.DecodingError) as e:
        raise TransientAcquireError(f"network error fetching {url}: {e}", retry) from e
    except httpx.LocalProtocolError as e:
        raise AcquireError(f"could not send the request for {url}: {e}", "check the URL") from e
    except httpx.TransportError as e:
        raise TransientAcquireError(f"transport error fetching {url}: {e}", retry) from e
    except httpx.InvalidURL as e:
        raise AcquireError(f"invalid URL while fetching {url}: {e}", "check the URL") from e
    except httpx.HTTPError as e:
        raise AcquireError(f"HTTP error fetching {url}: {e}", "check the URL") from e


def _check_status(resp: httpx.Response, url: str) -> None:
    code = resp.status_code
    where = f"{url}" if str(resp.url) == url else f"{url} (final URL {resp.url})"
    if code == 429 or code >= 500:
        retry_after = resp.headers.get("Retry-After")
        extra = f"; the server asks to wait {retry_after}" if retry_after else ""
        raise TransientAcquireError(
            f"HTTP {code} {resp.reason_phrase} from {where}",
            "the server is busy or failing; it may pass on a later attempt" + extra,
        )
    if 400 <= code < 500:
        if code in (401, 403, 407):
            todo = "the page may need a login or block automated downloads; download it in a browser and give the local path"
        elif code in (404, 410):
            todo = "check the URL; the report may have moved — open the listing page and copy the current PDF link"
        else:
            todo = "check the URL"
        raise AcquireError(f"HTTP {code} {resp.reason_phrase} from {where}", todo)
    if code >= 300:
        raise AcquireError(
            f"HTTP {code} {resp.reason_phrase} from {where} was not followed"
            + (" (no Location header)" if "location" not in resp.headers else ""),
            "open the URL in a browser and give the final PDF URL",
        )


def _content_length(resp: httpx.Response) -> int | None:
    value = resp.headers.get("Content-Length")
    if value is None:
        return None
    try:
        n = int(value.split(",")[0].strip())
    except ValueError:
        return None
    return n if n >= 0 else None


def _too_large(url: str, what: str, cap: int) -> AcquireError:
    return AcquireError(
        f"{url} is larger than the cap of {cap:,} bytes ({what})",
        "check the URL; if the file is expected to be that large, raise the cap: "
        "jstmine run --max-mb N (AcquireConfig.max_bytes)",
    )


def _html_error(url: str, final_url: str, html: bytes | None) -> AcquireError:
    hint = ""
    if html:
        try:
            links = find_report_links(html[:_HINT_BYTES], final_url)
        except Exception:  # a hint only; never mask the real error
            links = []
        if links:
            ids = ", ".join(f"#{x['id']}" for x in links[:5])
            hint = f" This page lists reports, e.g. {ids}."
    return AcquireError(
        f"the server returned an HTML page, not a PDF: {url}"
        + (f" (final URL {final_url})" if final_url != url else ""),
        "check the URL: give the PDF's own URL, a report listing page URL with the entry id "
        "as fragment (…/report_2022.html#fy24_rr02), or the report's announcement page; the page "
        "may also need a login." + hint,
    )


def _looks_like_html(head: bytes, content_type: str) -> bool:
    if "html" in content_type.lower():
        return True
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")  # HTML, XHTML or an XML error page


# --------------------------------------------------------------------------------------------
# Listing pages


@dataclass(frozen=True)
class ListingEntry:
    """One report entry of a listing page, resolved to its PDF."""

    id: str
    url: str  # the PDF's absolute URL
    title: str | None
    # ISO YYYY-MM-DD; YYYY-MM when the entry gives only a year and month (2025年4月); else None
    published: str | None
    # The page the PDF link is on (as requested, and after its redirects): the PDF's download
    # stays on its site (see ``host_refusal``). () for a PDF URL given as the source.
    found_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListingPage:
    """A downloaded listing page: parsed, with the base URL its links resolve against."""

    url: str  # as requested
    final_url: str  # after redirects
    soup: BeautifulSoup
    base: str  # final URL, or the page's <base href>


def _read_listing(
    client: httpx.Client, page_url: str, config: AcquireConfig, scope: _Scope | None = None, via: str = ""
) -> ListingPage | None:
    """GET a listing page (size-capped, under ``config.page_bound``); None when the URL turns out
    to serve a PDF. ``scope``: where its redirects may go (default: ``page_url`` is the source)."""
    cap = min(config.max_bytes, HTML_CAP)
    if scope is None:
        scope = _Scope.source(page_url, config)
    with _request(client, page_url, config, scope, page=True, via=via) as resp:
        _check_status(resp, page_url)
        length = _content_length(resp)
        if length is not None and length > cap:
            raise _too_large(page_url, f"Content-Length {length:,}", cap)
        buf = bytearray()
        for chunk in resp.iter_bytes(_CHUNK):
            buf += chunk
            if buf[: len(PDF_MAGIC)] == PDF_MAGIC:
                return None
            if len(buf) > cap:
                raise _too_large(page_url, "listing page", cap)
        final_url = str(resp.url)
        charset = resp.charset_encoding
    soup = _soup(bytes(buf), charset)
    return ListingPage(url=page_url, final_url=final_url, soup=soup, base=_base_url(soup, final_url))


def fetch_listing(
    url: str, *, client: httpx.Client | None = None, config: AcquireConfig = AcquireConfig()
) -> ListingPage:
    """Download and parse a listing page (same timeouts, User-Agent, size cap and error
    classification as ``acquire``). A URL that serves a PDF is an ``AcquireError``."""
    return _fetch_html_page(url, client, config, "a report listing page", "the listing page's URL")


def _fetch_html_page(url: str, client: httpx.Client | None, config: AcquireConfig, what: str,
                     instead: str) -> ListingPage:
    """GET an HTML page with a borrowed client (or one of its own); a PDF there is an AcquireError
    saying the URL is a PDF, not ``what``, and to give ``instead``."""
    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(_make_client(config))
        page = _read_listing(client, url, config)
    if page is None:
        raise AcquireError(f"{url} is a PDF, not {what}",
                           f"give the PDF URL to `jstmine run --source` directly, or give {instead}")
    return page


def listing_entry(
    client: httpx.Client, page: ListingPage, entry_id: str, config: AcquireConfig = AcquireConfig()
) -> ListingEntry:
    """Entry ``entry_id`` of a downloaded listing page, resolved to its PDF: the first link ending
    in .pdf, else the first of its other links (at most PROBE_LIMIT) that serves a PDF.

    Only links on the page's site (or to ``config.allowed_hosts``) are taken or probed, and a
    probe's redirects are checked hop by hop (``host_refusal``).

    Raises AcquireError when no element has that id, ``HostNotAllowed`` when the entry's PDF link
    (or the redirect of the only link that could be its PDF) leads off the site, SourceError when
    no link leads to a PDF.
    """
    el = _find_entry(page.soup, entry_id)
    pdfs, others = _entry_links(page.soup, entry_id, page.base)
    scope = _Scope.page((page.url, page.final_url), config)
    how = f"the PDF link of entry #{entry_id} on the listing page {page.url}"
    pdf_url = next((u for u in pdfs if scope.refusal(u) is None), None)
    if pdfs and pdf_url is None:
        scope.check_link(pdfs[0], how)  # raises, naming the host and how to allow it
    skipped: list[str] = []
    refused: HostNotAllowed | None = None
    if pdf_url is None:
        for link in others[:PROBE_LIMIT]:
            if scope.refusal(link) is not None:
                skipped.append(link)
                continue
            try:
                if _probe_is_pdf(client, link, config, scope, f"a link of entry #{entry_id} on {page.url}"):
                    pdf_url = link
                    break
            except HostNotAllowed as exc:
                refused = refused or exc
    if pdf_url is None and refused is not None:
        raise refused
    if pdf_url is None or el is None:
        raise _no_pdf_link(entry_id, page.url, skipped)
    anchor = next((a for a in _region_anchors(el) if _abs_link(a, page.base) == pdf_url), None)
    title = _entry_title(el, anchor) if anchor is not None else ""
    return ListingEntry(id=entry_id, url=pdf_url, title=title or None, published=_entry_date(el),
                        found_on=scope.origins)


def _resolve_entry(
    client: httpx.Client, page_url: str, entry_id: str, config: AcquireConfig
) -> ListingEntry | None:
    """Fetch the listing page and resolve the entry; None if the URL is itself a PDF (the
    fragment was then a viewer fragment)."""
    page = _read_listing(client, page_url, config)
    if page is None:
        return None
    return listing_entry(client, page, entry_id, config)


def _probe_is_pdf(client: httpx.Client, url: str, config: AcquireConfig, scope: _Scope, via: str) -> bool:
    with _request(client, url, config, scope, page=True, via=via) as resp:
        if not 200 <= resp.status_code < 300:
            return False
        if "application/pdf" in resp.headers.get("Content-Type", "").lower():
            return True
        head = b""
        for chunk in resp.iter_bytes(_CHUNK):
            head += chunk
            if len(head) >= len(PDF_MAGIC):
                break
        return head.startswith(PDF_MAGIC)


def _soup(html: str | bytes, charset: str | None = None) -> BeautifulSoup:
    if isinstance(html, bytes):
        return BeautifulSoup(html, "html.parser", from_encoding=charset)
    return BeautifulSoup(html, "html.parser")


def _base_url(soup: BeautifulSoup, base_url: str) -> str:
    base = soup.find("base", href=True)
    if isinstance(base, Tag):
        return urljoin(base_url, str(base["href"]).strip())
    return base_url


_looks_like_pdf_href = looks_like_pdf_href


def _abs_link(a: Tag, base: str) -> str | None:
    href = str(a.get("href") or "").strip()
    if not href or href.startswith("#"):
        return None
    url = urldefrag(urljoin(base, href))[0]
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return None
    return url


def _find_entry(soup: BeautifulSoup, entry_id: str) -> Tag | None:
    el = soup.find(id=entry_id)
    if el is None:
        el = soup.find("a", attrs={"name": entry_id})
    return el if isinstance(el, Tag) else None


def _region_anchors(el: Tag) -> Iterator[Tag]:
    """The <a href> tags that belong to the entry ``el``, in document order.

    First those inside ``el``; then, walking its following siblings (and, when ``el`` is the last
    thing in its parent, the parent's following siblings), those up to the next element that has
    an id, which starts the next entry.
    """
    if el.name == "a" and el.get("href"):
        yield el
    yield from el.find_all("a", href=True)
    cur: Tag = el
    for _ in range(4):  # climb a few levels at most
        for sib in cur.find_next_siblings():
            if sib.get("id"):
                return
            if sib.name == "a" and sib.get("href"):
                yield sib
            for node in sib.descendants:
                if isinstance(node, Tag):
                    if node.get("id"):
                        return  # the next entry starts inside this sibling
                    if node.name == "a" and node.get("href"):
                        yield node
        parent = cur.parent
        if not isinstance(parent, Tag) or parent.name in ("body", "html", "[document]"):
            return
        if parent.get("id"):  # a container of its own entry: stay inside it
            return
        cur = parent


def _entry_links(soup: BeautifulSoup, entry_id: str, base: str) -> tuple[list[str], list[str]]:
    el = _find_entry(soup, entry_id)
    if el is None:
        raise _entry_not_found(soup, entry_id, base)
    pdfs: list[str] = []
    others: list[str] = []
    for a in _region_anchors(el):
        url = _abs_link(a, base)
        if url is None:
            continue
        target = pdfs if _looks_like_pdf_href(url) else others
        if url not in target:
            target.append(url)
    return pdfs, others


def _entry_not_found(soup: BeautifulSoup, entry_id: str, base: str) -> AcquireError:
    entries = [x["id"] for x in _report_links(soup, base)]
    ids = entries or [str(t["id"]) for t in soup.find_all(id=True)]
    close = difflib.get_close_matches(entry_id, ids, n=3, cutoff=0.6)
    shown = close + [i for i in ids if i not in close]
    listing = ", ".join(f"#{i}" for i in shown[:8]) + (" …" if len(shown) > 8 else "")
    return AcquireError(
        f"entry #{entry_id} not found on the listing page {base}",
        (f"ids on the page {'with a PDF ' if entries else ''}include: {listing}"
         if ids else "the page has no element ids; give the PDF's URL directly"),
    )


def _no_pdf_link(entry_id: str, base: str, off_site: list[str] | None = None) -> SourceError:
    note = ""
    if off_site:
        hosts = list(dict.fromkeys(_host_of(u) or u for u in off_site))
        note = (f"; its links to other sites were not tried ({', '.join(off_site[:3])}"
                + (" …" if len(off_site) > 3 else "") + "): if one of them is the report, allow its host: "
                f"jstmine run --allow-host {hosts[0]} (allow_hosts in sources.toml)")
    return SourceError(
        f"entry #{entry_id} on {base} has no PDF link",
        "open the page, copy the PDF link of the report and give that URL" + note,
    )


def resolve_listing(html: str | bytes, base_url: str, entry_id: str) -> str:
    """The absolute URL of the PDF linked from entry ``entry_id`` of a listing page (pure).

    Raises AcquireError when no element has that id (naming some that do), SourceError when the
    entry has no link ending in .pdf.
    """
    soup = _soup(html)
    base = _base_url(soup, base_url)
    pdfs, _ = _entry_links(soup, entry_id, base)
    if not pdfs:
        raise _no_pdf_link(entry_id, base_url)
    return pdfs[0]


_TITLE_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6", "dt", "caption")


def _text(node: Tag) -> str:
    return " ".join(node.get_text(" ", strip=True).split())


def _is_title_node(node: Tag) -> bool:
    if node.name in _TITLE_TAGS:
        return True
    classes = " ".join(node.get("class") or []).lower()
    return "title" in classes or "ttl" in classes


def _entry_title(el: Tag, pdf_anchor: Tag) -> str:
    # Walk the entry's region as _region_anchors does (the element, its following siblings, and
    # when the element is an anchor inside a heading, that heading) up to the PDF link.
    candidates: list[Tag] = [el, *el.find_all(True)]
    cur = el
    reached = any(n is pdf_anchor for n in candidates)
    for _ in range(4):
        if reached:
            break
        for sib in cur.find_next_siblings():
            if sib.get("id"):
                reached = True
                break
            candidates.append(sib)
            candidates.extend(sib.find_all(True))
            if sib is pdf_anchor or any(d is pdf_anchor for d in sib.descendants):
                reached = True
                break
        parent = cur.parent
        if reached or not isinstance(parent, Tag) or parent.get("id") or parent.name in (
            "body", "html", "[document]"
        ):
            break
        candidates.append(parent)  # e.g. <h3><a id=x></a>Title</h3>
        cur = parent
    for node in candidates:
        if _is_title_node(node) and _text(node):
            return _text(node)
    own = _text(el)
    link_text = _text(pdf_anchor)
    if own and own != link_text:
        return own.replace(link_text, "").strip() if link_text and link_text in own else own
    return link_text or str(pdf_anchor.get("title") or "")


def _report_links(soup: BeautifulSoup, base: str) -> list[dict]:
    found: list[tuple[Tag, dict]] = []
    seen_ids: set[str] = set()
    for el in soup.find_all(lambda t: t.has_attr("id") or (t.name == "a" and t.has_attr("name"))):
        entry_id = str(el.get("id") or el.get("name"))
        if not entry_id or entry_id in seen_ids:
            continue
        for a in _region_anchors(el):
            url = _abs_link(a, base)
            if url and _looks_like_pdf_href(url):
                seen_ids.add(entry_id)
                found.append((el, {"id": entry_id, "title": _entry_title(el, a), "url": url,
                                   "date": _entry_date(el)}))
                break
    # A container (a section with an id around several entries) would claim its first entry's
    # PDF: keep the innermost element for a given URL.
    result = []
    for el, item in found:
        inner = any(
            other is not el
            and other_item["url"] == item["url"]
            and any(p is el for p in other.parents)
            for other, other_item in found
        )
        if not inner:
            result.append(item)
    return result


def find_report_links(html: str | bytes, base_url: str) -> list[dict]:
    """Reports on a listing page: ``[{"id", "title", "url", "date"}]`` in page order (pure).

    An entry is an element with an id (or an ``<a name>``) whose region — the element and its
    following siblings up to the next element with an id — holds a link ending in .pdf.
    ``date`` is the entry's publication date as ISO ``YYYY-MM-DD`` (see ``parse_date``), else
    ``YYYY-MM`` when its region shows only a year and month (``parse_date_or_month``), else None.
    """
    soup = _soup(html)
    return _report_links(soup, _base_url(soup, base_url))


def page_report_links(page: ListingPage) -> list[dict]:
    """``find_report_links`` for a page already downloaded with ``fetch_listing``."""
    return _report_links(page.soup, page.base)


# --------------------------------------------------------------------------------------------
# Dates of listing entries

_ERAS = {"令和": 2018, "平成": 1988, "昭和": 1925}  # era year n is western year base + n
_DATE_PATTERNS = (
    # 2025年4月1日
    re.compile(r"(?<!\d)(?P<y>\d{4})[ \t]*年[ \t]*(?P<m>\d{1,2})[ \t]*月[ \t]*(?P<d>\d{1,2})[ \t]*日"),
    # 令和7年4月1日, 令和元年5月1日
    re.compile(r"(?P<era>令和|平成|昭和)[ \t]*(?P<y>元|\d{1,2})[ \t]*年[ \t]*(?P<m>\d{1,2})[ \t]*月[ \t]*(?P<d>\d{1,2})[ \t]*日"),
    # 2025/4/1, 2025-04-01, 2025.4.1 (one separator throughout)
    re.compile(r"(?<![\d./-])(?P<y>\d{4})(?P<sep>[/.-])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?![\d])"),
)
# A year and month without a day (published then, the real listing shows no more)
_MONTH_PATTERNS = (
    # 2025年4月
    re.compile(r"(?<!\d)(?P<y>\d{4})[ \t]*年[ \t]*(?P<m>\d{1,2})[ \t]*月"),
    # 令和7年4月, 令和元年5月
    re.compile(r"(?P<era>令和|平成|昭和)[ \t]*(?P<y>元|\d{1,2})[ \t]*年[ \t]*(?P<m>\d{1,2})[ \t]*月"),
    # 2025/4, 2025-04 (not part of a full date or of a longer number)
    re.compile(r"(?<![\d./-])(?P<y>\d{4})[/-](?P<m>\d{1,2})(?![\d]|[./-]\d)"),
)
_DATE_CLASS = re.compile(r"date|day|time|update|publish|release", re.IGNORECASE)
_DATE_TEXT_LIMIT = 4000  # characters of an entry's region searched for a date


def _date_matches(text: str) -> Iterator[tuple[int, str]]:
    """(position, ISO date) for every valid full date in ``text``."""
    text = unicodedata.normalize("NFKC", text)
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            y = m.group("y")
            era = m.groupdict().get("era")
            year = (_ERAS[era] + (1 if y == "元" else int(y))) if era else int(y)
            if not 1900 <= year <= 2100:
                continue
            try:
                day = date(year, int(m.group("m")), int(m.group("d")))
            except ValueError:  # 2025/13/40 and the like
                continue
            yield m.start(), day.isoformat()


def parse_date(text: str | None) -> str | None:
    """The first full date in ``text`` as ISO ``YYYY-MM-DD``, or None (pure).

    Understood: 2025年4月1日, 令和7年4月1日 (also 平成, 昭和, 元年), 2025/4/1, 2025-04-01, 2025.4.1,
    with full-width digits too. A year and month alone (2025年3月) is not a full date: None
    (``parse_date_or_month`` takes it).
    """
    if not text:
        return None
    found = sorted(_date_matches(text))
    return found[0][1] if found else None


def _month_matches(text: str) -> Iterator[tuple[int, str]]:
    """(position, ISO year-month) for every valid year and month in ``text``."""
    text = unicodedata.normalize("NFKC", text)
    for pattern in _MONTH_PATTERNS:
        for m in pattern.finditer(text):
            y = m.group("y")
            era = m.groupdict().get("era")
            year = (_ERAS[era] + (1 if y == "元" else int(y))) if era else int(y)
            month = int(m.group("m"))
            if 1900 <= year <= 2100 and 1 <= month <= 12:
                yield m.start(), f"{year:04d}-{month:02d}"


def parse_date_or_month(text: str | None) -> str | None:
    """The first full date in ``text`` as ISO ``YYYY-MM-DD`` (``parse_date``); when it has none,
    the first year and month as ``YYYY-MM``; else None (pure).

    Parameters:
        text: any text; year-month forms understood are 2025年4月, 令和7年4月 (also 平成, 昭和,
            元年), 2025/4 and 2025-04, with full-width digits too. 2025年度 is no month.
    """
    if not text:
        return None
    if found := parse_date(text):
        return found
    months = sorted(_month_matches(text))
    return months[0][1] if months else None


def _region_nodes(el: Tag) -> Iterator[PageElement]:
    """The tags and strings of entry ``el``'s region in document order: the element, then its
    following siblings (climbing as ``_region_anchors`` does) up to the next element with an id."""
    yield el
    yield from el.descendants
    cur: Tag = el
    for _ in range(4):
        for sib in cur.next_siblings:
            if isinstance(sib, Tag):
                if sib.get("id"):
                    return
                yield sib
                for node in sib.descendants:
                    if isinstance(node, Tag) and node.get("id"):
                        return
                    yield node
            elif isinstance(sib, NavigableString):
                yield sib
        parent = cur.parent
        if not isinstance(parent, Tag) or parent.name in ("body", "html", "[document]") or parent.get("id"):
            return
        cur = parent


def _entry_date(el: Tag) -> str | None:
    """The entry's publication date: a full date of a ``<time datetime>`` or of an element whose
    class names a date first, else the first full date in the region's text; only when the region
    has no full date anywhere, a year and month (2025年4月 → 2025-04), marked dates first."""
    texts: list[str] = []
    marked: list[str] = []  # <time datetime> values and texts of date-classed elements
    size = 0
    for node in _region_nodes(el):
        if isinstance(node, Tag):
            if node.name == "time" and node.get("datetime"):
                if found := parse_date(str(node["datetime"])):
                    return found
                marked.append(str(node["datetime"]))
            classes = " ".join(node.get("class") or [])
            if node.name == "time" or _DATE_CLASS.search(classes):
                text = _text(node)
                if found := parse_date(text):
                    return found
                marked.append(text[:200])
        elif type(node) is NavigableString:  # not comments, scripts or styles
            if size < _DATE_TEXT_LIMIT:
                texts.append(str(node))
                size += len(node)
    region = "\n".join(texts)
    if found := parse_date(region):
        return found
    for text in marked:
        if found := parse_date_or_month(text):
            return found
    return parse_date_or_month(region)


# --------------------------------------------------------------------------------------------
# Download


def _entry_fields(entry: ListingEntry | None, announcement: Announcement | None = None) -> dict:
    """The listing entry's fields of ``Acquired`` (and of its manifest line); {} for no entry.
    With ``announcement`` (for the manifest line): its page's URL under ``announcement`` too."""
    if entry is None:
        return {}
    fields = {"report_id": entry.id, "title": entry.title, "published": entry.published}
    if announcement is not None:
        fields["announcement"] = announcement.url
    return fields


def _fetch_pdf(
    client: httpx.Client,
    source: str,
    url: str,
    slug: str,
    raw_dir: Path,
    config: AcquireConfig,
    entry: ListingEntry | None = None,
    announcement: Announcement | None = None,
) -> Acquired:
    """GET the PDF at ``url`` (conditionally, when the manifest has it) into raw/; raises
    ``_HtmlPage`` when the server answers with an HTML page. A PDF an ``entry`` links to is
    fetched in the scope of the page the link is on; else ``url`` is the source's own."""
    if entry is not None and entry.found_on:
        scope = _Scope.page(entry.found_on, config)
        via = f"the PDF link on {entry.found_on[0]}"
    else:
        scope, via = _Scope.source(url, config), ""
    prev = _usable_previous(raw_dir, url)
    headers: dict[str, str] = {}
    if prev is not None:
        if prev.get("etag"):
            headers["If-None-Match"] = prev["etag"]
        if prev.get("last_modified"):
            headers["If-Modified-Since"] = prev["last_modified"]

    tmp_path: Path | None = None
    try:
        with _request(client, url, config, scope, page=False, headers=headers, via=via) as resp:
            final_url = str(resp.url)
            etag = resp.headers.get("ETag")
            last_modified = resp.headers.get("Last-Modified")
            if resp.status_code == 304:
                if prev is None:
                    raise AcquireError(
                        f"HTTP 304 Not Modified from {url} for an unconditional request",
                        "the server misbehaves; try again later or give the PDF another way",
                    )
                return _not_modified(source, url, final_url, etag, last_modified, prev, raw_dir, entry,
                                     announcement)
            _check_status(resp, url)
            length = _content_length(resp)
            if length is not None and length > config.max_bytes:
                raise _too_large(url, f"Content-Length {length:,}", config.max_bytes)
            fd, tmp_path = _create_part(raw_dir)
            # The part file stays open, and so locked, until it is renamed: a stale-part
            # clean-up in another process (``_remove_stale_parts``) never takes it.
            with os.fdopen(fd, "wb") as out:
                digest, size = _stream_body(resp, out, url, length, config)
                out.flush()
                os.fsync(out.fileno())
                sha = digest.hexdigest()
                final = _final_path(raw_dir, slug, sha)
                os.replace(tmp_path, final)
                tmp_path = None
        _fsync_dir(raw_dir)
    except OSError as e:
        raise AcquireError(
            f"cannot write the download of {url} to {raw_dir}: {e}",
            "check that the raw directory is writable and the disk has space",
        ) from e
    finally:
        if tmp_path is not None:
            with contextlib.suppress(OSError):
                tmp_path.unlink()

    fetched_at = _now()
    record = {
        "source": source,
        "url": url,
        "final_url": final_url,
        "etag": etag,
        "last_modified": last_modified,
        "sha256": sha,
        "bytes": size,
        "path": final.name,
        "fetched_at": fetched_at,
        "status": "downloaded",
        **_entry_fields(entry, announcement),
    }
    _append_manifest(raw_dir, record)
    return Acquired(
        path=final,
        sha256=sha,
        bytes=size,
        source=source,
        url=url,
        final_url=final_url,
        etag=etag,
        last_modified=last_modified,
        fetched_at=fetched_at,
        **_entry_fields(entry),
        announcement=announcement,
    )


def _stream_body(resp: httpx.Response, out, url: str, length: int | None, config: AcquireConfig):
    """Copy the body to ``out``, verifying it as it comes; returns (sha256 object, byte count)."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    tail = b""
    checked_head = False
    chunks = resp.iter_bytes(_CHUNK)
    for chunk in chunks:
        if not chunk:
            continue
        if not checked_head:
            head += chunk
            if len(head) < len(PDF_MAGIC):
                continue
            checked_head = True
            _check_pdf_head(resp, url, head, config, chunks)
            chunk, head = head, b""
        size += len(chunk)
        if size > config.max_bytes:
            raise _too_large(url, "counted while downloading", config.max_bytes)
        digest.update(chunk)
        out.write(chunk)
        tail = (tail + chunk)[-EOF_WINDOW:]
    if not checked_head:  # body shorter than the magic
        _check_pdf_head(resp, url, head, config, chunks)
    if length is not None and resp.num_bytes_downloaded < length:
        raise TransientAcquireError(
            f"download of {url} is incomplete: got {resp.num_bytes_downloaded:,} of "
            f"{length:,} bytes",
            "the connection dropped; it may pass on a later attempt",
        )
    if EOF_MARKER not in tail:
        raise TransientAcquireError(
            f"the PDF from {url} has no %%EOF marker at its end ({size:,} bytes): it looks truncated",
            "the download was probably cut short; it may pass on a later attempt",
        )
    return digest, size


def _check_pdf_head(
    resp: httpx.Response, url: str, head: bytes, config: AcquireConfig, rest_chunks: Iterator[bytes]
) -> None:
    if head.startswith(PDF_MAGIC):
        return
    content_type = resp.headers.get("Content-Type", "")
    if _looks_like_html(head, content_type):
        # Read the page (up to the listing cap): it may be an announcement page, and otherwise
        # the entries it lists make the error's hint. A page cut short by a network fault is
        # the transient error that fault is (the caller's _http_errors classifies it).
        cap = min(config.max_bytes, HTML_CAP)
        body = bytearray(head)
        complete = True
        for chunk in rest_chunks:
            body += chunk
            if len(body) > cap:
                complete = False
                break
        raise _HtmlPage(url, str(resp.url), bytes(body[:cap]), resp.charset_encoding, complete)
    if not head:
        raise AcquireError(f"the server returned an empty body for {url}", "check the URL")
    raise AcquireError(
        f"the server did not return a PDF for {url} (Content-Type {content_type or 'none'}, "
        f"starts with {head[:16]!r})",
        "check the URL: it must lead to the PDF itself; the page may need a login",
    )


def _not_modified(source, url, final_url, etag, last_modified, prev, raw_dir, entry=None, announcement=None) -> Acquired:
    path = raw_dir / prev["path"]
    fetched_at = _now()
    record = {
        "source": source,
        "url": url,
        "final_url": final_url,
        "etag": etag or prev.get("etag"),
        "last_modified": last_modified or prev.get("last_modified"),
        "sha256": prev["sha256"],
        "bytes": path.stat().st_size,
        "path": prev["path"],
        "fetched_at": fetched_at,
        "status": "not_modified",
        **_entry_fields(entry, announcement),
    }
    _append_manifest(raw_dir, record)
    return Acquired(
        path=path,
        sha256=record["sha256"],
        bytes=record["bytes"],
        source=source,
        url=url,
        final_url=final_url,
        etag=record["etag"],
        last_modified=record["last_modified"],
        fetched_at=fetched_at,
        not_modified=True,
        **_entry_fields(entry),
        announcement=announcement,
    )


def _usable_previous(raw_dir: Path, url: str) -> dict | None:
    """The latest manifest entry for ``url`` if its file is still there, unchanged."""
    entry = latest_entry(raw_dir, url)
    if not entry or not (entry.get("etag") or entry.get("last_modified")):
        return None
    rel = entry.get("path")
    sha = entry.get("sha256")
    if not isinstance(rel, str) or not isinstance(sha, str):
        return None
    path = raw_dir / rel
    if not _inside(raw_dir, path) or not path.is_file():
        return None
    if _sha256_file(path) != sha:
        log.warning("stored copy %s changed since it was fetched; downloading again", path)
        return None
    return entry


# --------------------------------------------------------------------------------------------
# Files and names


def _prepare_raw_dir(raw_dir: Path) -> Path:
    """raw/, created if needed, without the partial downloads of runs that are gone."""
    raw = Path(raw_dir).expanduser()
    try:
        raw.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AcquireError(f"cannot create the raw directory {raw}: {e}", "check the path and permissions") from e
    raw = raw.resolve()
    _remove_stale_parts(raw)
    return raw


# A download is written to raw/.acquire-<random>.part, created with mode 0666 less the umask (so
# 0644 under the usual 022: a shared raw/ is readable by Dask workers and colleagues under other
# users, as a normal file would be) and locked (flock) from the moment it exists until it is
# renamed into place. A part file nobody holds the lock on was left by a process that is gone
# (killed with -9, a crash, a machine reset): the next acquire in that raw/ removes it. An empty
# one is left alone for _PART_GRACE seconds (it may be one that was created an instant ago and is
# about to be locked); a non-empty one is removed at once (a writer locks before it writes).
PART_PREFIX = ".acquire-"
PART_SUFFIX = ".part"
_PART_GRACE = 10.0


def _flock(fd: int) -> bool:
    """Take the lock of ``fd`` without waiting; False when another process holds it or the file
    system cannot lock (the caller then treats the file as live)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _create_part(raw_dir: Path) -> tuple[int, Path]:
    """A new, locked part file in raw/ (mode 0666 less the umask): (fd, path)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        path = raw_dir / f"{PART_PREFIX}{secrets.token_hex(8)}{PART_SUFFIX}"
        try:
            fd = os.open(path, flags, 0o666)
        except FileExistsError:
            continue
        if not _flock(fd):
            log.debug("cannot lock %s: a stale-part clean-up cannot tell it is live", path)
        return fd, path


def _remove_stale_parts(raw: Path) -> list[str]:
    """Remove the ``.acquire-*.part`` files of raw/ that no live process holds (see above);
    the names removed. Symlinks, other files and parts this user cannot open are left alone."""
    removed: list[str] = []
    try:
        entries = [e for e in os.scandir(raw) if e.name.startswith(PART_PREFIX) and e.name.endswith(PART_SUFFIX)]
    except OSError:
        return removed
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    for entry in entries:
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            fd = os.open(entry.path, flags)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or not _flock(fd):
                continue  # a live download (or a file system without locks): keep it
            if st.st_size == 0 and time.time() - st.st_mtime < _PART_GRACE:
                continue
            now = os.stat(entry.path, follow_symlinks=False)
            if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
                continue
            os.unlink(entry.path)
            removed.append(entry.name)
            log.warning("removed %s from %s (%s bytes): a partial download left by a run that was killed "
                        "or crashed", entry.name, raw, f"{st.st_size:,}")
        except OSError:
            continue
        finally:
            os.close(fd)
    return removed


_SLUG_BAD = re.compile(r"[^A-Za-z0-9._-]+")


def _slug_part(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).encode("ascii", "ignore").decode("ascii")
    text = _SLUG_BAD.sub("-", text)
    text = re.sub(r"\.{2,}", ".", text)  # no ".." anywhere
    return text.strip(".-_")


def _slug(url: str, entry_id: str | None) -> str:
    try:
        host = httpx.URL(url).raw_host.decode("ascii")  # punycode for IDNs
    except Exception:
        host = urlsplit(url).hostname or ""
    parts = [_slug_part(host)]
    if entry_id:
        parts.append(_slug_part(entry_id))
    slug = "-".join(p for p in parts if p)[:80].strip(".-_")
    return slug or "source"


def _final_path(raw_dir: Path, slug: str, sha: str) -> Path:
    name = f"{slug}-{sha[:12]}.pdf"
    final = raw_dir / name
    if not _inside(raw_dir, final) or final.resolve().parent != raw_dir:
        raise AcquireError(f"refusing to write outside {raw_dir}: {name!r}", "report this as a bug")
    return final


def _inside(raw_dir: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(raw_dir.resolve())
    except ValueError:
        return False
    return True


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------------
# Manifest


def _append_manifest(raw_dir: Path, record: dict) -> None:
    """Append one JSON line to raw/manifest.jsonl: a single write, flushed and fsynced, under a lock."""
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    # 0666 less the umask, as a normal file (0644 under the usual 022)
    fd = os.open(Path(raw_dir) / MANIFEST_NAME, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        with _locked(fd):
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":  # a line cut short by a crash
                line = b"\n" + line
            view = memoryview(line)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _locked(fd: int) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def load_manifest(raw_dir: Path | str) -> list[dict]:
    """All records of raw/manifest.jsonl, oldest first; [] if there is none. Damaged lines are skipped."""
    path = Path(raw_dir) / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    records = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            log.warning("%s line %d is not valid JSON; skipped", path, n)
            continue
        if isinstance(obj, dict):
            records.append(obj)
    return records


def latest_entry(raw_dir: Path | str, url: str) -> dict | None:
    """The most recent manifest record whose ``url`` is ``url``, or None."""
    for record in reversed(load_manifest(raw_dir)):
        if record.get("url") == url:
            return record
    return None
