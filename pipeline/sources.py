"""Sources: ``sources.toml`` → the report listing and announcement pages to watch, and the reports found on them.

Input: a TOML file of ``[[source]]`` tables (the default is ``sources.toml`` at the project root)::

    [[source]]
    name = "jst-apr"                     # a short name: letters, digits, '.', '_' and '-'
    listing = "https://spap.jst.go.jp/investigation/report_2022.html"
    entries = ["fy24_rr02"]              # entry ids to follow; or
    # link_pattern = "fy24_rr\\\\d+"       # a regex searched in each entry id, then in its PDF URL
    expectations = "fy24_rr02"           # optional: pipeline/data/expectations/<name>.yaml, for every
                                         # entry (a string) or per entry id ({fy24_rr02 = "fy24_rr02"})

    [[source]]                           # or: a report's announcement page(s), instead of listing +
    name = "jst-apr-pages"               # entries/link_pattern
    announcement = "https://spap.jst.go.jp/other_asia/experience/2025/topic_et_06.html"
    # announcements = ["https://…/topic_et_06.html", "https://…/topic_et_07.html"]

    # in either kind: hosts (or domains: the name and every host under it) besides the page's own
    # site that its links and redirects may lead to (see pipeline.hosts.host_refusal)
    allow_hosts = ["www.example.org"]

Output: ``load_sources`` gives one frozen ``Source`` per table; ``discover`` downloads a source's
listing page (with acquire's client, timeouts, User-Agent, size cap and error classification) and
returns one ``Report`` per entry followed, each with its PDF URL, title, publication date and the
``listing_url`` (``<listing>#<entry_id>``) to hand to ``acquire`` or ``jstmine run --source``. For
an announcement source it downloads each page, follows its report link (to the listing page's
entry, or straight to a PDF; no PDF is downloaded) and returns one ``Report`` per page: the entry
id (or the PDF's slugged file name), title, PDF URL and date, and as ``listing_url`` the page's own
URL, which ``acquire`` follows the same way.

Errors: ``SourceError`` for a file that cannot be used (unreadable, not TOML, missing or unknown
keys, a bad regex, a listing or announcement URL that is not http(s), an announcement mixed with
listing/entries/link_pattern, an expectations name without a file, an ``allow_hosts`` entry
that is no host name or is a public suffix); ``TransientAcquireError`` /
``AcquireError`` for network and HTTP problems, as ``acquire`` raises them; ``AcquireError`` also
when an entry named in ``entries`` is not on the page, or an announcement page gives no usable
report link.
"""
from __future__ import annotations

import contextlib
import difflib
import logging
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from pipeline.acquire import announcement_entry, fetch_announcement
from pipeline.fetch import DEFAULT_CONFIG, AcquireConfig, _make_client
from pipeline.hosts import host_refusal, normalize_allowed_host
from pipeline.listing import ListingPage, fetch_listing, listing_entry, page_report_links
from pipeline.errors import SourceError

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCES = PROJECT_ROOT / "sources.toml"
EXPECTATIONS_DIR = Path(__file__).resolve().parent / "data" / "expectations"

_KEYS = ("name", "listing", "entries", "link_pattern", "announcement", "announcements", "expectations",
         "allow_hosts")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_EXAMPLE = (
    '[[source]]\nname = "jst-apr"\n'
    'listing = "https://spap.jst.go.jp/investigation/report_2022.html"\n'
    'entries = ["fy24_rr02"]'
)
_ANNOUNCEMENT_EXAMPLE = 'announcement = "https://spap.jst.go.jp/other_asia/experience/2025/topic_et_06.html"'


