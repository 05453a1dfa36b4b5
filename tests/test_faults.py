"""Fault suite: every fault ends in a clear message, a non-zero exit, and nothing lost.

Each case goes through the user's entry point, ``jstmine run --source … --out OUT --raw RAW``,
against outputs that already hold a good edition: the sample edition, downloaded over loopback
HTTP and published once per module by ``jstmine run`` (so raw/ has its PDF and manifest line,
processed/ its files and database rows). Every test works on a byte-for-byte copy of that state
and checks afterwards that it is intact: the same raw/*.pdf and manifest, the same
processed/sample/ files, the same database rows, no half-published edition.

How the CLI is run:

* as a subprocess (the installed ``jstmine``) where the process itself matters: the exit status
  and that no traceback reaches the console (a flow that fails, input refused before the flow
  starts), SIGKILL, two processes at once;
* in-process through typer's CliRunner (the same ``run`` command, the same flow) for the rest:
  much faster, and the acquire task's retry delays can be set to 0 (``fast_retries``).

Both talk to ONE Prefect server (``prefect server start`` on loopback in its own process group:
conftest's ``prefect_api_server``) with one PREFECT_HOME in a temporary directory, so they share
the result storage and re-runs of the sample's content hit the task cache.

Each case records the first line the user sees and the exit code; the last test checks that
docs/faults.md lists exactly that (``JSTMINE_UPDATE_FAULTS_DOC=1`` rewrites its table).
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

import flows  # noqa: F401  (Prefect's environment before Prefect is imported)
from conftest import stop_group
from httpserver import HTTPTestServer, Reply
from pipeline.publish import DATABASE_NAME, RUNS_DIR, output_lock, published_editions
from samples.build import build_sample_pdf, register_fonts

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SHARED_PDFS = ROOT.parent / "shared" / "pdfs"
DOC = ROOT / "docs" / "faults.md"
EDITION = "sample"
BIN = Path(sys.executable).parent
JSTMINE = [str(BIN / "jstmine")] if (BIN / "jstmine").exists() else [sys.executable, "-m", "flows.main"]

# ------------------------------------------------------------------------------------ the cases
# id → (category, how the test makes the fault, what happens besides the message). The first line
# the user sees and the exit code come from the run itself (see test_docs_list_every_case_as_observed).

CASES: dict[str, tuple[str, str, str]] = {
    "net-refused": ("network", "connection refused (a bound port nobody listens on)",
                    "retried 3 times, then stops; nothing written"),
    "net-silent": ("network", "the server accepts the connection and never answers (`--timeout 0.5`)",
                   "each attempt gives up after 0.5 s; retried 3 times; nothing written"),
    "net-500-then-ok": ("network", "HTTP 500, then the PDF",
                        "retried once and published (`--edition retried`); the earlier edition untouched"),
    "net-404": ("network", "HTTP 404", "not retried (the server sees one request); nothing written"),
    "net-redirect-loop": ("network", "a URL that redirects to itself",
                          "stops after 20 redirects, not retried; nothing written"),
    "net-short-body": ("network", "a body shorter than its Content-Length",
                       "retried 3 times; no partial file left in raw/"),
    "net-html": ("network", "an HTML page (a login page) served at the PDF's URL",
                 "not retried; nothing written"),
    "net-too-large": ("network", "a PDF over the size cap (`--max-mb 0.01`), by Content-Length",
                      "refused before the body is read, not retried"),
    "net-too-large-streamed": ("network", "a PDF over the size cap sent without Content-Length",
                               "counted while downloading and stopped, not retried; no partial file"),
    "file-truncated": ("file", "a PDF cut in half (local path)", "nothing written"),
    "file-encrypted": ("file", "a PDF encrypted with a user password", "nothing written"),
    "file-encrypted-empty-password": (
        "file", "a PDF encrypted with an empty user password (owner password only; IPAex font embedded)",
        "opens without a password and is processed normally"),
    "file-encrypted-empty-password-cid": (
        "file", "the same, made by reportlab with its built-in CID font: reportlab leaves the font's "
                "CIDSystemInfo strings unencrypted, so a conforming reader decrypts them to garbage",
        "fails clearly (the text cannot be mapped to Unicode); nothing written"),
    "file-zero-pages": ("file", "a valid PDF whose page tree is empty", "nothing written"),
    "file-corrupt-xref": ("file", "the sample with its cross-reference offsets overwritten with garbage",
                          "nothing written"),
    "file-no-text-layer": ("file", "../shared/pdfs/bocchan_notextlayer.pdf (glyphs drawn as paths), with `--ocr off` "
                                   "(by default its pages are read by OCR)",
                           "nothing written; the message names the pages and advises `--ocr auto`"),
    "file-sjis-font-names": ("file", "../shared/pdfs/mhlw_tsuchi_0000196315-1-2.pdf (Shift-JIS font names)",
                             "processed normally"),
    "file-bad-metadata": ("file", "Info strings in Shift-JIS, invalid UTF-8 and broken UTF-16, and a font "
                                  "name in Shift-JIS bytes", "processed normally; the title is decoded"),
    "file-hostile-font": ("file", "page 2 of 3, turned (read by pdfminer under the default engine), sets text in a "
                                  "font whose /ToUnicode expands one line to 16 million entries (2.3 GB once built)",
                          "the font is refused before the map is built, within seconds; published, page 2 read "
                          "without that font's text; `pages.problem` of page 2: `font_refused: page 2: the font "
                          "/DejaVuSans was refused and the text set in it left out (the rest of the page was read): "
                          "the /ToUnicode map …`"),
    "proc-killed-before-switch": (
        "process", "SIGKILL while publishing, after the files and database rows are written, before the switch",
        "previous outputs still published; the re-run removes the killed run's directory and completes "
        "(`done: edition sample`, exit 0)"),
    "proc-killed-after-switch": (
        "process", "SIGKILL between switching processed/sample and committing the database",
        "the re-run's lock switches back to the previous outputs (kept until the commit), then the re-run "
        "completes (`done: edition sample`, exit 0)"),
    "proc-disk-full-publish": ("process", "the output disk fills while the tables are written (tmpfs)",
                               "the new run's directory is removed; nothing half-published"),
    "proc-disk-full-download": ("process", "the raw/ disk fills while the PDF downloads (tmpfs)",
                                "not retried; no partial file"),
    "proc-two-runs": ("process", "a second run on the same --out while the first is publishing",
                      "refused before Prefect starts; the first run completes"),
    "input-scheme-ftp": ("input", "`--source ftp://…`", "refused before Prefect starts"),
    "input-scheme-s3": ("input", "`--source s3://…`", "refused before Prefect starts"),
    "input-scheme-javascript": ("input", "`--source javascript:…`", "refused before Prefect starts"),
    "input-file-url": ("input", "`--source file:///…/sample.pdf` (supported)",
                       "accepted; same content as published: nothing to do"),
    "input-markup-in-path": ("input", "a missing local file whose path contains `[/draft]`",
                             "the path is printed as given (not read as console markup)"),
    "input-content-disposition": ("input", 'Content-Disposition: attachment; filename="../../evil.pdf"',
                                  "the server's name is ignored; the file lands in raw/ under the project's name"),
    "input-dotdot-url": ("input", "URL paths with `../` and `..%2F`",
                         "the file lands in raw/ under the project's name"),
    # Round two: a shared output directory, hostile PDFs and pages, inputs checked once.
    "input-edition-too-long": ("input", "`--edition` of 250 characters",
                               "refused before Prefect starts; nothing written; later runs unaffected"),
    "input-edition-reserved": ("input", "`--edition jstmine.duckdb`", "refused before Prefect starts; nothing written"),
    "input-long-entry-id": ("input", "a listing entry id of 240 characters (no `--edition`)",
                            "published under a name cut to 80 characters plus a hash of the id, and the date"),
    "input-mode-bad": ("input", "`--mode X`", "refused before Prefect starts"),
    "input-lexicon-missing": ("input", "`--lexicon` naming no file", "refused before Prefect starts"),
    "input-lexicon-not-toml": ("input", "`--lexicon` naming a file that is not TOML", "refused before Prefect starts"),
    "input-sources-bad": ("input", "`jstmine update --sources` with a source that lacks its listing",
                          "refused before Prefect starts"),
    "input-control-chars": ("input", "ESC sequences (clear screen, window title, hyperlink) in the PDF's title "
                                     "and the listing page's title",
                            "published; `jstmine show documents` prints them as \\x1b escapes, the tables keep them"),
    "input-formula-cells": ("input", "sentences starting with =, +, - and @",
                            "published; the CSV cells start with ', the Parquet and the database keep the text"),
    "out-symlink-under-runs": ("output", "symbolic links planted under processed/.runs/ pointing at another directory",
                               "the links are removed as links; the directory they point to is untouched"),
    "out-sql-writes-a-file": ("output", "`jstmine sql \"COPY (…) TO '…/sample/country_technology.parquet'\"`",
                              "refused by DuckDB (no file access); the published file unchanged"),
    "out-read-only-report": ("output", "`jstmine report` on a read-only output directory (a read-only mount)",
                             "nothing written; no traceback"),
    "out-killed-then-read": ("output", "SIGKILL between the switch and the commit, then `jstmine show` (not a run)",
                             "the reading command settles it first: the previous outputs are back, files and rows agree"),
    "file-stream-bomb": ("file", "16 pages sharing one content stream that inflates to 300 MiB (309 KB file)",
                         "stopped at the 64 MiB stream limit, peak memory ~0.2 GB; nothing written"),
    "file-deep-page-tree": ("file", "a page tree nested 5,000 deep", "refused without recursion; nothing written"),
    "file-mostly-blank": ("file", "301 pages of which one has text",
                          "published; one warning line naming pages 2–301, not 300"),
    "net-drip": ("network", "a server sending the PDF one byte every 0.5 s (`--timeout 2 --deadline 2`)",
                 "stopped at the deadline; not retried; nothing written"),
    "net-off-site-link": ("network", "a listing entry whose PDF link is on another host (127.0.0.2)",
                          "refused before anything is sent there; with `--allow-host 127.0.0.2` it is published"),
    "proc-killed-download": ("process", "SIGKILL while the PDF downloads",
                             "the partial file is left; the next download removes it"),
    "proc-disk-full-database": ("process", "the output disk has room for the files but not for the database rows (tmpfs)",
                                "the run fails clearly or says the database could not be checkpointed; nothing lost"),
}

OBSERVED: dict[str, tuple[str, int]] = {}  # case id → (first line, exit code), normalized


# ------------------------------------------------------------------------------------ helpers


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _env(api: "PrefectAPI", **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PREFECT_API_URL=api.url,
        PREFECT_HOME=str(api.home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        COLUMNS="200",
    )
    env.update(extra)
    return env


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    def error_line(self) -> str:
        return next((line for line in self.stderr.splitlines() if line.startswith("error: ")), "")

    def todo_line(self) -> str:
        return next((line for line in self.stderr.splitlines() if line.startswith("what to do: ")), "")

    def first_line(self) -> str:
        """What the user sees first: the error line, or the start of the summary."""
        if self.code == 0:
            m = re.search(r"^done: edition \S+", self.stdout, re.M)
            if m:
                return m.group(0)
            note = next((line for line in self.stderr.splitlines() if line.startswith("note: ")), "")
            return note or next((line for line in self.stdout.splitlines() if line.strip()), "")
        return self.error_line()

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-6000:]}"


def run_subprocess(api, args: list[str], *, timeout: float = 240) -> Outcome:
    proc = subprocess.run([*JSTMINE, "run", *args], cwd=ROOT, env=_env(api), capture_output=True, text=True,
                          timeout=timeout)
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


def run_inprocess(args: list[str]) -> Outcome:
    return cli_inprocess(["run", *args])


def cli_inprocess(argv: list[str]) -> Outcome:
    """Any jstmine command in this process (CliRunner), its output unwrapped (200 columns)."""
    from typer.testing import CliRunner

    from flows.main import app

    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, argv, catch_exceptions=False)
    return Outcome(result.exit_code, result.stdout, result.stderr)


# `jstmine` with one test hook: JSTMINE_FAULT_PAUSE=before-switch|after-switch makes publish stop
# at that point, write its pid to JSTMINE_FAULT_MARKER and wait (for JSTMINE_FAULT_RELEASE to
# appear, or to be killed). Patched from outside, so the pipeline carries no test code.
HOOKED_CLI = r"""
import os, sys, time
from pathlib import Path
when = os.environ.get("JSTMINE_FAULT_PAUSE")
if when:
    import pipeline.publish as publish
    real_switch = publish._switch_link
    calls = []
    def paused_switch(link, target):
        calls.append(target)
        if len(calls) > 1:
            return real_switch(link, target)
        if when == "after-switch":
            real_switch(link, target)
        Path(os.environ["JSTMINE_FAULT_MARKER"]).write_text(str(os.getpid()))
        release = os.environ.get("JSTMINE_FAULT_RELEASE")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (release and Path(release).exists()):
            time.sleep(0.05)
        if when == "before-switch":
            real_switch(link, target)
    publish._switch_link = paused_switch
