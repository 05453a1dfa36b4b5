"""``jstmine`` commands that run the flow on one report and inspect what it published.

    jstmine run --source URL|PATH [--edition NAME] [--out DIR]
    jstmine show TABLE | kwic TERM | sql "SELECT …" | report   (inspect what run published)

show, kwic and sql get their rows from ``pipeline.query`` and print them as a table or, with
``--format csv|tsv|json``, for other programs (``flows.output``).

The app and what commands share are in ``flows.app``; ``flows.main`` is the ``jstmine`` command.
"""
from __future__ import annotations

import flows  # noqa: F401  (sets Prefect's environment before Prefect is imported)

import socket
from pathlib import Path
from urllib.parse import urlparse

import typer
from typer.core import TyperCommand
from rich.table import Table
from rich.text import Text

from flows.app import (app, clip, console, die, err, escape_markup, interrupted, plural, print_rows, print_summary,
                       resolve_or_die, settle, stdout_console)
from flows.output import Format, emit, format_option, is_machine
from flows.progress import for_console, showing
from flows.quiet import quiet_internals
from pipeline.errors import PipelineError
from pipeline.normalize import printable

_OCR_MODES = ("auto", "off", "force")  # pipeline.extract.model.OCR_MODES (not imported: the CLI starts fast)
ENGINES = ("pdfium", "pdfplumber")  # pipeline.extract.model.ENGINES (idem)
_ENGINE_HELP = ("What reads the PDF's glyphs and drawings: pdfium (fast; pdfplumber still finds the tables) or "
                "pdfplumber (the reference reader).")


def check_engine(engine: str) -> None:
    """Stop with a clear message when ``engine`` is not one of ``ENGINES``."""
    if engine not in ENGINES:
        die(f"--engine {printable(engine)} is not an extraction engine", f"use one of: {', '.join(ENGINES)}")

DEFAULT_SOURCE = "https://spap.jst.go.jp/investigation/report_2022.html#fy24_rr02"

def check_reachable(ref, timeout: float = 5.0) -> None:
    """Fail fast, before Prefect starts, when a URL's host cannot even be resolved (offline).

    Parameters:
        ref: the parsed source (``pipeline.source.SourceRef``); a local one is not checked.
    """
    if ref.kind != "http" or not ref.host:
        return
    parsed = urlparse(ref.url)
    socket.setdefaulttimeout(timeout)
    try:
        socket.getaddrinfo(ref.host, parsed.port or (443 if parsed.scheme == "https" else 80))
    except OSError as exc:
        die(
            f"cannot reach {ref.host} to download {ref.text} ({exc.strerror or exc}); this machine seems offline",
            "connect to the network and run again, or process a PDF you already have: "
            "jstmine run --source PATH/TO/report.pdf (make demo runs the offline sample edition)",
        )
    finally:
        socket.setdefaulttimeout(None)


