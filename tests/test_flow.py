"""The process_report flow end to end, against a temporary Prefect server, over loopback HTTP."""
from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

import flows  # noqa: F401
import prefect_runs
from httpserver import Reply
from pipeline.errors import AcquireError, TransientAcquireError
from samples.build import LISTING_FRAGMENT, build_listing_html, build_sample_pdf, listing_entries

pytestmark = pytest.mark.slow

TABLES = ["documents", "pages", "sections", "sentences", "tokens", "mentions", "country_technology", "pdf_tables"]


@pytest.fixture(scope="module")
def sample_pdf(tmp_path_factory) -> bytes:
    # A content of its own, so no other test of the session has cached its stages.
    return build_sample_pdf(tmp_path_factory.mktemp("sample") / "sample.pdf", edition_note="test_flow").read_bytes()


def _task_states(flow_state) -> dict[str, str]:
    return prefect_runs.task_states(flow_state)


def _run(tmp_path: Path, source: str, **kw):
    from flows.process_report import process_report

    kw.setdefault("expectations", "")  # no claims file: the findings check (tests/test_findings.py) is not this test's subject
    return process_report(source=source, out_dir=str(tmp_path / "processed"), raw_dir=str(tmp_path / "raw"),
                          return_state=True, **kw)


def test_listing_page_to_published_tables_then_a_cached_rerun(prefect_server, http_server, tmp_path, sample_pdf):
    listing = tmp_path / "listing.html"
    build_listing_html(listing_entries("sample-report.pdf"), listing)
    http_server.serve_pdf("/investigation/sample-report.pdf", sample_pdf, etag='"v1"')
    url = http_server.serve_html("/investigation/report_2022.html", listing.read_text(encoding="utf-8")) + f"#{LISTING_FRAGMENT}"

    state = _run(tmp_path, url, edition="sample")
    assert state.is_completed(), state.message
    summary = state.result()
    out = tmp_path / "processed" / "sample"
    for name in TABLES:
        assert pq.read_table(out / f"{name}.parquet").num_rows > 0, name
        assert (out / f"{name}.csv").read_bytes().startswith("\ufeff".encode())
    ct = pq.read_table(out / "country_technology.parquet").to_pylist()
    pairs = {(r["country"], r["technology"]) for r in ct}
    assert {("KR", "ai"), ("KR", "quantum"), ("GB", "quantum"), ("DE", "nanotechnology"), ("IN", "ict")} <= pairs
    for row in ct:  # every row carries its evidence
        assert row["pages"] and row["sentence_ids"] and row["evidence"]
    con = duckdb.connect(str(tmp_path / "processed" / "jstmine.duckdb"), read_only=True)
    assert con.execute("select count(*) from mentions where edition='sample'").fetchone()[0] == summary.mentions
    con.close()
    states = _task_states(state)
    assert states["extract"] == "Completed" and states["tag"] == "Completed"

    # Unchanged on the server (304) and already published by this pipeline: a no-op.
    again = _run(tmp_path, url, edition="sample")
    assert again.is_completed()
    assert again.result().not_modified and again.result().unchanged
    assert again.result().country_technology == summary.country_technology
    assert not {"extract", "segment", "tokenize", "tag", "attribute", "publish"} & set(_task_states(again))
    assert http_server.requests_for("/investigation/sample-report.pdf")[-1].headers.get("if-none-match") == '"v1"'

    # The same content into another output directory: every stage is a cache hit.
    other = _run(tmp_path / "elsewhere", url, edition="sample")
    states = _task_states(other)
    for stage in ("extract", "segment", "tokenize", "tag", "attribute", "facts", "relations", "policies", "keyterms"):
        assert states[stage] == "Cached", (stage, states)
    assert pq.read_table(tmp_path / "elsewhere" / "processed" / "sample" / "mentions.parquet").num_rows == summary.mentions

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts()
    keys = {a.key for a in artifacts}
    assert {"country-technology-sample", "summary-sample"} <= keys


def test_500_then_success_is_retried(prefect_server, http_server, tmp_path, sample_pdf, fast_retries):
    url = http_server.route("/r.pdf", Reply(status=500), Reply(status=503),
                            Reply(body=sample_pdf, content_type="application/pdf"))
    state = _run(tmp_path, url, edition="retried")
    assert state.is_completed(), state.message
    assert http_server.count("/r.pdf") == 3


def test_html_served_as_pdf_fails_without_retry_and_publishes_nothing(prefect_server, http_server, tmp_path, fast_retries):
    url = http_server.serve_html("/r.pdf", "<html><body>ログインしてください</body></html>")
    state = _run(tmp_path, url, edition="html")
    assert state.is_failed()
    with pytest.raises(AcquireError, match="HTML"):
        state.result()
    assert http_server.count("/r.pdf") == 1
    assert not (tmp_path / "processed" / "html").exists()


def test_truncated_download_is_retried_then_fails_clearly_keeping_earlier_outputs(
    prefect_server, http_server, tmp_path, sample_pdf, fast_retries
):
    good = http_server.serve_pdf("/good.pdf", sample_pdf)
    assert _run(tmp_path, good, edition="ed").is_completed()
    published = os.readlink(tmp_path / "processed" / "ed")

    cut = http_server.truncated("/cut.pdf", sample_pdf[: len(sample_pdf) // 2], claimed_length=len(sample_pdf))
    state = _run(tmp_path, cut, edition="ed")
    assert state.is_failed()
    with pytest.raises(TransientAcquireError):
        state.result()
    assert http_server.count("/cut.pdf") == 4  # first try + 3 retries
    assert os.readlink(tmp_path / "processed" / "ed") == published
    assert not [p for p in (tmp_path / "raw").iterdir() if p.name.startswith(".")]  # no partial file
