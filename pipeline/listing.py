"""Listing pages: a report listing page (URL or HTML) and an entry id → the entry's PDF link, title and date.

Input: a listing page's URL (fetched with ``pipeline.fetch``, size-capped, under the page
deadline) or its HTML and base URL, and an entry id (the ``#fragment`` of a listing-page source:
the element with that id, or an ``<a name>``). Output: ``ListingPage`` (the page parsed, with the
base URL its links resolve against), ``ListingEntry`` (``listing_entry``: the entry resolved to
its PDF, with its title and publication date), ``resolve_listing`` (the PDF URL of an entry, pure)
and ``find_report_links`` / ``page_report_links`` (every entry of a page with a PDF link:
``[{"id", "title", "url", "date"}]``, pure).

An entry's region is the element and its following siblings (climbing a few levels when it is the
last thing in its parent) up to the next element with an id. Its PDF is the first link ending in
.pdf, else the first of its other links (at most ``PROBE_LIMIT``) that serves a PDF; only links on
the page's site (or to ``AcquireConfig.allowed_hosts``) are taken or probed (``pipeline.hosts``).
Its date is the first full date (``pipeline.dates.parse_date``) of a ``<time datetime>`` or a
date-classed element, else of the region's text, else a year and month.

Errors: ``AcquireError`` when no element has the entry id (naming ids that do), the URL serves
a PDF where a page was wanted (``fetch_listing``), or the page nests elements with ids so deep in
each other that reading its entries would take hours (``_check_nesting``); ``HostNotAllowed`` when the entry's PDF link
leads off the page's site; ``SourceError`` when the entry has no PDF link; and what
``pipeline.fetch`` raises for the network.
"""
from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx
from bs4 import BeautifulSoup, NavigableString, PageElement, Tag

from pipeline.dates import parse_date, parse_date_or_month
from pipeline.errors import AcquireError, SourceError
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
from pipeline.hosts import HostNotAllowed, _host_of, _Scope
from pipeline.source import looks_like_pdf_href

PROBE_LIMIT = 5  # non-.pdf links of an entry probed for a PDF response


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
        scope = _Scope.source(page_url, config.allowed_hosts)
    with _request(client, page_url, config, scope, page=True, via=via) as resp:
        _check_status(resp, page_url)
        length = _content_length(resp)
        if length is not None and length > cap:
            raise _too_large(page_url, f"Content-Length {length:,}", cap)
        buf = bytearray()
        for chunk in body_chunks(resp):
            buf += chunk
            if buf[: len(PDF_MAGIC)] == PDF_MAGIC:
                return None
            if len(buf) > cap:
                raise _too_large(page_url, "listing page", cap, resp)
        final_url = str(resp.url)
        charset = resp.charset_encoding
    soup = _soup(bytes(buf), charset)
    return ListingPage(url=page_url, final_url=final_url, soup=soup, base=_base_url(soup, final_url))


def fetch_listing(
    url: str, *, client: httpx.Client | None = None, config: AcquireConfig = DEFAULT_CONFIG
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
    client: httpx.Client, page: ListingPage, entry_id: str, config: AcquireConfig = DEFAULT_CONFIG
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
    scope = _Scope.page((page.url, page.final_url), config.allowed_hosts)
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


def _probe_is_pdf(client: httpx.Client, url: str, config: AcquireConfig, scope: _Scope, via: str) -> bool:
    with _request(client, url, config, scope, page=True, via=via) as resp:
        if not 200 <= resp.status_code < 300:
            return False
        if "application/pdf" in resp.headers.get("Content-Type", "").lower():
            return True
        head = b""
        for chunk in body_chunks(resp):
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


# Reading a page's entries walks each entry's subtree: entries nested in entries are walked once
# per entry around them. A page whose walks would visit more than this many elements per element
# of the page, beyond a base, is refused (``_check_nesting``).
NESTING_VISITS_PER_TAG = 20
NESTING_VISITS_BASE = 200_000


def _is_entry_tag(tag: Tag) -> bool:
    return tag.has_attr("id") or (tag.name == "a" and tag.has_attr("name"))


def _check_nesting(soup: BeautifulSoup, base: str) -> None:
    """Refuse a page whose entries (elements with an id) are nested so deep in each other that
    reading them would take hours: each entry's subtree is walked for its links, title and date,
    so a tag under k entries is visited k times, and 10,000 nested <div id> (300 KB) cost about
    10^8 visits. One pass (each tag's count of entries around it and itself, from its parent's);
    raises ``AcquireError`` naming the depth. Real listings nest a few deep: a page of thousands of
    entries side by side costs a few visits per tag."""
    under: dict[int, int] = {}
    tags = visits = deepest = 0
    for tag in soup.find_all(True):
        parent = tag.parent
        k = under.get(id(parent), 0) + _is_entry_tag(tag)
        under[id(tag)] = k
        tags += 1
        visits += k
        deepest = max(deepest, k)
    if visits > NESTING_VISITS_PER_TAG * tags + NESTING_VISITS_BASE:
        raise AcquireError(
            f"the listing page {base} nests elements with ids {deepest:,} deep ({tags:,} elements): reading its "
            "entries would walk the page once for each one around it, for hours; no report listing is built so",
            "check the listing URL in sources.toml (or the one given to --source); if the report is there, give its "
            "PDF's URL directly: jstmine run --source https://…/report.pdf",
        )


def _report_links(soup: BeautifulSoup, base: str) -> list[dict]:
    _check_nesting(soup, base)
    found: list[tuple[Tag, dict]] = []
    seen_ids: set[str] = set()
    for el in soup.find_all(_is_entry_tag):
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
    # PDF: keep the innermost element for a given URL. Each element's ancestors are looked up among
    # the elements found with its URL (linear in the page, not in the square of its entries).
    by_url: dict[str, set[int]] = {}
    for el, item in found:
        by_url.setdefault(item["url"], set()).add(id(el))
    containers: set[int] = set()
    for el, item in found:
        same = by_url[item["url"]]
        if len(same) > 1:
            containers.update(id(p) for p in el.parents if id(p) in same)
    return [item for el, item in found if id(el) not in containers]


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

_DATE_CLASS = re.compile(r"date|day|time|update|publish|release", re.IGNORECASE)
_DATE_TEXT_LIMIT = 4000  # characters of an entry's region searched for a date


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

