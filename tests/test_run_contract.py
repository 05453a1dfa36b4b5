"""One exit-code contract for `jstmine run` and `jstmine update`, and the Prefect flow run's final
state agreeing with it: 0 and Completed when what this invocation processed has no contradicted
finding (or it processed nothing: an unchanged edition never counts), 3 and Failed (naming the
contradicted findings) when it has, 1 and Failed for a run error (for `update`, a followed report
that failed, after the others are published; 1 before 3). Both write report.html for
what they process and print its path; on a non-terminal both write plain progress lines.

Driven through the CLI in this process, against the session's temporary Prefect server."""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import flows  # noqa: F401  (Prefect's environment before Prefect is imported)
from flows.quiet import DASK_DISTRIBUTED_LEVEL, PREFECT_CONSOLE_LEVEL
from samples import SAMPLE_EDITION
from samples.build import build_sample_pdf
from test_editions import PDF_PATH, Site

pytestmark = pytest.mark.slow

# The body of the sample edition counts 13 national strategic technologies for Korea, where its
# summary chapter (and the fy24_rr02 expectations file) say 12: the findings check contradicts.
BODY_SAYS_13 = [
    ("（1） 12の国家戦略技術", "（1） 13の国家戦略技術"),
    ("2022年10月に12の国家戦略技術", "2022年10月に13の国家戦略技術"),
    ("量子の12分野", "量子の13分野"),
]
CONTRADICTED = "KR: 12 国家戦略技術 (2022)"


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("contract")
    text = SAMPLE_EDITION.read_text(encoding="utf-8")
    for old, new in BODY_SAYS_13:
        assert text.count(old) == 1, f"the sample edition changed: {old!r} is not there exactly once"
        text = text.replace(old, new)
    (d / "contradicted.md").write_text(text, encoding="utf-8")
    return {
        "agreeing": build_sample_pdf(d / "agreeing.pdf", edition_note="test_run_contract"),
        "contradicted": build_sample_pdf(d / "contradicted.pdf", source=d / "contradicted.md"),
        "agreeing-again": build_sample_pdf(d / "agreeing-again.pdf", edition_note="2025年7月 誤記を訂正 (contract)"),
    }


@pytest.fixture
def quiet_restored(monkeypatch):
    """The CLI quiets Prefect's console handler and Dask's logging for this process and the
    environment: put both back afterwards, for the other tests of the session."""
    for name in (PREFECT_CONSOLE_LEVEL, DASK_DISTRIBUTED_LEVEL):
        monkeypatch.delenv(name, raising=False)  # restored to what it was at teardown
    from flows.quiet import _prefect_console_handlers

    handlers = {h: h.level for h in _prefect_console_handlers()}
    distributed = logging.getLogger("distributed").level
    yield
    for handler, level in handlers.items():
        handler.setLevel(level)
    logging.getLogger("distributed").setLevel(distributed)


def cli(*args) -> tuple[int, str]:
    from flows.main import app

    result = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "FORCE_COLOR": None}).invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def flow_run_ids(flow_name: str) -> set:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])))
    return {r.id for r in runs}


def final_state(flow_name: str, before: set):
    """The final state of the one flow run of ``flow_name`` made since ``before`` was taken."""
    from prefect.client.orchestration import get_client

    new = flow_run_ids(flow_name) - before
    assert len(new) == 1, f"{len(new)} new {flow_name} flow runs"
    with get_client(sync_client=True) as client:
        return client.read_flow_run(new.pop()).state


def invoke(flow_name: str, *args) -> tuple[int, str, object]:
    """The command's exit code, its output and the final state of the flow run it made."""
    before = flow_run_ids(flow_name)
    code, output = cli(*args)
    return code, output, final_state(flow_name, before)


def report_path(output: str) -> Path:
    found = re.findall(r"^report:\s+(\S+)$", output, re.MULTILINE)
    assert len(found) == 1, output
    return Path(found[0])


