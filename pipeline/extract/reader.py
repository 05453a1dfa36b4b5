"""Reading the pages of a document, in this process or in worker processes, and the steps that look across pages."""
from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import subprocess
import sys
import threading
import traceback
from collections import Counter
from pathlib import Path

import pdfplumber

from pipeline.errors import PipelineError
from pipeline.extract.constants import _LARGER_FONT
from pipeline.extract.furniture import _running_line_decision
from pipeline.extract.model import ExtractConfig, _PageRecord
from pipeline.extract.page import _finish_page, _page_record

# ---------------------------------------------------------------------------------------------
# Reading the pages: in this process or in worker processes
# ---------------------------------------------------------------------------------------------
#
# Each page is read on its own (pass 1, then pass 2: running lines dropped, columns, blocks) into
# a small ``_PageRecord``. Two things depend on other pages: which rows are running heads/feet,
# and the document's body size (used for pages with little text). A page is therefore built on
# the assumption that all its candidate rows are running lines (true of almost every page of a
# report with running heads); once all pages are read, the decision is taken as for the whole
# document, and the few pages whose assumption was wrong are read again with the decision.
# Pages with little text keep their glyphs until the body size is known. The result is the same
# as reading everything first and then deciding, however the pages are split among processes.

PARALLEL_MIN_PAGES = 16  # below this, starting worker processes costs more than it saves


def _worker_count(workers: int | None, n_pages: int) -> int:
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 1:
        raise ValueError(f"workers must be at least 1 (or None for every CPU), not {workers}")
    if workers == 1 or n_pages < PARALLEL_MIN_PAGES:
        return 1
    if multiprocessing.current_process().daemon:  # a Dask worker: one task per core already
        return 1
    return min(workers, n_pages)


class _Reader:
    """Reads pages into records, in page order: ``read(numbers, decided, doc_body_size)``.

    ``decided``: None for the first reading (candidate rows assumed to be running lines), else
    the candidate rows to remove per page. ``doc_body_size``: None while it is not known.
    """

    def __init__(self, pdf: pdfplumber.PDF, path: Path, config: ExtractConfig, n_pages: int):
        self.pdf, self.path, self.config, self.n_pages = pdf, path, config, n_pages

    def read(
        self, numbers: list[int], decided: dict[int, frozenset[int]] | None, doc_body_size: float | None
    ) -> list[_PageRecord]:
        return _read_pages(self.pdf, self.path, self.config, self.n_pages, numbers, decided, doc_body_size)

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc_info) -> None:
        pass


class _PagePool(_Reader):
    """This process and ``workers - 1`` worker processes reading chunks of consecutive pages.

    The workers are plain ``python -c`` processes that import this module, open the PDF once
    and answer requests over a pipe (pickles): not ``multiprocessing``, whose fork is unsafe in
    a process that runs threads (Prefect's) and whose spawn and forkserver re-import the
    caller's main module in every worker (the whole CLI, Prefect included). Measured on the
    benchmark's 300-page report, 2 workers, same blocks: this pool 16.5 s, a forkserver
    ``ProcessPoolExecutor`` (pipeline.extract.reader and pdfplumber preloaded, the PDF opened once
    per worker) 19.1 s from a plain script and 26.0-27.7 s from a process that imported the flow
    as the CLI does. A worker that cannot be started is simply not used.
    """

    def __init__(self, pdf: pdfplumber.PDF, path: Path, config: ExtractConfig, n_pages: int, workers: int):
        super().__init__(pdf, path, config, n_pages)
        self.workers: list[_WorkerProcess] = []
        for _ in range(workers - 1):
            try:
                self.workers.append(_WorkerProcess(path, config, n_pages))
            except OSError:
                break

    def __exit__(self, *exc_info) -> None:
        for worker in self.workers:
            worker.close()

    def read(self, numbers, decided, doc_body_size):
        if not self.workers:
            return super().read(numbers, decided, doc_body_size)
        # Small chunks balance the load (pages differ in cost); each costs one round trip.
        size = min(16, max(2, math.ceil(len(numbers) / ((len(self.workers) + 1) * 8))))
        chunks = [numbers[i : i + size] for i in range(0, len(numbers), size)]
        results: list[list[_PageRecord] | BaseException | None] = [None] * len(chunks)
        lock = threading.Lock()
        state = {"next": 0, "stop": False}

        def take() -> int | None:
            with lock:
                if state["stop"] or state["next"] >= len(chunks):
                    return None
                state["next"] += 1
                return state["next"] - 1

        def run(read_chunk) -> None:
            while (k := take()) is not None:
                chunk = chunks[k]
                chunk_decided = {n: decided[n] for n in chunk} if decided is not None else None
                try:
                    results[k] = read_chunk(chunk, chunk_decided, doc_body_size)
                except BaseException as exc:  # kept, and raised below in page order
                    results[k] = exc
                    state["stop"] = True

        threads = [threading.Thread(target=run, args=(w.read,), daemon=True) for w in self.workers]
        for t in threads:
            t.start()
        run(super().read)  # this process reads too
        for t in threads:
            t.join()
        records: list[_PageRecord] = []
        for result in results:  # in page order: the first page that fails is the one reported
            if isinstance(result, BaseException):
                raise result
            if result is None:  # not read because an earlier chunk failed (raised above)
                break
            records.extend(result)
        return records


