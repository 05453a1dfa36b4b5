"""Hosts: a URL and where it was reached from → whether a download may go there (the host policy of acquire).

Input: the URL of a link or a redirect, the page or source it was reached from, and the allowed
hosts (``AcquireConfig.allowed_hosts``, as ``normalize_allowed_hosts`` gives them). Output:
``host_refusal`` gives why the request may not be made (None when it may); ``_Scope`` holds the
rule of one step of a download and raises ``HostNotAllowed`` (an ``AcquireError``, not retried)
naming the host, the link or redirect that led there, and ``--allow-host`` / ``allow_hosts``.
``registrable_domain`` and ``normalize_allowed_host(s)`` are the pure helpers behind it. Pure but
for name resolution (``_resolve``); no requests are made here (``pipeline.fetch`` applies the
scope to each hop and to the address each connection reaches).

A download reached from a listing or announcement page stays on that page's site: its
registrable domain (``registrable_domain``: jst.go.jp for spap.jst.go.jp, so www.jst.go.jp is
the same site). A redirect of any request after the source's own first one (the page, the PDF,
a probe) may not lead to a loopback, private, link-local, multicast, unspecified or otherwise
not globally routable address, by an IP literal, by a name that resolves to one, or by the
address the connection actually reaches (checked when it is made, before the request is sent,
so a name that resolves one way for the check and another way for the connection is caught
too) — unless the source itself is on such an address (tests serve from 127.0.0.1, an intranet
mirror is on 10.x). ``AcquireConfig.allowed_hosts`` lets more hosts or domains through, both
rules waived. Each hop of a redirect chain is checked, not only where it ends.
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx

from pipeline.errors import AcquireError, PipelineError

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
    for kind in ("unspecified", "loopback", "link_local", "site_local", "multicast", "private", "reserved"):
        if getattr(ip, f"is_{kind}", False):
            return kind.replace("_", "-")
    if isinstance(ip, ipaddress.IPv4Address) and ip in _IETF_PROTOCOL_ASSIGNMENTS:
        return "special-purpose"  # 192.0.0.0/24 (RFC 6890): not for hosts on the Internet
    return None if ip.is_global else "not globally routable"


_IETF_PROTOCOL_ASSIGNMENTS = ipaddress.IPv4Network("192.0.0.0/24")


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
    def source(cls, url: str, allowed_hosts: tuple[str, ...]) -> _Scope:
        return cls((url,), False, allowed_hosts)

    @classmethod
    def page(cls, urls: Iterable[str | None], allowed_hosts: tuple[str, ...]) -> _Scope:
        return cls(tuple(dict.fromkeys(u for u in urls if u)), True, allowed_hosts)

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
