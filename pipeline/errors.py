"""Errors a user can act on.

Every error the pipeline raises on purpose says what went wrong and what to do about it, so
the CLI can print it as it is and exit non-zero, and nothing else has to be read.
"""
from __future__ import annotations


class PipelineError(Exception):
    """Base class: ``what`` went wrong, and ``todo`` says what the user can do."""

    exit_code = 1

    def __init__(self, what: str, todo: str = "") -> None:
        self.what = what
        self.todo = todo
        super().__init__(f"{what}\n  → {todo}" if todo else what)


class SourceError(PipelineError):
    """The source is not something we can read (bad scheme, missing file, no PDF link)."""


class AcquireError(PipelineError):
    """Downloading failed in a way that retrying will not fix (4xx, not a PDF, too large)."""


class TransientAcquireError(AcquireError):
    """Downloading failed in a way that may pass on retry (network fault, timeout, 5xx)."""


class ExtractError(PipelineError):
    """The PDF cannot be opened or read (truncated, encrypted, no pages)."""


class NoUsableTextError(ExtractError):
    """The PDF opens but has no usable text layer (scanned or glyphs without Unicode)."""


class TableValidationError(PipelineError):
    """An output table does not match its schema; nothing was published."""