@dataclass(frozen=True)
class Source:
    name: str
    listing: str | None = None  # the listing page's http(s) URL, without fragment (None: announcements)
    entries: tuple[str, ...] | None = None  # entry ids to follow, in this order
    link_pattern: str | None = None  # or: a regex searched in entry ids, then in PDF URLs
    expectations: str | None = None  # expectations name for every entry …
    expectations_by_entry: tuple[tuple[str, str], ...] = ()  # … or per entry id
    # Instead of a listing: the reports' announcement pages (http(s) URLs, without fragment).
    announcements: tuple[str, ...] = ()
    # Hosts or domains (normalized) its pages' links and redirects may lead to besides their own
    # site: added to AcquireConfig.allowed_hosts for its discovery and downloads.
    allow_hosts: tuple[str, ...] = ()

    @property
    def pattern(self) -> re.Pattern[str] | None:
        return re.compile(self.link_pattern) if self.link_pattern is not None else None

    def follows(self, entry_id: str, url: str | None = None) -> bool:
        """Whether the source follows the entry ``entry_id`` (whose PDF is at ``url``); an
        announcement source follows the reports its pages link to, whatever their ids."""
        if self.announcements:
            return True
        if self.entries is not None:
            return entry_id in self.entries
        pattern = self.pattern
        return bool(pattern and (pattern.search(entry_id) or (url and pattern.search(url))))

    def expectations_for(self, entry_id: str) -> str | None:
        """The expectations name for ``entry_id``, or None."""
        return dict(self.expectations_by_entry).get(entry_id, self.expectations)

    def expectations_path(self, entry_id: str) -> Path | None:
        name = self.expectations_for(entry_id)
        return EXPECTATIONS_DIR / f"{name}.yaml" if name else None


@dataclass(frozen=True)
class Report:
    source: str  # the Source's name
    entry_id: str
    title: str | None
    url: str  # the PDF's absolute URL
    # ISO YYYY-MM-DD; YYYY-MM when only a year and month are given (2025年4月); else None
    published: str | None
    # The source string for acquire / the flow: "<listing>#<entry_id>", or the announcement page's URL
    listing_url: str
    expectations: str | None = None  # expectations name for this entry, if the source gives one
    allow_hosts: tuple[str, ...] = ()  # the source's allow_hosts: give them to acquire (acquire_config)

    def acquire_config(self, base: AcquireConfig) -> AcquireConfig:
        """``base`` with the source's ``allow_hosts`` added to its ``allowed_hosts``: the
        configuration to acquire this report with."""
        return with_allowed_hosts(base, self.allow_hosts)


def with_allowed_hosts(config: AcquireConfig, hosts: tuple[str, ...]) -> AcquireConfig:
    """``config`` allowing ``hosts`` too (``config`` itself when there are none to add)."""
    extra = tuple(h for h in hosts if h not in config.allowed_hosts)
    return replace(config, allowed_hosts=config.allowed_hosts + extra) if extra else config


# --------------------------------------------------------------------------------------------
# sources.toml