from flows.main import app
sys.argv[0] = "jstmine"
app()
"""


def _normalize(line: str, root: Path) -> str:
    line = line.replace(str(root) + "/", "")
    line = re.sub(r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:PORT", line)
    line = re.sub(r"\bpid \d+", "pid N", line)
    line = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[^\s),]*", "TIME", line)
    return line


def observe(case: str, outcome: Outcome, root: Path) -> None:
    assert case in CASES, case
    OBSERVED[case] = (_normalize(outcome.first_line(), root), outcome.code)


def assert_clear_failure(outcome: Outcome, *, cause: list[str], todo: list[str], code: int = 1,
                         subprocess_run: bool = False) -> None:
    """A non-zero exit, an `error:` line naming the cause, a `what to do:` line, no traceback."""
    assert outcome.code == code, str(outcome)
    line, advice = outcome.error_line(), outcome.todo_line()
    assert line, f"no 'error:' line\n{outcome}"
    for word in cause:
        assert word.lower() in line.lower(), (word, line)
    assert advice, f"no 'what to do:' line\n{outcome}"
    for word in todo:
        assert word.lower() in advice.lower(), (word, advice)
    if subprocess_run:
        assert "Traceback" not in outcome.stderr, outcome.stderr


# ------------------------------------------------------------------------------------ Prefect


@dataclass
class PrefectAPI:
    url: str
    home: Path


@pytest.fixture(scope="module")
def prefect_api(prefect_api_server, tmp_path_factory) -> PrefectAPI:
    """The session's `prefect server start` on loopback (conftest: its own process group, killed
    and checked gone at teardown), with this module's own PREFECT_HOME for the clients: their
    result storage (the task cache) is shared by every run here and by nothing else."""
    return PrefectAPI(prefect_api_server.url, tmp_path_factory.mktemp("prefect-client-home"))


@pytest.fixture(scope="module")
def inprocess_prefect(prefect_api):
    """In-process runs use the same server and the same result storage as the subprocesses."""
    # Import the flow (and so configure Prefect's logging) now, not first inside a CliRunner
    # invocation: Prefect's console handler would keep CliRunner's stderr, closed afterwards.
    import flows.process_report  # noqa: F401
    from prefect.settings import PREFECT_API_URL, PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    with temporary_settings({PREFECT_API_URL: prefect_api.url,
                             PREFECT_LOCAL_STORAGE_PATH: prefect_api.home / "storage"}):
        try:
            yield
        finally:
            _drain_prefect_workers()


def _drain_prefect_workers() -> None:
    """Send this process's pending logs and events while the server is still up (as
    prefect_test_harness does); otherwise they are retried against a dead server at exit."""
    import inspect

    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def drain() -> None:
        try:
            result = APILogWorker.instance().drain()
            if inspect.isawaitable(result):
                await result
        except RuntimeError:  # never started
            pass
        result = EventsWorker.drain_all()
        if inspect.isawaitable(result):
            await result

    run_coro_as_sync(drain())


# ------------------------------------------------------------------------------------ the good edition


@dataclass
class Golden:
    root: Path
    pdf: Path  # the sample PDF (its bytes are what raw/ holds)
    target: str  # where processed/sample points
    files: dict[str, str]  # processed/sample/* → sha256
    raw: dict[str, bytes]  # raw/* → bytes
    db: dict[str, str]  # table → digest of all its rows


def db_digest(db: Path, edition: str | None = None) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        # One edition's rows: the tables only. The latest_* views follow the other editions too
        # (a newer edition of the same report becomes the latest), which is no change to this one.
        kinds = "('BASE TABLE')" if edition else "('BASE TABLE', 'VIEW')"
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            f"AND table_type IN {kinds} ORDER BY 1").fetchall()]
        out = {}
        for t in tables:
            where = " WHERE edition = ?" if edition else ""
            rows = con.execute(f'SELECT * FROM "{t}"{where} ORDER BY ALL', [edition] if edition else []).fetchall()
            out[t] = hashlib.sha256(repr(rows).encode()).hexdigest()
        return out
    finally:
        con.close()


def _edition_files(out: Path, edition: str = EDITION) -> dict[str, str]:
    return {f.name: _sha(f) for f in sorted((out / edition).iterdir())}


@pytest.fixture(scope="module")
def golden(inprocess_prefect, tmp_path_factory) -> Golden:
    """The sample edition, downloaded over loopback and published by `jstmine run` (in-process:
    it also loads the tokenizer and the spaCy pipeline once for the in-process cases)."""
    root = tmp_path_factory.mktemp("golden")
    pdf = build_sample_pdf(root / "src" / "sample-report.pdf")
    no_proxy = {k: os.environ.get(k) for k in ("NO_PROXY", "no_proxy")}
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    try:
        with HTTPTestServer() as server:
            url = server.serve_pdf("/reports/sample-report.pdf", pdf.read_bytes(), etag='"v1"')
            outcome = run_inprocess(["--source", url, "--edition", EDITION, "--out", str(root / "processed"),
                                     "--raw", str(root / "raw"), "--expectations", "none"])
    finally:
        for k, v in no_proxy.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    assert outcome.code == 0, str(outcome)
    out, raw = root / "processed", root / "raw"
    assert published_editions(out) == [EDITION]
    assert [p.suffix for p in raw.glob("*.pdf")] == [".pdf"] and (raw / "manifest.jsonl").is_file()
    return Golden(root=root, pdf=pdf, target=os.readlink(out / EDITION), files=_edition_files(out),
                  raw={p.name: p.read_bytes() for p in raw.iterdir()}, db=db_digest(out / DATABASE_NAME))


@dataclass
class World:
    """A copy of the good state to break."""

    root: Path
    out: Path
    raw: Path
    golden: Golden

    def args(self, source: str, *extra: str, edition: str | None = None, expectations: str = "none") -> list[str]:
        args = ["--source", source, "--out", str(self.out), "--raw", str(self.raw), "--expectations", expectations]
        return args + (["--edition", edition] if edition else []) + list(extra)

    def assert_intact(self, *, downloaded: bool = False, other_editions: tuple[str, ...] = ()) -> None:
        """Earlier downloads and outputs as they were. ``downloaded``: a later download may have
        added manifest lines (the old ones are a prefix) and re-written the same PDF (same bytes).
        ``other_editions``: editions this case was meant to publish beside the good one."""
        g = self.golden
        raw_now = {p.name: p.read_bytes() for p in self.raw.iterdir()}
        for name, data in g.raw.items():
            assert name in raw_now, f"raw/{name} is gone"
            if name == "manifest.jsonl" and downloaded:
                assert raw_now[name].startswith(data), "manifest.jsonl lost lines"
            else:
                assert raw_now[name] == data, f"raw/{name} changed"
        assert set(raw_now) == set(g.raw), f"unexpected files in raw/: {sorted(set(raw_now) - set(g.raw))}"
        assert os.readlink(self.out / EDITION) == g.target, "processed/sample points elsewhere"
        assert _edition_files(self.out) == g.files, "processed/sample/ files changed"
        assert sorted(published_editions(self.out)) == sorted((EDITION, *other_editions))
        assert db_digest(self.out / DATABASE_NAME, EDITION) == db_digest(g.root / "processed" / DATABASE_NAME, EDITION), \
            "database rows of sample changed"
        if not other_editions:
            assert db_digest(self.out / DATABASE_NAME) == g.db, "database changed"
        # nothing half-published: no run directory beside the live ones, no journal, no temporary link
        live = {(self.out / e).resolve() for e in published_editions(self.out)}
        runs = {p.resolve() for p in (self.out / RUNS_DIR).glob("*/*")}
        assert runs == live, f"stray run directories: {sorted(map(str, runs - live))}"
        assert not list(self.out.glob(".*.publishing")) and not [p for p in self.out.glob(".*.tmp")]


@pytest.fixture
def world(golden, tmp_path) -> World:
    out, raw = tmp_path / "processed", tmp_path / "raw"
    shutil.copytree(golden.root / "processed", out, symlinks=True)
    shutil.copytree(golden.root / "raw", raw, symlinks=True)
    w = World(tmp_path, out, raw, golden)
    w.assert_intact()  # the copy is exact
    return w


@pytest.fixture
def inproc(inprocess_prefect, fast_retries):
    """In-process runs: the module's server, and retries without the waiting."""


