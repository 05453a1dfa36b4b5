"""Giving freed memory back to the system between the flow's steps.

A stage's working memory is freed when it returns, but the allocators keep the pages for later:
Arrow's (mimalloc) keeps what the token table was built in, glibc's malloc what Prefect wrote a
result through, and neither can use the other's. Kept so, each step's high-water marks add up
and a long report's run ends far above what it holds. ``release_free_memory`` hands the free
pages back after each step, so the run's peak is what one step holds at once.
"""
from __future__ import annotations

import ctypes
from functools import lru_cache

import pyarrow as pa


@lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS).

    Looked up among the symbols the interpreter already has loaded (its C library's), not with
    ``ctypes.util.find_library``, which runs ``ldconfig -p`` in a child process: a fork of the
    whole flow process, which counted once more in the run's memory while it lived."""
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


def release_free_memory() -> None:
    """Return the pages Arrow's memory pool and the C allocator hold free to the system (what
    objects still use is untouched). Cheap: a few milliseconds."""
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