def load_sources(path: Path = DEFAULT_SOURCES) -> list[Source]:
    """Every ``[[source]]`` of ``path``, checked; raises ``SourceError`` saying what to fix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(f"sources file not found: {path}",
                          f"create it with at least one source, e.g.\n{_EXAMPLE}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read the sources file {path}: {exc}",
                          "check the file (UTF-8 TOML) and its permissions") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(f"{path} is not valid TOML: {exc}", "fix the syntax at the place named") from exc

    extra = sorted(set(data) - {"source"})
    if extra:
        raise SourceError(f"{path}: unknown top-level key(s) {', '.join(extra)}",
                          "each report listing is a [[source]] table; put its keys under [[source]]")
    tables = data.get("source")
    if not tables:
        raise SourceError(f"{path} lists no source", f"add a [[source]] table, e.g.\n{_EXAMPLE}")
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise SourceError(f"{path}: 'source' must be an array of tables ([[source]])",
                          f"write each source as a [[source]] table, e.g.\n{_EXAMPLE}")

    sources = [_source(path, n, table) for n, table in enumerate(tables, 1)]
    seen: set[str] = set()
    for s in sources:
        if s.name in seen:
            raise SourceError(f"{path}: two sources are named {s.name!r}", "give each [[source]] its own name")
        seen.add(s.name)
    return sources


def find_source(sources: list[Source], name: str) -> Source:
    """The source called ``name``; a ``SourceError`` naming the others when there is none."""
    for s in sources:
        if s.name == name:
            return s
    names = [s.name for s in sources]
    close = difflib.get_close_matches(name, names, n=1)
    raise SourceError(f"no source named {name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""),
                      f"sources: {', '.join(names) or 'none'}")


def _source(path: Path, n: int, table: dict) -> Source:
    where = f"{path}, source #{n}" + (f" ({table['name']!r})" if isinstance(table.get("name"), str) else "")

    def bad(what: str, todo: str) -> SourceError:
        return SourceError(f"{where}: {what}", todo)

    unknown = [k for k in table if k not in _KEYS]
    if unknown:
        hints = []
        for k in unknown:
            close = difflib.get_close_matches(k, _KEYS, n=1)
            hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise bad(f"unknown key(s) {', '.join(hints)}", f"the keys of a source are: {', '.join(_KEYS)}")
    pages_given = [k for k in ("announcement", "announcements") if k in table]
    missing = [k for k in ("name",) if k not in table]
    if "listing" not in table and not pages_given:
        missing.append("listing")
    if missing:
        raise bad(f"missing key(s) {', '.join(missing)}" + (" (or announcement)" if "listing" in missing else ""),
                  f"every source needs a name and a listing URL, e.g.\n{_EXAMPLE}\n"
                  f"or a report's announcement page: {_ANNOUNCEMENT_EXAMPLE}")

    name = table["name"]
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise bad(f"name {name!r} is not a short name",
                  "use letters, digits, '.', '_' and '-', starting with a letter or digit (e.g. jst-apr)")
    allow_hosts = _allow_hosts(table.get("allow_hosts", []), bad)
    if pages_given:
        return replace(_announcement_source(table, name, pages_given, bad), allow_hosts=allow_hosts)
    listing = _listing_url(table["listing"], bad)

    entries = table.get("entries")
    link_pattern = table.get("link_pattern")
    if entries is None and link_pattern is None:
        raise bad("neither entries nor link_pattern is given",
                  'say which reports to follow: entries = ["fy24_rr02"] or link_pattern = "fy24_rr\\\\d+"')
    if entries is not None and link_pattern is not None:
        raise bad("both entries and link_pattern are given",
                  "give one of them: entries to follow named reports, link_pattern to follow every match")
    if entries is not None:
        if (not isinstance(entries, list) or not entries
                or not all(isinstance(e, str) and e.strip() for e in entries)):
            raise bad(f"entries must be a non-empty list of entry ids, not {entries!r}", 'e.g. entries = ["fy24_rr02"]')
        entries = tuple(dict.fromkeys(e.strip().lstrip("#") for e in entries))
    if link_pattern is not None:
        if not isinstance(link_pattern, str) or not link_pattern:
            raise bad(f"link_pattern must be a non-empty string, not {link_pattern!r}", 'e.g. link_pattern = "fy24_rr\\\\d+"')
        try:
            re.compile(link_pattern)
        except re.error as exc:
            raise bad(f"link_pattern {link_pattern!r} is not a valid regular expression: {exc}",
                      "fix the regex (in a TOML basic string a backslash is written \\\\; "
                      "or use a literal string: link_pattern = 'fy24_rr\\d+')") from exc

    default, by_entry = _expectations(table.get("expectations"), entries, bad)
    return Source(name=name, listing=listing, entries=entries, link_pattern=link_pattern,
                  expectations=default, expectations_by_entry=by_entry, allow_hosts=allow_hosts)


def _allow_hosts(value, bad) -> tuple[str, ...]:
    """``allow_hosts``: a list of host names or domains, normalized (lower case, punycode)."""
    example = 'e.g. allow_hosts = ["www.example.org"] (a domain, example.org, allows every host under it)'
    if not isinstance(value, list):
        raise bad(f"allow_hosts must be a list of host names, not {value!r}", example)
    hosts: dict[str, None] = {}
    for item in value:
        try:
            hosts[normalize_allowed_host(item)] = None
        except ValueError as exc:
            raise bad(f"allow_hosts: {exc}", example) from None
    return tuple(hosts)


def _announcement_source(table: dict, name: str, given: list[str], bad) -> Source:
    if len(given) == 2:
        raise bad("both announcement and announcements are given",
                  'give one page as announcement = "URL", or several as announcements = ["URL", …]')
    mixed = [k for k in ("listing", "entries", "link_pattern") if k in table]
    if mixed:
        raise bad(f"{given[0]} is given with {', '.join(mixed)}",
                  "an announcement page names its report itself: give either announcement(s), or listing with "
                  "entries or link_pattern, in two [[source]] tables if you want both")
    value = table[given[0]]
    if given[0] == "announcement":
        if isinstance(value, list):
            raise bad(f"announcement must be one URL string, not a list {value!r}",
                      'write a list as announcements = ["URL", …]')
        values = [value]
    else:
        if not isinstance(value, list) or not value:
            raise bad(f"announcements must be a non-empty list of URLs, not {value!r}",
                      'e.g. announcements = ["https://spap.jst.go.jp/other_asia/experience/2025/topic_et_06.html"]')
        values = value
    urls = tuple(dict.fromkeys(_page_url(v, bad, given[0]) for v in values))
    default, by_entry = _expectations(table.get("expectations"), None, bad)
    return Source(name=name, announcements=urls, expectations=default, expectations_by_entry=by_entry)


def _page_url(value, bad, key: str) -> str:
    """An announcement page's URL, checked as listing URLs are, and not a PDF."""
    example = _ANNOUNCEMENT_EXAMPLE if key == "announcement" else 'announcements = ["https://…/topic_et_06.html"]'
    if not isinstance(value, str) or not value.strip():
        raise bad(f"{key} must be {'a URL string' if key == 'announcement' else 'a list of URL strings'}, "
                  f"not {value!r}", f"e.g. {example}")
    url, parts = _http_url(value, bad, "announcement", "pages",
                           "https://spap.jst.go.jp/other_asia/experience/2025/topic_et_06.html")
    if parts.fragment:
        raise bad(f"announcement URL {url!r} has a #fragment",
                  f"give the page URL without it: {url.split('#', 1)[0]!r} (a listing entry goes under "
                  f'listing = "…" with entries = ["{parts.fragment}"])')
    if parts.path.lower().endswith(".pdf"):
        raise bad(f"announcement URL {url!r} is a PDF, not an announcement page",
                  "give the report's announcement page (title, date, download link, summary), or process the PDF "
                  "directly: jstmine run --source URL")
    return url


