"""Shared pytest fixtures."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from httpserver import HTTPTestServer


@pytest.fixture
def http_server(monkeypatch):
    """A scripted HTTP server on 127.0.0.1 (see tests/httpserver.py), stopped after the test."""
    # never send loopback requests through a proxy the environment may define
    for var in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(var, "")
        monkeypatch.setenv(var, ",".join(x for x in (current, "127.0.0.1,localhost") if x))
    server = HTTPTestServer().start()
    try:
        yield server
    finally:
        server.stop()


SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared, read in place: its documents are never copied into the project."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not there (the tests read the shared reference material from it)")
    return SHARED


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """One temporary Prefect server and database for the whole session (not one per flow run).

    Task results (the cache) go to a fresh directory too, so no test sees another session's cache.
    """
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    storage = tmp_path_factory.mktemp("prefect-storage")
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: storage}), prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def fast_retries(monkeypatch):
    """The acquire task's retries without the waiting."""
    import flows.process_report as fr

    monkeypatch.setattr(fr, "acquire_task", fr.acquire_task.with_options(retry_delay_seconds=0, retry_jitter_factor=None))
