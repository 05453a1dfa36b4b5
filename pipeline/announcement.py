"""Announcement pages: a report's web page (title, date, download link, executive summary) → an ``Announcement``.

JST publishes each report twice: as a PDF reachable from an entry of a listing page, and on an
announcement page (…/other_asia/experience/2025/topic_et_06.html) that gives the title, a date
line, a paragraph with the report's link (the listing entry, …/report_2022.html#fy24_rr02, or the
PDF itself) and then the executive summary under its heading (エグゼクティブ・サマリー, 要旨 …).

Input: the page's HTML (str, or bytes with an optional charset) and its URL. Output: an
``Announcement`` (``parse_announcement``), or None when the page is not an announcement page;
``scan_announcement`` also says why not (no report link, only links to itself, several candidate
links), which ``pipeline.acquire`` turns into its error messages. Pure: no network, no files.

How the page is read (only its main content counts: a ``<main>`` when there is one, never
``<nav>``, ``<aside>``, ``<footer>``, a page-level ``<header>`` or an element whose id or class is
header/footer/nav/breadcrumb …):

* the summary starts at the first element whose whole text is a summary heading
  (``pipeline.headings.is_summary_heading``): an ``<h1>``–``<h6>``, or a paragraph that is all
  ``<strong>``/``<b>`` (``<p><strong>要旨</strong></p>``, rank below ``<h6>``). It runs to the next
  heading of the same or higher rank, a page-furniture line (上へ戻る, ページの先頭へ, ページトップ,
  Page top) or a ``<nav>``/``<footer>``/``<aside>``. Each ``<p>``/``<li>`` (and each lower-rank
  heading, and each run of loose text) is a paragraph; whitespace is collapsed, a line break
  (a newline or ``<br>``) next to a Japanese character joins without a space. The paragraph
  that holds the report link (the download paragraph, when it comes after the summary) ends it;
* the report link is a link, in the main content, to another page with a ``#fragment`` (a listing
  entry) or to a ``.pdf`` (its viewer fragment dropped); in-page anchors (``#top``), links to the
  page itself and ``javascript:``/``mailto:`` links never are. Of the distinct candidates, the
  one before the summary heading is taken (else the one after it); two or more where one is
  looked for make the page ambiguous: no announcement;
* the title is the main heading (the first ``<h1>``, else ``<h2>``, that is not the summary's),
  else ``<title>``; the date the first full date before the summary (a ``<time datetime>``
  first), else the first year and month (``pipeline.dates.parse_date_or_month``).

Every text loses control characters and terminal escape sequences. The walk over the page is
iterative and linear, so deeply nested or huge markup costs time in proportion to its size.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin, urlsplit

from bs4 import BeautifulSoup, NavigableString, Tag

from pipeline.dates import parse_date, parse_date_or_month
from pipeline.headings import is_summary_heading


@dataclass(frozen=True)
class Announcement:
    """What an announcement page says about its report."""

    url: str  # the page's URL (as requested)
    title: str | None  # the page's title (its main heading, else <title>), whitespace collapsed
    published: str | None  # ISO "YYYY-MM-DD", or "YYYY-MM" when the page gives only a year and month
    report_url: str  # the report link: a listing-page entry URL with its #fragment, or a PDF URL (absolute)
    summary_heading: str | None  # the summary's heading as printed; None when the page has none
    summary: tuple[str, ...]  # the summary's paragraphs in order, whitespace collapsed; () when none
    # The page's URL after redirects, when it was fetched and that differs (its links resolve
    # against it, and a download it leads to stays on its site or ``url``'s); else None.
    final_url: str | None = None


@dataclass(frozen=True)
class AnnouncementScan:
    """Everything ``scan_announcement`` found on a page, whether or not it is an announcement."""

    url: str  # as requested
    announcement: Announcement | None  # None when the page is not (usably) an announcement page
    title: str | None
    published: str | None
    summary_heading: str | None
    summary: tuple[str, ...]
    links: tuple[str, ...]  # every distinct report-link candidate of the main content, in page order
    preferred: tuple[str, ...]  # the candidates the report link is chosen among (before the heading, else after)
    self_links: tuple[str, ...]  # links of the main content to the page itself (never candidates)

    @property
    def looks_like_announcement(self) -> bool:
        """A summary heading, or links only to itself: an announcement page, even if unusable."""
        return self.summary_heading is not None or bool(self.self_links and not self.links)

    @property
    def problem(self) -> str | None:
        """Why the page gives no report link, in words; None when it gives one."""
        if self.announcement is not None:
            return None
        if not self.links:
            if self.self_links:
                return "its only links point to the page itself (" + ", ".join(self.self_links[:3]) + ")"
            return "its main content has no link to a listing entry (…/page.html#entry) or to a .pdf"
        shown = ", ".join(self.preferred[:5]) + (" …" if len(self.preferred) > 5 else "")
        return f"it gives {len(self.preferred)} candidate report links and does not say which one is the report: {shown}"


def parse_announcement(html: str | bytes, url: str, charset: str | None = None) -> Announcement | None:
    """The announcement on a page, or None when the page is not an announcement page (pure).

    Parameters:
        html: the page, as text or as the bytes the server sent.
        url: the page's URL as requested; relative links resolve against it (or the page's
            ``<base href>``), and links to it count as links to the page itself.
        charset: the bytes' encoding when known (the HTTP header's); else it is detected.
    """
    return scan_announcement(html, url, charset).announcement


def scan_announcement(
    html: str | bytes | BeautifulSoup, url: str, charset: str | None = None, *, final_url: str | None = None
) -> AnnouncementScan:
    """Read a page as an announcement page and say what was found (pure).

    Parameters:
        html: the page as text, as bytes, or already parsed (a BeautifulSoup).
        url: the page's URL as requested (``Announcement.url``).
        charset: the encoding of ``html`` when it is bytes, if known.
        final_url: the URL after redirects, when different: links resolve against it, and links
            to either URL are links to the page itself.
    """
    soup = html if isinstance(html, BeautifulSoup) else _soup(html, charset)
    base = final_url or url
    base_tag = soup.find("base", href=True)
    if isinstance(base_tag, Tag):
        try:
            base = urljoin(base, clean_text(str(base_tag["href"])))
        except ValueError:  # an unusable <base href> (e.g. a broken IPv6 host): keep the page's URL
            pass
    own = {_page_key(url)} | ({_page_key(final_url)} if final_url else set())

    items, times = _Walker(base, own).run(_content_root(soup))

    start = next((i for i, it in enumerate(items) if it.kind == "heading" and it.summary), None)
    heading = items[start].text if start is not None else None

    # dicts as ordered sets: distinct URLs in page order, in linear time
    links: dict[str, None] = {}
    before: dict[str, None] = {}
    after: dict[str, None] = {}
    selfs: dict[str, None] = {}
    for i, it in enumerate(items):
        if it.kind == "self":
            selfs[it.url] = None
        elif it.kind == "link":
            links[it.url] = None
            (before if start is None or i < start else after)[it.url] = None
    preferred = tuple(before or after)
    report_url = preferred[0] if len(preferred) == 1 else None
    summary = _summary(items, start, report_url) if start is not None else ()

    title = _title(items[:start] if start is not None else items, soup)
    published = _date(items[:start] if start is not None else items, times, title)
    announcement = None
    if report_url is not None:
        announcement = Announcement(url=url, title=title, published=published, report_url=report_url,
                                    summary_heading=heading, summary=summary,
                                    final_url=final_url if final_url and final_url != url else None)
    return AnnouncementScan(url=url, announcement=announcement, title=title, published=published,
                            summary_heading=heading, summary=summary, links=tuple(links),
                            preferred=preferred, self_links=tuple(selfs))


def clean_text(text: str) -> str:
    """``text`` without control characters or terminal escape sequences, whitespace collapsed:
    a run of whitespace with a line break next to a Japanese character is dropped, any other run
    becomes one space (pure).

    Parameters:
        text: text as a page gives it (a string of a heading, a paragraph, a title).
    """
    text = _ESCAPES.sub("", text)
    text = _CONTROLS.sub("", text)
    return _WS.sub(_join_ws, text).strip()


# --------------------------------------------------------------------------------------------
# Text

# CSI (ESC [ … final), OSC (ESC ] … BEL or ST), DCS/SOS/PM/APC strings, two-byte escapes, 8-bit CSI.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[ -/]*[0-~]?|\x9b[0-?]*[ -/]*[@-~]?|\x9d[^\x07\x1b\x9c]*[\x07\x9c]?"
)
# C0 and C1 controls (but the whitespace ones), DEL, and invisible format characters (bidi
# overrides and isolates, zero-width characters, BOM).
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
_WS = re.compile(r"\s+")
_CJK = re.compile(r"[\u2e80-\u303f\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _join_ws(m: re.Match) -> str:
    ws, s = m.group(0), m.string
    if "\n" in ws or "\r" in ws or "\x85" in ws or "\u2028" in ws:
        i, j = m.start(), m.end()
        if (i > 0 and _CJK.match(s, i - 1)) or (j < len(s) and _CJK.match(s, j)):
            return ""
    return " "


_FURNITURE = {
    "上へ戻る", "上に戻る", "ページの先頭へ", "ページの先頭へ戻る", "ページの先頭に戻る", "ページトップ",
    "ページトップへ", "ページトップへ戻る", "トップへ戻る", "先頭へ戻る", "pagetop", "pagetotop", "backtotop",
    "totop", "returntotop", "gototop",
}
_FURNITURE_DECOR = re.compile(r"[\s▲△↑⇧^︿∧・]+")


def is_furniture(text: str) -> bool:
    """Whether ``text`` is a page-furniture line (上へ戻る, ページの先頭へ, ページトップ, Page top …).

    Parameters:
        text: a line's text (arrows, spaces and case do not matter).
    """
    if len(text) > 40:
        return False
    key = _FURNITURE_DECOR.sub("", unicodedata.normalize("NFKC", text)).lower()
    return key in _FURNITURE


# --------------------------------------------------------------------------------------------
# The walk: the main content → a flat list of items in document order


@dataclass
class _Item:
    kind: str  # "heading", "para", "link", "self", "stop" (nav/footer …), "furniture"
    text: str = ""
    rank: int = 0  # headings: 1–6 for <h1>–<h6>, 7 for a paragraph that is all <strong>
    summary: bool = False
    url: str = ""
    links: tuple[str, ...] = ()  # paragraphs and headings: the report-link candidates inside them


_SKIP = {"head", "script", "style", "template", "noscript", "svg", "math", "iframe", "object", "embed",
         "select", "textarea", "button", "title", "meta", "link"}
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_COLLECT = {"p", "li", "dt", "dd", "td", "th", "caption", "figcaption", "blockquote", "address", "pre",
            "summary", "legend", *_HEADINGS}
_BLOCKS = _COLLECT | {"div", "section", "article", "main", "ul", "ol", "dl", "table", "thead", "tbody",
                      "tfoot", "tr", "figure", "form", "fieldset", "details", "hr", "center", "body", "html"}
_STRONG = {"strong", "b"}
_FURNITURE_LANDMARKS = {"nav", "aside", "footer"}
_LANDMARK_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search"}
_LANDMARK_NAMES = {"header", "footer", "nav", "navi", "gnav", "gnavi", "globalnav", "global-nav", "globalnavi",
                   "localnav", "local-nav", "lnav", "snav", "breadcrumb", "breadcrumbs", "topicpath",
                   "pankuzu", "sidebar", "side", "site-header", "site-footer", "skip", "skiplink"}
_HEADING_TEXT_LIMIT = 100


def _soup(html: str | bytes, charset: str | None) -> BeautifulSoup:
    if isinstance(html, bytes):
        return BeautifulSoup(html, "html.parser", from_encoding=charset)
    return BeautifulSoup(html, "html.parser")


def _content_root(soup: BeautifulSoup) -> Tag:
    main = soup.find("main") or soup.find(attrs={"role": "main"})
    if isinstance(main, Tag):
        return main
    body = soup.find("body")
    return body if isinstance(body, Tag) else soup


def _page_key(url: str) -> tuple[str, str, str, str]:
    parts = urlsplit(urldefrag(url)[0])
    return (parts.scheme.lower(), (parts.netloc or "").lower(), parts.path or "/", parts.query)


class _Collector:
    __slots__ = ("heading", "parts", "outside", "strong", "base_strong", "links")

    def __init__(self, heading: int, base_strong: int) -> None:
        self.heading = heading  # 1–6 for <hN>, 0 for a paragraph or loose text
        self.parts: list[str] = []
        self.links: list[str] = []  # report-link candidates inside
        self.outside = False  # text outside <strong>/<b>
        self.strong = False  # text inside <strong>/<b>
        self.base_strong = base_strong


class _Walker:
    """One iterative depth-first pass over the content root, building ``_Item``s."""

    def __init__(self, base: str, own: set) -> None:
        self.base = base
        self.own = own
        self.items: list[_Item] = []
        self.times: list[tuple[int, str]] = []  # (item index, datetime attribute) of <time datetime>
        self.stack: list[_Collector] = [_Collector(0, 0)]  # the bottom one gathers loose text
        self.strong = 0
        self.in_article = 0

    def run(self, root: Tag) -> tuple[list[_Item], list[tuple[int, str]]]:
        # Explicit stack of (tag, iterator over its children): no recursion, however deep the markup.
        todo: list[tuple[Tag, object]] = [(root, iter(root.contents))]
        if root.name in ("main", "article") or str(root.get("role") or "").lower() == "main":
            self.in_article = 1
        while todo:
            tag, children = todo[-1]
            child = next(children, None)  # type: ignore[call-overload]
            if child is None:
                todo.pop()
                if tag is not root:
                    self._end(tag)
                continue
            if isinstance(child, Tag):
                if self._start(child):
                    todo.append((child, iter(child.contents)))
            elif type(child) is NavigableString:  # not comments, doctypes, CDATA
                self._text(str(child))
        self._flush()
        return self.items, self.times

    # -- events -----------------------------------------------------------------------------

    def _start(self, tag: Tag) -> bool:
        """Handle an opening tag; False to skip its content."""
        name = tag.name
        if name in _SKIP or tag.has_attr("hidden"):
            return False
        if self._is_landmark(tag):
            self._flush()
            self.items.append(_Item("stop", text=name))
            return False
        if name in ("main", "article"):
            self.in_article += 1
        if name == "br":
            self._br()
            return False
        if name in _BLOCKS:
            self._flush()
            if name in _COLLECT:
                self.stack.append(_Collector(_HEADINGS.get(name, 0), self.strong))
        elif name in _STRONG:
            self.strong += 1
        if name in ("a", "area") and tag.has_attr("href"):
            self._link(str(tag.get("href") or ""))
        if name == "time" and tag.get("datetime"):
            self.times.append((len(self.items), str(tag["datetime"])))
        return True

    def _end(self, tag: Tag) -> None:
        name = tag.name
        if name in ("main", "article"):
            self.in_article -= 1
        if name in _BLOCKS:
            self._flush()
            if name in _COLLECT and len(self.stack) > 1:
                self.stack.pop()
        elif name in _STRONG:
            self.strong -= 1

    def _text(self, text: str) -> None:
        if not text:
            return
        stripped = text.strip()
        if stripped and is_furniture(stripped):
            self._flush()
            self.items.append(_Item("furniture", text=clean_text(stripped)))
            return
        top = self.stack[-1]
        top.parts.append(text)
        if stripped:
            if self.strong > top.base_strong:
                top.strong = True
            else:
                top.outside = True

    def _br(self) -> None:
        top = self.stack[-1]
        if len(self.stack) == 1 and top.parts and top.parts[-1] == "\n":  # <br><br> in loose text
            self._flush()
            return
        top.parts.append("\n")

    def _flush(self) -> None:
        """Emit the text gathered so far by the innermost collector."""
        top = self.stack[-1]
        if not top.parts:
            return
        text = clean_text("".join(top.parts))
        heading, outside, strong, links = top.heading, top.outside, top.strong, tuple(top.links)
        top.parts, top.outside, top.strong, top.links = [], False, False, []
        if not text:
            return
        if is_furniture(text):
            self.items.append(_Item("furniture", text=text))
        elif heading:
            self.items.append(_Item("heading", text=text, rank=heading, summary=self._summary_heading(text),
                                    links=links))
        elif strong and not outside and len(text) <= _HEADING_TEXT_LIMIT:  # <p><strong>…</strong></p>
            self.items.append(_Item("heading", text=text, rank=7, summary=self._summary_heading(text), links=links))
        else:
            self.items.append(_Item("para", text=text, links=links))

    @staticmethod
    def _summary_heading(text: str) -> bool:
        return len(text) <= _HEADING_TEXT_LIMIT and is_summary_heading(text)

    def _is_landmark(self, tag: Tag) -> bool:
        name = tag.name
        if name in _FURNITURE_LANDMARKS or str(tag.get("role") or "").lower() in _LANDMARK_ROLES:
            return True
        if self.in_article:  # an article's own <header> (its title and date) is content
            return False
        if name == "header":
            return True
        if name in ("div", "ul", "ol", "p", "section"):
            ids = str(tag.get("id") or "").lower().split()
            classes = [str(c).lower() for c in (tag.get("class") or [])]
            return any(n in _LANDMARK_NAMES for n in (*ids, *classes))
        return False

    def _link(self, href: str) -> None:
        href = clean_text(href).replace(" ", "%20")
        if not href or href.startswith("#"):
            return
        try:
            absolute = urljoin(self.base, href)
            parts = urlsplit(absolute)
        except ValueError:  # e.g. an invalid IPv6 host
            return
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return
        url, fragment = urldefrag(absolute)
        if _page_key(url) in self.own:
            self.items.append(_Item("self", url=absolute))
        elif urlsplit(url).path.lower().endswith(".pdf"):
            self.items.append(_Item("link", url=url))  # a PDF's fragment is a viewer's (#page=3)
            self.stack[-1].links.append(url)
        elif fragment:
            self.items.append(_Item("link", url=absolute))
            self.stack[-1].links.append(absolute)


# --------------------------------------------------------------------------------------------
# Title, date, summary


def _title(items: list[_Item], soup: BeautifulSoup) -> str | None:
    """The first <h1>, else <h2>, of ``items`` (the content before the summary), else <title>."""
    for rank in (1, 2):
        for it in items:
            if it.kind == "heading" and it.rank == rank and not it.summary:
                return it.text
    title = soup.find("title")
    if isinstance(title, Tag):
        return clean_text(title.get_text(" ")) or None
    return None


_DATE_TEXT_LIMIT = 20000


def _date(items: list[_Item], times: list[tuple[int, str]], title: str | None) -> str | None:
    limit = len(items)
    for index, value in times:
        if index <= limit and (found := parse_date_or_month(value)):
            return found
    texts = [it.text for it in items if it.kind in ("para", "heading")]
    body = [t for t in texts if t != title]
    for candidates in (body, texts):
        joined = "\n".join(candidates)[:_DATE_TEXT_LIMIT]
        if found := parse_date(joined):
            return found
    for candidates in (body, texts):
        joined = "\n".join(candidates)[:_DATE_TEXT_LIMIT]
        if found := parse_date_or_month(joined):
            return found
    return None


def _summary(items: list[_Item], start: int, report_url: str | None) -> tuple[str, ...]:
    """The paragraphs after the heading at ``start``, up to the next heading of its rank or above,
    furniture, a landmark, or the paragraph holding the report link (the download paragraph after
    the summary is not part of it)."""
    rank = items[start].rank
    paragraphs: list[str] = []
    for it in items[start + 1:]:
        if it.kind in ("stop", "furniture") or (report_url is not None and report_url in it.links):
            break
        if it.kind == "heading":
            if it.rank <= rank:
                break
            paragraphs.append(it.text)  # a lower heading inside the summary is part of its text
        elif it.kind == "para":
            paragraphs.append(it.text)
    return tuple(paragraphs)