def _http_url(value: str, bad, key: str, pages: str, example: str):
    """``value`` stripped and split, when it is an http(s) URL with a host; else ``bad(...)``."""
    url = value.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise bad(f"{key} URL {url!r} has {'scheme ' + repr(scheme + ':') if scheme else 'no scheme'}; "
                  f"only http and https {pages} are supported",
                  "give the page's https:// URL (a PDF on disk needs no source: jstmine run --source path/to/report.pdf)")
    if not parts.hostname:
        raise bad(f"{key} URL {url!r} has no host", f"give the full URL, e.g. {example}")
    return url, parts


def _listing_url(value, bad) -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad(f"listing must be a URL string, not {value!r}",
                  'e.g. listing = "https://spap.jst.go.jp/investigation/report_2022.html"')
    url, parts = _http_url(value, bad, "listing", "listing pages", "https://spap.jst.go.jp/…/report_2022.html")
    if parts.fragment:
        raise bad(f"listing URL {url!r} has a #fragment",
                  f'give the page URL without it and the entry as entries = ["{parts.fragment}"]')
    return url


def _expectations(value, entries, bad) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    if value is None:
        return None, ()
    if isinstance(value, str):
        _check_expectations_name(value, bad)
        return value, ()
    if isinstance(value, dict):
        pairs = []
        for entry_id, name in value.items():
            if not isinstance(name, str):
                raise bad(f"expectations for {entry_id!r} must be a name, not {name!r}",
                          'e.g. expectations = {fy24_rr02 = "fy24_rr02"}')
            if entries is not None and entry_id not in entries:
                raise bad(f"expectations are given for {entry_id!r}, which is not in entries {list(entries)}",
                          "add it to entries or fix the id")
            _check_expectations_name(name, bad)
            pairs.append((entry_id, name))
        return None, tuple(pairs)
    raise bad(f"expectations must be a name or a table of entry id = name, not {value!r}",
              'e.g. expectations = "fy24_rr02" or expectations = {fy24_rr02 = "fy24_rr02"}')


def _check_expectations_name(name: str, bad) -> None:
    available = sorted(p.stem for p in EXPECTATIONS_DIR.glob("*.yaml"))
    if not _NAME_RE.fullmatch(name) or name not in available:
        raise bad(f"no expectations file named {name!r} in {EXPECTATIONS_DIR}",
                  f"use one of: {', '.join(available) or 'none'} (the file name without .yaml)")


# --------------------------------------------------------------------------------------------
# Discovery


