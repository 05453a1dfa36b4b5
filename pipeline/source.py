"""Source: what the user names as a report (``jstmine run --source …``) → one checked value.

Input: the string given on the command line, in ``sources.toml`` (through discovery) or as the
flow's parameter. Output: a frozen ``SourceRef``: a local PDF (``path``) or an http(s) URL (``url``
without its fragment, and the ``entry_id`` of a listing page's entry when the fragment names one).
The string is read here only, once, where it enters; acquire, the edition's default name, the
packaged claims and the offline check all take the value.

Accepted forms: an http(s) URL of a PDF, of a report listing page with the entry id as fragment
(``…/report_2022.html#fy24_rr02``), or of a report's announcement page; a local path, also as a
``file://`` URL on this machine. Anything else is a ``SourceError`` saying what to give instead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit
from urllib.request import url2pathname

from pipeline.errors import SourceError

ACCEPTED_FORMS = (
    "an http(s) URL of a PDF (https://host/path/report.pdf), "
    "an http(s) URL of a report listing page with the entry id as fragment "
    "(https://spap.jst.go.jp/investigation/report_2022.html#fy24_rr02), "
    "a report's announcement page (https://spap.jst.go.jp/other_asia/experience/2025/topic_et_06.html), "
    "or a local file path (reports/x.pdf, /abs/x.pdf, file:///abs/x.pdf)"
)
MAX_SOURCE_CHARS = 4096  # a longer string is no URL or path anyone typed


@dataclass(frozen=True)
class SourceRef:
    text: str  # as given, stripped: what the manifest and the documents table record
    kind: str  # "local" | "http"
    path: Path | None = None  # local: the file (~ expanded)
    url: str | None = None  # http: the URL without its fragment
    fragment: str | None = None  # http: the fragment, percent-decoded (None when there is none)

    @property
    def host(self) -> str | None:
        return urlsplit(self.url).hostname if self.url else None

    @property
    def is_pdf_url(self) -> bool:
        return bool(self.url) and looks_like_pdf_href(self.url)

    @property
    def entry_id(self) -> str | None:
        """The listing entry the fragment names: none for a .pdf URL, whose fragment is a
        viewer's (#page=3)."""
        return self.fragment if self.fragment and not self.is_pdf_url else None

    def name(self) -> str:
        """A readable report id: the listing entry's id, else the file's name (without .pdf)."""
        if self.entry_id:
            return self.entry_id
        if self.kind == "local" and self.path is not None:
            return self.path.stem or "report"
        return Path(urlsplit(self.url or "").path).stem or "report"


def looks_like_pdf_href(href: str) -> bool:
    """Whether a URL's path ends in .pdf."""
    return urlsplit(href).path.lower().endswith(".pdf")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse_source(text: str) -> SourceRef:
    """``text`` as a ``SourceRef``; ``SourceError`` for anything that is no supported source.

    Parameters:
        text: a URL or a path, as the user gave it.
    """
    s = (text or "").strip() if isinstance(text, str) else ""
    if not s:
        raise SourceError("empty source", f"give {ACCEPTED_FORMS}")
    if len(s) > MAX_SOURCE_CHARS:
        raise SourceError(f"the source is {len(s):,} characters long, more than {MAX_SOURCE_CHARS:,}: {s[:60]!r}…",
                          f"give {ACCEPTED_FORMS}")
    if _CONTROL.search(s):
        raise SourceError(f"the source contains control characters: {s[:80]!r}", f"give {ACCEPTED_FORMS}")
    parts = urlsplit(s)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        try:
            host = parts.hostname
            parts.port  # noqa: B018  (raises ValueError for a port that is no number)
        except ValueError as exc:
            raise SourceError(f"not a valid URL: {s!r} ({exc})", f"give {ACCEPTED_FORMS}") from None
        if not host:
            raise SourceError(f"URL without a host: {s!r}", f"give {ACCEPTED_FORMS}")
        url, fragment = urldefrag(s)
        return SourceRef(s, "http", url=url, fragment=unquote(fragment) or None)
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise SourceError(
                f"file:// URL on another host ({parts.netloc!r}) is not supported: {s!r}",
                "copy the file to this machine and give its local path",
            )
        return SourceRef(s, "local", path=Path(url2pathname(unquote(parts.path))).expanduser())
    if scheme == "" or len(scheme) == 1 or Path(s).exists():  # a path, a drive letter, or an odd name (report:2024.pdf)
        return SourceRef(s, "local", path=Path(s).expanduser())
    raise SourceError(f"unsupported source scheme {scheme + ':'!r} in {s!r}", f"give {ACCEPTED_FORMS}")


def check_local_file(ref: SourceRef) -> None:
    """For a local source: ``SourceError`` when the file is not there or is no regular file."""
    path = ref.path
    if ref.kind != "local" or path is None:
        return
    if not path.exists():
        todo = "check the path (relative paths are taken from the current directory)"
        head = str(path).split("/", 1)[0]
        if "." in head and not str(path).startswith((".", "/")):
            todo += f"; if this is a web address, write it as https://{path}"
        raise SourceError(f"local file not found: {path}", todo)
    if not path.is_file():
        raise SourceError(f"not a regular file: {path}", "give the path of a PDF file")
