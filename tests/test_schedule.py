"""`jstmine serve` against a real Prefect server on loopback: the deployment of process-sources is
registered with the cron schedule given, in the time zone given (Asia/Tokyo by default), active,
runs when triggered, and leaves no process behind."""
from __future__ import annotations

import os
import signal
import time

import pytest

import flows  # noqa: F401
from conftest import BIN, group_members, serve_sample_listing, stop_group, subprocess_env
from samples.build import LISTING_FRAGMENT

pytestmark = pytest.mark.slow

DEPLOYMENT = "process-sources/jstmine-update"
CRON = "17 4 * * 2"  # Tuesdays 04:17: not the default, and not due during the test


def api(url: str):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    return temporary_settings({PREFECT_API_URL: url})


def read_deployment(url: str):
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with api(url), get_client(sync_client=True) as client:
        try:
            return client.read_deployment_by_name(DEPLOYMENT)
        except ObjectNotFound:
            return None


def test_serve_registers_a_scheduled_deployment_that_runs_and_stops_cleanly(
        prefect_api_server, spawn, http_server, tmp_path):
    # A listing page with the sample report, and a sources file that follows it.
    sources = serve_sample_listing(http_server, tmp_path)
    out, raw = tmp_path / "processed", tmp_path / "raw"

    env = prefect_api_server.env(PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_RUNNER_POLL_FREQUENCY="2")
    serve = spawn([BIN / "jstmine", "serve", "--cron", CRON, "--sources", sources, "--out", out, "--raw", raw],
                  env, "serve", cwd=tmp_path)

    deadline = time.monotonic() + 90
    deployment = None
    while deployment is None and time.monotonic() < deadline:
        assert serve.proc.poll() is None, f"jstmine serve exited with {serve.proc.returncode}:\n{serve.output()}"
        deployment = read_deployment(prefect_api_server.url)
        if deployment is None:
            time.sleep(1)
    assert deployment is not None, f"no deployment {DEPLOYMENT} after 90 s:\n{serve.output()}"

    (schedule,) = deployment.schedules
    assert schedule.schedule.cron == CRON and schedule.active and not deployment.paused
    assert schedule.schedule.timezone == "Asia/Tokyo"  # the default: the cron is read in Japan's time
    assert deployment.parameters == {"sources_file": str(sources), "out_dir": str(out), "raw_dir": str(raw)}

    from prefect.deployments import run_deployment

    with api(prefect_api_server.url):
        run = run_deployment(DEPLOYMENT, timeout=240, poll_interval=2)
    assert run.state is not None and run.state.is_completed(), f"{run.state}\n{serve.output()}"
    edition = out / f"{LISTING_FRAGMENT}-2025-04-01"
    assert (edition / "country_technology.parquet").is_file() and (edition / "report.html").is_file()
    assert http_server.count("/investigation/sample-report.pdf") == 1

    # Ctrl-C stops serve and the flow-run processes it started; the schedule is paused with it.
    # Prefect pauses the schedule while it shuts down; a loaded machine (the whole suite on 2 cores)
    # can take over 20 s for that, so it gets a minute before SIGKILL would cut it short.
    started = time.monotonic()
    left = stop_group(serve.proc, first=signal.SIGINT, grace=60)
    took = time.monotonic() - started
    assert not left, left
    assert group_members(serve.pgid) == []
    with pytest.raises(ProcessLookupError):
        for _ in range(50):  # the group is gone (not even a zombie left)
            os.killpg(serve.pgid, 0)
            time.sleep(0.1)
    assert read_deployment(prefect_api_server.url).paused, f"not paused; serve stopped in {took:.0f} s:\n{serve.output()}"


def test_serve_without_a_prefect_server_stops_with_what_to_do(spawn, tmp_path):
    run = spawn([BIN / "jstmine", "serve"], subprocess_env(None, PREFECT_HOME=str(tmp_path / "home"), COLUMNS="300"),
                "serve-no-server")
    assert run.proc.wait(timeout=60) == 1
    message = " ".join(run.output().split())
    assert "a temporary server registers the deployment but never runs its schedule" in message
    assert "prefect server start --host 127.0.0.1 --port 4200" in message and "PREFECT_API_URL" in message


def test_serve_refuses_a_time_zone_zoneinfo_does_not_know_before_prefect_starts(spawn, tmp_path):
    # No server either: the time zone is checked first, so its message is the one shown.
    run = spawn([BIN / "jstmine", "serve", "--timezone", "Asia/Tokio"],
                subprocess_env(None, PREFECT_HOME=str(tmp_path / "home"), COLUMNS="300"), "serve-bad-timezone")
    assert run.proc.wait(timeout=60) == 1
    message = " ".join(run.output().split())
    assert "--timezone 'Asia/Tokio' is not a time zone" in message and "e.g. Asia/Tokyo" in message
    assert "Prefect server" not in message  # stopped before it looked for a server, let alone served


def test_serve_passes_the_time_zone_to_the_schedule(monkeypatch):
    # What serve hands Prefect, for another zone than the default (the real server test covers the default).
    from typer.testing import CliRunner

    import flows.cli_editions as cli_editions
    import flows.process_sources as process_sources
    from flows.main import app

    served = {}

    class Flow:
        def serve(self, **kwargs):
            served.update(kwargs)

    monkeypatch.setattr(process_sources, "configured_api_url", lambda: "http://127.0.0.1:9/api")
    monkeypatch.setattr(process_sources, "process_sources", Flow())
    result = CliRunner().invoke(app, ["serve", "--cron", "30 5 * * *", "--timezone", "Europe/Berlin"])
    assert result.exit_code == 0, result.output
    (schedule,) = served["schedules"]
    assert (schedule.cron, schedule.timezone) == ("30 5 * * *", "Europe/Berlin")
    assert "cron" not in served and "(Europe/Berlin)" in result.output
    assert cli_editions.TIMEZONE == "Asia/Tokyo"
