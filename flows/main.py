"""The ``jstmine`` command: the app of ``flows.app`` with every command module registered.

    python -m flows.main …   is the same as   jstmine …
"""
from __future__ import annotations

from flows import cli, cli_editions  # noqa: F401  (each registers its commands on the app)
from flows import cli_schema  # noqa: F401  (jstmine schema)
from flows import cli_server  # noqa: F401  (jstmine server start|stop|status)
from flows.app import app

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