def test_run_exits_3_and_fails_on_contradicted_findings_then_0_when_nothing_is_processed(
        fresh_cache, quiet_restored, pdfs, tmp_path):
    out, raw = tmp_path / "processed", tmp_path / "raw"
    run = ("run", "--out", out, "--raw", raw, "--source")

    code, output, state = invoke("process-report", *run, pdfs["contradicted"])
    assert code == 3, output
    assert state.type.value == "FAILED" and CONTRADICTED in state.message, state
    assert f"contradicted: {CONTRADICTED}" in output
    label = pdfs["contradicted"].stem
    # Said once (the summary names it, the error counts it), in English.
    assert output.count(CONTRADICTED) == 1, output
    assert "error: 1 finding of the report is contradicted by the extracted tables" in " ".join(output.split()), output
    assert f"{label}: 1 finding contradicted" in output.splitlines(), output
    report = report_path(output)  # the edition's report, written as `update` writes it
    assert report.is_file() and report.parent.parent == out and report.parent.name.startswith(f"{label}-")
    assert "国家戦略技術" in report.read_text(encoding="utf-8")
    # Plain progress lines (the output is not a terminal): every stage, and the pages now and then.
    lines = output.splitlines()
    for stage in ("acquire", "extract", "tag", "check-findings", "publish", "report"):
        assert f"{label}: {stage}" in lines, output
    pages = [line for line in lines if re.fullmatch(rf"{label}: extract: \d+/\d+ pages", line)]
    done = [int(line.split(": ")[-1].split("/")[0]) for line in pages]
    total = int(pages[-1].split("/")[1].split()[0])
    assert done == sorted(done) and done[-1] == total >= 16 and len(pages) <= 11, pages  # not one line per page
    assert "Finished in state" not in output  # Prefect's own chatter is not shown

    # The same PDF again: already published, nothing processed: 0 and Completed, and it says so.
    code, output, state = invoke("process-report", *run, pdfs["contradicted"])
    assert code == 0, output
    assert state.type.value == "COMPLETED", state
    assert "is unchanged (same PDF, same pipeline): nothing was processed" in " ".join(output.split())
    assert report_path(output) == report
    assert f"{label}: extract" not in output.splitlines()

    # A report whose findings agree: 0 and Completed, its report written.
    code, output, state = invoke("process-report", *run, pdfs["agreeing"])
    assert code == 0, output
    assert state.type.value == "COMPLETED", state
    assert report_path(output).is_file()


def test_run_error_exits_1_and_fails(quiet_restored, prefect_server, tmp_path):
    not_a_pdf = tmp_path / "report.pdf"
    not_a_pdf.write_bytes(b"%PDF-1.7\n" + b"\x00" * 200)  # passes the checks before Prefect, not the extraction
    code, output, state = invoke("process-report", "run", "--source", not_a_pdf, "--out", tmp_path / "processed",
                                 "--raw", tmp_path / "raw", "--expectations", "none")
    assert code == 1, output
    assert state.type.value == "FAILED", state
    assert "error:" in output


