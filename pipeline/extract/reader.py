"""Reading the pages of a document, in this process or in worker processes, and the steps that look across pages."""
from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pdfplumber

from pipeline.errors import ExtractError, PipelineError
from pipeline.extract import limits, pdfium_glyphs
from pipeline.extract.collection import fewer_collections
from pipeline.extract.constants import _LARGER_FONT
from pipeline.extract.furniture import _running_line_decision
from pipeline.extract.model import ExtractConfig, _PageRecord
from pipeline.extract.opening import _open_pdf
from pipeline.extract.page import _finish_page, _page_record
from pipeline.extract.problems import _page_ranges

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
# workers=None reads with one process per CPU, but at most this many (this process included):
# the cross-page steps run in the caller, so more gain little, and each process may take its
# memory budget (ExtractConfig.max_worker_memory_mb).
MAX_AUTO_WORKERS = 4


def _worker_count(workers: int | None, n_pages: int, config: ExtractConfig | None = None,
                  ocr_pages: int = 0) -> int:
    """Processes to read ``n_pages`` pages with, this one included. None: one per CPU, at most
    ``MAX_AUTO_WORKERS``, and no more than can all take their memory budget at once from the
    memory available now (at least 1). A number is taken as given. A document under
    ``PARALLEL_MIN_PAGES`` pages is read in one process unless at least two of its pages
    (``ocr_pages``) are to be OCRed (seconds each): then by up to that many processes."""
    auto = workers is None
    if workers is None:
        workers = min(os.cpu_count() or 1, MAX_AUTO_WORKERS)
    if workers < 1:
        raise ValueError(f"workers must be at least 1 (or None for every CPU), not {workers}")
    if n_pages < PARALLEL_MIN_PAGES:
        if ocr_pages < 2:
            return 1
        workers = min(workers, ocr_pages)
    if workers == 1:
        return 1
    if multiprocessing.current_process().daemon:  # a Dask worker: one task per core already
        return 1
    if auto:
        workers = min(workers, _affordable(config or ExtractConfig()))
    return min(workers, n_pages)