def discover(
    source: Source, *, client: httpx.Client | None = None, config: AcquireConfig = DEFAULT_CONFIG
) -> list[Report]:
    """Download ``source.listing`` (or each of ``source.announcements``) and return the reports
    it follows.

    With ``announcements``: one report per page, in the order given, its report link followed
    (``pipeline.acquire.announcement_entry``: to the listing entry, or straight to the PDF); its
    ``listing_url`` is the page's URL. A page that gives no usable report link, or links to another
    announcement page, is an ``AcquireError`` saying so. With ``entries``: one report per id, in the order given; an id missing from the page is an
    ``AcquireError`` naming the ids that are there, an entry without a PDF link a ``SourceError``
    (an entry whose links do not end in .pdf is probed as ``acquire`` does). With
    ``link_pattern``: every entry with a PDF link whose id, or else whose PDF URL, matches, in page
    order (none is not an error). ``client`` is borrowed, never closed; without one, a client is
    made from ``config`` as ``acquire`` makes it.

    Links and redirects stay on the page's site, as in ``acquire`` (``host_refusal``), with the
    source's ``allow_hosts`` added to ``config.allowed_hosts``: an entry named in ``entries``
    whose PDF link leads elsewhere is a ``pipeline.hosts.HostNotAllowed`` (an ``AcquireError``),
    one matched by ``link_pattern`` is left out with a warning. Each ``Report`` carries the
    source's ``allow_hosts``; acquire it with ``report.acquire_config(config)``.
    """
    config = with_allowed_hosts(config, source.allow_hosts)
    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(_make_client(config))
        if source.announcements:
            return [_announced(source, client, url, config) for url in source.announcements]
        if source.listing is None:
            raise SourceError(f"source {source.name!r} has neither a listing nor announcement pages",
                              f"give it a listing URL, e.g.\n{_EXAMPLE}\nor {_ANNOUNCEMENT_EXAMPLE}")
        page = fetch_listing(source.listing, client=client, config=config)
        if source.entries is not None:
            rows = [_row(listing_entry(client, page, entry_id, config)) for entry_id in source.entries]
        else:
            rows = [r for r in page_report_links(page) if source.follows(r["id"], r["url"])]
            rows = [r for r in rows if _on_site(source, page, r, config)]
            if not rows:
                log.warning("source %s: no entry on %s matches link_pattern %r", source.name,
                            source.listing, source.link_pattern)
    return [_report(source, page, r) for r in rows]


def _announced(source: Source, client: httpx.Client, url: str, config: AcquireConfig) -> Report:
    announcement = fetch_announcement(url, client=client, config=config)
    entry = announcement_entry(client, announcement, config)
    return Report(source=source.name, entry_id=entry.id, title=entry.title, url=entry.url,
                  published=entry.published, listing_url=announcement.url,
                  expectations=source.expectations_for(entry.id), allow_hosts=source.allow_hosts)


def _on_site(source: Source, page: ListingPage, row: dict, config: AcquireConfig) -> bool:
    """Whether a matching entry's PDF link may be followed (``host_refusal``); one that leads off
    the page's site is left out with a warning (an entry named in ``entries`` is an error)."""
    reason = host_refusal(row["url"], (page.url, page.final_url), config.allowed_hosts)
    if reason is None:
        return True
    host = urlsplit(row["url"]).hostname or row["url"]
    log.warning("source %s: entry #%s is not followed: its PDF link %s leads off the listing page's site (%s); "
                "allow the host with allow_hosts = [\"%s\"] in its [[source]] table", source.name, row["id"],
                row["url"], reason, host)
    return False


def _row(entry) -> dict:
    return {"id": entry.id, "title": entry.title, "url": entry.url, "date": entry.published}


def _report(source: Source, page: ListingPage, row: dict) -> Report:
    return Report(
        source=source.name,
        entry_id=row["id"],
        title=row.get("title") or None,
        url=row["url"],
        published=row.get("date"),
        listing_url=f"{page.url}#{row['id']}",
        expectations=source.expectations_for(row["id"]),
        allow_hosts=source.allow_hosts,
    )


def distinct_reports(reports: list[Report]) -> tuple[list[Report], list[tuple[Report, Report]]]:
    """``reports`` without repeats: a report that several sources follow (the same listing entry,
    or announcement page: the same ``listing_url``) is kept once, as the first source's (pure).

    Parameters:
        reports: as ``discover_all`` gives them, in order.

    Returns the reports kept, in order, and (repeat, the report kept in its place) for each left
    out, to say so: processed twice in one run, a report would be downloaded twice into the same
    raw/ file and published twice under one edition name.
    """
    kept: dict[str, Report] = {}
    repeats: list[tuple[Report, Report]] = []
    for r in reports:
        if r.listing_url in kept:
            repeats.append((r, kept[r.listing_url]))
        else:
            kept[r.listing_url] = r
    return list(kept.values()), repeats


def discover_all(
    sources: list[Source], *, client: httpx.Client | None = None, config: AcquireConfig = DEFAULT_CONFIG
) -> list[Report]:
    """``discover`` for each source in turn, sharing one client."""
    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(_make_client(config))
        return [r for s in sources for r in discover(s, client=client, config=config)]
