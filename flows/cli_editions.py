"""``jstmine`` commands for followed reports, editions and schedules.

    jstmine discover [--sources FILE] [-f table|csv|tsv|json]
    jstmine update   [--sources FILE] [--only NAME] [--dask-address tcp://HOST:PORT | --workers N]
    jstmine diff A B [-f table|csv|tsv|json]
    jstmine serve    [--cron "0 6 * * 1"] [--timezone Asia/Tokyo]
    jstmine editions list [-f table|csv|tsv|json]
    jstmine editions remove NAME [--yes]
"""
from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.markup import escape
from rich.text import Text

from flows.app import app, console, err, fail, interrupted, print_summary, print_unbroken, settle, stdout_console
from flows.output import Format, emit, format_option, is_machine
from pipeline.errors import PipelineError
from pipeline.normalize import printable
from pipeline.sources import DEFAULT_SOURCES

WEEKLY = "0 6 * * 1"  # Mondays 06:00
TIMEZONE = "Asia/Tokyo"  # the time zone the cron is read in, by default: JST publishes in Japan's


DISCOVER_COLUMNS = ("source", "entry_id", "published", "title", "url", "listing_url")
# A title (or entry id) longer than this is cut (with …) in discover's table: a listing page's
# titles and ids are the page's to choose, and piped, the table is as wide as its widest row.
# csv, tsv and json keep them whole.
TABLE_TITLE_CHARS = 120


def shown_title(title: str | None) -> str:
    """``title`` as discover's table shows it: at most ``TABLE_TITLE_CHARS`` characters and …;
    "—" for none.

    Parameters:
        title: a report's title from its listing entry or announcement page (None: it gave none).
    """
    if not title:
        return "—"
    return title if len(title) <= TABLE_TITLE_CHARS else title[:TABLE_TITLE_CHARS] + "…"


@app.command()
def discover(
    sources: Path = typer.Option(DEFAULT_SOURCES, help="The sources file."),
    fmt: Format = format_option(),
) -> None:
    """List the report PDFs the sources file follows (title, entry id, URL, publication date).

    Reports of announcement sources also show their page, the source to give `jstmine run --source`.
    csv, tsv and json have the columns source, entry_id, published, title, url (the PDF) and
    listing_url (what `jstmine run --source` takes: the listing page with #entry, or the announcement page)."""
    from pipeline.sources import discover_all, load_sources

    try:
        followed = load_sources(sources)
        reports = discover_all(followed)
    except PipelineError as exc:
        fail(exc.what, exc.todo)
    if is_machine(fmt):
        emit(fmt, DISCOVER_COLUMNS, ((r.source, r.entry_id, r.published, r.title, r.url, r.listing_url) for r in reports))
        return
    pages = {s.name for s in followed if s.announcements}
    columns = ["source", "entry", "published", "title", "PDF"] + (["announcement page"] if pages else [])
    rows = []
    for r in reports:
        row = [r.source, shown_title(r.entry_id), r.published or "—", shown_title(r.title), r.url]
        if pages:
            row.append(r.listing_url if r.source in pages else "—")
        rows.append(row)
    # URLs whole, never folded over lines (a folded URL cannot be copied or clicked)
    print_unbroken(columns, rows, title=f"reports followed by {sources}", unbroken=("PDF", "announcement page"))