@app.command()
def run(
    source: str = typer.Option(DEFAULT_SOURCE, help="PDF URL, listing-page URL with #entry-id, or a local PDF path."),
    edition: str = typer.Option(None, "--edition", "-e", help="Edition name (directory under --out). Default: from the source."),
    out: Path = typer.Option(Path("processed"), "--out", "-o", help="Output directory."),
    raw: Path = typer.Option(Path("raw"), help="Where downloaded PDFs and their manifest are kept."),
    mode: str = typer.Option("C", help="Sudachi split mode: A, B or C."),
    lexicon: Path = typer.Option(None, help="A lexicon TOML to use instead of the packaged one."),
    expectations: str = typer.Option(
        None, help="A file of claims (YAML) that adds to or overrides the claims read from the report's executive summary. "
                   "Default: the report's own, if the project has one (fy24_rr02); 'none' for none."),
    rules: Path = typer.Option(None, help="A findings.toml (cue words, item nouns, counters) to use instead of the packaged one."),
    ner_audit: bool = typer.Option(False, "--ner-audit", help="Also run GiNZA's NER to list places the lexicon misses (slow: ~1,300 chars/s)."),
    timeout: float = typer.Option(
        None, min=0.01, help="Seconds to wait for the server to accept the connection or to send more data "
                             "(default: 10 to connect, 60 between reads)."),
    max_mb: float = typer.Option(None, "--max-mb", min=0.001, help="Refuse a download larger than this many MiB (default: 200)."),
    deadline: float = typer.Option(
        None, min=0.01, help="Seconds a whole download may take, however steadily the server sends (default: 300; "
                             "listing and announcement pages 60 or this, whichever is less)."),
    allow_host: list[str] = typer.Option(
        None, "--allow-host", help="Also download from this host or domain when a listing or announcement page links "
                                   "or redirects there (default: only the page's own site); repeatable."),
    max_stream_mb: float = typer.Option(
        None, "--max-stream-mb", min=0.001, help="The most one PDF stream may inflate to, in MiB (default: 64)."),
    max_worker_memory_mb: float = typer.Option(
        None, "--max-worker-memory-mb", min=16,
        help="The most memory one process reading pages may take, in MiB (default: 1024)."),
    max_page_drawings: int = typer.Option(
        None, "--max-page-drawings", min=1,
        help="Look for tables and figures only on pages drawing at most this many images and paths; "
             "busier pages are read as text only, and reported (default: 10000)."),
    ocr: str = typer.Option(
        "auto", "--ocr", help="OCR (tesseract) of pages without a usable text layer: auto (pages with no text layer "
                              "or mostly unmapped glyphs), off (report and leave them out), force (every page)."),
    engine: str = typer.Option("pdfium", "--engine", help=_ENGINE_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="Also show Prefect's own logging (task runs, its temporary server)."),
) -> None:
    """Download (or read) a report, extract, tokenize and tag it, publish its tables and write its
    HTML report (report.html in the edition's directory; its path is printed).

    Exit codes: 0 done (or the edition is already published from the same PDF and pipeline:
    nothing processed, whatever its findings check says); 1 bad input or the run failed;
    3 the findings check of the edition processed has contradicted findings (everything is
    published). The Prefect flow run (when one started) is Failed exactly when the exit code is 1 or 3.
    """
    ref = _check_before_starting(source, edition, out)
    _check_files_before_starting(lexicon, rules, expectations, mode)
    if ocr not in _OCR_MODES:
        die(f"--ocr {printable(ocr)} is not a mode", f"use one of: {', '.join(_OCR_MODES)}")
    check_engine(engine)
    hosts = _check_hosts(allow_host or [])
    check_reachable(ref)
    _check_output_before_starting(out)  # last: the only check that creates anything (the directory, its lock)
    from flows.server import starting_note, use_recorded_server

    recorded = use_recorded_server()  # before Prefect is imported: it reads PREFECT_API_URL then
    quiet_internals(verbose)  # before Prefect is imported: it configures its logging then
    with showing(for_console(err)) as progress:
        progress.note(f"processing {printable(ref.text)} ({starting_note(recorded)})")
        from flows.gc_imports import imports_frozen

        with imports_frozen():  # Prefect and the pipeline, without the collector walking them (flows.gc_imports)
            from flows.process_report import RunSummary, process_report

        quiet_internals(verbose)  # and once it is, in case it was already
        from flows.server import start_temporary_server

        try:
            start_temporary_server()  # when no server is configured: one that Ctrl-C does not stop
            state = process_report(
                source=source,
                edition=edition,
                out_dir=str(out),
                raw_dir=str(raw),
                tokenizer_mode=mode,
                lexicon_path=str(lexicon) if lexicon else "",
                expectations=None if expectations is None else ("" if expectations == "none" else expectations),
                ner_audit=ner_audit,
                timeout=timeout,
                max_mb=max_mb,
                rules=str(rules) if rules else "",
                deadline=deadline,
                allow_hosts=list(hosts),
                max_stream_mb=max_stream_mb,
                max_worker_memory_mb=max_worker_memory_mb,
                max_page_drawings=max_page_drawings,
                ocr=ocr,
                engine=engine,
                return_state=True,
            )
        except KeyboardInterrupt:  # Ctrl-C: the flow run is Crashed, its workers and tesseract ended
            interrupted()
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, RunSummary):
        print_summary(outcome)
        print_outcome(outcome, out)
        if state.is_failed():  # published, but the findings check found contradictions
            n = len(outcome.contradicted)  # named once, in the summary above
            die(f"{plural(n, 'finding')} of the report {'is' if n == 1 else 'are'} contradicted by the extracted tables",
                 f"see the findings_check table in {outcome.output}/ (jstmine show findings_check) "
                 "and the report's findings", code=3)
        return
    # _die, not _fail: messages quote URLs, paths and server text, which must not be read as markup
    if isinstance(outcome, PipelineError):
        die(outcome.what, outcome.todo)
    die(f"unexpected {type(outcome).__name__}: {outcome}", "this is a bug in jstmine; report it with the command you ran")