def _affordable(config: ExtractConfig) -> int:
    """How many processes can each take ``max_worker_memory_mb`` from the memory available."""
    available = limits.available_memory()
    if available is None:
        return MAX_AUTO_WORKERS
    return max(1, int(available // (config.max_worker_memory_mb * limits.MIB)))


class _Reader:
    """Reads pages into records, in page order: ``read(numbers, decided, doc_body_size)``.

    ``decided``: None for the first reading (candidate rows assumed to be running lines), else
    the candidate rows to remove per page. ``doc_body_size``: None while it is not known.
    """

    def __init__(self, pdf: pdfplumber.PDF, path: Path, config: ExtractConfig, n_pages: int):
        self.pdf, self.path, self.config, self.n_pages = pdf, path, config, n_pages

    def read(
        self, numbers: list[int], decided: dict[int, frozenset[int]] | None, doc_body_size: float | None,
        on_read: Callable[[int], None] | None = None, known: dict | None = None,
    ) -> list[_PageRecord]:
        """``on_read(n)``: told after every ``n`` pages read (here one by one). ``known``: what
        OCR read on some of the pages in an earlier reading (page → ``ocr.OcrPage``), so they are
        not OCRed again."""
        return _read_pages(self.pdf, self.path, self.config, self.n_pages, numbers, decided, doc_body_size, on_read,
                           known)

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

    def read(self, numbers, decided, doc_body_size, on_read=None, known=None):
        """As ``_Reader.read``; ``on_read(n)`` is told after each chunk of ``n`` pages, from
        whichever thread read it."""
        if not self.workers:
            return super().read(numbers, decided, doc_body_size, on_read, known)
        # Chunks are cut as they are taken, smaller towards the end (each costs one round trip;
        # pages differ in cost, so the last chunks decide how long the others wait). A short
        # document is read in parallel only for its OCR (seconds a page): page by page.
        least = 1 if len(numbers) < PARALLEL_MIN_PAGES else 2
        processes = len(self.workers) + 1
        most = min(16, max(least, math.ceil(len(numbers) / (processes * 8))))
        results: dict[int, list[_PageRecord] | BaseException] = {}  # by the chunk's first index
        lock = threading.Lock()
        state = {"next": 0, "stop": False}

        def take() -> tuple[int, list[int]] | None:
            with lock:
                start = state["next"]
                if state["stop"] or start >= len(numbers):
                    return None
                size = _chunk_size(len(numbers) - start, processes, least, most)
                state["next"] = start + size
                return start, numbers[start : start + size]

        def parts(chunk: list[int]) -> tuple:
            chunk_decided = {n: decided[n] for n in chunk} if decided is not None else None
            chunk_known = {n: known[n] for n in chunk if n in known} if known else None
            return chunk, chunk_decided, doc_body_size, chunk_known

        def failed(start: int, exc: BaseException) -> None:
            results[start] = exc
            state["stop"] = True

        def done(start: int, chunk: list[int], records: list[_PageRecord]) -> None:
            results[start] = records
            if on_read is not None:
                on_read(len(chunk))

        def run_here() -> None:  # this process reads too
            while (got := take()) is not None:
                start, chunk = got
                chunk, chunk_decided, body_size, chunk_known = parts(chunk)
                try:
                    done(start, chunk, _Reader.read(self, chunk, chunk_decided, body_size, None, chunk_known))
                except BaseException as exc:  # kept, and raised below in page order
                    failed(start, exc)

        def run_worker(worker: _WorkerProcess) -> None:
            # Two requests are kept in the worker's pipe: it starts the next chunk as soon as it
            # has sent a reply, without waiting for this process's thread to get the GIL back.
            sent: list[tuple[int, list[int]]] = []

            def send_next() -> None:
                if (got := take()) is None:
                    return
                try:
                    worker.send_request(*parts(got[1]))
                except _WorkerEnded as exc:
                    failed(got[0], _worker_ended_error(self.path, got[1], exc, self.config))
                else:
                    sent.append(got)

            send_next()
            send_next()
            while sent:
                start, chunk = sent.pop(0)
                try:
                    done(start, chunk, worker.receive())
                except _WorkerEnded as exc:  # killed (out of memory?) or crashed: say which pages
                    if exc.code == -signal.SIGINT:  # Ctrl-C reached it (the terminal's process group)
                        failed(start, KeyboardInterrupt())
                        return
                    failed(start, _worker_ended_error(self.path, chunk, exc, self.config))
                    return  # (the chunk sent after it is not read: an earlier page fails)
                except BaseException as exc:  # kept, and raised below in page order
                    failed(start, exc)
                send_next()

        threads = [threading.Thread(target=run_worker, args=(w,), daemon=True) for w in self.workers]
        for t in threads:
            t.start()
        run_here()
        if any(isinstance(r, KeyboardInterrupt) for r in results.values()):
            # Ctrl-C: the workers are interrupted now, not left to finish the chunks they are
            # reading (OCR: seconds a page), as Ctrl-C at a terminal does (their tesseract is ended
            # with them); their threads then find them ended (``close`` kills one that lingers).
            for worker in self.workers:
                if worker.proc.poll() is None:
                    worker.proc.send_signal(signal.SIGINT)
        for t in threads:
            t.join()
        for result in results.values():  # an interruption before any failure of a page (a
            if isinstance(result, KeyboardInterrupt):  # worker it reached ended by SIGINT)
                raise result
        records: list[_PageRecord] = []
        for start in sorted(results):  # in page order: the first page that fails is the one reported
            result = results[start]
            if isinstance(result, BaseException):
                raise result
            records.extend(result)
        if len(records) != len(numbers):  # cannot happen without an error above
            raise RuntimeError(f"extract: {len(records)} of {len(numbers)} pages read")
        return records


def _chunk_size(remaining: int, processes: int, least: int, most: int) -> int:
    """How many of the ``remaining`` pages the next chunk takes when ``processes`` read them:
    a quarter of an even share, between ``least`` and ``most`` (never more than remain), so the
    chunks shrink towards the end and the processes finish close together."""
    return min(remaining, most, max(least, math.ceil(remaining / (processes * 4))))


_WORKER_CODE = "import pipeline.extract.reader as r; r._worker_main()"


class _WorkerEnded(RuntimeError):
    """A worker process ended while it was asked for pages (killed, or crashed)."""

    def __init__(self, code: int | None, last_words: str):
        if code is None:
            how = "it closed its pipe"
        elif code < 0:
            try:
                how = f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exit code {code}"
        self.code, self.how, self.last_words = code, how, last_words
        said = f"; its last words: {last_words}" if last_words else ""
        super().__init__(f"an extract worker process ended unexpectedly ({how}{said})")


def _worker_ended_error(path: Path, chunk: list[int], exc: _WorkerEnded, config: ExtractConfig) -> ExtractError:
    budget = config.max_worker_memory_mb
    said = f"; its last words: {exc.last_words}" if exc.last_words else ""
    return ExtractError(
        f"{path.name}: the worker process reading {_page_ranges(chunk)} ended unexpectedly ({exc.how}{said})",
        "it was probably killed for using too much memory (each process reading pages may take "
        f"{budget:g} MiB: ExtractConfig.max_worker_memory_mb); check where the file came from, then run "
        "with fewer workers (extract_pdf(..., workers=N)), a lower limit or on a machine with more memory",
    )


class _WorkerProcess:
    """One worker process (see ``_PagePool``) and its pipes. Its stderr (pdfminer's warnings, a
    crash's last words) goes to a temporary file, never to the caller's console."""

    def __init__(self, path: Path, config: ExtractConfig, n_pages: int):
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])  # import this very pipeline
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        self.stderr = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-P", "-c", _WORKER_CODE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=self.stderr, env=env,
            )
        except BaseException:
            self.stderr.close()
            raise
        try:
            self._send((str(path), config, n_pages))
        except OSError:
            pass  # it died at once: the first read says so

    def _send(self, message) -> None:
        pickle.dump(message, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self.proc.stdin.flush()

    def read(self, numbers, decided, doc_body_size, known=None) -> list[_PageRecord]:
        """The records of pages ``numbers``: ``send_request`` then ``receive``."""
        self.send_request(numbers, decided, doc_body_size, known)
        return self.receive()

    def send_request(self, numbers, decided, doc_body_size, known=None) -> None:
        """Ask for the records of pages ``numbers`` (as ``_Reader.read``); the worker answers
        requests in the order they were sent, each with one ``receive``. Raises ``_WorkerEnded``
        when the worker is gone."""
        try:
            self._send((numbers, decided, doc_body_size, known))
        except OSError as exc:
            raise self._ended() from exc

    def receive(self) -> list[_PageRecord]:
        """The reply to the oldest request not yet received: its records, or its error raised
        (``_WorkerEnded`` when the worker ended instead of answering)."""
        try:
            reply = pickle.load(self.proc.stdout)
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            raise self._ended() from exc
        kind, *rest = reply
        if kind == "ok":
            return rest[0]
        if kind == "error":  # a PipelineError: rebuilt from its parts (pickling loses them)
            cls, what, todo = rest
            raise cls(what, todo)
        exc, trace = rest
        raise exc if exc is not None else RuntimeError(f"extract worker failed:\n{trace}")

    def _ended(self) -> _WorkerEnded:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        return _WorkerEnded(code, self._last_words())

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
        self.stderr.close()

    def _last_words(self) -> str:
        """The last line the worker wrote to stderr (a crash's exception), shortened."""
        try:
            self.stderr.seek(0, os.SEEK_END)
            size = self.stderr.tell()
            self.stderr.seek(max(0, size - 4096))
            lines = [ln.strip() for ln in self.stderr.read().decode("utf-8", "replace").splitlines()]
        except (OSError, ValueError):
            return ""
        lines = [ln for ln in lines if ln]
        return lines[-1][:200] if lines else ""


def _worker_main() -> None:
    """A worker process's loop: open the PDF named by the first message, then answer each
    request (page numbers, decisions, body size) with their records, until None. The limits of
    ``config`` hold throughout; once the PDF is open, its address space may grow by the memory
    budget only (``limits.limit_address_space``)."""
    out = os.fdopen(os.dup(1), "wb")  # the replies; anything printed goes to stderr instead
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    path, config, n_pages = pickle.load(inp)
    with limits.reading(config):
        pdf, failure = None, None
        try:
            pdf = _open_pdf(Path(path))
        except PipelineError as exc:  # answered to every request
            failure = ("error", type(exc), exc.what, exc.todo)
        limits.limit_address_space(config.max_worker_memory_mb)
        while True:
            try:
                request = pickle.load(inp)
            except EOFError:  # the caller is gone
                break
            if request is None:
                break
            numbers, decided, doc_body_size, known = request
            reply = failure or _answer(pdf, Path(path), config, n_pages, numbers, decided, doc_body_size, known)
            try:
                data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
            except MemoryError:  # the chunk's records do not fit in what is left
                reply = _memory_reply(Path(path), numbers, config)
                data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
            out.write(data)
            out.flush()
    # Ended without tearing the interpreter down (modules, pdfminer's objects): the caller waits
    # for this exit, and the operating system frees everything at once.
    out.close()
    sys.stderr.flush()
    os._exit(0)


def _answer(pdf, path: Path, config: ExtractConfig, n_pages: int, numbers, decided, doc_body_size,
            known=None) -> tuple:
    try:
        return ("ok", _read_pages(pdf, path, config, n_pages, numbers, decided, doc_body_size, known=known))
    except PipelineError as exc:
        return ("error", type(exc), exc.what, exc.todo)
    except MemoryError:  # the address-space limit, outside a page
        return _memory_reply(path, numbers, config)
    except Exception as exc:
        try:
            pickle.dumps(exc)
            return ("exception", exc, traceback.format_exc())
        except Exception:
            return ("exception", None, traceback.format_exc())


def _memory_reply(path: Path, numbers: list[int], config: ExtractConfig) -> tuple:
    budget = config.max_worker_memory_mb
    return ("error", limits.MemoryLimitReached,
            f"{path.name}: {_page_ranges(numbers)} cannot be read: reading them needs more than {budget:g} MiB "
            "of memory, the limit for one process reading pages (ExtractConfig.max_worker_memory_mb)",
            limits.memory_todo(budget))


def _read_pages(
    pdf: pdfplumber.PDF,
    path: Path,
    config: ExtractConfig,
    n_pages: int,
    numbers: list[int],
    decided: dict[int, frozenset[int]] | None,
    doc_body_size: float | None,
    on_read: Callable[[int], None] | None = None,
    known: dict | None = None,
) -> list[_PageRecord]:
    with fewer_collections():
        return _read_each(pdf, path, config, n_pages, numbers, decided, doc_body_size, on_read, known)


def _read_each(pdf, path, config, n_pages, numbers, decided, doc_body_size, on_read, known) -> list[_PageRecord]:
    """``_read_pages``, with the garbage collector's thresholds as they are."""
    pages = pdf.pages
    document = _pdfium_document(pdf, path, config)
    records = []
    for number in numbers:
        page = pages[number - 1]
        assumed = decided[number] if decided is not None else None
        try:
            limits.check_memory()
            record = _page_record(page, path, config, n_pages, assumed, doc_body_size, (known or {}).get(number),
                                  document)
        except Exception as exc:  # a limit reached, or recursion too deep: say so, with the page
            error = limits.page_error(exc, path, number, config.max_worker_memory_mb, _resources(page))
            if error is None:
                raise
        else:
            records.append(record)
            page.close()  # frees pdfplumber's cached layout; matters for long documents
            if on_read is not None:
                on_read(1)
            continue
        page.close()  # raised outside the handler: the failed page's objects are freed first
        raise error
    return records


def _pdfium_document(pdf: pdfplumber.PDF, path: Path, config: ExtractConfig):
    """The PDF opened by PDFium once per process and kept with pdfplumber's (None with the
    pdfplumber engine, or when PDFium cannot open what pdfplumber opened: every page is then
    read by the reference reader)."""
    if config.engine != "pdfium":
        return None
    document = getattr(pdf, "_jstmine_pdfium", False)
    if document is False:
        try:
            document = pdfium_glyphs.open_document(path)
        except pdfium_glyphs.pdfium.PdfiumError:
            document = None
        pdf._jstmine_pdfium = document
    return document


def _resources(page: pdfplumber.page.Page):
    try:
        return page.page_obj.resources
    except Exception:
        return None


class _PageCount:
    """Pages read so far, told to ``progress(done, total)``: (0, total) first, then after every
    page or chunk, increasing, one call at a time, ending at (total, total)."""

    def __init__(self, progress: Callable[[int, int], None], total: int):
        self.progress, self.total, self.done = progress, total, 0
        self.lock = threading.Lock()
        progress(0, total)

    def add(self, n: int) -> None:
        with self.lock:
            self.done += n
            self.progress(self.done, self.total)


def _read_document(reader: _Reader, n_pages: int, config: ExtractConfig,
                   progress: Callable[[int, int], None] | None = None) -> list[_PageRecord]:
    """Every page's record, with the document-wide decisions applied. ``progress(done, total)``
    follows the first reading of the pages (the few read again afterwards are not counted)."""
    count = _PageCount(progress, n_pages) if progress is not None else None
    records = reader.read(list(range(1, n_pages + 1)), None, None, count.add if count is not None else None)
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
        known = {rec.number: rec.ocr for rec in records if rec.number in set(redo) and rec.ocr is not None}
        again = {rec.number: rec for rec in reader.read(redo, {n: decided[n] for n in redo}, doc_body_size,
                                                        known=known)}
        records = [again.get(rec.number, rec) for rec in records]
    for rec in records:
        if rec.pending is not None:
            _finish_page(rec, rec.pending, doc_body_size)
    return records



def _size_matters(rec: _PageRecord, doc_body_size: float) -> bool:
    """Whether building the page with the document's body size instead of its own would change
    which of its lines count as larger than the body (headings)."""
    if rec.body_size is None or rec.body_size == doc_body_size or rec.ocr is not None:
        return False  # (an OCR page is built with its own body size whatever the document's)
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