@app.command()
def update(
    context: typer.Context,
    sources: Path = typer.Option(DEFAULT_SOURCES, help="The sources file."),
    only: list[str] = typer.Option(None, help="Only these sources (by name); repeatable."),
    out: Path = typer.Option(Path("processed"), "--out", "-o", help="Output directory."),
    raw: Path = typer.Option(Path("raw"), help="Where downloaded PDFs and their manifest are kept."),
    dask_address: str = typer.Option(None, help="Run the stages on this Dask scheduler (tcp://HOST:PORT)."),
    workers: int = typer.Option(0, help="Processes to run new editions side by side in (default: one per core, "
                                "when two or more are new and a Prefect server is running; 1: one after the other)."),
    engine: str = typer.Option("pdfium", "--engine", help="What reads the PDFs' glyphs and drawings: pdfium (fast; "
                               "pdfplumber still finds the tables) or pdfplumber (the reference reader)."),
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="Also show Prefect's and Dask's own logging (task runs, Dask's INFO lines)."),
) -> None:
    """Discover the followed reports and process every new edition (what `serve` schedules); each
    edition processed gets its HTML report (report.html; its path is printed).

    A report that fails (its PDF is gone, a stage fails) is named with what to do; the others are
    processed and published all the same.

    Exit codes: 0 done, including when nothing was new (an unchanged edition never counts,
    whatever its findings check says); 1 bad input, the run failed, or a report failed (before 3:
    the run is incomplete); 3 the findings check of an edition processed now has contradicted
    findings (everything is published). The Prefect flow run (when one started) is Failed
    exactly when the exit code is 1 or 3.
    """
    from flows.cli import check_engine
    from flows.progress import for_console, showing
    from flows.quiet import quiet_internals

    check_engine(engine)  # before Prefect is imported

    from flows.server import starting_note, use_recorded_server

    recorded = use_recorded_server()  # before Prefect is imported: it reads PREFECT_API_URL then
    quiet_internals(verbose)  # before Prefect and Dask are imported: they configure their logging then
    from flows.server import profile_api_url

    if not dask_address and workers != 1 and (os.environ.get("PREFECT_API_URL") or profile_api_url()):
        # A pool may run the new editions: its forkserver imports the pipeline now, on the core
        # this process leaves idle while it imports Prefect (flows.workers); stopped at the end.
        from flows.workers import start_server, stop_server

        start_server()
        context.call_on_close(stop_server)  # however the command ends
    from flows.gc_imports import imports_frozen

    with imports_frozen():  # Prefect and the pipeline, without the garbage collector walking them (flows.gc_imports)
        from flows.process_sources import ReportFailure, process_sources, task_runner
        from pipeline.publish import output_lock
        from pipeline.sources import find_source, load_sources

    quiet_internals(verbose)  # and once they are, in case they were already
    try:
        # Before Prefect starts: the task runner asked for, the sources file, the names asked
        # for, then the output directory (the only check that creates anything).
        runner = task_runner(dask_address, workers)
        followed = load_sources(sources)
        for name in only or []:
            find_source(followed, name)
        with output_lock(out):
            pass
    except PipelineError as exc:
        fail(exc.what, exc.todo)
    except OSError as exc:
        fail(f"cannot use the output directory {out}: {exc.strerror or exc}",
              "check the path and its permissions, or give another --out DIR")
    flow = process_sources.with_options(task_runner=runner) if runner else process_sources
    with showing(for_console(err)) as progress:
        if dask_address:
            progress.note(f"the stages run on the Dask scheduler at {dask_address}")
        progress.note(f"looking for new editions ({starting_note(recorded)})")
        from flows.server import start_temporary_server

        try:
            start_temporary_server()  # when no server is configured: one that Ctrl-C does not stop
            state = flow(sources_file=str(sources), out_dir=str(out), raw_dir=str(raw), only=only or None,
                         workers=workers, engine=engine, return_state=True)
        except KeyboardInterrupt:  # Ctrl-C: the flow run is Crashed, its workers ended
            interrupted("the editions published before it are kept, none is left half-published")
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, PipelineError):
        fail(outcome.what, outcome.todo)
    if isinstance(outcome, BaseException):
        fail(f"unexpected {type(outcome).__name__}: {outcome}", "this is a bug in jstmine; report it with the command you ran")
    failures = [r for r in outcome if isinstance(r, ReportFailure)]
    for summary in outcome:
        if isinstance(summary, ReportFailure):
            continue  # said last, before the exit code they decide
        if summary.unchanged:
            console.print(Text(f"{printable(summary.edition)}: unchanged (same PDF, same pipeline), nothing was processed",
                               style="dim"))
        else:
            print_summary(summary)
            console.print(Text(f"report:   {printable(summary.report)}" if summary.report else
                               f"no HTML report; write it with: jstmine report --edition {printable(summary.edition)} --out {printable(str(out))}",
                               style="" if summary.report else "yellow"))
    contradicted = [s for s in outcome if not isinstance(s, ReportFailure) and s.contradicted and not s.unchanged]
    for f in failures:  # each one, with what to do; the others are published
        err.print(f"[bold red]error:[/] {escape(printable(f.report))}: {escape(printable(f.what))}", soft_wrap=True)
        if f.todo:
            err.print(f"[yellow]what to do:[/] {escape(printable(f.todo))}", soft_wrap=True)
    if failures:  # 1 before 3: the run is incomplete, whatever the others' findings say
        done = len(outcome) - len(failures)
        fail(f"{len(failures)} of {len(outcome)} followed reports failed: {', '.join(f.report for f in failures)}"
             + (f"; the other {done} {'is' if done == 1 else 'are'} published" if done else ""),
             "fix what each error above says, then run jstmine update again: the published editions are not processed again"
             + (f"; findings are contradicted in {', '.join(s.edition for s in contradicted)} too" if contradicted else ""))
    if state.is_failed():  # no report failed: exactly when an edition processed now has contradicted findings
        fail(f"findings are contradicted by the extracted tables in {', '.join(s.edition for s in contradicted)}",
             f"see the findings_check tables under {out}/ (jstmine show findings_check --edition EDITION) "
             "and the editions' reports", code=3)