# ------------------------------------------------------------------------------------ PDFs made for the cases


def _japanese_pdf(path: Path, *, encrypt=None, font: str = "HeiseiMin-W3", title: str | None = None,
                  author: str | None = None, subject: str | None = None) -> Path:
    from reportlab.pdfgen import canvas

    register_fonts()
    c = canvas.Canvas(str(path), encrypt=encrypt, invariant=1)
    for setter, value in ((c.setTitle, title), (c.setAuthor, author), (c.setSubject, subject)):
        if value is not None:
            setter(value)
    c.setFont(font, 11)
    y = 780
    for line in ("第1章 韓国", "韓国政府は、2024年に量子技術と人工知能を国家戦略技術に指定した。",
                 "同国は半導体とバイオ技術にも重点的に投資している。"):
        c.drawString(60, y, line)
        y -= 20
    c.showPage()
    c.save()
    return path


def _ipaex_font() -> str | None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for candidate in ("/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf",
                      "/usr/share/fonts/truetype/fonts-japanese-mincho.ttf",
                      "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"):
        if Path(candidate).is_file():
            if "IPAexFault" not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont("IPAexFault", candidate))
            return "IPAexFault"
    return None


def _tiny_expectations(world: World) -> str:
    """An expectations file that checks nothing: same tables, another run key, so an edition with
    the sample's content is published again (from the task cache) instead of being up to date."""
    path = world.root / "expect-nothing.yaml"
    path.write_text("report: sample\n", encoding="utf-8")
    return str(path)


# ==================================================================================== network


@pytest.fixture
def acquire_attempts(monkeypatch):
    """Counts the acquire task's attempts (the first and each retry) in this process."""
    import flows.process_report as fr

    calls: list[str] = []
    real = fr.acquire

    def counting(source, config):
        calls.append(getattr(source, "text", source))
        return real(source, config)

    monkeypatch.setattr(fr, "acquire", counting)
    return calls


def test_connection_refused(world, inproc, acquire_attempts):
    with socket.socket() as sock:  # bound, never listening: connecting is refused
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/report.pdf"
        outcome = run_inprocess(world.args(url, "--timeout", "2"))
    assert_clear_failure(outcome, cause=["could not connect", "Connection refused", url], todo=["check the network"])
    assert acquire_attempts == [url] * 4  # the first attempt and 3 retries
    observe("net-refused", outcome, world.root)
    world.assert_intact()


def test_server_that_never_answers_times_out(world, inproc, acquire_attempts):
    with socket.socket() as sock:  # listening, never accepting: the request is sent, no answer comes
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/report.pdf"
        started = time.monotonic()
        outcome = run_inprocess(world.args(url, "--timeout", "0.5"))
        elapsed = time.monotonic() - started
    assert_clear_failure(outcome, cause=["stopped sending data for 0.5s", url], todo=["--timeout"])
    assert 4 * 0.5 <= elapsed < 30, elapsed  # 4 attempts of 0.5 s, not the default 60 s each
    assert acquire_attempts == [url] * 4
    observe("net-silent", outcome, world.root)
    world.assert_intact()


def test_500_then_success_is_retried_and_published(world, inproc, http_server):
    url = http_server.route("/r.pdf", Reply(status=500),
                            Reply(body=world.golden.pdf.read_bytes(), content_type="application/pdf"))
    outcome = run_inprocess(world.args(url, edition="retried"))
    assert outcome.code == 0, str(outcome)
    assert http_server.count("/r.pdf") == 2  # one failure, one retry
    assert pq.read_table(world.out / "retried" / "documents.parquet").to_pylist()[0]["sha256"] == _sha(world.golden.pdf)
    observe("net-500-then-ok", outcome, world.root)
    world.assert_intact(downloaded=True, other_editions=("retried",))


def test_404_is_not_retried(world, prefect_api, http_server):
    url = http_server.url("/reports/missing.pdf")  # unknown paths get 404
    outcome = run_subprocess(prefect_api, world.args(url))
    assert_clear_failure(outcome, cause=["HTTP 404", url], todo=["check the URL"], subprocess_run=True)
    assert http_server.count("/reports/missing.pdf") == 1
    observe("net-404", outcome, world.root)
    world.assert_intact()


