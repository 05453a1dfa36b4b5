"""The ``process-sources`` flow: discover the reports that ``sources.toml`` follows and process
every new edition; what runs on a schedule (``jstmine serve``) and what scales out on Dask.

    discover → acquire (each report) → stages (each new edition, side by side) → publish

Reports whose edition is already published from the same content and pipeline cost one
conditional request each and nothing else.

A report that cannot be processed (its PDF is gone, a stage fails) stops only itself: the
others are processed and published all the same, and the flow run then fails, naming each failed
report and what went wrong (``jstmine update`` exits 1). Otherwise the flow run fails, after
publishing everything, when a findings check of an edition it processed has contradicted findings
(its message names them); unchanged editions never fail it, whatever their published check says.
``jstmine update`` exits 3 exactly then.
"""
from __future__ import annotations

import sys
from contextlib import nullcontext
from dataclasses import dataclass, replace
from itertools import chain, islice
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner

from flows.corpus import pool_size, process_pool, report_stages_task, report_task
from flows.workers import stop_server
from flows.process_report import (
    Built,
    RunSummary,
    _publish_artifacts,
    acquire_task,
    finish,
    outcome_text,
    prepare,
    resolve,
    run_config,
    submit_stages,
    unchanged_summary,
    write_report,
)
from flows.progress import current as current_progress
from pipeline.acquire import AcquireConfig
from pipeline.editions import previous_edition, published
from pipeline.errors import PipelineError, SourceError, TransientAcquireError
from pipeline.publish import output_lock
from pipeline.source import parse_source
from pipeline.sources import (
    DEFAULT_SOURCES,
    EXPECTATIONS_DIR,
    Report,
    discover_all,
    distinct_reports,
    load_sources,
)


@task(name="discover", retries=3, retry_delay_seconds=[3, 6, 12],
      retry_condition_fn=lambda t, r, s: isinstance(s.result(raise_on_failure=False), TransientAcquireError))
def discover_task(sources_file: str, only: list[str] | None) -> list[Report]:
    sources = load_sources(Path(sources_file))
    if only:
        sources = [s for s in sources if s.name in only]
    return discover_all(sources)


def discover_each(sources_file: str, only: list[str] | None) -> tuple[list, list]:
    """The reports the sources follow, each source discovered in a task run of its own, and a
    ``ReportFailure`` (``source NAME``) for each source whose discovery failed (its listing page
    gone, an entry named in ``entries`` missing …): one dead page stops only its own source's
    reports, as a failed report stops only itself.

    Parameters: ``sources_file`` (the sources file), ``only`` (these sources by name; None: all).
    A sources file that cannot be read raises, as before: that is bad input for the whole run."""
    sources = load_sources(Path(sources_file))
    reports: list[Report] = []
    lost: list[ReportFailure] = []
    for source in sources:
        if only and source.name not in only:
            continue
        state = discover_task(sources_file, [source.name], return_state=True)
        result = state.result(raise_on_failure=False)
        if isinstance(result, BaseException):
            lost.append(report_failure(f"source {source.name}", result))
            get_run_logger().info("source %s failed: %s", source.name, lost[-1].what)
        else:
            reports.extend(result)
    return reports, lost


def _expectations(report: Report) -> str | None:
    """The source's expectations for this entry; None lets the flow pick the report's own."""
    if report.expectations is None:
        return None
    return str(EXPECTATIONS_DIR / f"{report.expectations}.yaml")


# Downloads (acquire task runs) at once: Prefect's default task runner starts a thread for every
# task submitted, so a listing grown to 1,000 matching entries opened 1,000 connections to the
# site at once, each writing its part file to raw/. On Dask, its workers bound them.
DOWNLOADS_AT_ONCE = 4


