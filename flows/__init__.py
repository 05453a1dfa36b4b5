"""Prefect flows over the ``pipeline`` library."""
import os

# Offline, Prefect's telemetry only logs errors; never send it from an analysts' pipeline.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