def print_outcome(summary, out: Path) -> None:
    """After the summary: whether anything was processed, and where the HTML report is.

    Parameters:
        summary: the run's ``RunSummary``.
        out: the output directory (for the command that writes a missing report).
    """
    if summary.unchanged:
        earlier = "; the contradicted findings above come from the run that published it" if summary.contradicted else ""
        console.print(Text(f"{printable(summary.edition)} is unchanged (same PDF, same pipeline): nothing was "
                           f"processed{earlier}", style="dim"))
    if summary.report:
        console.print(Text(f"report:   {printable(summary.report)}"))
    else:
        console.print(Text(f"no HTML report; write it with: jstmine report --edition {printable(summary.edition)} "
                           f"--out {printable(str(out))}", style="yellow"))


def _check_before_starting(source: str, edition: str | None, out: Path | None = None):
    """Refuse at once, before Prefect starts, what the flow would refuse anyway: a source with an
    unsupported scheme, a missing local file, an edition name that is not a directory name (or
    too long, or one of jstmine's own files, or a new one beginning with '-'). Returns the parsed
    source.

    Parameters:
        source: the --source value.
        edition: the --edition value, or None.
        out: the --out directory (an edition already published there keeps its name).
    """
    from pipeline.acquire import check_source
    from pipeline.publish import check_new_edition_name

    try:
        ref = check_source(source)
        if edition:
            check_new_edition_name(edition, out)
        return ref
    except PipelineError as exc:
        die(exc.what, exc.todo)


def _check_output_before_starting(out: Path) -> None:
    """Refuse at once, before Prefect starts, an output directory that cannot be used or that
    another run is writing to. Creates the directory (and its lock file): call it after every
    check of the options, so that a refused command line leaves nothing behind.

    Parameters:
        out: the --out directory.
    """
    from pipeline.publish import output_lock

    try:
        with output_lock(out):
            pass
    except PipelineError as exc:
        die(exc.what, exc.todo)
    except OSError as exc:
        die(f"cannot use the output directory {out}: {exc.strerror or exc}",
             "check the path and its permissions, or give another --out DIR")


def _check_hosts(values: list[str]) -> tuple[str, ...]:
    """The --allow-host values, normalized; a bad one stops here, before Prefect starts."""
    from pipeline.acquire import normalize_allowed_hosts

    try:
        return normalize_allowed_hosts(values, "--allow-host")
    except PipelineError as exc:
        die(exc.what, exc.todo)


def _check_files_before_starting(lexicon: Path | None, rules: Path | None, expectations: str | None,
                                 mode: str = "C") -> None:
    """Check the options and read the lexicon, rules and expectations files once, before Prefect
    starts, so that a mistake in them is reported at once (the flow reads them again, from the
    same paths)."""
    from pipeline.claims import load_expectations
    from pipeline.lexicon import LexiconError, load_lexicon
    from pipeline.rules import load_rules

    if mode not in ("A", "B", "C"):
        die(f"--mode {mode!r} is not a Sudachi split mode", "give A (short units), B (middle) or C (long units, the default)")
    try:
        words = load_lexicon(lexicon)
        load_rules(rules)
        if expectations not in (None, "none"):
            load_expectations(expectations, words)
    except (PipelineError, LexiconError) as exc:
        die(exc.what, exc.todo)


# ------------------------------------------------------------------ inspecting published editions
#
#   jstmine show TABLE [--edition E] [--where COL=VALUE ...] [--columns a,b] [--limit N]
#   jstmine kwic TERM [--edition E] [--width N] [--label TECHNOLOGY ...] [--subject CC]
#   jstmine sql "SELECT …"
#   jstmine report [--edition E] [--previous P]
#
# They read what `run` published (processed/<edition>/*.parquet, processed/jstmine.duckdb) and
# never write to it, except `report`, which adds report.html to the edition's directory.

OUT_HELP = "Output directory that `jstmine run` published to."
EDITION_HELP = "Edition to read. Default: the one processed most recently."
LIMIT_HELP = "Rows to print (0: all). Default: {n} in a table, all in csv, tsv and json."


def _limit(limit: int | None, fmt: Format, default: int) -> int:
    """--limit as given, or its default: ``default`` rows in a table, all of them for other programs."""
    if limit is not None:
        return limit
    return 0 if is_machine(fmt) else default


def _note(text: str) -> None:
    """A note beside machine output: on stderr, never mixed into the rows."""
    err.print(Text(f"note: {text}", style="dim"), soft_wrap=True)


class _ShowCommand(TyperCommand):
    """``show``, whose help lists the tables from ``pipeline.tables.SPECS`` (imported only for the
    help: the CLI starts fast), so the list never falls behind the tables published."""

    def format_help(self, ctx, formatter) -> None:
        from pipeline.tables import SPECS

        for param in self.params:
            if param.name == "table":
                param.help = f"Table to print: {', '.join(SPECS)}."
        super().format_help(ctx, formatter)