@flow(name="process-sources", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=DOWNLOADS_AT_ONCE))
def process_sources(
    sources_file: str = str(DEFAULT_SOURCES),
    out_dir: str = "processed",
    raw_dir: str = "raw",
    only: list[str] | None = None,
    tokenizer_mode: str = "C",
    workers: int = 0,
    engine: str = "pdfium",
) -> list:
    """Discover the followed reports and process each new edition; the rest are no-ops.

    Parameters: ``sources_file`` (the sources file), ``out_dir`` (output directory), ``raw_dir``
    (downloaded PDFs), ``only`` (these sources by name; None: all), ``tokenizer_mode`` (Sudachi's),
    ``workers`` (processes to run new editions side by side in, when two or more are new and a
    Prefect server is configured; 0: one per core, 1: one after the other in the flow's process;
    on Dask, the Dask workers run them), ``engine`` (what reads the PDFs' glyphs: ExtractConfig.engine).

    Returns a ``ReportFailure`` (``source NAME``) for each source whose discovery failed (its
    listing page gone …: its reports are unknown), then one item per followed report, in order: its
    ``RunSummary``, or a ``ReportFailure`` when it could not be processed. The run fails (with them as its data) when a report failed
    (``failed_state``), else when an edition it processed has contradicted findings
    (``contradicted_state``)."""
    logger = get_run_logger()
    progress = current_progress()
    progress.stage("sources", "discover")
    found, lost = discover_each(sources_file, only)
    reports, repeats = distinct_reports(found)
    for repeat, kept in repeats:
        logger.warning("%s is followed by source %s and by source %s: processed once, as %s's", repeat.listing_url,
                       kept.source, repeat.source, kept.source)
    logger.info("%d reports followed: %s", len(reports), ", ".join(r.entry_id for r in reports))
    with output_lock(Path(out_dir)):
        on_dask = _stages_side_by_side()
        acquire_config = AcquireConfig(raw_dir=Path(raw_dir))
        refs = [(r, followable(r)) for r in reports]  # URLs the discovery made: parsed once
        progress.finish("sources", f"{len(reports)} reports followed")
        for r in reports:
            progress.start(r.entry_id)
            progress.stage(r.entry_id, "acquire")
        # A report whose source cannot be parsed fails alone, when its download would be waited for.
        fetched = [(r, ref, NotFollowed(ref) if isinstance(ref, PipelineError)
                    else acquire_task.submit(ref, r.acquire_config(acquire_config))) for r, ref in refs]
        outcomes: dict[int, RunSummary | ReportFailure] = {}
        # Names given in this run: two entries whose ids slug alike (fy24/rr02, fy24-rr02) get two
        # editions, not one published over the other.
        claimed: dict[str, tuple[str, str]] = {}

        def failed(n: int, label: str, exc: Exception) -> None:
            outcomes[n] = failure = report_failure(label, exc)
            # Named by the flow run's final state and by `update` at the end: not said twice on the console.
            logger.info("%s failed: %s (%s)", label, failure.what, failure.todo)
            progress.finish(label, "failed (the error is shown at the end)")

        def arrivals():
            """(n, label, edition, acquired, config) of each edition to process, in order, as soon
            as its download has landed (the others' still arriving)."""
            for n, (report, ref, future) in enumerate(fetched):
                try:
                    acquired = future.result()
                    config = run_config(tokenizer_mode, "", _expectations(report), ref, acquired,
                                        extract_limits={"engine": engine})
                    edition, up_to_date = prepare(ref, None, out_dir, acquired, config, claimed)
                except Exception as exc:  # noqa: BLE001 (one report's failure never stops the others)
                    failed(n, report.entry_id, exc)
                    continue
                if up_to_date:
                    logger.info("%s: edition %s is unchanged (same PDF, same pipeline): nothing to do", report.entry_id, edition)
                    outcomes[n] = unchanged_summary(edition, out_dir, acquired)
                    progress.finish(report.entry_id, outcome_text(outcomes[n]))
                    continue
                yield n, report.entry_id, edition, acquired, config

        arriving = arrivals()
        # The first two new editions decide whether a pool runs them: it starts then, and takes
        # each later one as its download lands (``_side_by_side``), not once all have landed.
        new = list(islice(arriving, 2))
        may_be_new = len(new) + (len(fetched) - 1 - new[-1][0] if len(new) == 2 else 0)

        def done(n: int, label: str, edition: str, acquired, config, stages, write=None) -> None:
            """Build, check and publish one edition from its stages (values or futures); ``write``
            writes its report (None: here)."""
            try:
                summary, tables, findings = finish(edition, out_dir, acquired, config, stages if isinstance(stages, Built) else resolve(stages), label=label,
                                                   write=write)
                _publish_artifacts(summary, tables, findings)
            except Exception as exc:  # noqa: BLE001 (as above)
                failed(n, label, exc)
                return
            outcomes[n] = summary
            progress.finish(label, outcome_text(summary))

        size = 1 if on_dask or not configured_api_url() else pool_size(workers, may_be_new)
        if size == 1:
            # No pool: the forkserver `update` started in case one would run (flows.workers) is not
            # needed; stopped now, while it may still be importing, rather than at the end.
            stop_server()
        if on_dask or size > 1:
            # The reports side by side (each one's stages in one process: a Dask worker, or one of
            # the pool's, started as tasks arrive), while this process publishes them in order as
            # they are done.
            with nullcontext() if on_dask else process_pool(size) as pool:

                def arrived(count: int) -> None:
                    if pool is not None:
                        used = min(size, count)
                        logger.info("%d new editions: processed side by side in %d worker processes", count, used)
                        progress.note(f"{count} new editions: processed side by side in {used} worker processes")

                _side_by_side(chain(new, arriving), pool, len(fetched) if on_dask else 2 * size, done, failed,
                              outcomes, arrived)
        else:  # one after the other, here: each published before the next is read
            for n, label, edition, acquired, config in [*new, *arriving]:
                try:
                    stages = submit_stages(acquired, config, submit=False, label=label)
                except Exception as exc:  # noqa: BLE001 (as above)
                    failed(n, label, exc)
                    continue
                done(n, label, edition, acquired, config, stages)
    results = [*lost, *(outcomes[n] for n in sorted(outcomes))]
    summaries = [r for r in results if isinstance(r, RunSummary)]
    for s in summaries:
        logger.info("%s: %s", s.edition, "unchanged" if s.unchanged else f"{s.mentions} mentions, {len(s.country_technology)} country × technology rows")
    return failed_state(results) or contradicted_state(summaries, results) or results


