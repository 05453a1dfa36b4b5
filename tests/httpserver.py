"""A scripted HTTP server on 127.0.0.1 for tests (loopback only, ephemeral port).

Usage (through the ``http_server`` fixture in conftest.py)::

    def test_x(http_server):
        url = http_server.serve_pdf("/r.pdf", pdf_bytes, etag='"v1"')
        http_server.route("/flaky", Reply(status=500), Reply(body=b"ok"))  # 500, then 200 ever after
        http_server.truncated("/cut.pdf", pdf_bytes[:100], claimed_length=len(pdf_bytes))
        http_server.redirect_loop("/loop")
        http_server.hang("/slow", seconds=2)
        ...
        assert http_server.count("/r.pdf") == 1
        assert http_server.requests_for("/r.pdf")[0].headers["user-agent"].startswith("jstmine")

A route is a sequence of ``Reply`` objects: request n gets reply n, the last one repeats.
A ``Reply`` with ``etag``/``last_modified`` answers 304 to a matching conditional request.
``handler=`` takes a callable ``(Request) -> Reply`` for anything else. Unknown paths get 404.
Sleeps are bounded and end early when the server stops, so a hanging test never blocks teardown.
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

MAX_SLEEP = 10.0  # no scripted sleep lasts longer than this


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path with query, as sent
    path: str  # path without query
    headers: dict[str, str]  # lower-cased names


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    etag: str | None = None  # sent as ETag; a matching If-None-Match gets 304
    last_modified: str | None = None  # sent as Last-Modified; If-Modified-Since >= it gets 304
    content_length: int | None = None  # override (larger than body → truncated response)
    delay: float = 0.0  # sleep before the status line (a server that never answers)
    body_delay: float = 0.0  # sleep after the headers, before the body (stalls mid-response)
    close: bool = False  # close the connection after this reply
    omit_length: bool = False  # no Content-Length: the body ends when the connection closes


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        owner = self.server.owner
        req = Request(
            method=self.command,
            target=self.path,
            path=urlsplit(self.path).path,
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        reply = owner._next_reply(req)
        owner._sleep(reply.delay)
        if owner.stopping.is_set():
            self.close_connection = True
            return

        status = reply.status
        body = reply.body
        if status == 200 and _not_modified(req, reply):
            status, body = 304, b""

        self.send_response(status)
        headers = dict(reply.headers)
        if reply.content_type and "Content-Type" not in headers:
            headers["Content-Type"] = reply.content_type
        if reply.etag:
            headers.setdefault("ETag", reply.etag)
        if reply.last_modified:
            headers.setdefault("Last-Modified", reply.last_modified)
        if reply.omit_length:
            headers["Connection"] = "close"
            self.close_connection = True
        elif status != 304 and not any(k.lower() == "content-length" for k in headers):
            length = reply.content_length if reply.content_length is not None else len(body)
            headers["Content-Length"] = str(length)
        if status == 304:
            headers.pop("Content-Length", None)
        truncated = reply.content_length is not None and reply.content_length > len(body)
        if reply.close or truncated:
            headers["Connection"] = "close"
            self.close_connection = True
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()
        owner._sleep(reply.body_delay)
        if owner.stopping.is_set():
            self.close_connection = True
            return
        if not head and status != 304 and body:
            self.wfile.write(body)
        self.wfile.flush()
        if truncated:
            # close now: the client sees EOF before Content-Length bytes
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _not_modified(req: Request, reply: Reply) -> bool:
    inm = req.headers.get("if-none-match")
    if inm is not None and reply.etag:
        tags = [t.strip() for t in inm.split(",")]
        return "*" in tags or reply.etag in tags or reply.etag.removeprefix("W/") in [
            t.removeprefix("W/") for t in tags
        ]
    ims = req.headers.get("if-modified-since")
    if ims is not None and reply.last_modified:
        try:
            return parsedate_to_datetime(ims) >= parsedate_to_datetime(reply.last_modified)
        except (TypeError, ValueError):
            return False
    return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: HTTPTestServer

    def handle_error(self, request, client_address) -> None:
        # clients that hang up (timeouts, truncation tests) are expected; stay quiet
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)


class HTTPTestServer:
    """Threaded HTTP server on 127.0.0.1:<ephemeral port> with scripted routes."""

    def __init__(self) -> None:
        self._routes: dict[str, list[Reply] | Callable[[Request], Reply]] = {}
        self._counts: dict[str, int] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self.port: int = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # lifecycle ------------------------------------------------------------------------------
    def start(self) -> HTTPTestServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> HTTPTestServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # routes ---------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def route(
        self, path: str, *replies: Reply, handler: Callable[[Request], Reply] | None = None
    ) -> str:
        """Script ``path`` (matched with its query first, then without): replies in turn, the
        last repeating; or ``handler(request) -> Reply``. Returns the absolute URL."""
        if handler is not None:
            self._routes[path] = handler
        else:
            if not replies:
                raise ValueError("give at least one Reply or a handler")
            self._routes[path] = list(replies)
        return self.url(path)

    def serve_bytes(self, path: str, body: bytes, content_type: str = "application/octet-stream",
                    **reply_fields) -> str:
        return self.route(path, Reply(body=body, content_type=content_type, **reply_fields))

    def serve_pdf(self, path: str, body: bytes, **reply_fields) -> str:
        return self.serve_bytes(path, body, "application/pdf", **reply_fields)

    def serve_html(self, path: str, html: str, charset: str = "utf-8", **reply_fields) -> str:
        return self.serve_bytes(path, html.encode(charset), f"text/html; charset={charset}",
                                **reply_fields)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.route(path, Reply(status=status, headers={"Location": location}))

    def redirect_loop(self, path: str) -> str:
        """``path`` redirects to itself forever."""
        return self.redirect(path, path)

    def truncated(self, path: str, body: bytes, claimed_length: int, **reply_fields) -> str:
        """Send ``Content-Length: claimed_length`` but only ``body``, then close."""
        if claimed_length <= len(body):
            raise ValueError("claimed_length must exceed the body length")
        fields = {"content_type": "application/pdf", **reply_fields}
        return self.route(path, Reply(body=body, content_length=claimed_length, **fields))

    def hang(self, path: str, seconds: float = 5.0, **reply_fields) -> str:
        """Answer only after ``seconds`` (bounded by MAX_SLEEP; cut short when the server stops)."""
        return self.route(path, Reply(delay=seconds, **reply_fields))

    # observation ----------------------------------------------------------------------------
    def count(self, path: str) -> int:
        with self._lock:
            return self._counts.get(path, 0)

    def requests_for(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path or r.target == path]

    # internals ------------------------------------------------------------------------------
    def _next_reply(self, req: Request) -> Reply:
        with self._lock:
            self.requests.append(req)
            key = req.target if req.target in self._routes else req.path
            self._counts[req.path] = self._counts.get(req.path, 0) + 1
            if key != req.path:
                self._counts[key] = self._counts.get(key, 0) + 1
            n = self._counts[key] - 1  # index into the route's replies
            route = self._routes.get(key)
        if route is None:
            return Reply(status=404, body=b"not found", content_type="text/plain")
        if callable(route):
            return route(req)
        return route[min(n, len(route) - 1)]

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.stopping.wait(min(seconds, MAX_SLEEP))