def test_update_exits_3_only_for_contradictions_in_what_it_processed(
        fresh_cache, quiet_restored, http_server, pdfs, tmp_path):
    site = Site(http_server, tmp_path)
    sources = site.sources_file(tmp_path)
    update = ("update", "--sources", sources, "--out", tmp_path / "processed", "--raw", tmp_path / "raw")

    # 1. An edition whose findings agree.
    site.publish(pdfs["agreeing"].read_bytes(), "2025年4月1日", '"v1"')
    code, output, state = invoke("process-sources", *update)
    assert code == 0, output
    assert state.type.value == "COMPLETED", state
    assert report_path(output).is_file()
    assert "fy24_rr02: extract" in output.splitlines()  # progress, per report

    # 2. A new edition with a contradicted finding: 3, and the flow run Failed naming it.
    site.publish(pdfs["contradicted"].read_bytes(), "2025年6月2日", '"v2"')
    code, output, state = invoke("process-sources", *update)
    assert code == 3, output
    assert state.type.value == "FAILED", state
    assert "fy24_rr02-2025-06-02" in state.message and CONTRADICTED in state.message, state.message
    report = report_path(output)
    assert report.is_file() and "fy24_rr02-2025-06-02" in str(report)
    assert "error: findings are contradicted by the extracted tables in fy24_rr02-2025-06-02" in " ".join(output.split())

    # 3. Nothing new (the server says 304): nothing processed, 0 and Completed, although the
    #    published edition's check has a contradicted finding.
    code, output, state = invoke("process-sources", *update)
    assert code == 0, output
    assert state.type.value == "COMPLETED", state
    assert "fy24_rr02-2025-06-02: unchanged" in output
    assert site.server.requests_for(PDF_PATH)[-1].headers.get("if-none-match") == '"v2"'

    # 4. A newer edition whose findings agree: 0 and Completed, whatever the older edition says.
    site.publish(pdfs["agreeing-again"].read_bytes(), "2025年7月1日", '"v3"')
    code, output, state = invoke("process-sources", *update)
    assert code == 0, output
    assert state.type.value == "COMPLETED", state
    assert "done: edition fy24_rr02-2025-07-01" in output


def test_update_publishes_every_report_it_can_and_exits_1_naming_the_one_that_failed(
        fresh_cache, quiet_restored, http_server, pdfs, tmp_path):
    # Two followed reports on one listing: fy24_rr03's PDF is not on the server (404); fy24_rr02
    # is there, with a contradicted finding. A failure comes before contradictions: 1, not 3.
    site = Site(http_server, tmp_path)
    site.publish(pdfs["contradicted"].read_bytes(), "2025年4月1日", '"v1"')
    sources = tmp_path / "two.toml"
    sources.write_text(f'[[source]]\nname = "loopback"\nlisting = "{site.listing_url}"\n'
                       'entries = ["fy24_rr03", "fy24_rr02"]\n', encoding="utf-8")
    out = tmp_path / "processed"
    code, output, state = invoke("process-sources", "update", "--sources", sources, "--out", out, "--raw", tmp_path / "raw")
    said = " ".join(output.split())
    assert code == 1, output
    assert state.type.value == "FAILED", state
    assert state.message.startswith("1 of 2 reports failed (1 processed and published): fy24_rr03: "), state.message
    assert "404" in state.message and "fy24_rr02" not in state.message, state.message
    # The good report is published, with its tables and its HTML report.
    assert (out / "fy24_rr02-2025-04-01" / "country_technology.parquet").is_file()
    assert report_path(output).is_file() and "fy24_rr02-2025-04-01" in str(report_path(output))
    # The failed one is named with what went wrong and what to do.
    assert re.search(r"error: fy24_rr03: \S.*404", said), output
    assert said.count("404 Not Found from") <= 2, output  # the error, and at most Prefect's own task-run line
    assert "error: 1 of 2 followed reports failed: fy24_rr03; the other 1 is published" in said, output
    assert "findings are contradicted in fy24_rr02-2025-04-01 too" in said, output
    assert not list(out.glob("fy24_rr03*"))


def test_verbose_shows_prefects_own_logging_again(quiet_restored, prefect_server):
    from flows.quiet import _prefect_console_handlers, quiet_internals

    quiet_internals(verbose=False)
    assert os.environ[PREFECT_CONSOLE_LEVEL] == "WARNING" and os.environ[DASK_DISTRIBUTED_LEVEL] == "warning"
    handlers = _prefect_console_handlers()
    assert handlers and all(h.level == logging.WARNING for h in handlers)
    assert logging.getLogger("distributed").getEffectiveLevel() == logging.WARNING
    quiet_internals(verbose=True)
    assert PREFECT_CONSOLE_LEVEL not in os.environ and DASK_DISTRIBUTED_LEVEL not in os.environ
    assert all(h.level == logging.NOTSET for h in handlers)
    assert logging.getLogger("distributed").getEffectiveLevel() == logging.INFO