def followable(report: Report):
    """``report``'s source (``parse_source`` of its ``listing_url``), or the ``SourceError`` that
    says why it cannot be followed: a listing page chooses its entries' ids, and an id matched by
    ``link_pattern`` may make no usable source (control characters, thousands of characters).

    Parameters:
        report: a report the discovery found.
    """
    try:
        return parse_source(report.listing_url)
    except PipelineError as exc:
        return SourceError(
            f"entry #{report.entry_id!r} of {report.listing_url.split('#', 1)[0]} cannot be followed: {exc.what}",
            "the listing page gives this report an id jstmine cannot take as a source: leave it out of the "
            "source's link_pattern (or entries), or process its PDF directly: jstmine run --source " + report.url,
        )


class NotFollowed:
    """What stands for the download of a report that cannot be followed: its ``result()``
    raises why (``followable``), as a failed download's would."""

    def __init__(self, error: PipelineError) -> None:
        self.error = error

    def result(self):
        raise self.error


@dataclass(frozen=True)
class ReportFailure:
    """A followed report that could not be processed: which (its entry id), what went wrong and
    what to do. The other reports of the run are processed and published all the same."""

    report: str
    what: str
    todo: str = ""


def report_failure(report: str, exc: Exception) -> ReportFailure:
    """The failure of ``report`` (an entry id) from the exception that stopped it: a
    ``PipelineError`` says what went wrong and what to do; anything else is a bug."""
    if isinstance(exc, PipelineError):
        return ReportFailure(report, exc.what, exc.todo)
    return ReportFailure(report, f"unexpected {type(exc).__name__}: {exc}",
                         "this is a bug in jstmine; report it with the command you ran and this message")


