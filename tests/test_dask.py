"""`jstmine update` with new editions side by side (in its pool of worker processes: by default,
or --workers N; or on a running Dask scheduler with --dask-address) against a real Prefect server
on loopback: the same tables as a run that processes them one after the other (--workers 1), and no
worker, Dask or Prefect process left behind."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import flows  # noqa: F401
from conftest import BIN, group_members, stop_group
from httpserver import HTTPTestServer
from samples.build import build_listing_html, build_sample_pdf, listing_entries
from test_editions import second_edition_text

pytestmark = pytest.mark.slow

EDITIONS = {"fy24_rr02-2025-04-01", "fy24_rr03-2025-05-12"}  # two reports, two different PDFs
IGNORED = {"documents": {"processed_at", "fetched_at", "raw_path"}}  # when and where, nothing else


@pytest.fixture(scope="module")
def listing(tmp_path_factory):
    """A listing page with two followed reports (the sample edition and a changed one), served on
    loopback for the module; and a sources file following both."""
    d = tmp_path_factory.mktemp("dask-site")
    (d / "changed.md").write_text(second_edition_text(), encoding="utf-8")
    with HTTPTestServer() as server:
        server.serve_pdf("/investigation/sample-report.pdf", build_sample_pdf(d / "a.pdf").read_bytes(), etag='"a"')
        server.serve_pdf("/investigation/fy24_rr03.pdf",
                         build_sample_pdf(d / "b.pdf", source=d / "changed.md").read_bytes(), etag='"b"')
        page = build_listing_html(listing_entries("sample-report.pdf"), d / "report_2022.html")
        url = server.serve_html("/investigation/report_2022.html", page.read_text(encoding="utf-8"))
        sources = d / "sources.toml"
        sources.write_text(f'[[source]]\nname = "loopback"\nlisting = "{url}"\nentries = ["fy24_rr02", "fy24_rr03"]\n',
                           encoding="utf-8")
        yield sources


def update(api, sources: Path, directory: Path, *options: str) -> str:
    """`jstmine update` into ``directory``/processed in a process group of its own, to the end;
    its output. Every process of the group must be gone once it has exited. Each run has its own
    PREFECT_HOME, so no run reuses another's cached task results."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "update.log"
    env = api.env(PREFECT_HOME=str(directory / "prefect-home"), COLUMNS="200")
    args = [str(BIN / "jstmine"), "update", "--sources", str(sources), "--out", str(directory / "processed"),
            "--raw", str(directory / "raw"), *options]
    with open(log, "wb") as fh:
        proc = subprocess.Popen(args, env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        code = proc.wait(timeout=300)
    finally:
        left_running = stop_group(proc) if proc.poll() is None else []
    output = log.read_text(encoding="utf-8", errors="replace")
    assert not left_running, f"jstmine update did not finish: {left_running}\n{output}"
    assert code == 0, output
    deadline = time.monotonic() + 15
    while group_members(proc.pid) and time.monotonic() < deadline:  # Dask workers shutting down
        time.sleep(0.2)
    left = group_members(proc.pid)
    if left:
        stop_group(proc, first=signal.SIGKILL)
    assert not left, f"processes left behind by {' '.join(args)}: {left}"
    return output


@pytest.fixture(scope="module")
def serial(prefect_api_server, listing, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("serial")
    output = update(prefect_api_server, listing, d, "--workers", "1")
    assert "Dask" not in output and "side by side" not in output, output
    return d / "processed"


def assert_same_tables(got: Path, expected: Path) -> None:
    editions = {p.name for p in expected.iterdir() if p.is_symlink()}
    assert editions == EDITIONS
    assert {p.name for p in got.iterdir() if p.is_symlink()} == editions
    for edition in sorted(editions):
        names = sorted(p.stem for p in (expected / edition).glob("*.parquet"))
        assert names and sorted(p.stem for p in (got / edition).glob("*.parquet")) == names, edition
        for name in names:
            a, b = pq.read_table(got / edition / f"{name}.parquet"), pq.read_table(expected / edition / f"{name}.parquet")
            assert a.schema == b.schema, (edition, name)
            drop = sorted(IGNORED.get(name, set()))
            a, b = a.drop_columns(drop), b.drop_columns(drop)
            assert a.num_rows == b.num_rows, (edition, name, a.num_rows, b.num_rows)
            for col in a.column_names:
                assert a[col].equals(b[col]), f"{edition}/{name}.{col} differs from the serial run"


def test_workers_give_the_same_tables_as_a_serial_run(prefect_api_server, listing, serial, tmp_path):
    output = update(prefect_api_server, listing, tmp_path, "--workers", "2")
    assert "2 new editions: processed side by side in 2 worker processes" in output, output
    # Without --verbose, neither Prefect's INFO lines nor the worker processes': the progress lines instead.
    assert not [line for line in output.splitlines() if re.search(r"\bINFO\b", line)], output
    assert "fy24_rr02: stages submitted to the task runner" in output and "fy24_rr03: done" in output, output
    assert_same_tables(tmp_path / "processed", serial)
    kr = {e: pq.read_table(serial / e / "policy_facts.parquet").to_pylist() for e in EDITIONS}
    counts = {e: [f["item_count"] for f in rows if f["country"] == "KR" and f["item"] == "国家戦略技術" and not f["in_summary"]]
              for e, rows in kr.items()}
    assert counts == {"fy24_rr02-2025-04-01": [12], "fy24_rr03-2025-05-12": [13]}  # really two different reports


def test_by_default_new_editions_run_side_by_side_one_process_per_core(prefect_api_server, listing, serial, tmp_path):
    from flows.corpus import pool_size

    size = pool_size(0, len(EDITIONS))
    output = update(prefect_api_server, listing, tmp_path)
    if size > 1:
        assert f"{len(EDITIONS)} new editions: processed side by side in {size} worker processes" in output, output
    else:  # one core: one after the other
        assert "side by side" not in output, output
    assert_same_tables(tmp_path / "processed", serial)
    # Each edition's HTML report, written by a worker process once the edition is published.
    reports = re.findall(r"^report:\s+(\S+)$", output, re.MULTILINE)
    assert sorted(reports) == sorted(str(tmp_path / "processed" / e / "report.html") for e in EDITIONS), output
    assert all(Path(r).stat().st_size > 1000 for r in reports)
    again = update(prefect_api_server, listing, tmp_path)  # nothing new: no pool at all
    assert "side by side" not in again and again.count("unchanged (same PDF, same pipeline)") == len(EDITIONS), again


def _taggers_built() -> int:
    """On a Dask worker: how many spaCy taggers the tag stage built in this process."""
    import sys

    module = sys.modules.get("flows.process_report")
    return module._built_tagger.cache_info().currsize if module else 0


def test_an_existing_dask_scheduler_runs_the_stages(prefect_api_server, listing, serial, tmp_path):
    import psutil
    from distributed import Client, LocalCluster

    worker_env = prefect_api_server.env(PREFECT_HOME=str(tmp_path / "prefect-home"))
    worker_env = {k: v for k, v in worker_env.items() if k.startswith(("PREFECT_", "NO_PROXY", "no_proxy", "DO_NOT"))}
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address="127.0.0.1:0", env=worker_env)
    pids: list[int] = []
    try:
        with Client(cluster) as client:
            pids = list(client.run(os.getpid).values())
            assert len(pids) == 2
            assert sum(client.run(_taggers_built).values()) == 0
            output = update(prefect_api_server, listing, tmp_path, "--dask-address", cluster.scheduler_address, "--verbose")
            assert f"Connecting to an existing Dask cluster at {cluster.scheduler_address}" in output, output
            assert sum(client.run(_taggers_built).values()) >= 1  # the tag stage ran on the workers
    finally:
        cluster.close(timeout=30)
    assert_same_tables(tmp_path / "processed", serial)
    deadline = time.monotonic() + 15
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.2)
    assert not alive, f"Dask worker processes left behind: {alive}"


