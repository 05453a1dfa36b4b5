"""``jstmine`` commands for followed reports, editions and schedules.

    jstmine discover [--sources FILE] [-f table|csv|tsv|json]
    jstmine update   [--sources FILE] [--only NAME] [--dask-address tcp://HOST:PORT | --workers N]
    jstmine diff A B [-f table|csv|tsv|json]
    jstmine serve    [--cron "0 6 * * 1"]
"""
from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text

from flows.app import app, console, err, fail, print_summary, print_unbroken, settle, stdout_console
from flows.output import Format, emit, format_option, is_machine
from pipeline.errors import PipelineError
from pipeline.normalize import printable
from pipeline.sources import DEFAULT_SOURCES

WEEKLY = "0 6 * * 1"  # Mondays 06:00


DISCOVER_COLUMNS = ("source", "entry_id", "published", "title", "url", "listing_url")


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
        row = [r.source, r.entry_id, r.published or "—", r.title or "—", r.url]
        if pages:
            row.append(r.listing_url if r.source in pages else "—")
        rows.append(row)
    # URLs whole, never folded over lines (a folded URL cannot be copied or clicked)
    print_unbroken(columns, rows, title=f"reports followed by {sources}", unbroken=("PDF", "announcement page"))


@app.command()
def update(
    sources: Path = typer.Option(DEFAULT_SOURCES, help="The sources file."),
    only: list[str] = typer.Option(None, help="Only these sources (by name); repeatable."),
    out: Path = typer.Option(Path("processed"), help="Output directory."),
    raw: Path = typer.Option(Path("raw"), help="Where downloaded PDFs and their manifest are kept."),
    dask_address: str = typer.Option(None, help="Run the stages on this Dask scheduler (tcp://HOST:PORT)."),
    workers: int = typer.Option(0, help="Run the stages on a local Dask cluster of this many processes."),
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="Also show Prefect's and Dask's own logging (task runs, Dask's INFO lines)."),
) -> None:
    """Discover the followed reports and process every new edition (what `serve` schedules); each
    edition processed gets its HTML report (report.html; its path is printed).

    Exit codes: 0 done, including when nothing was new (an unchanged edition never counts,
    whatever its findings check says); 1 bad input or the run failed; 3 the findings check of
    an edition processed now has contradicted findings (everything is published). The Prefect
    flow run (when one started) is Failed exactly when the exit code is 1 or 3.
    """
    from flows.progress import for_console, showing
    from flows.quiet import quiet_internals

    quiet_internals(verbose)  # before Prefect and Dask are imported: they configure their logging then
    from flows.process_sources import process_sources, task_runner
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
        elif workers:
            progress.note(f"the stages run on a local Dask cluster of {workers} worker processes")
        state = flow(sources_file=str(sources), out_dir=str(out), raw_dir=str(raw), only=only or None, return_state=True)
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, PipelineError):
        fail(outcome.what, outcome.todo)
    if isinstance(outcome, BaseException):
        fail(f"unexpected {type(outcome).__name__}: {outcome}", "this is a bug in jstmine; report it with the command you ran")
    for summary in outcome:
        if summary.unchanged:
            console.print(Text(f"{printable(summary.edition)}: unchanged (same PDF, same pipeline), nothing was processed",
                               style="dim"))
        else:
            print_summary(summary)
            console.print(Text(f"report:   {printable(summary.report)}" if summary.report else
                               f"no HTML report; write it with: jstmine report --edition {printable(summary.edition)} --out {printable(str(out))}",
                               style="" if summary.report else "yellow"))
    contradicted = [s for s in outcome if s.contradicted and not s.unchanged]
    if state.is_failed():  # exactly when an edition processed now has contradicted findings
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
    page, evidence."""
    from pipeline.diff import diff_editions, render_diff
    from pipeline.query import diff_rows

    try:
        settle(out)
        found = diff_editions(out, a, b)
    except PipelineError as exc:
        fail(exc.what, exc.todo)
    if is_machine(fmt):
        rows = diff_rows(found)
        emit(fmt, rows.columns, rows.rows)
        return
    render_diff(found, stdout_console())


@app.command()
def serve(
    cron: str = typer.Option(WEEKLY, help="When to look for new editions (cron, server time zone)."),
    name: str = typer.Option("jstmine-update", help="The deployment's name."),
    sources: Path = typer.Option(DEFAULT_SOURCES, help="The sources file."),
    out: Path = typer.Option(Path("processed"), help="Output directory (absolute paths are safest)."),
    raw: Path = typer.Option(Path("raw"), help="Where downloaded PDFs are kept."),
) -> None:
    """Register a scheduled deployment of `update` and serve it until stopped (Ctrl-C)."""
    from flows.process_sources import configured_api_url

    if not configured_api_url():
        fail(
            "no Prefect server is configured: a temporary server registers the deployment but never runs its schedule",
            "start one and point at it: prefect server start --host 127.0.0.1 --port 4200 & "
            "export PREFECT_API_URL=http://127.0.0.1:4200/api (or: make server), then run jstmine serve again",
        )
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=cron)
    except ValueError:
        fail(f"{cron!r} is not a cron expression", "give five fields, e.g. '0 6 * * 1' for Mondays at 06:00")
    from flows.process_sources import process_sources

    console.print(f"serving deployment [bold]process-sources/{name}[/] on schedule {cron!r}; Ctrl-C stops it")
    process_sources.serve(
        name=name,
        cron=cron,
        parameters={"sources_file": str(sources.resolve()), "out_dir": str(out.resolve()), "raw_dir": str(raw.resolve())},
        print_starting_message=False,
    )
