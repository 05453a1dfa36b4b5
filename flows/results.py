"""How the flow's stage outputs are persisted in Prefect's result storage: compressed, so that
writing a long report's token table does not cost several copies of it in memory.

Prefect's default ``pickle`` serializer base64-encodes the pickle, and the result record then
wraps that in JSON: writing a 31 MB token table (1,000 pages) held about four copies of it at
once. ``ZstdSerializer`` writes an Arrow table as an Arrow IPC stream with zstd-compressed
buffers (7 MB for that table, written in a few hundredths of a second) and anything else as a
zstd-compressed pickle, so the copies Prefect makes are a quarter of the size.

The pickle is the standard library's when it can write the object, cloudpickle's otherwise (a
lambda, a class defined in a function or in ``__main__``). For the stage outputs, frozen
dataclasses of importable modules, the two write the same bytes, but cloudpickle asks its Python
``reducer_override`` about every object first: 0.19 against 0.06 s for the attribution of a
300-page report, on the flow's path between two stages. Either loads with ``pickle.loads``.

A result written by an earlier version (``pickle``) still loads: the record names its serializer.
"""
from __future__ import annotations

import base64
import pickle
from typing import Any

import cloudpickle
import pyarrow as pa
from prefect.serializers import Serializer
from pydantic import Field

_TABLE, _PICKLE = b"A", b"P"  # the payload's first byte: what follows
_CODEC = "zstd"


class ZstdSerializer(Serializer):
    """A Prefect result serializer: Arrow tables as zstd-compressed Arrow IPC streams, anything
    else as a zstd-compressed pickle (``_pickled``); base64, as Prefect's result records need text."""

    type: str = Field(default="jstmine/zstd", frozen=True)

    def dumps(self, obj: Any) -> bytes:
        """``obj`` as base64 text of a tagged, compressed payload.

        Parameters:
            obj: a stage output (a ``pyarrow.Table``, or anything cloudpickle can pickle).
        """
        if isinstance(obj, pa.Table):
            sink = pa.BufferOutputStream()
            options = pa.ipc.IpcWriteOptions(compression=_CODEC)
            with pa.ipc.new_stream(sink, obj.schema, options=options) as writer:
                writer.write_table(obj)
            payload = _TABLE + sink.getvalue().to_pybytes()
        else:
            blob = _pickled(obj)
            size = len(blob).to_bytes(8, "little")
            payload = _PICKLE + size + pa.compress(blob, codec=_CODEC, asbytes=True)
            del blob
        return base64.b64encode(payload)

    def loads(self, blob: bytes) -> Any:
        """The object ``dumps`` wrote.

        Parameters:
            blob: what ``dumps`` returned.
        """
        payload = memoryview(base64.b64decode(blob))
        kind, body = bytes(payload[:1]), payload[1:]
        if kind == _TABLE:
            with pa.ipc.open_stream(pa.py_buffer(body)) as reader:
                return reader.read_all()
        if kind == _PICKLE:
            size = int.from_bytes(body[:8], "little")
            return pickle.loads(pa.decompress(body[8:], decompressed_size=size, codec=_CODEC, asbytes=True))
        raise ValueError(f"not a jstmine/zstd result (payload starts with {kind!r}): the result file is damaged or "
                         "was written by something else; delete it (Prefect's result storage) and run again")


def _pickled(obj: Any) -> bytes:
    """``obj`` pickled by the standard library, or by cloudpickle when that cannot (or would refer
    to ``__main__``, which another process, a Dask worker, cannot import): the same protocol.

    Parameters:
        obj: what to pickle.
    """
    try:
        blob = pickle.dumps(obj, protocol=cloudpickle.DEFAULT_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return cloudpickle.dumps(obj)
    # a reference by name to __main__ loads only in this process: cloudpickle writes it by value
    return cloudpickle.dumps(obj) if b"__main__" in blob else blob