@app.command()
def diff(
    a: str = typer.Argument(..., help="The older edition."),
    b: str = typer.Argument(..., help="The newer edition."),
    out: Path = typer.Option(Path("processed"), "--out", "-o", help="Output directory."),
    fmt: Format = format_option(),
) -> None:
    """Per country: technologies added and removed, facts changed, relations added and removed.

    csv, tsv and json give one row per change: country, part (technology, fact, relation), change
    (added, removed, changed), item, field (a fact's changed column, or the relation), before, after,
    page, evidence, in_summary (for a fact: whether the executive summary states it)."""
    from pipeline.diff import diff_editions, render_diff
    from pipeline.query import diff_rows

    try:
        settle(out)
        found = diff_editions(out, a, b)
    except PipelineError as exc:
        fail(exc.what, exc.todo)
    if is_machine(fmt):
        from pipeline.diff import missing_notes

        for note in missing_notes(found):  # beside the rows, never among them
            err.print(Text(f"note: {printable(note)}", style="dim"), soft_wrap=True)
        rows = diff_rows(found)
        emit(fmt, rows.columns, rows.rows)
        return
    render_diff(found, stdout_console())


@app.command()
def serve(
    cron: str = typer.Option(WEEKLY, help="When to look for new editions (cron, read in --timezone)."),
    timezone: str = typer.Option(TIMEZONE, "--timezone", help="The IANA time zone the cron is read in, e.g. Asia/Tokyo, UTC, Europe/Berlin."),
    name: str = typer.Option("jstmine-update", help="The deployment's name."),
    sources: Path = typer.Option(DEFAULT_SOURCES, help="The sources file."),
    out: Path = typer.Option(Path("processed"), "--out", "-o", help="Output directory (absolute paths are safest)."),
    raw: Path = typer.Option(Path("raw"), help="Where downloaded PDFs are kept."),
) -> None:
    """Register a scheduled deployment of `update` and serve it until stopped (Ctrl-C).

    The cron is read in --timezone (default Asia/Tokyo): "0 6 * * 1" is Mondays 06:00 in Japan."""
    from flows.server import use_recorded_server

    _check_timezone(timezone)
    recorded = use_recorded_server()  # before Prefect is imported: it reads PREFECT_API_URL then
    from flows.process_sources import configured_api_url

    if not configured_api_url():
        fail(
            "no Prefect server is configured: a temporary server registers the deployment but never runs its schedule",
            "start one in the background: jstmine server start (serve finds it by itself); or run your own: "
            "prefect server start --host 127.0.0.1 --port 4200 & export PREFECT_API_URL=http://127.0.0.1:4200/api; "
            "then run jstmine serve again",
        )
    if recorded:
        console.print(f"using the Prefect server at {recorded} (jstmine server)")
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=cron)
    except ValueError:
        fail(f"{cron!r} is not a cron expression", "give five fields, e.g. '0 6 * * 1' for Mondays at 06:00")
    try:
        schedule = CronSchedule(cron=cron, timezone=timezone)
    except ValueError:
        fail(f"Prefect does not accept the time zone {timezone!r}", "give another IANA name, e.g. Asia/Tokyo or UTC")
    from flows.process_sources import process_sources

    console.print(f"serving deployment [bold]process-sources/{name}[/] on schedule {cron!r} ({escape(timezone)}); "
                  "Ctrl-C stops it")
    process_sources.serve(
        name=name,
        schedules=[schedule],
        parameters={"sources_file": str(sources.resolve()), "out_dir": str(out.resolve()), "raw_dir": str(raw.resolve())},
        print_starting_message=False,
    )


