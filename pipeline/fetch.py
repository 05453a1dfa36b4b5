"""Fetch: a URL and an ``AcquireConfig`` → a streaming httpx response, under a deadline, redirects checked hop by hop, errors classified.

Input: an httpx client (``_make_client``: User-Agent, timeouts, no automatic redirects, a new
connection per request), a URL, an ``AcquireConfig`` (timeouts, deadlines, size cap, redirect
limit) and a ``pipeline.hosts._Scope`` saying where the request and its redirects may go.
Output: ``_request`` yields the final response, streaming (closed on exit); httpx exceptions
become ``TransientAcquireError`` (network faults, timeouts, dropped connections) or
``AcquireError`` (redirect loops, TLS certificate failures, bad URLs, an expired deadline), and
``_check_status`` / ``_content_length`` / ``_too_large`` check a response's status and size.
Reading the body is the caller's job (``pipeline.listing`` for pages, ``pipeline.acquire`` for
the PDF).

``AcquireConfig``, the settings of acquire, lives here, below every module that needs it;
``pipeline.acquire`` re-exports it.

Deadlines. Besides the per-read ``read_timeout`` (a server silent that long), every request has
a wall-clock deadline covering its connection, redirects, headers and body: ``deadline`` (300 s)
for the PDF, ``page_deadline`` (60 s, never more than ``deadline``) for each HTML page on the way.
It is enforced while waiting for bytes, not between chunks: a watchdog (``_Watchdog``) shuts the
request's sockets down when it expires, so a server dripping a byte a second is stopped within a
fraction of a second. Expiry is an ``AcquireError``, not retried (``_deadline_error`` says why).
"""
from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from pipeline.errors import AcquireError, PipelineError, TransientAcquireError
from pipeline.hosts import HostNotAllowed, _allow_todo, _host_of, _norm_host, _Scope, normalize_allowed_hosts

PDF_MAGIC = b"%PDF-"
HTML_CAP = 20 * 1024 * 1024  # listing pages larger than this are refused
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class AcquireConfig:
    """The settings of acquire: where downloads go, timeouts, deadlines, size cap, User-Agent,
    redirects and allowed hosts."""

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
        hosts = normalize_allowed_hosts(self.allowed_hosts) if self.allowed_hosts else ()
        object.__setattr__(self, "allowed_hosts", hosts)

    @property
    def page_bound(self) -> float | None:
        """The deadline of one HTML page: ``page_deadline``, never more than ``deadline``."""
        bounds = [b for b in (self.page_deadline, self.deadline) if b is not None]
        return min(bounds) if bounds else None


# The default of the functions that take an ``AcquireConfig``: one shared instance (it is frozen).
DEFAULT_CONFIG = AcquireConfig()


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
    except httpx.DecodingError as e:  # not the network's doing: the same bytes would come again
        raise AcquireError(f"cannot decode the body of {url}: {e}",
                           "the server sends a damaged compressed body; try again later, or get the file another way") from e
    except (httpx.NetworkError, httpx.ProxyError) as e:
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


def body_chunks(resp: httpx.Response, size: int = _CHUNK) -> Iterator[bytes]:
    """The body of a streaming ``resp``, decoded, in pieces of at most ``size`` bytes.

    jstmine asks for no encoding (``Accept-Encoding: identity``), but a server may send one all
    the same. httpx inflates a whole read at once, and layers ('gzip, gzip') multiply: 2 KB on the
    wire became 512 MB in one piece, before any size cap could count it. Here each gzip or deflate
    layer gives at most ``size`` bytes at a time (``zlib``'s ``max_length``), so the caller's cap
    stops a compression bomb with a chunk or two in memory. Other encodings are passed through
    undecoded, as httpx does with those it does not know (the PDF and HTML checks then refuse
    them). A body that is not what its encoding says is an ``httpx.DecodingError``."""
    chunks: Iterator[bytes] = resp.iter_raw(size)
    for coding in reversed(content_codings(resp)):
        if coding in ("gzip", "deflate"):
            chunks = _inflate(chunks, coding, size)
    return chunks


def content_codings(resp: httpx.Response) -> list[str]:
    """The codings of ``resp``'s Content-Encoding, in the order applied (identity left out)."""
    value = resp.headers.get("Content-Encoding", "")
    return [c for c in (v.strip().lower() for v in value.split(",")) if c and c != "identity"]


def _inflate(chunks: Iterator[bytes], coding: str, size: int) -> Iterator[bytes]:
    """``chunks`` inflated (gzip, or deflate with or without its zlib wrapper, as httpx reads
    it), at most ``size`` bytes a piece."""
    d = zlib.decompressobj(zlib.MAX_WBITS | 16 if coding == "gzip" else zlib.MAX_WBITS)
    first = True
    try:
        for data in chunks:
            while data:
                try:
                    out = d.decompress(data, size)
                except zlib.error:
                    if not (first and coding == "deflate"):
                        raise
                    d = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, no zlib wrapper
                    out = d.decompress(data, size)
                first = False
                data = d.unconsumed_tail
                if out:
                    yield out
        if tail := d.flush():
            yield tail
    except zlib.error as exc:
        raise httpx.DecodingError(f"the body is not valid {coding} ({exc}), though its Content-Encoding says so") from exc


def _too_large(url: str, what: str, cap: int, resp: httpx.Response | None = None) -> AcquireError:
    """The error for a body over the cap; ``resp``: its response, to say that it came compressed
    (how many bytes came, as which codings)."""
    codings = content_codings(resp) if resp is not None else []
    if codings:
        what += (f"; the server sent it {', '.join(codings)}-encoded though jstmine asks for no encoding: "
                 f"{resp.num_bytes_downloaded:,} bytes came, and they inflate past the cap")
    return AcquireError(
        f"{url} is larger than the cap of {cap:,} bytes ({what})",
        "check the URL; if the file is expected to be that large, raise the cap: "
        "jstmine run --max-mb N (AcquireConfig.max_bytes)",
    )

