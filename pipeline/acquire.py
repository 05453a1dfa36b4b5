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
``find_report_links`` (``pipeline.listing``) lists every entry of a page with its date
(``parse_date``, ``pipeline.dates``: 2025年4月1日, 令和7年4月1日, 2025/4/1, 2025-04-01, 2025.4.1;
else a year and month: 2025年4月, 令和7年4月, 2025/4, 2025-04); ``fetch_listing`` /
``listing_entry`` and ``fetch_announcement`` / ``announcement_entry`` are the network side of it,
shared with ``pipeline.sources``.

The file name in raw/ is derived by the project, never taken from the server:
``<slug>-<sha256[:12]>.pdf``, the slug being the URL's host (plus the listing entry id), restricted
to ``[A-Za-z0-9._-]``. PDFs and the manifest are created with mode 0666 less the umask (0644 under
the usual 022), as a normal file is, so a shared raw/ is readable by other users. A part file
(``raw/.acquire-*.part``) is locked while its download runs; one left by a process that is gone
(killed with -9) is removed by the next acquire in that raw/ (``_remove_stale_parts``).

Deadlines (``pipeline.fetch``). Besides the per-read ``read_timeout`` (a server silent that long), every request has
a wall-clock deadline covering its connection, redirects, headers and body: ``deadline`` (300 s)
for the PDF, ``page_deadline`` (60 s, never more than ``deadline``) for each HTML page on the way.
It is enforced while waiting for bytes, not between chunks: a watchdog shuts the request's
sockets down when it expires, so a server dripping a byte a second is stopped within a fraction of
a second. Expiry is an ``AcquireError``, not retried: the deadline is the user's bound on the
download, a retry would multiply it, and a server that slow for minutes is rarely fast seconds
later; the message names the deadline and ``jstmine run --deadline``.

Hosts (``pipeline.hosts.host_refusal``). A download reached from a listing or announcement page (its PDF link,
a link probed for a PDF, the listing page an announcement links to) stays on that page's site,
its registrable domain (``registrable_domain``: jst.go.jp for spap.jst.go.jp). Redirects are
followed hop by hop and each hop is checked: for a request reached from a page, against its site;
for every request after the source's own first one, against the address rule: no loopback,
private, link-local, multicast, unspecified or other non-global address (an IP literal, a name
resolving to one, or the address a connection actually reaches), unless the source itself is on
one. ``AcquireConfig.allowed_hosts`` (hosts, or domains with every host under them) waives both.
A refusal is ``HostNotAllowed``, an ``AcquireError`` (not retried) naming the host, the link or
redirect that led there, and ``--allow-host`` / ``allow_hosts``.

The code: this module follows the source (a listing entry, an announcement page) and downloads
the PDF into raw/ with its manifest; ``pipeline.hosts`` is the host policy, ``pipeline.fetch`` the
httpx client, ``AcquireConfig``, deadlines and error classification, ``pipeline.listing`` the
listing pages, ``pipeline.dates`` the dates. The public names of those modules that callers used
to import from here are re-exported (``__all__``).
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import secrets
import stat
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import httpx

from pipeline.announcement import Announcement, AnnouncementScan, scan_announcement
from pipeline.dates import parse_date, parse_date_or_month
from pipeline.errors import AcquireError, SourceError, TransientAcquireError
from pipeline.fetch import (
    DEFAULT_CONFIG,
    HTML_CAP,
    PDF_MAGIC,
    AcquireConfig,
    _check_status,
    _content_length,
    _make_client,
    _request,
    _too_large,
    body_chunks,
)
from pipeline.hosts import (
    HostNotAllowed,
    _Scope,
    host_refusal,
    normalize_allowed_host,
    normalize_allowed_hosts,
    registrable_domain,
)
from pipeline.listing import (
    PROBE_LIMIT,
    ListingEntry,
    ListingPage,
    _entry_links,
    _fetch_html_page,
    _find_entry,
    _looks_like_pdf_href,
    _read_listing,
    fetch_listing,
    find_report_links,
    listing_entry,
    page_report_links,
    resolve_listing,
)
from pipeline.source import SourceRef, check_local_file, parse_source

__all__ = [
    # defined here
    "EOF_MARKER", "EOF_WINDOW", "MANIFEST_NAME", "PART_PREFIX", "PART_SUFFIX",
    "Acquired", "acquire", "announcement_entry", "check_source", "fetch_announcement", "latest_entry",
    "load_manifest",
    # re-exported: callers import them from here
    "DEFAULT_CONFIG", "HTML_CAP", "PDF_MAGIC", "AcquireConfig",  # pipeline.fetch
    "HostNotAllowed", "host_refusal", "normalize_allowed_host", "normalize_allowed_hosts",  # pipeline.hosts
    "registrable_domain",
    "PROBE_LIMIT", "ListingEntry", "ListingPage", "fetch_listing", "find_report_links",  # pipeline.listing
    "listing_entry", "page_report_links", "resolve_listing",
    "parse_date", "parse_date_or_month",  # pipeline.dates
]

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.jsonl"
EOF_MARKER = b"%%EOF"
EOF_WINDOW = 1024  # %%EOF must appear within this many bytes of the end
_HINT_BYTES = 2 * 1024 * 1024  # of an HTML page searched for report entries to name in the error


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


def acquire(source: SourceRef | str, config: AcquireConfig = DEFAULT_CONFIG) -> Acquired:
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
    url: str, *, client: httpx.Client | None = None, config: AcquireConfig = DEFAULT_CONFIG
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
    client: httpx.Client, announcement: Announcement, config: AcquireConfig = DEFAULT_CONFIG
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
    scope = _Scope.page((announcement.url, announcement.final_url), config.allowed_hosts)
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
        scope = _Scope.page(entry.found_on, config.allowed_hosts)
        via = f"the PDF link on {entry.found_on[0]}"
    else:
        scope, via = _Scope.source(url, config.allowed_hosts), ""
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
    chunks = body_chunks(resp)
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
            raise _too_large(url, "counted while downloading", config.max_bytes, resp)
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
    if final.is_symlink():  # planted in a shared raw/: replaced by the download itself (os.replace), never followed
        return final
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
    path = Path(raw_dir) / MANIFEST_NAME
    try:  # never through a symbolic link planted in a shared raw/
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise AcquireError(f"{path} is a symbolic link, not the manifest jstmine writes",
                               "remove the link (someone with write access to raw/ made it), then run again") from None
        raise
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