def failed_state(results: list):
    """A Failed state naming every report of ``results`` (summaries and ``ReportFailure``s) that
    could not be processed, with ``results`` as its data; None when none failed.

    A failure takes precedence over contradicted findings: the run is incomplete."""
    failures = [r for r in results if isinstance(r, ReportFailure)]
    if not failures:
        return None
    named = "; ".join(f"{f.report}: {f.what}" for f in failures)
    done = len(results) - len(failures)
    return Failed(message=f"{len(failures)} of {len(results)} reports failed ({done} processed and published): {named}",
                  data=results)


def contradicted_state(summaries: list[RunSummary], data: list | None = None):
    """A Failed state naming the contradicted findings of the editions this run processed (with
    ``data``, by default every summary, as its data), or None when it processed none with
    contradictions."""
    processed = [s for s in summaries if not s.unchanged and s.contradicted]
    if not processed:
        return None
    count = sum(len(s.contradicted) for s in processed)
    named = "; ".join(f"{s.edition}: " + "; ".join(s.contradicted) for s in processed)
    return Failed(message=f"{count} findings contradicted in {len(processed)} processed editions "
                          f"(their tables, checks and reports are published): {named}", data=summaries if data is None else data)


def _side_by_side(arriving, pool, ahead: int, done, failed, outcomes: dict, arrived=None) -> None:
    """Run ``report_stages_task`` for each of ``arriving`` (n, label, edition, acquired, config;
    an iterable that yields each edition as its download lands) on ``pool`` (a started task
    runner; None: the flow's, e.g. Dask), up to ``ahead`` reports ahead of the one being published
    (so that finished reports do not pile up in memory), and hand each edition's stages to
    ``done(n, label, edition, acquired, config, stages, write)`` in order; a report whose stages
    fail goes to ``failed(n, label, exc)``. In the pool, each published edition's HTML report is
    written by a worker (``write``), and its summary in ``outcomes[n]`` says where once it is.

    The first ``ahead`` editions are submitted as they arrive; nothing is published before all
    have arrived (so each edition's name and whether it is up to date were decided against the
    editions published before the run, whatever the timing). ``arrived``: called with their
    number then, or None."""
    new: list = []
    futures: dict[int, object] = {}
    reports: list[tuple[int, object]] = []  # (n, future of report_task)

    def writer(n: int):
        if pool is None:
            return None  # on Dask: written here, by finish

        def write(out_dir: str, edition: str) -> Path | None:
            try:  # the edition to compare with, as of now (as finish would find it)
                previous = previous_edition(published(Path(out_dir)), edition)
            except Exception:  # noqa: BLE001 (write_report says why, as a warning)
                return write_report(out_dir, edition)
            reports.append((n, pool.submit(report_task, {"out_dir": out_dir, "edition": edition, "previous": previous})))
            return Path(out_dir) / edition / "report.html"

        return write

    def submit(k: int) -> None:
        n, label, _, acquired, config = new[k]
        current_progress().stage(label, "stages submitted to the task runner")
        # built where the stages ran: this process only publishes (flows.corpus)
        parameters = {"acquired": acquired, "config": config, "label": label, "edition": new[k][2]}
        futures[k] = (pool.submit(report_stages_task, parameters) if pool is not None
                      else report_stages_task.submit(**parameters))

    for item in arriving:
        new.append(item)
        if len(new) <= ahead:
            submit(len(new) - 1)
    if arrived is not None:
        arrived(len(new))
    for k, (n, label, edition, acquired, config) in enumerate(new):
        if k + ahead < len(new):
            submit(k + ahead)
        try:
            stages = futures.pop(k).result()
        except Exception as exc:  # noqa: BLE001 (one report's failure never stops the others)
            failed(n, label, exc)
            continue
        done(n, label, edition, acquired, config, stages, writer(n))
    for n, future in reports:
        try:
            path = future.result()
        except Exception as exc:  # noqa: BLE001 (the report is a by-product: never fail the run for it)
            get_run_logger().warning("%s: could not write the HTML report (%s: %s); the tables are published",
                                     outcomes[n].edition, type(exc).__name__, exc)
            path = ""
        if isinstance(outcomes.get(n), RunSummary):
            outcomes[n] = replace(outcomes[n], report=path)