def test_redirect_loop(world, inproc, http_server):
    url = http_server.redirect_loop("/loop.pdf")
    outcome = run_inprocess(world.args(url))
    assert_clear_failure(outcome, cause=["too many redirects", "loop", url], todo=["final PDF URL"])
    assert http_server.count("/loop.pdf") == 21  # the request and 20 redirects, once: not retried
    observe("net-redirect-loop", outcome, world.root)
    world.assert_intact()


def test_body_shorter_than_content_length(world, inproc, http_server):
    pdf = world.golden.pdf.read_bytes()
    url = http_server.truncated("/cut.pdf", pdf[: len(pdf) // 2], claimed_length=len(pdf))
    outcome = run_inprocess(world.args(url))
    assert_clear_failure(outcome, cause=["incomplete", url], todo=["later attempt"])
    assert http_server.count("/cut.pdf") == 4  # the first attempt and 3 retries
    observe("net-short-body", outcome, world.root)
    world.assert_intact()  # also: no .part file in raw/


def test_html_page_instead_of_pdf(world, inproc, http_server):
    url = http_server.serve_html("/reports/report.pdf", "<html><body><h1>ログインしてください</h1></body></html>")
    outcome = run_inprocess(world.args(url))
    assert_clear_failure(outcome, cause=["HTML page, not a PDF", url], todo=["PDF's own URL"])
    assert http_server.count("/reports/report.pdf") == 1
    observe("net-html", outcome, world.root)
    world.assert_intact()


@pytest.mark.parametrize("case, streamed", [("net-too-large", False), ("net-too-large-streamed", True)])
def test_body_over_the_size_cap(world, inproc, http_server, case, streamed):
    url = http_server.route("/big.pdf", Reply(body=world.golden.pdf.read_bytes(), content_type="application/pdf",
                                              omit_length=streamed))
    outcome = run_inprocess(world.args(url, "--max-mb", "0.01"))
    assert_clear_failure(outcome, cause=["larger than the cap of 10,485 bytes",
                                         "counted while downloading" if streamed else "Content-Length"],
                         todo=["--max-mb"])
    assert http_server.count("/big.pdf") == 1
    observe(case, outcome, world.root)
    world.assert_intact()


# ==================================================================================== files


def test_truncated_pdf(world, inproc):
    pdf = world.golden.pdf.read_bytes()
    path = world.root / "cut.pdf"
    path.write_bytes(pdf[: len(pdf) // 2])
    outcome = run_inprocess(world.args(str(path)))
    assert_clear_failure(outcome, cause=["cut.pdf", "truncated"], todo=["fetch the file again"])
    observe("file-truncated", outcome, world.root)
    world.assert_intact()


def test_encrypted_pdf_with_a_password(world, inproc):
    from reportlab.lib.pdfencrypt import StandardEncryption

    path = _japanese_pdf(world.root / "locked.pdf", encrypt=StandardEncryption("secret", ownerPassword="owner"))
    outcome = run_inprocess(world.args(str(path)))
    assert_clear_failure(outcome, cause=["locked.pdf", "encrypted", "password"], todo=["decrypt", "qpdf"])
    observe("file-encrypted", outcome, world.root)
    world.assert_intact()


def test_encrypted_pdf_with_an_empty_user_password_is_processed(world, inproc):
    """Owner password only: readers open it without asking; so does jstmine, and processes it."""
    from reportlab.lib.pdfencrypt import StandardEncryption

    font = _ipaex_font()
    if font is None:
        pytest.skip("no IPAex font to embed (make system-deps installs it)")
    path = _japanese_pdf(world.root / "owner-only.pdf", font=font,
                         encrypt=StandardEncryption("", ownerPassword="owner", canModify=0))
    assert b"/Encrypt" in path.read_bytes()
    outcome = run_inprocess(world.args(str(path), edition="owner-only"))
    assert outcome.code == 0, str(outcome)
    sentences = pq.read_table(world.out / "owner-only" / "sentences.parquet").column("text").to_pylist()
    assert any("量子技術" in s for s in sentences), sentences
    observe("file-encrypted-empty-password", outcome, world.root)
    world.assert_intact(other_editions=("owner-only",))


def test_encrypted_pdf_from_reportlab_cid_fonts_fails_clearly(world, inproc):
    """reportlab writes the CID font's Registry/Ordering as plain strings inside an encrypted
    file; decrypting them (as the standard requires) gives garbage, so no glyph maps to Unicode.
    The run must say so, not publish empty tables."""
    from reportlab.lib.pdfencrypt import StandardEncryption

    path = _japanese_pdf(world.root / "cid-owner-only.pdf", encrypt=StandardEncryption("", ownerPassword="owner"))
    assert b"(Japan1)" in path.read_bytes()  # the plain string the reader will "decrypt"
    # --ocr off: by default (auto) such a page is read by OCR instead (tests/test_ocr.py).
    # --engine pdfplumber: PDFium reads the UCS-2 codes as Unicode whatever the garbled collection
    # says, and publishes the text (docs/engines.md); pdfminer needs the collection.
    outcome = run_inprocess(world.args(str(path), "--ocr", "off", "--engine", "pdfplumber"))
    assert_clear_failure(outcome, cause=["cid-owner-only.pdf", "no usable text", "no Unicode mapping"], todo=["OCR"])
    observe("file-encrypted-empty-password-cid", outcome, world.root)
    world.assert_intact()


def test_pdf_with_zero_pages(world, inproc):
    body = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n")
    xref = len(body)
    body += (b"xref\n0 3\n0000000000 65535 f \n%010d 00000 n \n%010d 00000 n \n" % (9, body.index(b"2 0 obj"))
             + b"trailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref)
    path = world.root / "empty.pdf"
    path.write_bytes(body)
    outcome = run_inprocess(world.args(str(path)))
    assert_clear_failure(outcome, cause=["empty.pdf", "no pages"], todo=["complete PDF"])
    observe("file-zero-pages", outcome, world.root)
    world.assert_intact()


def test_corrupt_cross_reference_table(world, prefect_api):
    pdf = bytearray(world.golden.pdf.read_bytes())
    m = re.search(rb"\nxref\n0 (\d+)\n", pdf)
    assert m, "the sample has a classic xref table"
    for i in range(int(m.group(1))):  # every offset: garbage digits, or not digits at all
        at = m.end() + 20 * i
        pdf[at:at + 10] = b"9999999999" if i % 2 else b"00000x0001"
    path = world.root / "bad-xref.pdf"
    path.write_bytes(bytes(pdf))
    outcome = run_subprocess(prefect_api, world.args(str(path)))  # a failure inside extract, as the user sees it
    assert_clear_failure(outcome, cause=["bad-xref.pdf", "cross-reference table is damaged"], todo=["qpdf", "repair"],
                         subprocess_run=True)
    assert "Not adding object" not in outcome.stderr  # pdfminer's warning per broken object stays off the console
    observe("file-corrupt-xref", outcome, world.root)
    world.assert_intact()


def test_pdf_without_a_text_layer(world, inproc):
    path = SHARED_PDFS / "bocchan_notextlayer.pdf"
    if not path.is_file():
        pytest.skip(f"{path} is not there")
    outcome = run_inprocess(world.args(str(path), "--ocr", "off"))  # read in place, never copied
    assert_clear_failure(outcome, cause=["bocchan_notextlayer.pdf", "no usable text", "pages 1-5", "no text layer"],
                         todo=["OCR", "--ocr auto"])
    observe("file-no-text-layer", outcome, world.root)
    world.assert_intact()


def test_font_names_in_shift_jis_bytes(world, inproc):
    path = SHARED_PDFS / "mhlw_tsuchi_0000196315-1-2.pdf"
    if not path.is_file():
        pytest.skip(f"{path} is not there")
    outcome = run_inprocess(world.args(str(path), edition="mhlw"))
    assert outcome.code == 0, str(outcome)
    pages = pq.read_table(world.out / "mhlw" / "pages.parquet").to_pylist()
    assert len(pages) == 2 and all(p["chars"] > 0 for p in pages)
    observe("file-sjis-font-names", outcome, world.root)
    world.assert_intact(other_editions=("mhlw",))


def test_metadata_and_font_names_that_are_not_utf8(world, inproc):
    path = _japanese_pdf(world.root / "odd-metadata.pdf", title="T" * 14, author="A" * 5, subject="S" * 6)
    data = path.read_bytes()
    title = "科学技術報告書".encode("cp932")  # Shift-JIS, 14 bytes: same length, so the xref stays right
    for placeholder, raw in ((b"T" * 14, title),
                             (b"A" * 5, b"\xc3\xff\xa0\xfe\x80"),  # neither UTF-8 nor Shift-JIS
                             (b"S" * 6, b"\xfe\xff\xd8\x00\x00A")):  # UTF-16 with a lone surrogate
        assert data.count(b"(" + placeholder + b")") == 1
        data = data.replace(b"(" + placeholder + b")", b"(" + raw + b")")
    assert data.count(b"/HeiseiMin-W3") >= 2
    data = data.replace(b"/HeiseiMin-W3", b"/#82l#82rMint")  # the font's name as Shift-JIS bytes (ＭＳMint)
    path.write_bytes(data)

    outcome = run_inprocess(world.args(str(path), edition="odd-metadata"))
    assert outcome.code == 0, str(outcome)
    doc = pq.read_table(world.out / "odd-metadata" / "documents.parquet").to_pylist()[0]
    assert doc["title"] == "科学技術報告書"
    assert "量子技術" in "".join(pq.read_table(world.out / "odd-metadata" / "sentences.parquet").column("text").to_pylist())
    (world.out / "odd-metadata" / "documents.csv").read_bytes().decode("utf-8")  # the CSV is valid UTF-8
    observe("file-bad-metadata", outcome, world.root)
    world.assert_intact(other_editions=("odd-metadata",))


def test_a_hostile_font_is_refused_and_costs_only_its_text(world, prefect_api):
    """The pages are turned, so the default engine leaves them to pdfminer, which would expand the
    map entry by entry (minutes and gigabytes; pipeline.extract.fontguard refuses the font first).
    The font is used on page 2 only: that page is read without its text, the edition published."""
    from hostilepdf import cmap_stream, font_dict_pdf

    bomb = cmap_stream(b"1 beginbfrange <000000> <FFFFFF> <0041> endbfrange", b"<000000> <FFFFFF>")
    path = font_dict_pdf(world.root / "bomb.pdf", to_unicode=bomb, fallback="rotate", pages=3, used_on=(2,))
    started = time.monotonic()
    outcome = run_subprocess(prefect_api, world.args(str(path), edition="hostile-font"))
    assert time.monotonic() - started < 120, "refused in time (the map built would take minutes)"
    assert outcome.code == 0, str(outcome)
    assert "Traceback" not in outcome.stderr, outcome.stderr
    assert "page 2: font_refused (page 2: the font /DejaVuSans was refused" in outcome.stdout, outcome.stdout
    pages = pq.read_table(world.out / "hostile-font" / "pages.parquet", columns=["page", "chars", "problem"]).to_pylist()
    assert [p["chars"] for p in pages] == [len("Helloworld")] * 3  # page 2's Helvetica text read
    assert [p["page"] for p in pages if p["problem"]] == [2]
    assert pages[1]["problem"].startswith("font_refused: page 2: the font /DejaVuSans was refused and the text set in "
                                          "it left out (the rest of the page was read): the /ToUnicode map of its font "
                                          "/DejaVuSans expands to more than 262,144 entries"), pages[1]["problem"]
    observe("file-hostile-font", outcome, world.root)
    world.assert_intact(other_editions=("hostile-font",))


# ==================================================================================== process


def _start_paused(api, world: World, args: list[str], when: str, release: Path | None = None) -> subprocess.Popen:
    marker = world.root / "paused.pid"
    env = _env(api, JSTMINE_FAULT_PAUSE=when, JSTMINE_FAULT_MARKER=str(marker),
               **({"JSTMINE_FAULT_RELEASE": str(release)} if release else {}))
    marker.unlink(missing_ok=True)
    # output to files, not pipes: nobody reads them while it runs, and a full pipe would block it
    with open(world.root / "paused.out", "w") as out, open(world.root / "paused.err", "w") as err:
        proc = subprocess.Popen([sys.executable, "-c", HOOKED_CLI, "run", *args], cwd=ROOT, env=env,
                                stdout=out, stderr=err, start_new_session=True)
    deadline = time.monotonic() + 180
    while not marker.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            _kill(proc)
            pytest.fail(f"the run did not reach the pause (exit {proc.returncode})\n{_paused_output(world)}")
        time.sleep(0.05)
    return proc


def _paused_output(world: World) -> str:
    return "\n".join(f"--- {n}\n" + (world.root / n).read_text(errors="replace")[-4000:] for n in ("paused.out", "paused.err"))


def _kill(proc: subprocess.Popen) -> None:
    """SIGKILL the run's whole process group; nothing of it may be left."""
    left = stop_group(proc, first=signal.SIGKILL, grace=10)
    assert not left, f"processes left behind: {left}"


def _documents_row(world: World, edition: str = EDITION) -> tuple[dict, dict]:
    """The edition's documents row in its files and in the database."""
    from_files = pq.read_table(world.out / edition / "documents.parquet").to_pylist()[0]
    con = duckdb.connect(str(world.out / DATABASE_NAME), read_only=True)
    try:
        cur = con.execute("SELECT * FROM documents WHERE edition = ?", [edition])
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()
    assert len(rows) == 1
    return from_files, rows[0]


def _assert_consistent(world: World, edition: str = EDITION) -> None:
    """Files and database rows of the edition come from the same run, and nothing stale is left."""
    files, db = _documents_row(world, edition)
    assert (files["run_key"], files["processed_at"]) == (db["run_key"], db["processed_at"])
    con = duckdb.connect(str(world.out / DATABASE_NAME), read_only=True)
    try:
        for table in ("sentences", "mentions", "tokens"):
            n = con.execute(f"SELECT count(*) FROM {table} WHERE edition = ?", [edition]).fetchone()[0]
            assert n == pq.read_metadata(world.out / edition / f"{table}.parquet").num_rows, table
    finally:
        con.close()
    runs = list((world.out / RUNS_DIR / edition).iterdir())
    assert runs == [(world.out / edition).resolve()], f"stale run directories: {runs}"
    assert not list(world.out.glob(".*.publishing")) and not list(world.out.glob(".*.tmp"))


@pytest.mark.parametrize("when, case", [("before-switch", "proc-killed-before-switch"),
                                        ("after-switch", "proc-killed-after-switch")])
def test_killed_while_publishing_then_rerun(world, prefect_api, inproc, when, case):
    args = world.args(str(world.golden.pdf), edition=EDITION, expectations=_tiny_expectations(world))
    proc = _start_paused(prefect_api, world, args, when)
    _kill(proc)
    assert proc.returncode == -signal.SIGKILL

    # What the kill left: a journal, the new run's directory, the dead run's name in the holder file.
    assert (world.out / f".{EDITION}.publishing").is_file()
    assert len(list((world.out / RUNS_DIR / EDITION).iterdir())) == 2
    assert f"pid {proc.pid}" in (world.out / ".jstmine.lock.holder").read_text()
    if when == "before-switch":
        assert os.readlink(world.out / EDITION) == world.golden.target  # previous outputs still published
        assert _edition_files(world.out) == world.golden.files
        assert db_digest(world.out / DATABASE_NAME) == world.golden.db
    else:  # the window between the switch and the commit: new files, old rows
        assert os.readlink(world.out / EDITION) != world.golden.target
        assert (world.out / world.golden.target).is_dir()  # the previous run's files are kept until the commit
        assert db_digest(world.out / DATABASE_NAME) == world.golden.db

    observe(case, Outcome(128 + signal.SIGKILL, "", ""), world.root)  # what a shell shows: 137, no message

    # The next run's lock settles it (tried on a copy of the killed state): the previous outputs
    # are back, exactly, and the stray run directory, the journal and any temporary link are gone.
    copy = World(world.root, world.root / "settled", world.raw, world.golden)
    shutil.copytree(world.out, copy.out, symlinks=True)
    with output_lock(copy.out):
        pass
    copy.assert_intact()

    # The re-run itself: no stale lock or directory in its way; it completes, files and rows agree.
    outcome = run_inprocess(args)
    assert outcome.code == 0, str(outcome)
    assert outcome.first_line() == f"done: edition {EDITION}"
    _assert_consistent(world)
    files, _ = _documents_row(world)
    assert files["run_key"] != pq.read_table(world.golden.root / "processed" / EDITION / "documents.parquet").to_pylist()[0]["run_key"]
    assert world.golden.raw == {p.name: p.read_bytes() for p in world.raw.iterdir()}  # downloads untouched


@pytest.fixture
def tiny_disk(tmp_path):
    """Mount a tmpfs of a given size (root only); unmounted at teardown. None when mount fails."""
    mounted: list[Path] = []

    def mount(where: Path, size_kb: int) -> Path | None:
        where.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(where)],
                              capture_output=True)
        if done.returncode != 0:
            return None
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _disk_kb(path: Path) -> int:
    """What ``path`` takes on a tmpfs: whole 4 KiB pages per file."""
    return sum(-(-p.lstat().st_size // 4096) * 4 for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _onto_tiny_disk(tiny_disk, directory: Path, free_kb: int) -> bool:
    """Put ``directory`` (same path) on a tmpfs with ``free_kb`` to spare; False if mount fails."""
    size = _disk_kb(directory) + free_kb
    moved = directory.with_name(directory.name + ".orig")
    directory.rename(moved)
    if tiny_disk(directory, size) is None:
        directory.rmdir()
        moved.rename(directory)
        return False
    shutil.copytree(moved, directory, symlinks=True, dirs_exist_ok=True)
    shutil.rmtree(moved)
    return True


def test_disk_full_while_publishing(world, inproc, tiny_disk, monkeypatch):
    # The outputs on a disk with room for what is there plus 128 KiB; an edition's files need ~1 MiB.
    if not _onto_tiny_disk(tiny_disk, world.out, 128):
        # no tmpfs (not root): the Parquet writer fails as a full disk would
        def full(*args, **kwargs):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        monkeypatch.setattr("pipeline.publish.pq.write_table", full)
    args = world.args(str(world.golden.pdf), edition=EDITION, expectations=_tiny_expectations(world))
    outcome = run_inprocess(args)
    assert_clear_failure(outcome, cause=["could not write the outputs", "No space left on device"],
                         todo=["free disk space"])
    observe("proc-disk-full-publish", outcome, world.root)
    world.assert_intact()


def test_disk_full_while_downloading(world, inproc, tiny_disk, http_server):
    if not _onto_tiny_disk(tiny_disk, world.raw, 24):  # a PDF (~60 KiB) does not fit
        pytest.skip("cannot mount a tmpfs here (needs root)")
    other = world.root / "other.pdf"
    build_sample_pdf(other, edition_note="disk-full test")
    url = http_server.serve_pdf("/other.pdf", other.read_bytes())
    outcome = run_inprocess(world.args(url))
    assert_clear_failure(outcome, cause=["cannot write the download", "No space left on device"],
                         todo=["disk has space"])
    assert http_server.count("/other.pdf") == 1  # not retried
    observe("proc-disk-full-download", outcome, world.root)
    world.assert_intact()


def test_two_runs_at_once_on_the_same_outputs(world, prefect_api, inproc):
    release = world.root / "release"
    args = world.args(str(world.golden.pdf), edition=EDITION, expectations=_tiny_expectations(world))
    first = _start_paused(prefect_api, world, args, "before-switch", release=release)
    try:
        second = run_subprocess(prefect_api, world.args(str(world.golden.pdf), edition="second"))
        assert_clear_failure(second, cause=["another jstmine run is writing to", f"pid {first.pid}"],
                             todo=["wait for it to finish", "--out"], subprocess_run=True)
        assert "Beginning flow run" not in second.stderr  # refused before Prefect started
        observe("proc-two-runs", second, world.root)
    finally:
        release.touch()
        first.wait(120)
    assert first.returncode == 0, _paused_output(world)
    assert published_editions(world.out) == [EDITION]  # nothing from the refused run
    _assert_consistent(world)


# ==================================================================================== input


@pytest.mark.parametrize("case, source", [
    ("input-scheme-ftp", "ftp://ftp.example.org/pub/report.pdf"),
    ("input-scheme-s3", "s3://bucket/reports/report.pdf"),
    ("input-scheme-javascript", "javascript:alert(document.cookie)"),
])
def test_unsupported_scheme_is_refused(world, prefect_api, case, source):
    outcome = run_subprocess(prefect_api, world.args(source))
    scheme = source.split(":", 1)[0] + ":"
    assert_clear_failure(outcome, cause=["unsupported source scheme", scheme], todo=["http(s) URL", "local file path"],
                         subprocess_run=True)
    assert "Beginning flow run" not in outcome.stderr  # refused before Prefect started
    observe(case, outcome, world.root)
    world.assert_intact()


def test_file_url_is_supported(world, inproc):
    outcome = run_inprocess(world.args(world.golden.pdf.as_uri(), edition=EDITION))
    assert outcome.code == 0, str(outcome)
    assert "nothing to do" in outcome.stdout or outcome.first_line() == f"done: edition {EDITION}"
    observe("input-file-url", outcome, world.root)
    world.assert_intact()


def test_markup_in_a_path_is_printed_as_given(world, prefect_api):
    source = str(world.root / "[/draft]" / "[bold]report.pdf")
    outcome = run_subprocess(prefect_api, world.args(source))
    assert_clear_failure(outcome, cause=["local file not found", source], todo=["check the path"],
                         subprocess_run=True)
    observe("input-markup-in-path", outcome, world.root)
    world.assert_intact()


def _nothing_escaped(world: World) -> None:
    for where in (world.root, world.root.parent):
        assert not list(where.rglob("evil*")), list(where.rglob("evil*"))


def test_server_file_name_never_escapes_raw(world, inproc, http_server):
    url = http_server.route("/download", Reply(body=world.golden.pdf.read_bytes(), content_type="application/pdf",
                                               headers={"Content-Disposition": 'attachment; filename="../../evil.pdf"'}))
    outcome = run_inprocess(world.args(url + "?id=1", edition=EDITION))
    assert outcome.code == 0, str(outcome)
    _nothing_escaped(world)
    last = json.loads((world.raw / "manifest.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert last["path"] == next(n for n in world.golden.raw if n.endswith(".pdf"))  # the project's name
    observe("input-content-disposition", outcome, world.root)
    world.assert_intact(downloaded=True)


def test_dot_dot_in_url_never_escapes_raw(world, inproc, http_server):
    body = world.golden.pdf.read_bytes()
    http_server.serve_pdf("/evil.pdf", body)
    http_server.serve_pdf("/a/..%2F..%2F..%2Fevil.pdf", body)
    for url in (http_server.base_url + "/a/b/../../../../../evil.pdf", http_server.base_url + "/a/..%2F..%2F..%2Fevil.pdf"):
        outcome = run_inprocess(world.args(url, edition=EDITION))
        assert outcome.code == 0, str(outcome)
        _nothing_escaped(world)
    assert http_server.count("/evil.pdf") + http_server.count("/a/..%2F..%2F..%2Fevil.pdf") == 2
    observe("input-dotdot-url", outcome, world.root)
    world.assert_intact(downloaded=True)


# ==================================================================================== round two
# A shared output directory, hostile PDFs and listing pages, inputs checked once (issue 12).


def test_an_edition_name_too_long_is_refused_before_anything(world, inproc):
    outcome = run_inprocess(world.args(str(world.golden.pdf), edition="e" * 250))
    assert_clear_failure(outcome, cause=["250 characters long, more than 120"], todo=["shorter name"])
    assert "Beginning flow run" not in outcome.stdout + outcome.stderr  # before Prefect
    observe("input-edition-too-long", outcome, world.root)
    world.assert_intact()
    assert run_inprocess(world.args(str(world.golden.pdf), edition=EDITION)).code == 0  # the directory still works


def test_an_edition_named_like_the_database_is_refused_before_anything(world, inproc):
    outcome = run_inprocess(world.args(str(world.golden.pdf), edition="jstmine.duckdb"))
    assert_clear_failure(outcome, cause=["jstmine.duckdb", "jstmine's own files"], todo=["another name"])
    assert "Beginning flow run" not in outcome.stdout + outcome.stderr
    observe("input-edition-reserved", outcome, world.root)
    world.assert_intact()


def test_a_listing_entry_id_too_long_for_a_file_name_is_cut(world, inproc, http_server):
    long_id = "fy24_" + "r" * 235
    other = world.root / "other.pdf"
    build_sample_pdf(other, edition_note="long id")
    pdf = http_server.serve_pdf("/reports/other.pdf", other.read_bytes())
    listing = http_server.serve_html("/list.html", f'<div id="{long_id}"><h3>報告書</h3><p>2025年4月1日</p>'
                                                   f'<a href="{pdf}">PDF</a></div>')
    outcome = run_inprocess(world.args(f"{listing}#{long_id}"))
    assert outcome.code == 0, str(outcome)
    [edition] = [e for e in published_editions(world.out) if e != EDITION]
    assert len(edition) <= 120 and edition.startswith("fy24_rrr") and edition.endswith("-2025-04-01")
    assert outcome.first_line() == f"done: edition {edition}"
    observe("input-long-entry-id", outcome, world.root)
    assert os.readlink(world.out / EDITION) == world.golden.target and _edition_files(world.out) == world.golden.files


@pytest.mark.parametrize("case, option, cause", [
    ("input-mode-bad", ["--mode", "X"], ["--mode 'X' is not a Sudachi split mode"]),
    ("input-lexicon-missing", ["--lexicon", "nowhere.toml"], ["lexicon file not found"]),
    ("input-lexicon-not-toml", ["--lexicon", "{root}/lexicon.toml"], ["is not valid TOML"]),
])
def test_bad_options_are_refused_before_prefect_starts(world, inproc, case, option, cause):
    (world.root / "lexicon.toml").write_text("[[country]\nid = 'JP'\n", encoding="utf-8")
    option = [o.format(root=world.root) for o in option]
    outcome = run_inprocess(world.args(str(world.golden.pdf), *option))
    assert_clear_failure(outcome, cause=cause, todo=["give" if case == "input-mode-bad" else ""])
    assert "Beginning flow run" not in outcome.stdout + outcome.stderr and "bug" not in outcome.stderr
    observe(case, outcome, world.root)
    world.assert_intact()


def test_update_with_a_bad_sources_file_is_refused_before_prefect_starts(world, prefect_api):
    bad = world.root / "sources.toml"
    bad.write_text('[[source]]\nname = "x"\nentries = ["a"]\n', encoding="utf-8")
    proc = subprocess.run([*JSTMINE, "update", "--sources", str(bad), "--out", str(world.out), "--raw", str(world.raw)],
                          cwd=ROOT, env=_env(prefect_api), capture_output=True, text=True, timeout=120)
    outcome = Outcome(proc.returncode, proc.stdout, proc.stderr)
    assert_clear_failure(outcome, cause=["missing key(s) listing"], todo=["listing URL"], subprocess_run=True)
    assert "flow run" not in proc.stdout + proc.stderr
    observe("input-sources-bad", outcome, world.root)
    world.assert_intact()


HOSTILE_TITLE = "報告書\x1b[2J\x1b]0;owned\x07\x1b]8;;http://evil/\x1b\\click\x1b]8;;\x1b\\"


def test_control_characters_from_a_pdf_and_a_listing_page_never_reach_the_terminal(world, inproc, http_server):
    path = _japanese_pdf(world.root / "titled.pdf", title=HOSTILE_TITLE)
    pdf = http_server.serve_pdf("/titled.pdf", path.read_bytes())
    listing = http_server.serve_html("/list.html", f'<div id="t1"><h3>{HOSTILE_TITLE}</h3><p>2025年4月1日</p>'
                                                   f'<a href="{pdf}">PDF</a></div>')
    outcome = run_inprocess(world.args(f"{listing}#t1", edition="titled"))
    assert outcome.code == 0, str(outcome)
    observe("input-control-chars", outcome, world.root)
    shown = cli_inprocess(["show", "documents", "--edition", "titled", "--out", str(world.out), "--columns",
                           "title,report_title", "--max-width", "400"])
    assert shown.code == 0, str(shown)
    assert "\x1b" not in shown.stdout + shown.stderr and "\x07" not in shown.stdout
    assert shown.stdout.count("報告書\\x1b[2J") == 2  # both titles, as visible escapes
    doc = pq.read_table(world.out / "titled" / "documents.parquet").to_pylist()[0]
    assert doc["title"] == HOSTILE_TITLE  # the table keeps the text as it was
    assert os.readlink(world.out / EDITION) == world.golden.target


def test_csv_cells_that_would_start_a_formula_are_neutralised(world, inproc):
    from samples.build import build_text_pdf

    lines = ["=HYPERLINK(\"http://evil/\",\"クリック\")で始まる文である。", "+1+2で始まる文である。",
             "-3+4で始まる文である。", "@SUM(A1)で始まる文である。", "韓国は量子技術を重視する。"]
    pdf = build_text_pdf("\n\n".join(lines), world.root / "formula.pdf")
    outcome = run_inprocess(world.args(str(pdf), edition="formula"))
    assert outcome.code == 0, str(outcome)
    observe("input-formula-cells", outcome, world.root)
    import csv

    with open(world.out / "formula" / "sentences.csv", encoding="utf-8-sig", newline="") as fh:
        csv_text = [r["text"] for r in csv.DictReader(fh)]
    parquet_text = pq.read_table(world.out / "formula" / "sentences.parquet")["text"].to_pylist()
    starts = [t for t in parquet_text if t[:1] in "=+-@"]
    assert len(starts) == 4  # the Parquet keeps the text exactly ...
    assert sorted(t for t in csv_text if t.startswith("'")) == sorted("'" + t for t in starts)  # ... the CSV neutralises
    assert not [t for t in csv_text if t[:1] in "=+-@"]


def test_symbolic_links_planted_under_runs_are_never_followed(world, inproc):
    victim = world.root / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me", encoding="utf-8")
    (world.out / RUNS_DIR / "planted").symlink_to(victim, target_is_directory=True)
    (world.out / RUNS_DIR / EDITION / "planted-run").symlink_to(victim, target_is_directory=True)
    outcome = run_inprocess(world.args(str(world.golden.pdf), edition=EDITION))
    assert outcome.code == 0, str(outcome)
    observe("out-symlink-under-runs", outcome, world.root)
    assert (victim / "precious.txt").read_text(encoding="utf-8") == "keep me"
    assert not os.path.lexists(world.out / RUNS_DIR / "planted")
    assert not os.path.lexists(world.out / RUNS_DIR / EDITION / "planted-run")
    world.assert_intact()


def test_sql_cannot_write_a_file(world, inproc):
    target = world.out / EDITION / "country_technology.parquet"
    outcome = cli_inprocess(["sql", f"COPY (SELECT 1 AS x) TO '{target}' (FORMAT parquet)", "--out", str(world.out)])
    assert outcome.code == 1 and outcome.error_line().startswith("error: the SQL query failed:"), str(outcome)
    assert "disabled by configuration" in outcome.stderr
    observe("out-sql-writes-a-file", outcome, world.root)
    world.assert_intact()


def test_report_on_a_read_only_output_directory(world, inproc, monkeypatch):
    mount = world.root / "ro"
    mount.mkdir()
    bound = subprocess.run(["mount", "--bind", str(world.out), str(mount)], capture_output=True).returncode == 0
    try:
        if bound and subprocess.run(["mount", "-o", "remount,bind,ro", str(mount)], capture_output=True).returncode == 0:
            out = mount
        else:  # not root: the report's file cannot be created, as on a read-only disk
            import builtins

            real_open = builtins.open

            def read_only(path, mode="r", *args, **kwargs):
                if "w" in mode and str(path).startswith(str(world.out)):
                    raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
                return real_open(path, mode, *args, **kwargs)

            monkeypatch.setattr(builtins, "open", read_only)
            out = world.out
        outcome = cli_inprocess(["report", "--out", str(out)])
    finally:
        if bound:
            subprocess.run(["umount", str(mount)], capture_output=True)
    assert_clear_failure(outcome, cause=["could not write", "Read-only file system"], todo=["writable"])
    assert "Traceback" not in outcome.stderr
    outcome.stderr = outcome.stderr.replace(str(mount), str(world.out))
    observe("out-read-only-report", outcome, world.root)
    world.assert_intact()


def test_a_stream_bomb_is_stopped_at_the_stream_limit(world, inproc):
    import hostilepdf

    path = hostilepdf.bomb_pdf(world.root / "bomb.pdf", pages=16, inflated=300 * hostilepdf.MIB)
    assert path.stat().st_size < 400_000
    outcome = run_inprocess(world.args(str(path)))
    assert_clear_failure(outcome, cause=["bomb.pdf", "page 1", "64 MiB"], todo=["--max-stream-mb"])
    observe("file-stream-bomb", outcome, world.root)
    world.assert_intact()


def test_a_page_tree_nested_5000_deep_is_refused(world, prefect_api):
    import hostilepdf

    path = hostilepdf.deep_page_tree_pdf(world.root / "deep.pdf", 5000)
    outcome = run_subprocess(prefect_api, world.args(str(path)))
    assert_clear_failure(outcome, cause=["deep.pdf", "page tree", "5,000 deep"], todo=["qpdf"], subprocess_run=True)
    observe("file-deep-page-tree", outcome, world.root)
    world.assert_intact()


def test_many_pages_without_text_are_one_warning(world, inproc):
    from reportlab.pdfgen import canvas

    register_fonts()
    path = world.root / "blank.pdf"
    c = canvas.Canvas(str(path), invariant=1)
    c.setFont("HeiseiMin-W3", 11)
    c.drawString(60, 780, "韓国政府は、2024年に量子技術を国家戦略技術に指定した。")
    c.showPage()
    for _ in range(300):
        c.rect(100, 100, 50, 50)  # a drawing, no text
        c.showPage()
    c.save()
    # --ocr off: by default (auto) pages that draw something are read by OCR (tests/test_ocr.py)
    outcome = run_inprocess(world.args(str(path), "--ocr", "off", edition="blank"))
    assert outcome.code == 0, str(outcome)
    warnings = [line for line in (outcome.stdout + outcome.stderr).splitlines() if "no_text_layer" in line]
    assert warnings and all("300 pages 2–301: no_text_layer" in line for line in warnings), warnings
    assert len(warnings) <= 3  # the run's log line and the summary's, not one per page
    observe("file-mostly-blank", outcome, world.root)
    assert os.readlink(world.out / EDITION) == world.golden.target


def test_a_dripping_server_is_stopped_at_the_deadline(world, inproc):
    from test_acquire_limits import DripServer, pdf_head

    body = world.golden.pdf.read_bytes()
    server = DripServer(pdf_head(body), body, interval=0.5, drip_from=len(pdf_head(body)))
    try:
        started = time.monotonic()
        outcome = run_inprocess(world.args(server.url("/drip.pdf"), "--timeout", "2", "--deadline", "2"))
        took = time.monotonic() - started
    finally:
        server.stop()
    assert_clear_failure(outcome, cause=["did not finish within its deadline of 2 s"], todo=["--deadline"])
    assert took < 30  # not retried: one attempt and the flow's own start
    observe("net-drip", outcome, world.root)
    world.assert_intact()


def test_a_pdf_link_to_another_host_is_refused_unless_allowed(world, inproc, http_server, second_host):
    other = world.root / "other.pdf"
    build_sample_pdf(other, edition_note="another host")
    pdf = second_host.serve_pdf("/report.pdf", other.read_bytes())
    listing = http_server.serve_html("/list.html", f'<div id="fy24_rr02"><h3>報告書</h3><p>2025年4月1日</p>'
                                                   f'<a href="{pdf}">PDF</a></div>')
    outcome = run_inprocess(world.args(f"{listing}#fy24_rr02"))
    assert_clear_failure(outcome, cause=["refusing to download from 127.0.0.2", "not on the page's site"],
                         todo=["--allow-host 127.0.0.2"])
    assert second_host.count("/report.pdf") == 0
    outcome.stderr = re.sub(r"127\.0\.0\.2:\d+", "127.0.0.2:PORT2", outcome.stderr)
    observe("net-off-site-link", outcome, world.root)
    world.assert_intact()
    allowed = run_inprocess(world.args(f"{listing}#fy24_rr02", "--allow-host", "127.0.0.2", edition="elsewhere"))
    assert allowed.code == 0, str(allowed)


def test_a_download_killed_leaves_a_part_file_the_next_download_removes(world, prefect_api, inproc, http_server):
    from test_acquire_limits import DripServer, pdf_head

    body = b"%PDF-1.4\n" + b"0" * 300_000
    server = DripServer(pdf_head(body), body, interval=0.05, drip_from=len(pdf_head(body)) + 200_000)
    try:
        proc = subprocess.Popen([*JSTMINE, "run", *world.args(server.url("/slow.pdf"))], cwd=ROOT, env=_env(prefect_api),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 120
        while not any(p.stat().st_size for p in world.raw.glob(".acquire-*.part")):
            if proc.poll() is not None or time.monotonic() > deadline:
                _kill(proc)
                pytest.fail("the download did not start")
            time.sleep(0.05)
        _kill(proc)
    finally:
        server.stop()
    assert list(world.raw.glob(".acquire-*.part"))  # what kill -9 leaves
    observe("proc-killed-download", Outcome(128 + signal.SIGKILL, "", ""), world.root)
    pdf = http_server.serve_pdf("/reports/sample-report.pdf", world.golden.pdf.read_bytes())
    outcome = run_inprocess(world.args(pdf, edition=EDITION))
    assert outcome.code == 0, str(outcome)
    assert list(world.raw.glob(".acquire-*.part")) == []
    assert all(p.stat().st_mode & 0o044 for p in world.raw.iterdir() if p.suffix == ".pdf" and p.name not in world.golden.raw)


def test_a_reading_command_settles_a_run_killed_between_the_switch_and_the_commit(world, prefect_api, inproc):
    args = world.args(str(world.golden.pdf), edition=EDITION, expectations=_tiny_expectations(world))
    proc = _start_paused(prefect_api, world, args, "after-switch")
    _kill(proc)
    assert os.readlink(world.out / EDITION) != world.golden.target  # new files, old rows: they disagree
    outcome = cli_inprocess(["show", "documents", "--out", str(world.out), "--columns", "edition,sha256"])
    assert outcome.code == 0, str(outcome)
    assert "an interrupted run was undone; the previous outputs are back" in outcome.stderr
    observe("out-killed-then-read", outcome, world.root)
    world.assert_intact()  # files and rows agree again, the killed run's directory is gone


def test_disk_full_while_the_database_is_written(world, inproc, tiny_disk):
    # Room for the new edition's files (about 1.1 MB) but not for its rows in the database.
    files_kb = _disk_kb(world.out / RUNS_DIR / EDITION)
    if not _onto_tiny_disk(tiny_disk, world.out, files_kb + 200):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    outcome = run_inprocess(world.args(str(world.golden.pdf), edition="second", expectations=_tiny_expectations(world)))
    text = outcome.stdout + outcome.stderr
    if outcome.code == 0:  # committed to the write-ahead log; the checkpoint failed: said so
        assert "could not be checkpointed" in text and "free disk space" in text, str(outcome)
    else:
        assert_clear_failure(outcome, cause=["could not"], todo=["disk space"])
        assert "second" not in published_editions(world.out)
    observe("proc-disk-full-database", outcome, world.root)
    assert os.readlink(world.out / EDITION) == world.golden.target
    assert db_digest(world.out / DATABASE_NAME, EDITION) == db_digest(world.golden.root / "processed" / DATABASE_NAME, EDITION)


# ==================================================================================== the doc


def _row(case: str) -> str:
    category, how, then = CASES[case]
    line, code = OBSERVED[case]
    cell = line.replace("|", "\\|") if line else "(none)"
    return f"| `{case}` | {how} | `{cell}` | {code} | {then} |"


TABLE_START = "<!-- fault table: generated by tests/test_faults.py (JSTMINE_UPDATE_FAULTS_DOC=1 rewrites it) -->"
TABLE_END = "<!-- end of fault table -->"


def test_docs_list_every_case_as_observed():
    """docs/faults.md shows, for every case, the first line the user saw here and the exit code."""
    if not OBSERVED:
        pytest.skip("no fault case ran in this session")
    header = ["| case | fault | what the user sees first | exit | and then |", "|---|---|---|---|---|"]
    if os.environ.get("JSTMINE_UPDATE_FAULTS_DOC") == "1":
        text = DOC.read_text(encoding="utf-8")
        before, _, rest = text.partition(TABLE_START)
        table, _, after = rest.partition(TABLE_END)
        # rows of cases not run this time (deselected, skipped) are kept as they were
        kept = {m.group(1): line for line in table.splitlines() if (m := re.match(r"\| `([\w-]+)` \|", line))}
        rows = [_row(c) if c in OBSERVED else kept[c] for c in CASES if c in OBSERVED or c in kept]
        DOC.write_text(before + TABLE_START + "\n" + "\n".join(header + rows) + "\n" + TABLE_END + after,
                       encoding="utf-8")
    doc = DOC.read_text(encoding="utf-8")
    missing = [_row(c) for c in CASES if c in OBSERVED and _row(c) not in doc]
    assert not missing, "docs/faults.md is stale; these rows are what the tests see now " \
                        "(JSTMINE_UPDATE_FAULTS_DOC=1 rewrites the table):\n" + "\n".join(missing)
    listed = set(re.findall(r"^\| `([\w-]+)` \|", doc, re.M))
    assert listed <= set(CASES), f"docs/faults.md lists cases the tests do not have: {sorted(listed - set(CASES))}"
    for case, (line, code) in OBSERVED.items():
        killed = code == 128 + signal.SIGKILL  # no process left to print anything
        assert code == 0 or killed or line.startswith("error: "), (case, line)  # every failure has a message
