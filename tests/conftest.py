"""Shared pytest fixtures."""
from __future__ import annotations

import os

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