def _stages_side_by_side() -> bool:
    """Whether the flow's task runner is Dask (each report's stages then go to it as one task,
    one process per worker, one task at a time in each); otherwise the flow runs them in its pool
    of worker processes or itself, one report after the other (``process_sources``).

    Prefect's default task runner is a thread pool, and the stages share one Sudachi tokenizer
    per process, which two threads must not use at once ("RuntimeError: Already borrowed"); the
    same holds for a Dask worker running several threads, so those are refused up front.
    """
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    runner = context.task_runner if context else None
    if runner is None or "prefect_dask" not in sys.modules:
        return False  # a Dask runner is made by prefect_dask: not imported, none is in use (and Dask is not imported: 0.3 s)
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:  # pragma: no cover (a dependency)
        return False
    if not isinstance(runner, DaskTaskRunner):
        return False
    threads = runner.client.nthreads()
    crowded = {worker: n for worker, n in threads.items() if n > 1}
    if crowded:
        raise PipelineError(
            f"the Dask workers at {runner.client.scheduler.address} run several threads each "
            f"({', '.join(f'{w}: {n}' for w, n in sorted(crowded.items()))}); jstmine's stages need one thread per worker process",
            "start the workers with one thread each, as many as you like: "
            "dask worker tcp://HOST:PORT --nworkers 2 --nthreads 1",
        )
    get_run_logger().info("stages run on Dask: %d worker processes", len(threads))
    current_progress().note(f"stages run on Dask: {len(threads)} worker processes")
    return True


def configured_api_url() -> str:
    """The Prefect server runs report to (PREFECT_API_URL, from the environment or the active
    profile); "" when none is configured and Prefect would start a temporary one."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or ""


def task_runner(dask_address: str | None = None, workers: int = 0):
    """None (the flow's own: new editions side by side in a pool of ``workers`` processes, see
    ``process_sources``) unless an existing Dask scheduler at ``dask_address`` (tcp://HOST:PORT)
    is asked for. Checks the options first: ``workers`` ≥ 0, not both, and a Prefect server for
    anything but one process.

    Worker processes (Dask's, or the pool's) need a Prefect server (PREFECT_API_URL): without one,
    each would start a temporary server of its own, and they collide. Without one and without
    ``--workers``, the reports are processed one after the other.
    """
    if workers < 0:
        raise PipelineError(f"--workers {workers} is not a number of processes",
                            "give --workers N with N ≥ 1 (1: one report after the other), or leave it out: one per core")
    if dask_address and workers > 0:
        raise PipelineError(
            f"both --dask-address {dask_address} and --workers {workers} are given",
            "give one: --dask-address to use a running Dask scheduler, --workers N for N local processes",
        )
    if (dask_address or workers > 1) and not configured_api_url():
        raise PipelineError(
            ("running on Dask" if dask_address else f"--workers {workers}")
            + " needs a Prefect server: each worker process would otherwise start a temporary server of its own",
            "start one and point at it: jstmine server start (or: prefect server start --host 127.0.0.1 --port 4200 & "
            "export PREFECT_API_URL=http://127.0.0.1:4200/api)",
        )
    if not dask_address:
        return None
    from prefect_dask import DaskTaskRunner

    if not dask_address.startswith(("tcp://", "tls://", "ucx://", "inproc://")):
        raise PipelineError(f"--dask-address {dask_address!r} is not a Dask scheduler address",
                            "give it as tcp://HOST:PORT, as `dask scheduler` prints it")
    return DaskTaskRunner(address=dask_address)