@app.command(cls=_ShowCommand)
def show(
    table: str = typer.Argument(..., help="Table to print (see --help for the list)."),
    edition: str = typer.Option(None, "--edition", "-e", help=EDITION_HELP),
    out: Path = typer.Option(Path("processed"), "--out", "-o", help=OUT_HELP),
    where: list[str] = typer.Option(None, "--where", "-w", help="COL=VALUE, case-insensitive; repeat to narrow further. "
                                    "A list column matches when it contains VALUE; COL= matches empty cells."),
    columns: str = typer.Option(None, "--columns", "-c", help="Columns to print, comma-separated (default: all)."),
    limit: int = typer.Option(None, "--limit", "-n", min=0, help=LIMIT_HELP.format(n=20), show_default=False),
    max_width: int = typer.Option(60, "--max-width", min=8, help="In a table, cut longer cells to this many terminal cells."),
    fmt: Format = format_option(),
) -> None:
    """Print a published table, e.g. `jstmine show country_technology --where country=KR` (or `-f csv`)."""
    from pipeline.query import show_rows

    settle(out)
    try:
        result = show_rows(out, edition, table, where=where or [], limit=_limit(limit, fmt, 20),
                           columns=None if columns is None else columns.split(","))
    except PipelineError as exc:
        die(exc.what, exc.todo)
    if is_machine(fmt):
        emit(fmt, result.columns, result.rows)
        if result.more:
            _note(f"{len(result.rows)} of {plural(result.matched, 'row')} written (--limit 0 for all)")
        return
    what = f"{result.matched} of {plural(result.total, 'row')} match" if where else plural(result.total, "row")
    caption = f"{what}; showing {len(result.rows)}" + (" (--limit N for more, 0 for all)" if result.more else "")
    if where and not result.matched:
        caption = f"no row of {result.total} matches {' and '.join(where)}"
    print_rows(stdout_console(), result.columns, result.rows, title=f"{table} — edition {result.edition}", caption=caption,
               max_width=max_width)


@app.command()
def kwic(
    term: str = typer.Argument(..., help="Word or phrase (NFKC-normalized, any case), or a canonical id such as "
                                         "quantum, ai, KR, which finds its mentions (量子, 人工知能, 韓国…). A term "
                                         "beginning or ending with a Latin letter or digit matches there only at a word "
                                         "boundary against Latin letters and digits (ai finds AI技術, 生成AI, not said, "
                                         "Thai, AIST); Japanese matches anywhere."),
    edition: str = typer.Option(None, "--edition", "-e", help=EDITION_HELP),
    out: Path = typer.Option(Path("processed"), "--out", "-o", help=OUT_HELP),
    width: int = typer.Option(30, "--width", min=4, help="In a table, context on each side, in terminal cells "
                                                         "(a Japanese character is two); csv, tsv and json have the whole sentence."),
    label: list[str] = typer.Option(None, "--label", "-l", help="Only tagged mentions with this label: TECHNOLOGY, COUNTRY, "
                                    "REGION or FRAMEWORK (repeatable)."),
    subject: str = typer.Option(None, "--subject", "-s", help="Only sentences whose subject is this country or region id (KR, EU…)."),
    limit: int = typer.Option(0, "--limit", "-n", min=0, help="Lines to print (0: all)."),
    fmt: Format = format_option(),
) -> None:
    """Keyword in context over the sentences: every occurrence with its subject, page and sentence id.

    Japanese text has no spaces, so a Latin term is matched as a word only against Latin neighbours:
    `jstmine kwic ai` finds AI in AI技術 and 生成AI but not inside said, maintain, Thai or AIST; a
    Japanese term (量子) matches wherever it occurs.

    csv, tsv and json give one row per occurrence: edition, subject, page, sentence_id, char_start, char_end,
    left, hit, right (left + hit + right is the whole sentence). Exits 1 when nothing matches (like grep).
    """
    from pipeline.query import kwic_lines, parse_labels

    try:
        labels = parse_labels(label)
    except PipelineError as exc:
        die(exc.what, exc.todo)
    edition = resolve_or_die(out, edition)
    try:
        found = kwic_lines(out, edition, term, labels=labels, subject=subject)
    except PipelineError as exc:
        die(exc.what, exc.todo)
    needle, lines = found.needle, found.lines
    if not lines:
        narrowed = " with " + " and ".join(filter(None, [f"label {', '.join(sorted(labels))}" if labels else "",
                                                          f"subject {subject}" if subject else ""])) if labels or subject else ""
        die(f"no occurrence of {needle!r} in edition {edition!r}{narrowed}",
             "try another spelling or a canonical id (quantum, ai, KR), or drop --label / --subject")

    shown = lines[:limit] if limit else lines
    if is_machine(fmt):
        from pipeline.query import KWIC_COLUMNS

        emit(fmt, KWIC_COLUMNS, (line.row() for line in shown))
        return
    hit_width = max(len(line.hit) * 2 for line in shown)
    console = stdout_console(min_width=2 * width + hit_width + 24)
    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 1))
    table.add_column("subject", no_wrap=True)
    table.add_column("page", justify="right", no_wrap=True)
    table.add_column("left", justify="right", no_wrap=True, min_width=width)
    table.add_column("term", no_wrap=True, style="bold yellow")
    table.add_column("right", no_wrap=True, min_width=width)
    for line in shown:
        table.add_row(Text(printable(line.subject or "—")), f"p.{line.page}",
                      Text(clip(printable(line.left), width, keep="end")), Text(printable(line.hit)),
                      Text(clip(printable(line.right), width)))
    console.print(table)
    ids = found.canonical_ids
    also = f" (including mentions of the canonical id{'s' if len(ids) > 1 else ''} {', '.join(ids)})" if ids else ""
    more = f"; showing {len(shown)} (--limit 0 for all)" if len(shown) < len(lines) else ""
    console.print(f"{plural(len(lines), 'occurrence')} of {needle!r} in {plural(found.sentences, 'sentence')}, "
                  f"edition {edition}{also}{more}", markup=False, highlight=False)