def test_dask_workers_with_several_threads_are_refused_before_any_download(prefect_api_server, listing, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster:
        done = subprocess.run([str(BIN / "jstmine"), "update", "--sources", str(listing), "--out", str(tmp_path / "out"),
                               "--raw", str(tmp_path / "raw"), "--dask-address", cluster.scheduler_address],
                              env=prefect_api_server.env(PREFECT_HOME=str(tmp_path / "home"), COLUMNS="300"),
                              capture_output=True, text=True, timeout=120, start_new_session=True)
    assert done.returncode == 1, done.stdout + done.stderr
    message = " ".join(done.stderr.split())
    assert f"the Dask workers at {cluster.scheduler_address} run several threads each" in message, message
    assert "--nthreads 1" in message
    assert not (tmp_path / "raw").exists()  # nothing was downloaded


def test_dask_without_a_prefect_server_stops_with_what_to_do(listing, tmp_path):
    from conftest import subprocess_env

    env = subprocess_env(None, PREFECT_HOME=str(tmp_path / "home"), COLUMNS="300")
    done = subprocess.run([str(BIN / "jstmine"), "update", "--sources", str(listing), "--workers", "2",
                           "--out", str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=120,
                          start_new_session=True)
    assert done.returncode == 1, done.stdout + done.stderr
    message = " ".join(done.stderr.split())
    assert "--workers 2 needs a Prefect server" in message and "jstmine server start" in message
    assert not (tmp_path / "out").exists()


def test_a_report_that_fails_in_a_worker_process_stops_only_itself(prefect_api_server, tmp_path):
    # Two new editions, so they run side by side in the pool: fy24_rr03's PDF cannot be read (it
    # fails in its worker process, at extraction); fy24_rr02 is published all the same.
    d = tmp_path / "site"
    d.mkdir()
    with HTTPTestServer() as server:
        server.serve_pdf("/investigation/sample-report.pdf", build_sample_pdf(d / "a.pdf").read_bytes(), etag='"a"')
        server.serve_pdf("/investigation/fy24_rr03.pdf", b"%PDF-1.4\n" + b"not a PDF body " * 200 + b"\n%%EOF\n", etag='"b"')
        page = build_listing_html(listing_entries("sample-report.pdf"), d / "report_2022.html")
        url = server.serve_html("/investigation/report_2022.html", page.read_text(encoding="utf-8"))
        sources = d / "sources.toml"
        sources.write_text(f'[[source]]\nname = "loopback"\nlisting = "{url}"\nentries = ["fy24_rr02", "fy24_rr03"]\n',
                           encoding="utf-8")
        run = tmp_path / "run"
        env = prefect_api_server.env(PREFECT_HOME=str(tmp_path / "prefect-home"), COLUMNS="300")
        done = subprocess.run([str(BIN / "jstmine"), "update", "--sources", str(sources), "--out", str(run / "processed"),
                               "--raw", str(run / "raw"), "--workers", "2"], env=env, capture_output=True, text=True,
                              timeout=300, start_new_session=True)
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 1, said
    assert "2 new editions: processed side by side in 2 worker processes" in said, said
    assert "error: fy24_rr03:" in said and "1 of 2 followed reports failed: fy24_rr03; the other 1 is published" in said, said
    assert "Traceback" not in said, said
    assert (run / "processed" / "fy24_rr02-2025-04-01" / "country_technology.parquet").is_file()
    assert not list((run / "processed").glob("fy24_rr03*"))