def _check_timezone(name: str) -> None:
    """Stop, before Prefect starts, when ``name`` is no IANA time zone zoneinfo knows."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"--timezone {name!r} is not a time zone", "give an IANA time zone name, e.g. Asia/Tokyo, UTC or Europe/Berlin")


# ------------------------------------------------------------------------------------------------
# jstmine editions list | remove

editions_app = typer.Typer(no_args_is_help=True, help="List and remove the editions of an output directory.")
app.add_typer(editions_app, name="editions")
EDITION_COLUMNS = ("edition", "report_id", "published", "pages", "processed_at", "size_bytes", "latest", "files",
                   "in_database")


@editions_app.command("list")
def editions_list(
    out: Path = typer.Option(Path("processed"), "--out", "-o", help="Output directory."),
    fmt: Format = format_option(),
) -> None:
    """List the editions: report, publication date, pages, when processed, size, latest of its report.

    The latest edition of each report is the one the database's latest_<table> views select."""
    import duckdb

    from pipeline.editions import list_editions

    settle(out)
    try:
        editions = list_editions(out)
    except PipelineError as exc:
        fail(exc.what, exc.todo)
    except duckdb.Error as exc:
        fail(f"could not read the database in {out}: {str(exc).splitlines()[0]}",
             "if a run is publishing to it right now, wait for it to finish and try again")
    rows = [[getattr(e, c) for c in EDITION_COLUMNS] for e in editions]
    if is_machine(fmt):
        emit(fmt, EDITION_COLUMNS, rows)
        return
    if not editions:
        console.print(f"no editions in {escape(str(out))}/", soft_wrap=True)
        return
    rows = []
    for e in editions:
        note = "" if e.files and e.in_database else " (rows only)" if e.in_database else " (files only)"
        rows.append([e.edition + note, e.report_id or "—", e.published or "—", "—" if e.pages is None else str(e.pages),
                     e.processed_at or "—", _size(e.size_bytes), "latest" if e.latest else ""])
    # names whole, never folded over lines: they are what diff, report --edition and remove take
    print_unbroken(["edition", "report", "published", "pages", "processed at", "size", "latest"], rows,
                   title=f"editions in {out}/", unbroken=("edition", "report", "processed at"))


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _interactive() -> bool:
    """Whether a person can answer a question: standard input and output are terminals."""
    import sys

    return sys.stdin.isatty() and sys.stdout.isatty()


@editions_app.command("remove")
def editions_remove(
    edition: str = typer.Argument(..., help="The edition to remove (see jstmine editions list)."),
    out: Path = typer.Option(Path("processed"), "--out", "-o", help="Output directory."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Remove without asking (needed when not on a terminal)."),
) -> None:
    """Remove an edition: its files and its rows in every table of the database, together.

    The files are processed/<edition> and its run directories under processed/.runs/; on a terminal
    it asks first, elsewhere it needs --yes."""
    from pipeline.publish import check_edition_name
    from pipeline.remove import known_editions, remove_edition

    try:
        check_edition_name(edition)
        settle(out)
        known = known_editions(out) if out.is_dir() else []
    except PipelineError as exc:
        fail(exc.what, exc.todo)
    if edition not in known:
        fail(f"there is no edition {edition!r} in {out}",
             ("the editions are: " + ", ".join(known)) if known else "it has no editions at all")
    if not yes:
        if not _interactive():
            fail(f"not removing edition {edition!r} without confirmation (not on a terminal)",
                 f"add --yes to remove it: jstmine editions remove {edition} --yes")
        if not typer.confirm(f"remove edition {edition} (its files under {out}/ and its rows in the database)?"):
            fail(f"edition {edition!r} not removed", "")
    try:
        removed = remove_edition(out, edition)
    except PipelineError as exc:
        fail(exc.what, exc.todo)
    rows = sum(removed.rows.values())
    console.print(Text(f"removed edition {printable(edition)}: {rows} rows from {len(removed.rows)} tables"
                       + (", its files" if removed.link or removed.runs else ", no files (it had none)")))