@app.command()
def sql(
    query: str = typer.Argument(..., help="SQL for DuckDB, e.g. \"SELECT country, technology, mentions FROM country_technology\"."),
    out: Path = typer.Option(Path("processed"), "--out", "-o", help=OUT_HELP),
    limit: int = typer.Option(None, "--limit", "-n", min=0, help=LIMIT_HELP.format(n=100), show_default=False),
    max_width: int = typer.Option(60, "--max-width", min=8, help="In a table, cut longer cells to this many terminal cells."),
    fmt: Format = format_option(),
) -> None:
    """Run SQL over every edition's rows in the database (read-only; each table has an edition column)."""
    from pipeline.query import SqlQueryError, sql_rows

    settle(out)
    try:
        result = sql_rows(out, query, limit=_limit(limit, fmt, 100))
    except SqlQueryError as exc:
        err.print(f"[bold red]error:[/] {escape_markup(printable(exc.what))}", soft_wrap=True)
        err.print("tables (every one has an edition column):", soft_wrap=True)
        for name, cols in exc.tables:
            err.print(f"  [bold]{escape_markup(printable(name))}[/]: {escape_markup(printable(cols))}", soft_wrap=True,
                      highlight=False)
        if not exc.tables:
            err.print("  (none)")
        raise typer.Exit(1) from None
    except PipelineError as exc:
        die(exc.what, exc.todo)
    if is_machine(fmt):
        if result.columns:
            emit(fmt, result.columns, result.rows)
        if result.more:
            _note(f"{plural(len(result.rows), 'row')} written; the query has more (--limit 0 for all)")
        return
    if not result.columns:
        stdout_console().print("ok (the statement returned no rows)")
        return
    caption = plural(len(result.rows), "row") + ("; more not shown (--limit N, 0 for all)" if result.more else "")
    print_rows(stdout_console(), result.columns, result.rows, title="", caption=caption, max_width=max_width)


@app.command()
def report(
    edition: str = typer.Option(None, "--edition", "-e", help=EDITION_HELP),
    out: Path = typer.Option(Path("processed"), "--out", "-o", help=OUT_HELP),
    previous: str = typer.Option(None, "--previous", help="Show what changed since this edition: technologies, facts and relations, per country (as `jstmine diff`). Default: the same report's previous edition, if there is one."),
    no_changes: bool = typer.Option(False, "--no-changes", help="Leave out the changes since the previous edition."),
) -> None:
    """Write the edition's HTML report (heatmap, country cards, findings check, changes since the
    report's previous edition) and print its path."""
    from pipeline.editions import previous_edition, published
    from pipeline.report import render_report

    edition = resolve_or_die(out, edition)
    if no_changes:
        previous = None
    elif previous is None:
        previous = previous_edition(published(out), edition)
    try:
        path = render_report(out, edition, previous)
    except PipelineError as exc:
        die(exc.what, exc.todo)
    typer.echo(str(path))