_WORKER_CODE = "import pipeline.extract.reader as r; r._worker_main()"


class _WorkerProcess:
    """One worker process (see ``_PagePool``) and its pipes."""

    def __init__(self, path: Path, config: ExtractConfig, n_pages: int):
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])  # import this very pipeline
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-c", _WORKER_CODE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        self._send((str(path), config, n_pages))

    def _send(self, message) -> None:
        pickle.dump(message, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self.proc.stdin.flush()

    def read(self, numbers, decided, doc_body_size) -> list[_PageRecord]:
        try:
            self._send((numbers, decided, doc_body_size))
            reply = pickle.load(self.proc.stdout)
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            code = self.proc.poll()
            raise RuntimeError(f"an extract worker process ended unexpectedly (exit code {code})") from exc
        kind, *rest = reply
        if kind == "ok":
            return rest[0]
        if kind == "error":  # a PipelineError: rebuilt from its parts (pickling loses them)
            cls, what, todo = rest
            raise cls(what, todo)
        exc, trace = rest
        raise exc if exc is not None else RuntimeError(f"extract worker failed:\n{trace}")

    def close(self) -> None:
        try:
            self._send(None)
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _worker_main() -> None:
    """A worker process's loop: open the PDF named by the first message, then answer each
    request (page numbers, decisions, body size) with their records, until None."""
    out = os.fdopen(os.dup(1), "wb")  # the replies; anything printed goes to stderr instead
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    path, config, n_pages = pickle.load(inp)
    pdf = pdfplumber.open(path)
    while True:
        try:
            request = pickle.load(inp)
        except EOFError:  # the caller is gone
            break
        if request is None:
            break
        numbers, decided, doc_body_size = request
        try:
            reply = ("ok", _read_pages(pdf, Path(path), config, n_pages, numbers, decided, doc_body_size))
        except PipelineError as exc:
            reply = ("error", type(exc), exc.what, exc.todo)
        except Exception as exc:
            try:
                pickle.dumps(exc)
                reply = ("exception", exc, traceback.format_exc())
            except Exception:
                reply = ("exception", None, traceback.format_exc())
        pickle.dump(reply, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()
    pdf.close()


def _read_pages(
    pdf: pdfplumber.PDF,
    path: Path,
    config: ExtractConfig,
    n_pages: int,
    numbers: list[int],
    decided: dict[int, frozenset[int]] | None,
    doc_body_size: float | None,
) -> list[_PageRecord]:
    pages = pdf.pages
    records = []
    for number in numbers:
        page = pages[number - 1]
        assumed = decided[number] if decided is not None else None
        records.append(_page_record(page, path, config, n_pages, assumed, doc_body_size))
        page.close()  # frees pdfplumber's cached layout; matters for long documents
    return records


def _read_document(reader: _Reader, n_pages: int, config: ExtractConfig) -> list[_PageRecord]:
    """Every page's record, with the document-wide decisions applied."""
    records = reader.read(list(range(1, n_pages + 1)), None, None)
    remove = _running_line_decision(records, n_pages, config)
    decided = {
        rec.number: frozenset(i for i, _, _ in rec.candidates if (rec.number, i) in remove) for rec in records
    }
    doc_body_size = _doc_body_size(records, decided)
    # Pages built on a wrong assumption: their running lines, or a body size of their own that
    # is not the document's where that changes which lines are set larger than the body (a page
    # of 9 pt box text whose 10.5 pt body lines looked like headings).
    redo = [
        rec.number for rec in records
        if rec.bare | rec.assumed != rec.bare | decided[rec.number] or _size_matters(rec, doc_body_size)
    ]
    if redo:
        again = {rec.number: rec for rec in reader.read(redo, {n: decided[n] for n in redo}, doc_body_size)}
        records = [again.get(rec.number, rec) for rec in records]
    for rec in records:
        if rec.pending is not None:
            _finish_page(rec, rec.pending, doc_body_size)
    return records



def _size_matters(rec: _PageRecord, doc_body_size: float) -> bool:
    """Whether building the page with the document's body size instead of its own would change
    which of its lines count as larger than the body (headings)."""
    if rec.body_size is None or rec.body_size == doc_body_size:
        return False
    low, high = sorted((rec.body_size, doc_body_size))
    return any(low + _LARGER_FONT <= size < high + _LARGER_FONT for size in rec.line_sizes)


def _doc_body_size(records: list[_PageRecord], decided: dict[int, frozenset[int]]) -> float:
    """``_body_size`` over the body glyphs of all pages once running lines are removed."""
    counts: Counter[float] = Counter()
    for rec in records:
        removed = decided[rec.number]
        merged: dict[float, list[int]] = {}
        for group, stats in rec.sizes.items():
            if group in removed:
                continue
            for size, (count, first) in stats.items():
                entry = merged.get(size)
                if entry is None:
                    merged[size] = [count, first]
                else:
                    entry[0] += count
                    entry[1] = min(entry[1], first)
        for size, (count, _) in sorted(merged.items(), key=lambda item: item[1][1]):
            counts[size] += count
    return counts.most_common(1)[0][0] if counts else 10.0


