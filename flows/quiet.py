"""What ``jstmine run`` and ``update`` let Prefect and Dask print on the console.

Without ``--verbose``, their own chatter (Prefect's "Task run … Finished in state Completed()",
the temporary server starting, distributed's INFO lines from the scheduler, nannies and workers)
is left out: warnings and errors still show, and the Prefect server keeps every log line (its
log handler sits on Prefect's own loggers, before the console). An expected fault
(``PipelineError``) is logged without its traceback: the command prints its message and advice
at the end.

The levels are set for this process and, through the environment, for the processes it starts
(Dask's nannies and workers, which configure their logging from it).
"""
from __future__ import annotations

import logging
import os
import sys

from pipeline.errors import PipelineError

# Prefect's logging.yml may be overridden from the environment: its console handler's level.
PREFECT_CONSOLE_LEVEL = "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"
DASK_DISTRIBUTED_LEVEL = "DASK_LOGGING__DISTRIBUTED"
_SET_BY_US: dict[str, str] = {}  # what quiet_internals put into os.environ, to take it back


class NoTracebackForPipelineErrors(logging.Filter):
    """Prefect logs a failed task or flow run with its traceback. For a ``PipelineError`` (an
    expected fault that carries its own message and advice, printed by the command at the end)
    the traceback only buries that message, so the console leaves it out. The Prefect API's log
    handlers sit on Prefect's own loggers and run before this root handler: the UI keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, PipelineError):
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_internals(verbose: bool = False) -> None:
    """Set what Prefect and Dask print on the console, in this process and those it starts.

    Parameters:
        verbose: True shows their INFO lines as well (``--verbose``); False only their warnings
            and errors.
    """
    env = {PREFECT_CONSOLE_LEVEL: "WARNING", DASK_DISTRIBUTED_LEVEL: "warning"}
    for name, value in env.items():
        if not verbose:
            if name not in os.environ or _SET_BY_US.get(name) == os.environ[name]:
                os.environ[name] = _SET_BY_US[name] = value
        elif name in _SET_BY_US and os.environ.get(name) == _SET_BY_US.pop(name):
            del os.environ[name]
    # pdfminer warns once per object of a damaged PDF; the run's message says what matters.
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    # Already configured in this process (Prefect configures its logging when first imported).
    level = logging.NOTSET if verbose else logging.WARNING
    for handler in _prefect_console_handlers():
        handler.setLevel(level)
    hide_pipeline_error_tracebacks()
    if "dask" in sys.modules:  # else Dask reads the environment when it is first imported
        import dask

        dask.config.set({"logging.distributed": "info" if verbose else "warning"})
    logging.getLogger("distributed").setLevel(logging.INFO if verbose else logging.WARNING)


def hide_pipeline_error_tracebacks() -> None:
    """Leave the tracebacks of ``PipelineError``s off this process's Prefect console handlers
    (``NoTracebackForPipelineErrors``); also for a worker process that runs tasks and prints to
    the command's console."""
    for handler in _prefect_console_handlers():
        if not any(isinstance(f, NoTracebackForPipelineErrors) for f in handler.filters):
            handler.addFilter(NoTracebackForPipelineErrors())


def _prefect_console_handlers() -> list[logging.Handler]:
    """Prefect's console handlers, on the root logger and on any other (uvicorn's, fastapi's)."""
    if "prefect.logging.handlers" not in sys.modules:  # Prefect not configured yet: the environment does it
        return []
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger()] + [lg for lg in logging.Logger.manager.loggerDict.values()
                                      if isinstance(lg, logging.Logger)]
    found: list[logging.Handler] = []
    for lg in loggers:
        for handler in lg.handlers:
            if isinstance(handler, PrefectConsoleHandler) and handler not in found:
                found.append(handler)
    return found
