"""Benchmark: the process-report flow on long reports, against the floor and the naive pipeline.

    make bench                      # or: .venv/bin/python bench/run.py [--pages 300] [--big-pages 1000]

What it does (every measured thing runs in a subprocess of its own, so that its time, its peak
memory and its imports are its own):

1. generates a report of ``--pages`` pages (default 300, about 300,000 characters) and one of
   ``--big-pages`` pages (default 1,000) from the sample edition (``samples/sample_edition.md``
   rendered by ``samples.build``): the sample's chapters repeated with new chapter and section
   numbers, their paragraphs rotated, every third chapter set in two columns, the appendix
   table in every round; running header and footer on every page. Generated PDFs are cached
   (``--cache``), keyed on the sample's text and this generator;
2. starts ``prefect server start`` on a free loopback port with a fresh home (unless
   ``PREFECT_API_URL`` is set: then that server is used);
3. measures Prefect's own start-up: a trivial flow (one task) run the same way as the real one,
   against the loopback server and against a temporary server per run (no PREFECT_API_URL);
4. runs ``flows.process_report.process_report`` on the local PDF cold (fresh output directory and
   fresh PREFECT_LOCAL_STORAGE_PATH) and warm (same PDF, same output directory: the edition is up
   to date), reading each stage's duration from its task run through the Prefect client;
5. times the floor (pdfplumber ``extract_text()`` on every page in one process, then bare SudachiPy
   mode C over that text in chunks under 49,149 bytes) and the naive pipeline (``extract_text()``
   plus ``spacy.load("ja_ginza")`` on every paragraph; GiNZA runs on a fixed sample of pages and
   its time is extrapolated linearly by characters: it says so in the output);
6. times ``extract_pdf`` alone in one process and with worker processes, and pdftotext and
   pypdfium2 for context;
7. compares tagging quality on the executive summary: the country × technology pairs of
   ``tests/summary_truth.py`` (checked by the acceptance test) recovered by the flow and by GiNZA's NER;
8. OCR: the sample edition scanned (rendered, turned slightly, speckled, saved as an image-only
   PDF) and read by OCR, in one process and with worker processes: seconds per page and the
   character error rate against the text layer; and ``extract_pdf`` with ``--ocr off`` and
   ``auto`` on the born-digital report, counting the pages rendered (``--ocr-only`` runs just this);
9. runs the flow cold on the big report for its peak memory;
10. a corpus: ``--corpus-reports`` (20) generated reports of ``--corpus-pages`` (100) pages, each
    with its own text (paragraphs rotated differently, an edition note), served from a loopback
    listing; ``jstmine update`` as a user types it, in a fresh process: by default and with
    ``--workers 2`` (three times each, alternated: the fastest counts), with ``--workers 1``, and with
    ``--dask-address`` on a ``dask scheduler`` and ``dask worker`` started separately; wall time,
    pages/s, CPU use of every process over the run, and every published table compared with the
    default run's (``--corpus-only`` runs just this, with the single-report cold flow it is
    compared with);
11. prints the figures and writes them to ``bench/RESULTS.md`` (``--results``).

Peak memory is the peak of the summed resident memory of the measured process and all its
children (polled with psutil every 50 ms), with the process's own ``ru_maxrss`` as a cross-check.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SUMMARY_TXT = SHARED / "reference" / "fy2024-rr02-executive-summary.txt"
RESULT_MARK = "BENCH_RESULT "
GENERATOR_VERSION = "2"  # bump when the generated report changes
SUDACHI_MAX_BYTES = 49_149

TARGETS = {
    "cold_over_floor": 0.25,  # cold flow (beyond Prefect start-up) / floor: at most (issue 15)
    "naive_over_cold": 5.0,  # naive / cold flow: at least
    "warm_seconds": 2.0,  # warm re-run beyond Prefect start-up: at most
    "cli_over_floor": 0.5,  # `jstmine run` end to end, fresh process, `jstmine server start` running / floor: at most
    "peak_mb": 1536.0,  # peak memory: at most (1.5 GB)
    "extract_over_pdfium": 2.0,  # extract_pdf (engine pdfium) / pypdfium2 get_text_range(): at most
    "peak_growth": 1.1,  # issue 15, target 4: the big report's peak / the 300-page report's peak, at most
}


# ---------------------------------------------------------------------------------------------
# The generated report
# ---------------------------------------------------------------------------------------------


def _sample_chapters(text: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Front matter lines, and (heading line, blocks) per chapter of the sample's source text.
    A block is a paragraph, a heading or a table (with its caption), as text lines."""
    lines = text.splitlines()
    end = lines.index("---", 1)
    front = lines[: end + 1]
    chapters: list[tuple[str, list[str]]] = []
    block: list[str] = []

    def flush() -> None:
        if block and chapters:
            chapters[-1][1].append("\n".join(block))
        block.clear()

    for line in lines[end + 1 :]:
        if line.startswith("<!--"):  # format notes and column directives: set below
            continue
        if line.startswith("# "):
            flush()
            chapters.append((line, []))
        elif not line.strip():
            flush()
        elif line.startswith("#"):  # a section heading is a block of its own
            flush()
            block.append(line)
            flush()
        else:
            block.append(line)
    flush()
    return front, chapters


def edition_text(units: int, shift: int = 0) -> str:
    """The sample edition's chapters repeated (renumbered, paragraphs rotated, every third chapter
    in two columns) until ``units`` blocks (chapter headings, section headings, paragraphs,
    tables) are written. Each extra unit adds at most about a third of a page. ``shift``: rotate
    the paragraphs that much further (another report of the corpus: same size, other text)."""
    from samples import SAMPLE_EDITION

    front, chapters = _sample_chapters(SAMPLE_EDITION.read_text(encoding="utf-8"))
    out = list(front)
    written = number = round_ = 0
    while written < units:
        for heading, blocks in chapters:
            if written >= units:
                break
            m = re.match(r"^# 第(\d+)章 (.*)$", heading)
            if m:
                number += 1
                out += ["", f"# 第{number}章 {m.group(2)}", ""]
                if (number + round_) % 3 == 0:
                    out += ["<!-- columns: 2 -->", ""]
                old = m.group(1)
                blocks = [re.sub(rf"^## {old}\.", f"## {number}.", b) for b in blocks]
            else:  # the appendix: its table in every round
                out += ["", f"# 付録{round_ + 1} {heading[2:].split(' ', 1)[-1]}", ""]
            written += 1
            for section in _rotated_sections(blocks, round_ + shift):
                if written >= units:
                    break
                out += [section, ""]
                written += 1
        round_ += 1
    return "\n".join(out) + "\n"


def _rotated_sections(blocks: list[str], shift: int) -> list[str]:
    """Paragraphs rotated by ``shift`` within each run between headings and tables."""
    out: list[str] = []
    run: list[str] = []
    for block in blocks + ["#"]:
        if block.startswith("#") or block.startswith("Table:") or block.startswith("|"):
            if run:
                k = shift % len(run)
                out += run[k:] + run[:k]
                run = []
            if block != "#":
                out.append(block)
        else:
            run.append(block)
    return out


def _page_count(pdf: Path) -> int:
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(pdf))
    try:
        return len(doc)
    finally:
        doc.close()


def build_report(target_pages: int, cache: Path) -> Path:
    """A PDF of exactly ``target_pages`` pages (or the nearest the generator reaches), cached."""
    from samples import SAMPLE_EDITION
    from samples.build import build_sample_pdf

    key = hashlib.sha256(SAMPLE_EDITION.read_bytes() + GENERATOR_VERSION.encode()).hexdigest()[:12]
    final = cache / f"report-{target_pages}p-{key}.pdf"
    if final.is_file():
        return final
    cache.mkdir(parents=True, exist_ok=True)
    source = cache / f"report-{target_pages}p-{key}.md"
    tried: dict[int, int] = {}

    def pages_for(units: int) -> int:
        if units not in tried:
            source.write_text(edition_text(units), encoding="utf-8")
            tmp = cache / f".building-{os.getpid()}.pdf"
            build_sample_pdf(tmp, source=source)
            tried[units] = _page_count(tmp)
            tmp.replace(cache / f".units-{units}.pdf")
            print(f"  generated {units} units: {tried[units]} pages", flush=True)
        return tried[units]

    units = max(10, round(target_pages * 5.6))  # the sample: about 5.6 blocks per page
    for _ in range(12):
        pages = pages_for(units)
        if pages == target_pages:
            break
        below = [u for u, p in tried.items() if p < target_pages]
        above = [u for u, p in tried.items() if p > target_pages]
        lo, hi = (max(below) if below else None), (min(above) if above else None)
        if lo is not None and hi is not None:
            if hi - lo <= 1:
                break
            # interpolate between the closest points on either side
            frac = (target_pages - tried[lo]) / (tried[hi] - tried[lo])
            units = min(hi - 1, max(lo + 1, lo + round(frac * (hi - lo))))
        else:
            units = max(1, units + round((target_pages - pages) * units / max(pages, 1)))
    best = min(tried, key=lambda u: (abs(tried[u] - target_pages), -u))
    (cache / f".units-{best}.pdf").replace(final)
    source.write_text(edition_text(best), encoding="utf-8")
    for leftover in cache.glob(".units-*.pdf"):
        leftover.unlink()
    return final


# ---------------------------------------------------------------------------------------------
# Measured things (each runs as `run.py --child KIND`; its result is printed as JSON)
# ---------------------------------------------------------------------------------------------


def _rusage() -> dict:
    import resource

    out = {
        "maxrss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "maxrss_children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }
    # What the process holds at the end, by kind: mapped files (SudachiPy's dictionary is a
    # 217 MB file mapped into memory; its pages count as they are touched) or its own memory.
    try:
        status = Path("/proc/self/status").read_text().splitlines()
        kb = {k: int(v.split()[0]) for k, _, v in (line.partition(":") for line in status) if k in ("RssAnon", "RssFile")}
        out |= {"rss_anon_mb": kb["RssAnon"] / 1024, "rss_file_mb": kb["RssFile"] / 1024}
    except (OSError, KeyError, ValueError):
        pass
    return out


def _cpu() -> float:
    import resource

    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def _page_texts(pdf: str) -> list[str]:
    import pdfplumber

    texts = []
    with pdfplumber.open(pdf) as doc:
        for page in doc.pages:
            texts.append(page.extract_text() or "")
            page.close()
    return texts


def _chars(texts) -> int:
    return sum(len(re.sub(r"\s+", "", t)) for t in texts)


def _naive_paragraphs(page_text: str) -> list[str]:
    """What a naive pipeline calls paragraphs: the page's lines joined (no space: Japanese)
    until a line ends a sentence."""
    paragraphs, current = [], ""
    for line in page_text.splitlines():
        current += line.strip()
        if current and current.endswith(("。", "．", "！", "？")):
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return paragraphs


def child_trivial(p: dict) -> dict:
    t0 = time.perf_counter()
    from prefect import flow, task

    from flows.heartbeats import no_heartbeat_join

    no_heartbeat_join()  # as in jstmine's flows: the run's end does not wait for its heartbeat thread
    t1 = time.perf_counter()

    @task
    def one() -> int:
        return 1

    @flow(name="bench-trivial")
    def trivial() -> int:
        return one()

    trivial()
    t2 = time.perf_counter()
    from flows.events import wait_for_events

    wait_for_events()  # its events sent before the child ends (no "Still processing items" at exit); not timed
    return {"import": t1 - t0, "run": t2 - t1}


def child_flow(p: dict) -> dict:
    t0 = time.perf_counter()
    from flows.gc_imports import imports_frozen

    with imports_frozen():  # as `jstmine run` imports it (flows.cli): the collector off, then frozen
        from flows.process_report import process_report

    t1 = time.perf_counter()
    state = process_report(source=p["pdf"], edition=p["edition"], out_dir=p["out"], raw_dir=p["raw"],
                           return_state=True)
    t2 = time.perf_counter()
    result = {"import": t1 - t0, "run": t2 - t1, "state": state.name, **_rusage()}
    summary = state.result(raise_on_failure=False)
    if hasattr(summary, "pages"):
        result.update(pages=summary.pages, sentences=summary.sentences, tokens=summary.tokens,
                      mentions=summary.mentions, unchanged=summary.unchanged)
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
    runs = sorted(runs, key=lambda r: r.start_time or r.expected_start_time)
    result["stages"] = [
        {"name": r.name.rsplit("-", 1)[0], "state": r.state.name if r.state else "",
         "seconds": r.total_run_time.total_seconds()}
        for r in runs
    ]
    return result


def child_floor(p: dict) -> dict:
    import pdfplumber  # noqa: F401 (imported before the clock starts, as in the flow)
    from sudachipy import Dictionary, SplitMode

    t0 = time.perf_counter()
    texts = _page_texts(p["pdf"])
    t1 = time.perf_counter()
    tokenizer = Dictionary(dict="core").create(SplitMode.C)
    tokens = 0
    for chunk in _chunks("\n".join(texts), SUDACHI_MAX_BYTES - 149):
        tokens += len(tokenizer.tokenize(chunk))
    t2 = time.perf_counter()
    return {"extract": t1 - t0, "tokenize": t2 - t1, "total": t2 - t0, "chars": _chars(texts),
            "chars_with_spaces": sum(len(t) for t in texts),
            "pages": len(texts), "tokens": tokens, **_rusage()}


def _chunks(text: str, max_bytes: int):
    """Lines packed into chunks under ``max_bytes`` UTF-8 bytes (a longer line is cut)."""
    chunk, size = [], 0
    for line in text.splitlines(keepends=True):
        n = len(line.encode("utf-8"))
        while n > max_bytes:
            head, line = line[: max_bytes // 4], line[max_bytes // 4 :]
            yield head
            n = len(line.encode("utf-8"))
        if size + n > max_bytes:
            yield "".join(chunk)
            chunk, size = [], 0
        chunk.append(line)
        size += n
    if chunk:
        yield "".join(chunk)


def child_naive(p: dict) -> dict:
    import pdfplumber  # noqa: F401
    import spacy

    t0 = time.perf_counter()
    texts = _page_texts(p["pdf"])
    t1 = time.perf_counter()
    nlp = spacy.load("ja_ginza")
    t2 = time.perf_counter()
    step = max(1, len(texts) // p["sample_pages"])
    sample = list(range(0, len(texts), step))[: p["sample_pages"]]
    sample_paragraphs = [para for i in sample for para in _naive_paragraphs(texts[i])]
    all_paragraphs = [para for t in texts for para in _naive_paragraphs(t)]
    t3 = time.perf_counter()
    for _ in nlp.pipe(sample_paragraphs):
        pass
    t4 = time.perf_counter()
    sample_chars = sum(len(x) for x in sample_paragraphs)
    all_chars = sum(len(x) for x in all_paragraphs)
    ginza = (t4 - t3) * all_chars / sample_chars
    return {"extract": t1 - t0, "load": t2 - t1, "ginza_sample": t4 - t3, "sample_pages": len(sample),
            "sample_chars": sample_chars, "paragraph_chars": all_chars, "paragraphs": len(all_paragraphs),
            "ginza_chars_per_s": sample_chars / (t4 - t3), "ginza_extrapolated": ginza,
            "total": (t1 - t0) + (t2 - t1) + ginza, **_rusage()}


def child_extract(p: dict) -> dict:
    from pipeline.extract import extract_pdf

    c0, t0 = _cpu(), time.perf_counter()
    doc = extract_pdf(Path(p["pdf"]), workers=p["workers"])
    t1 = time.perf_counter()
    return {"seconds": t1 - t0, "cpu": _cpu() - c0, "pages": len(doc.pages), "blocks": len(doc.blocks),
            "chars": sum(x.chars for x in doc.pages), **_rusage()}


def _pdfium_texts(pdf: str) -> list[str]:
    """pypdfium2's plain ``get_text_range()`` of every page of ``pdf`` (the context baseline)."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(pdf)
    texts = []
    for i in range(len(doc)):
        page = doc[i]
        textpage = page.get_textpage()
        texts.append(textpage.get_text_range())
        textpage.close()
        page.close()
    doc.close()
    return texts


def child_context(p: dict) -> dict:
    import pypdfium2  # noqa: F401 (imported before the clock starts)

    t0 = time.perf_counter()
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", p["pdf"], "-"], capture_output=True, check=True).stdout
    t1 = time.perf_counter()
    texts = _pdfium_texts(p["pdf"])
    t2 = time.perf_counter()
    return {"pdftotext": t1 - t0, "pdftotext_chars": _chars([out.decode("utf-8", "replace")]),
            "pypdfium2": t2 - t1, "pypdfium2_chars": _chars(texts)}


def child_naive_quality(p: dict) -> dict:
    """GiNZA's NER on the summary, read with our lexicon: entity text that is a country/region
    alias is a country, one that is a technology alias a technology (GiNZA has no technology
    label); a paragraph's subject is its first country entity."""
    import spacy

    from pipeline.lexicon import load_lexicon

    lexicon = load_lexicon()
    places, techs = {}, {}
    for entry in lexicon.entries.values():
        for alias in entry.aliases:
            if entry.label in ("COUNTRY", "REGION"):
                places[alias] = entry.id
            elif entry.label == "TECHNOLOGY":
                techs[alias] = lexicon.top(entry.id)
    nlp = spacy.load("ja_ginza")
    paragraphs = [para for t in _page_texts(p["pdf"]) for para in _naive_paragraphs(t)]
    pairs, labels, tech_entities, tech_terms = set(), {}, 0, 0
    for doc in nlp.pipe(paragraphs):
        subject = None
        for ent in doc.ents:
            text = unicodedata.normalize("NFKC", ent.text)
            labels[ent.label_] = labels.get(ent.label_, 0) + 1
            if subject is None and text in places:
                subject = places[text]
            if text in techs:
                tech_entities += 1
                if subject is not None:
                    pairs.add((subject, techs[text]))
        tech_terms += sum(unicodedata.normalize("NFKC", doc.text).count(a) for a in ("AI", "量子", "半導体", "バイオ"))
    return {"pairs": sorted(pairs), "labels": labels, "tech_entities": tech_entities,
            "tech_terms_in_text": tech_terms}


def child_ocr(p: dict) -> dict:
    """extract_pdf on an image-only copy of a PDF (every page OCRed) and on the original: seconds
    per page and the character error rate of the OCR text against the text layer's."""
    from pipeline.extract import extract_pdf
    from pipeline.extract.ocr import character_error_rate

    born = extract_pdf(Path(p["born"]), workers=1)
    c0, t0 = _cpu(), time.perf_counter()
    doc = extract_pdf(Path(p["pdf"]), workers=p["workers"])
    seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    pages = [character_error_rate(b.text, o.text) for b, o in zip(born.pages, doc.pages, strict=True)]
    return {"seconds": seconds, "cpu": cpu, "pages": len(doc.pages),
            "ocr_pages": sum(x.text_source == "ocr" for x in doc.pages),
            "cer": character_error_rate("".join(x.text for x in born.pages), "".join(x.text for x in doc.pages)),
            "cer_pages": pages, "confidence": [x.ocr_confidence for x in doc.pages],
            "languages": sorted({x.ocr_language for x in doc.pages}), **_rusage()}


def child_ocr_mode(p: dict) -> dict:
    """extract_pdf on a born-digital PDF in one process with ``--ocr`` ``p["mode"]``, counting the
    pages rendered for OCR."""
    from pipeline.extract import ExtractConfig, extract_pdf, ocr

    renders = []
    real = ocr.render_page
    ocr.render_page = lambda *a: renders.append(a[1]) or real(*a)
    c0, t0 = _cpu(), time.perf_counter()
    doc = extract_pdf(Path(p["pdf"]), ExtractConfig(ocr=p["mode"]), workers=1)
    return {"seconds": time.perf_counter() - t0, "cpu": _cpu() - c0, "pages": len(doc.pages), "renders": len(renders),
            "ocr_pages": sum(x.text_source == "ocr" for x in doc.pages), **_rusage()}


def child_engines(p: dict) -> dict:
    """In one process, one after the other: pypdfium2's plain ``get_text_range()`` over every
    page, then ``extract_pdf`` with each engine (worker processes as in the flow)."""
    import pypdfium2  # noqa: F401 (imported before the clock starts)

    from pipeline.extract import ExtractConfig, extract_pdf

    t0 = time.perf_counter()
    _pdfium_texts(p["pdf"])
    out = {"get_text_range": time.perf_counter() - t0}
    for engine in ("pdfium", "pdfplumber"):
        t0 = time.perf_counter()
        extracted = extract_pdf(Path(p["pdf"]), ExtractConfig(engine=engine), workers=p["workers"])
        out[engine] = time.perf_counter() - t0
        out[f"{engine}_blocks"] = len(extracted.blocks)
    return {**out, **_rusage()}


CHILDREN = {
    "trivial": child_trivial, "flow": child_flow, "floor": child_floor, "naive": child_naive,
    "extract": child_extract, "context": child_context, "naive_quality": child_naive_quality,
    "ocr": child_ocr, "ocr_mode": child_ocr_mode, "engines": child_engines,
}


def ocr_benchmark(pdf: Path, work: Path, env: dict, child, repeat: int) -> dict:
    """OCR: the sample edition scanned (tests/scanned.py: 200 dpi, slight rotation, 2 % speckle)
    read in one process and with worker processes; the cost of ``--ocr auto`` against ``off`` on
    the born-digital ``pdf``, back to back, in one process (the fastest of ``repeat`` runs)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from scanned import scanned_copy

    from samples.build import build_sample_pdf

    born = build_sample_pdf(work / "ocr-sample.pdf")
    scan = scanned_copy(born, work / "ocr-scanned.pdf")
    out: dict = {}
    print("OCR: the sample edition scanned, one process and worker processes", flush=True)
    out["one"] = child("ocr", env, pdf=str(scan), born=str(born), workers=1)
    out["workers"] = child("ocr", env, pdf=str(scan), born=str(born), workers=None)
    print("OCR: --ocr off and auto on the born-digital report", flush=True)
    runs = {"off": [], "auto": []}
    for _ in range(repeat):
        for mode in ("off", "auto"):
            runs[mode].append(child("ocr_mode", env, pdf=str(pdf), mode=mode))
    out["off"], out["auto"] = _best(runs["off"], "seconds"), _best(runs["auto"], "seconds")
    return out


def ocr_report(o: dict) -> list[str]:
    """The OCR section of the results."""
    one, par, off, auto = o["one"], o["workers"], o["off"], o["auto"]
    pages = sorted(one["cer_pages"])
    confidences = [c for c in one["confidence"] if c is not None]
    return [
        "## OCR",
        "",
        f"The sample edition ({one['pages']} pages) rendered at 200 dpi, each page turned 0.2–0.4° and 2 % of its "
        "pixels set to random grey, saved as an image-only PDF (`tests/scanned.py`), read with `--ocr auto` "
        f"(every page OCRed: {one['ocr_pages']} of {one['pages']}; models {', '.join(one['languages'])}) and "
        "compared with the born-digital original's text layer.",
        "",
        "| | |",
        "|---|---|",
        f"| OCR, one process | {one['seconds'] / one['pages']:.2f} s per page ({one['seconds']:.1f} s, CPU {one['cpu']:.1f} s) |",
        f"| OCR, worker processes | {par['seconds'] / par['pages']:.2f} s per page ({par['seconds']:.1f} s) |",
        f"| character error rate, whole document | {one['cer']:.1%} |",
        f"| character error rate per page: median, best, worst | {pages[len(pages) // 2]:.1%}, {pages[0]:.1%}, {pages[-1]:.1%} |",
        f"| mean word confidence (tesseract) | {min(confidences):.0f}–{max(confidences):.0f} |",
        f"| `--ocr off` on the born-digital {off['pages']}-page report | {off['seconds']:.2f} s |",
        f"| `--ocr auto` on it | {auto['seconds']:.2f} s ({(auto['seconds'] / off['seconds'] - 1):+.1%}); pages rendered: {auto['renders']} |",
        "",
        "The whole-document error rate counts the contents page (its dot leaders) and the tables (a text "
        "layer's tables are cut out of the page text; OCR pages have no table detection) as errors; "
        "the per-page median is the body text.",
        "",
    ]



# ---------------------------------------------------------------------------------------------
# A corpus: `jstmine update` on many reports from a loopback listing
# ---------------------------------------------------------------------------------------------

CORPUS_IGNORED = {"documents": {"processed_at", "fetched_at", "raw_path"}}  # when and where, nothing else
CORPUS_REPEAT = 3  # runs of plain and of --workers 2 each, alternated (the fastest counts)


def build_corpus(reports: int, pages: int, cache: Path) -> list[Path]:
    """``reports`` distinct reports of about ``pages`` pages each, cached: the generated report's
    text with its paragraphs rotated differently per report and an edition note of its own (so
    each is a different PDF and edition); the block count that gives ``pages`` pages for the
    first one is used for all (they differ by a page or so)."""
    from samples import SAMPLE_EDITION
    from samples.build import build_sample_pdf

    key = hashlib.sha256(SAMPLE_EDITION.read_bytes() + GENERATOR_VERSION.encode() + b"corpus1").hexdigest()[:12]
    folder = cache / f"corpus-{pages}p-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    units_file = folder / "units.txt"
    if units_file.is_file():
        units = int(units_file.read_text())
    else:  # the block count for `pages` pages, as build_report finds it (a few tries)
        units, tried = max(10, round(pages * 5.6)), {}
        for _ in range(8):
            source = folder / ".search.md"
            source.write_text(edition_text(units), encoding="utf-8")
            tried[units] = _page_count(build_sample_pdf(folder / ".search.pdf", source=source))
            if tried[units] == pages:
                break
            units = max(1, units + round((pages - tried[units]) * units / max(tried[units], 1)))
            if units in tried:
                break
        units = min(tried, key=lambda u: (abs(tried[u] - pages), -u))
        units_file.write_text(str(units))
    out = []
    for k in range(reports):
        pdf = folder / f"corpus{k + 1:02d}.pdf"
        if not pdf.is_file():
            source = folder / f".corpus{k + 1:02d}.md"
            source.write_text(edition_text(units, shift=k), encoding="utf-8")
            build_sample_pdf(folder / ".building.pdf", source=source, edition_note=f"コーパス第{k + 1}版")
            (folder / ".building.pdf").replace(pdf)
            print(f"  corpus report {k + 1} of {reports}: {_page_count(pdf)} pages", flush=True)
        out.append(pdf)
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in out}
    if len(digests) != len(out):
        raise RuntimeError(f"the corpus under {folder} has identical reports: delete it and run again")
    return out


def corpus_listing(server, pdfs: list[Path], work: Path) -> Path:
    """Serve ``pdfs`` from ``server`` (tests/httpserver.py) under a listing page, one entry each
    (ids corpus01…, one date each), and write a sources file following them all."""
    from samples.build import build_listing_html

    entries = []
    for k, pdf in enumerate(pdfs):
        server.serve_pdf(f"/corpus/{pdf.name}", pdf.read_bytes(), etag=f'"{pdf.stem}"')
        entries.append({"id": pdf.stem, "title": f"【調査報告書】ベンチマーク・コーパス（{k + 1}）",
                        "date": f"2025年{k % 12 + 1}月{k // 12 + 1}日", "href": pdf.name})
    page = build_listing_html(entries, work / "corpus-listing.html")
    url = server.serve_html("/corpus/report_2022.html", page.read_text(encoding="utf-8"))
    sources = work / "corpus-sources.toml"
    sources.write_text(f'[[source]]\nname = "corpus"\nlisting = "{url}"\nlink_pattern = \'corpus\\d+\'\n', encoding="utf-8")
    return sources


def _proc_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by these processes and their children."""
    return sum(_tree_cpu(pid) for pid in pids)


def run_update(sources: Path, out: Path, env: dict, log: Path, *options: str, others: list[int] | None = None,
               server_pid: int | None = None, on_start=None) -> dict:
    """`jstmine update` as a user types it, in a fresh process, into ``out`` (fresh output, raw
    and result storage): its wall time, and the CPU time of its whole process tree (the
    process's own and every descendant's it waited for, from ``wait4``), plus what the already
    running ``others`` (a Dask scheduler and workers) used meanwhile; apart, what the Prefect
    server (``server_pid``, None: not ours to measure) used meanwhile. ``on_start``: called with
    the command's process id once it is started (``bench/corpus_trace.py`` samples it), or None."""
    out.mkdir(parents=True, exist_ok=True)
    env = dict(env, PREFECT_LOCAL_STORAGE_PATH=str(out / "storage"), COLUMNS="200")
    cmd = [str(Path(sys.executable).with_name("jstmine")), "update", "--sources", str(sources),
           "--out", str(out / "processed"), "--raw", str(out / "raw"), *options]
    load = os.getloadavg()[0]
    before = _proc_cpu(others or [])
    server_before = _tree_cpu(server_pid)
    with log.open("a") as fh:
        fh.write(f"\n=== {' '.join(cmd)}\n")
        fh.flush()
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=out, env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if on_start is not None:
            on_start(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"jstmine update {' '.join(options)} failed (exit {proc.returncode}); see {log}")
    others_cpu = _proc_cpu(others or []) - before
    return {"options": list(options), "wall": wall, "cpu": usage.ru_utime + usage.ru_stime + others_cpu,
            "others_cpu": others_cpu, "load_before": load, "processed": str(out / "processed"),
            "server_cpu": _tree_cpu(server_pid) - server_before if server_pid else None}


def compare_editions(got: Path, expected: Path) -> list[str]:
    """Every published table of every edition in ``expected`` against ``got`` (the same editions,
    tables, schemas and values, the when and where of ``CORPUS_IGNORED`` aside): the differences."""
    import pyarrow.parquet as pq

    editions = sorted(p.name for p in expected.iterdir() if p.is_symlink())
    diffs = []
    if sorted(p.name for p in got.iterdir() if p.is_symlink()) != editions:
        return [f"editions differ: {sorted(p.name for p in got.iterdir() if p.is_symlink())} against {editions}"]
    for edition in editions:
        names = sorted(p.stem for p in (expected / edition).glob("*.parquet"))
        if sorted(p.stem for p in (got / edition).glob("*.parquet")) != names:
            diffs.append(f"{edition}: other tables")
            continue
        for name in names:
            a, b = pq.read_table(got / edition / f"{name}.parquet"), pq.read_table(expected / edition / f"{name}.parquet")
            drop = sorted(CORPUS_IGNORED.get(name, set()))
            a, b = a.drop_columns(drop), b.drop_columns(drop)
            if a.schema != b.schema or not a.equals(b):
                diffs.append(f"{edition}/{name}")
    return diffs


def start_dask(env: dict, log: Path, workers: int) -> tuple[list[subprocess.Popen], str]:
    """A `dask scheduler` and `dask worker --nworkers N --nthreads 1` on 127.0.0.1, started as a
    user would (own process groups), once ``workers`` workers have connected: the processes and
    the scheduler's address."""
    from distributed import Client

    bindir = Path(sys.executable).parent
    scheduler_file = log.with_name("dask-scheduler.json")
    scheduler_file.unlink(missing_ok=True)
    out = log.open("a")
    procs = [subprocess.Popen([str(bindir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(scheduler_file)],
                              env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)]
    deadline = time.time() + 60
    while not scheduler_file.is_file() and time.time() < deadline:
        time.sleep(0.2)
    address = json.loads(scheduler_file.read_text())["address"]
    procs.append(subprocess.Popen([str(bindir / "dask"), "worker", address, "--nworkers", str(workers), "--nthreads", "1",
                                   "--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0"],
                                  env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
    with Client(address, timeout=60) as client:
        client.wait_for_workers(workers, timeout=120)
    return procs, address


def stop_dask(procs: list[subprocess.Popen]) -> None:
    for proc in reversed(procs):  # workers first; our own process groups only
        stop_server(proc)


def corpus_benchmark(work: Path, env: dict, reports: int, pages: int, cache: Path, server_pid: int | None = None) -> dict:
    """`jstmine update` on ``reports`` generated reports of ``pages`` pages from a loopback listing:
    without --workers, with --workers 2, and on a Dask scheduler and workers started separately
    (--dask-address); wall time, CPU time of all the processes involved, and whether every
    published table is identical to the plain run's."""
    sys.path.insert(0, str(ROOT / "tests"))
    from httpserver import HTTPTestServer

    print(f"corpus: {reports} reports of {pages} pages", flush=True)
    pdfs = build_corpus(reports, pages, cache)
    total = sum(_page_count(p) for p in pdfs)
    log = work / "corpus.log"
    res: dict = {"reports": len(pdfs), "pages": total, "cores": os.cpu_count(), "runs": {}}
    with HTTPTestServer() as server:
        sources = corpus_listing(server, pdfs, work)
        # plain and --workers 2 (the same configuration on 2 cores) CORPUS_REPEAT times each,
        # alternated: the fastest of each counts, as for the cold flow (their difference is
        # otherwise one run's spread, which the verdict then compares it with: _workers_verdict)
        tries: dict[str, list[dict]] = {}
        for k, (label, options) in enumerate((("plain", ()), ("workers2", ("--workers", "2"))) * CORPUS_REPEAT
                                             + (("workers1", ("--workers", "1")),)):
            print(f"corpus: jstmine update {' '.join(options)}", flush=True)
            tries.setdefault(label, []).append(run_update(sources, work / f"corpus-{label}-{k}", env, log, *options,
                                                          server_pid=server_pid))
        for label, runs in tries.items():
            res["runs"][label] = dict(min(runs, key=lambda r: r["wall"]), repeats=[r["wall"] for r in runs])
        print("corpus: jstmine update --dask-address (dask scheduler and workers started separately)", flush=True)
        dask_env = dict(env, PREFECT_LOCAL_STORAGE_PATH=str(work / "corpus-dask" / "storage"))
        procs, address = start_dask(dask_env, log, 2)
        try:
            pids = [p.pid for p in procs]
            res["runs"]["dask"] = run_update(sources, work / "corpus-dask", env, log, "--dask-address", address, others=pids,
                                             server_pid=server_pid)
        finally:
            stop_dask(procs)
    plain = Path(res["runs"]["plain"]["processed"])
    for label in ("workers2", "workers1", "dask"):
        res["runs"][label]["differences"] = compare_editions(Path(res["runs"][label]["processed"]), plain)
    for label in ("plain", "workers2"):  # the slower runs' tables too
        for r in tries[label]:
            if Path(r["processed"]) not in (plain, Path(res["runs"][label]["processed"])):
                res["runs"][label].setdefault("differences", []).extend(compare_editions(Path(r["processed"]), plain))
    return res


def corpus_figures(c: dict, startup_process: float, single_rate: float | None) -> dict:
    """Per run: pages/s over the whole process, pages/s beyond Prefect start-up (minus the trivial
    flow's process time, as the single report's rate is beyond its start-up), CPU use of the cores."""
    out = {}
    for label, r in c["runs"].items():
        beyond = r["wall"] - startup_process
        out[label] = {"rate": c["pages"] / r["wall"], "rate_beyond": c["pages"] / beyond if beyond > 0 else float("nan"),
                      "cpu_share": r["cpu"] / (r["wall"] * c["cores"]),
                      "server_share": (r["server_cpu"] / (r["wall"] * c["cores"])
                                       if r.get("server_cpu") is not None else None)}
    out["single_rate"] = single_rate
    return out


def corpus_targets(c: dict, startup_process: float, single: dict | None) -> list[str]:
    """The corpus's rows of a Targets table (| what | measured | target | |)."""
    single_rate = single["pages"] / single["beyond"] if single else None
    f = corpus_figures(c, startup_process, single_rate)
    ok = lambda good: "met" if good else "**missed**"  # noqa: E731
    plain, two, dask = (c["runs"][k] for k in ("plain", "workers2", "dask"))
    others = [c["runs"][k].get("differences", []) for k in ("plain", "workers2", "workers1", "dask") if k in c["runs"]]
    best = min(f[k]["rate_beyond"] for k in ("plain", "workers2"))
    lines = []
    if single_rate:
        lines.append(f"| corpus pages/s beyond Prefect start-up, slower of plain and `--workers 2` / single-report cold rate "
                     f"| {best:.1f} / {single_rate:.1f} = **{best / single_rate:.2f}** | ≥ 1 | {ok(best >= single_rate)} |")
    lines += [
        f"| `--workers 2` / plain, wall time | {two['wall']:.1f} s / {plain['wall']:.1f} s = **{two['wall'] / plain['wall']:.2f}** "
        f"| ≤ 1 | {_workers_verdict(c)} |",
        # one decimal: a share just under the target must not read as the target itself ("90 %", missed)
        f"| CPU use over the run, plain | **{f['plain']['cpu_share']:.1%}** of {c['cores']} cores | ≥ 90 % | "
        f"{ok(f['plain']['cpu_share'] >= 0.9)} |",
        f"| identical tables, `--workers 2`, `--workers 1` and `--dask-address` against plain"
        f"{' (and the repeated runs)' if _repeats_note(c) else ''} | "
        f"**{'yes' if not any(others) else 'no: ' + ', '.join(sum(others, [])[:6])}** "
        f"| identical | {ok(not any(others))} |",
    ]
    return lines


def _workers_verdict(c: dict) -> str:
    """Whether ``--workers 2`` was no slower than plain: met when its fastest run was no slower;
    missed otherwise. On 2 cores, where the two are the same configuration (the default is one
    process per core, and the same pool runs), a miss by no more than the spread of either's own
    repeated runs (the slowest minus the fastest) says so: it is still not counted as met."""
    plain, two = c["runs"]["plain"], c["runs"]["workers2"]
    if two["wall"] <= plain["wall"]:
        return "met"
    spreads = [max(r) - min(r) for r in (plain.get("repeats", []), two.get("repeats", [])) if len(r) > 1]
    slower = two["wall"] - plain["wall"]
    if c["cores"] == 2 and spreads and slower <= max(spreads):
        return (f"**missed** by {slower:.1f} s, within the spread of the same command's own runs "
                f"({max(spreads):.1f} s): on 2 cores the two are the same configuration")
    return "**missed**"


def _repeats_note(c: dict) -> str:
    """How many times plain and ``--workers 2`` ran (alternated) and each run's wall time; "" for
    results of a bench that ran each once."""
    repeats = {k: c["runs"][k].get("repeats", []) for k in ("plain", "workers2")}
    if not all(len(r) > 1 for r in repeats.values()):
        return ""
    shown = "; ".join(f"{'plain' if k == 'plain' else '`--workers 2`'} {', '.join(f'{x:.1f}' for x in r)} s"
                      for k, r in repeats.items())
    return (f"; plain and `--workers 2` ran {len(repeats['plain'])} times each, alternated, and the fastest run of "
            f"each counts ({shown}): on 2 cores they are the same configuration, and one run each would compare "
            "run-to-run spread")


def corpus_report(c: dict, startup_process: float, single: dict | None, targets: bool = False) -> list[str]:
    """The corpus section of the results; with ``targets``, its own Targets rows first."""
    single_rate = single["pages"] / single["beyond"] if single else None
    f = corpus_figures(c, startup_process, single_rate)
    lines = [f"## Corpus: `jstmine update` on {c['reports']} reports ({c['pages']:,} pages) from a loopback listing", ""]
    if targets:
        lines += ["| what | measured | target | |", "|---|---|---|---|", *corpus_targets(c, startup_process, single), ""]
    lines += [
        "| run | wall time | pages/s | pages/s beyond Prefect start-up | CPU (all processes) | CPU use of the cores "
        "| the Prefect server's CPU meanwhile | load before |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, name in (("plain", "`jstmine update` (the default: side by side, one process per core)"),
                        ("workers2", "`jstmine update --workers 2`"),
                        ("workers1", "`jstmine update --workers 1` (one report after the other)"),
                        ("dask", "`jstmine update --dask-address` (scheduler and 2 one-thread workers started before)")):
        if label not in c["runs"]:
            continue
        r = c["runs"][label]
        server = ("" if f[label]["server_share"] is None
                  else f"{r['server_cpu']:.1f} s ({f[label]['server_share']:.0%} of the cores)")
        lines.append(f"| {name} | {r['wall']:.1f} s | {f[label]['rate']:.1f} | {f[label]['rate_beyond']:.1f} | "
                     f"{r['cpu']:.1f} s | {f[label]['cpu_share']:.1%} | {server} | {r['load_before']:.1f} |")
    lines += [
        "",
        "Each run is `jstmine update` in a fresh process against the loopback Prefect server, with a fresh output "
        "directory, download directory and result storage (nothing cached)"
        + _repeats_note(c)
        + ". *Pages/s beyond Prefect start-up*: "
        f"pages / (wall time − {startup_process:.1f} s, the trivial flow's process time), as the single report's rate is "
        "its pages / its cold flow run beyond start-up"
        + (f" ({single['pages']} pages / {single['beyond']:.1f} s = {single_rate:.1f} pages/s, this bench run)" if single else "")
        + ". *CPU use*: user + system CPU of the update process and every process it started (`wait4`), plus the Dask "
        "scheduler's and workers' for the Dask run, over wall time × cores; the target counts only these. "
        "*The Prefect server's CPU*: what the loopback server (state changes, logs, events of the run's task runs) used "
        "during the run on the same cores, measured apart and not counted in the CPU use. Tables: every Parquet table of every edition "
        "compared with the plain run's (`processed_at`, `fetched_at`, `raw_path` of `documents` aside).",
        "",
    ]
    return lines


# ---------------------------------------------------------------------------------------------
# Running the measured things
# ---------------------------------------------------------------------------------------------


class TreeMemory:
    """Peak of the summed RSS of a process and its descendants, polled every 50 ms."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        try:
            import psutil
        except ImportError:
            return
        try:
            proc = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop.is_set():
            try:
                total = proc.memory_info().rss
                for child in proc.children(recursive=True):
                    try:
                        total += child.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
            except psutil.Error:
                return
            self._stop.wait(0.05)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak / 2**20


def _tree_cpu(pid: int | None) -> float:
    """CPU seconds used so far by a process and its children (0 without psutil)."""
    if pid is None:
        return 0.0
    try:
        import psutil

        procs = [psutil.Process(pid)]
        procs += procs[0].children(recursive=True)
        total = 0.0
        for proc in procs:
            try:
                t = proc.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total
    except Exception:
        return 0.0


def run_child(kind: str, params: dict, env: dict, log: Path, server_pid: int | None = None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--params", json.dumps(params)]
    load = os.getloadavg()[0]
    server_cpu = _tree_cpu(server_pid)
    started = time.perf_counter()
    with log.open("a") as err:
        err.write(f"\n=== {kind} {json.dumps(params)}\n")
        err.flush()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
        memory = TreeMemory(proc.pid)
        out, _ = proc.communicate()
        peak = memory.stop()
    wall = time.perf_counter() - started
    lines = [ln for ln in out.splitlines() if ln.startswith(RESULT_MARK)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} failed (exit {proc.returncode}); see {log}")
    result = json.loads(lines[-1][len(RESULT_MARK):])
    result.update(process_seconds=wall, peak_tree_mb=peak, load_before=load,
                  server_cpu=_tree_cpu(server_pid) - server_cpu if server_pid else None)
    return result


def child_main(kind: str, params: str) -> None:
    result = CHILDREN[kind](json.loads(params))
    print(RESULT_MARK + json.dumps(result), flush=True)


# ---------------------------------------------------------------------------------------------
# The Prefect server
# ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, log: Path) -> tuple[subprocess.Popen, str, float]:
    port = _free_port()
    env = dict(os.environ, PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    env.pop("PREFECT_API_URL", None)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("prefect")), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log.open("a"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited (code {proc.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url, time.perf_counter() - started
        except OSError:
            time.sleep(0.5)
    stop_server(proc)
    raise RuntimeError(f"prefect server did not become healthy in 120 s; see {log}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # our own server's process group (uvicorn workers)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# ---------------------------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------------------------


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{kb / 2**20:.0f} GB"
    except (OSError, AttributeError):
        pass
    return {"nproc": os.cpu_count(), "cpu": model or platform.processor(), "memory": mem,
            "python": platform.python_version(), "system": platform.platform()}


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def benchmark(args) -> dict:
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="jstmine-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "bench.log"
    cache = Path(args.cache)
    res: dict = {"machine": machine(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "command": "make bench", "args": vars(args), "work": str(work), "loads": []}
    # JSTMINE_WARM=0: a warm runner the user has running (jstmine server start) would run the
    # commands measured here in its own processes, out of reach of wait4 and of the timing
    # (the warm runner is measured on purpose, by cli_benchmark, with a runner of its own)
    base_env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
                    PREFECT_HOME=str(work / "prefect-home"), JSTMINE_WARM="0")

    server_pid: list[int | None] = [None]

    def child(kind: str, env: dict | None = None, **params) -> dict:
        r = run_child(kind, params, env or base_env, log, server_pid[0])
        res["loads"].append(r["load_before"])
        return r

    print(f"work directory {work} (log: {log})", flush=True)
    print(f"generating a {args.pages}-page report", flush=True)
    pdf = build_report(args.pages, cache)
    big = None
    if args.big_pages:
        print(f"generating a {args.big_pages}-page report", flush=True)
        big = build_report(args.big_pages, cache)
    res["pdf"], res["big_pdf"] = str(pdf), str(big) if big else None

    server = None
    if os.environ.get("PREFECT_API_URL"):
        api_url, res["server"] = os.environ["PREFECT_API_URL"], {"url": os.environ["PREFECT_API_URL"], "ours": False}
    else:
        print("starting prefect server on loopback", flush=True)
        server, api_url, startup = start_server(work / "server-home", work / "server.log")
        res["server"] = {"url": api_url, "ours": True, "startup_seconds": startup}
        server_pid[0] = server.pid
    env = dict(base_env, PREFECT_API_URL=api_url)
    try:
        print("Prefect start-up: trivial flows", flush=True)
        res["trivial_loopback"] = [child("trivial", env) for _ in range(3)]
        ephemeral_env = {k: v for k, v in base_env.items() if k != "PREFECT_API_URL"}
        home = work / "ephemeral-home"
        res["trivial_ephemeral"] = [child("trivial", dict(ephemeral_env, PREFECT_HOME=str(home))) for _ in range(2)]
        lean = dict(ephemeral_env, PREFECT_HOME=str(home), PREFECT_UI_ENABLED="false",
                    **{f"PREFECT_SERVER_SERVICES_{s}_ENABLED": "false" for s in (
                        "SCHEDULER", "LATE_RUNS", "FOREMAN", "CANCELLATION_CLEANUP", "PAUSE_EXPIRATIONS",
                        "REPOSSESSOR", "TRIGGERS", "EVENT_LOGGER", "PROACTIVE_TRIGGERS")})
        res["trivial_ephemeral_lean"] = [child("trivial", lean) for _ in range(2)]

        colds = []
        for k in range(args.repeat):
            print(f"flow, cold, {args.pages} pages ({k + 1} of {args.repeat})", flush=True)
            out, storage = work / f"run300-{k}", work / f"storage300-{k}"
            flow_env = dict(env, PREFECT_LOCAL_STORAGE_PATH=str(storage))
            flow_params = dict(pdf=str(pdf), edition="bench", out=str(out / "processed"), raw=str(out / "raw"))
            colds.append((child("flow", flow_env, **flow_params), flow_env, flow_params))
        best = min(range(len(colds)), key=lambda k: colds[k][0]["run"])
        res["cold"] = _best([c for c, _, _ in colds], "run")
        print("flow, warm (same PDF, same output directory)", flush=True)
        res["warm"] = child("flow", colds[best][1], **colds[best][2])

        print("jstmine run as a user types it, with jstmine server start running", flush=True)
        res["cli"] = cli_benchmark(pdf, work, base_env, args.repeat)
        res["loads"] += [r["load_before"] for runs in (res["cli"]["warm"], res["cli"]["own"]) for r in runs]

        print("floor: pdfplumber extract_text + SudachiPy", flush=True)
        res["floor"] = _best([child("floor", env, pdf=str(pdf)) for _ in range(args.repeat)], "total")
        print(f"naive: extract_text + GiNZA on {args.naive_sample_pages} sample pages (extrapolated)", flush=True)
        res["naive"] = child("naive", env, pdf=str(pdf), sample_pages=args.naive_sample_pages)
        print("extract_pdf alone, one process and worker processes", flush=True)
        res["extract_1"] = _best([child("extract", env, pdf=str(pdf), workers=1) for _ in range(args.repeat)], "seconds")
        res["extract_n"] = _best([child("extract", env, pdf=str(pdf), workers=None) for _ in range(args.repeat)], "seconds")
        print("pdftotext and pypdfium2", flush=True)
        res["context"] = child("context", env, pdf=str(pdf))
        print("extract_pdf with each engine, and pypdfium2 get_text_range(), in one process", flush=True)
        res["engines"] = min((child("engines", env, pdf=str(pdf), workers=None) for _ in range(args.repeat)),
                             key=lambda r: r["pdfium"])

        if args.corpus_reports:
            res["corpus"] = corpus_benchmark(work, env, args.corpus_reports, args.corpus_pages, cache, server_pid[0])

        if SUMMARY_TXT.is_file():
            print("tagging quality on the executive summary", flush=True)
            res["quality"] = quality(work, env, child)
        else:
            res["quality"] = None

        res["ocr"] = ocr_benchmark(pdf, work, env, child, args.repeat)

        if big:
            print(f"flow, cold, {args.big_pages} pages (peak memory)", flush=True)
            out, storage = work / "runbig", work / "storagebig"
            res["cold_big"] = child("flow", dict(env, PREFECT_LOCAL_STORAGE_PATH=str(storage)), pdf=str(big),
                                    edition="bench-big", out=str(out / "processed"), raw=str(out / "raw"))
            print(f"extract_pdf alone, {args.big_pages} pages (peak memory)", flush=True)
            res["extract_big"] = child("extract", env, pdf=str(big), workers=None)
    finally:
        if server is not None:
            stop_server(server)
    return res


def cli_benchmark(pdf: Path, work: Path, base_env: dict, repeat: int) -> dict:
    """``jstmine run`` end to end as a user types it, each in a fresh process, cold (a new output
    directory and a new Prefect result storage): with ``jstmine server start`` running (the Prefect
    server and the warm runner), and with the same server but the command in its own process
    (``JSTMINE_WARM=0``). The server is started as a user starts it, in a state directory of its own."""
    jstmine = str(Path(sys.executable).parent / "jstmine")
    home = work / "jstmine-home"
    env = {k: v for k, v in base_env.items() if k != "PREFECT_API_URL"}
    env["JSTMINE_HOME"] = str(home)
    started = subprocess.run([jstmine, "server", "start", "--port", "0"], env=env, cwd=work, capture_output=True,
                             text=True, timeout=300)
    if started.returncode != 0:
        raise RuntimeError(f"jstmine server start failed: {started.stdout}{started.stderr}")

    def served() -> int:
        log = home / "warm.log"
        return log.read_text(encoding="utf-8").count(": jstmine run ") if log.exists() else 0

    def one(tag: str, k: int, warm: bool) -> dict:
        out = work / f"cli-{tag}-{k}"
        run_env = dict(env, PREFECT_LOCAL_STORAGE_PATH=str(work / f"cli-storage-{tag}-{k}"),
                       JSTMINE_WARM="1" if warm else "0")
        before, load = served(), os.getloadavg()[0]
        t0 = time.perf_counter()
        done = subprocess.run([jstmine, "run", "--source", str(pdf), "--out", str(out / "processed"),
                               "--raw", str(out / "raw")], env=run_env, cwd=work, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if done.returncode != 0:
            raise RuntimeError(f"jstmine run failed (exit {done.returncode}): {done.stderr[-2000:]}")
        return {"seconds": seconds, "load_before": load, "by_runner": served() > before}

    try:
        result = {"warm": [one("warm", k, True) for k in range(repeat)],
                  "own": [one("own", k, False) for k in range(repeat)]}
    finally:
        subprocess.run([jstmine, "server", "stop"], env=env, cwd=work, capture_output=True, timeout=120)
    result["best_warm"] = min(r["seconds"] for r in result["warm"])
    result["best_own"] = min(r["seconds"] for r in result["own"])
    return result


def _best(runs: list[dict], key: str) -> dict:
    """The fastest of repeated runs (the machine may be shared), with the highest peak memory."""
    best = dict(min(runs, key=lambda r: r[key]))
    best.update(peak_tree_mb=max(r["peak_tree_mb"] for r in runs), repeats=[r[key] for r in runs])
    return best


def quality(work: Path, env: dict, child) -> dict:
    import pyarrow.parquet as pq

    from samples.build import build_text_pdf

    sys.path.insert(0, str(ROOT / "tests"))
    from summary_truth import TECHNOLOGIES  # the acceptance test's pairs: one source of truth

    expected = {(c, t) for c, techs in TECHNOLOGIES.items() for t in techs}
    pdf = build_text_pdf(SUMMARY_TXT.read_text(encoding="utf-8"), work / "summary.pdf", title="エグゼクティブ・サマリー")
    out = work / "summary-run"
    child("flow", dict(env, PREFECT_LOCAL_STORAGE_PATH=str(work / "storage-summary")), pdf=str(pdf),
          edition="summary", out=str(out / "processed"), raw=str(out / "raw"))
    rows = pq.read_table(out / "processed" / "summary" / "country_technology.parquet").to_pylist()
    ours = {(r["country"], r["technology"]) for r in rows}
    naive = child("naive_quality", env, pdf=str(pdf))
    naive_pairs = {tuple(x) for x in naive["pairs"]}
    return {"expected": len(expected), "ours": len(ours & expected), "ours_extra": sorted(ours - expected),
            "naive": len(naive_pairs & expected), "naive_extra": sorted(naive_pairs - expected),
            "naive_labels": naive["labels"], "naive_tech_entities": naive["tech_entities"],
            "naive_tech_terms_in_text": naive["tech_terms_in_text"]}


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


def figures(res: dict) -> dict:
    f: dict = {}
    trivial = res["trivial_loopback"]
    f["startup_run"] = _median([t["run"] for t in trivial])
    f["startup_process"] = _median([t["process_seconds"] for t in trivial])
    f["startup_import"] = _median([t["import"] for t in trivial])
    f["ephemeral_process"] = [t["process_seconds"] for t in res["trivial_ephemeral"]]
    f["ephemeral_lean_process"] = [t["process_seconds"] for t in res["trivial_ephemeral_lean"]]
    cold, warm, floor, naive = res["cold"], res["warm"], res["floor"], res["naive"]
    f["chars"] = floor["chars"]
    f["cold_beyond_startup"] = cold["run"] - f["startup_run"]
    f["warm_beyond_startup"] = warm["run"] - f["startup_run"]
    f["tasks_total"] = sum(s["seconds"] for s in cold["stages"])
    f["prefect_overhead"] = cold["run"] - f["tasks_total"]
    f["cold_over_floor"] = f["cold_beyond_startup"] / floor["total"]
    f["tasks_over_floor"] = f["tasks_total"] / floor["total"]
    f["naive_over_cold"] = naive["total"] / f["cold_beyond_startup"]
    f["peak_mb"] = cold["peak_tree_mb"]
    f["peak_big_mb"] = res["cold_big"]["peak_tree_mb"] if res.get("cold_big") else None
    return f


def _fmt_s(x: float) -> str:
    return f"{x:.1f} s" if x >= 10 else f"{x:.2f} s"


def _rate(chars: int, seconds: float) -> str:
    return f"{chars / seconds:,.0f}" if seconds > 0 else "–"


def _growth(small: dict, big: dict, f: dict) -> str:
    """The peak's growth per 100 pages between the two reports, and the page count at which, growing
    so, it would reach the memory cap."""
    extra_pages = (big.get("pages") or 0) - (small.get("pages") or 0)
    if extra_pages <= 0:
        return ""
    per_page = (f["peak_big_mb"] - f["peak_mb"]) / extra_pages
    if per_page <= 0:
        return "; no growth"
    at_cap = big["pages"] + (TARGETS["peak_mb"] - f["peak_big_mb"]) / per_page
    return f"; {per_page * 100:.0f} MB more per 100 pages: the cap would be reached at about {at_cap:,.0f} pages"


def tag_target_row(cold: dict, chars: int, ok) -> str:
    """The targets table's row for tagging against tokenizing (issue 15): characters/s of the
    cold flow's tag and tokenize tasks (Prefect task run durations), over the report's characters.
    ``ok``: the table's met/missed formatter."""
    seconds = {s["name"]: s["seconds"] for s in cold["stages"]}
    tag, tok = seconds.get("tag"), seconds.get("tokenize")
    if not tag or not tok:
        return "| tagging / tokenizing, characters/s | – | ≥ 1 | – |"
    return (f"| tagging / tokenizing, characters/s (cold flow's tasks) | {_rate(chars, tag)} / {_rate(chars, tok)} = "
            f"**{tok / tag:.2f}** | ≥ 1 | {ok(tok / tag >= 1)} |")


def _engine_rows(e: dict | None, chars: int) -> list[str]:
    """Baseline rows of the engines child: both engines and get_text_range, measured together."""
    if not e:
        return []
    return [
        f"| `extract_pdf`, engine pdfium (worker processes; the next three rows in one process, one run) | "
        f"{e['pdfium']:.2f} | {_rate(chars, e['pdfium'])} | |",
        f"| `extract_pdf`, engine pdfplumber (the reference reader) | {e['pdfplumber']:.2f} | "
        f"{_rate(chars, e['pdfplumber'])} | |",
        f"| pypdfium2 `get_text_range()` over every page | {e['get_text_range']:.2f} | "
        f"{_rate(chars, e['get_text_range'])} | |",
    ]


def report(res: dict) -> str:
    f = figures(res)
    m, cold, warm, floor, naive = res["machine"], res["cold"], res["warm"], res["floor"], res["naive"]
    chars = f["chars"]
    ok = lambda good: "met" if good else "**missed**"  # noqa: E731
    loads = res["loads"]
    lines = [
        "# Benchmark results",
        "",
        f"Reproduce with `make bench` (`.venv/bin/python bench/run.py`). Measured {res['date']} on "
        f"{m['nproc']} CPUs ({m['cpu']}), {m['memory']} RAM, Python {m['python']}, {m['system']}. "
        f"1-minute load average before each measurement: {min(loads):.1f}–{max(loads):.1f} "
        f"(the machine was {'shared with other work: times are inflated by it' if max(loads) > 1.5 else 'otherwise idle'}).",
        "",
        f"Report: {cold.get('pages', floor['pages'])} pages, {chars:,} characters (non-blank characters of pdfplumber's "
        f"`extract_text()`; {floor.get('chars_with_spaces', 0):,} with spaces and line breaks), generated from the sample edition: one- and two-column pages, a table per "
        f"round of chapters, running header and footer. Prefect: a `prefect server start` on loopback "
        f"({res['server']['url']}).",
        "",
        "## Targets",
        "",
        "| what | measured | target | |",
        "|---|---|---|---|",
        f"| cold flow beyond Prefect start-up / floor | {f['cold_beyond_startup']:.1f} s / {floor['total']:.1f} s = "
        f"**{f['cold_over_floor']:.2f}** | ≤ {TARGETS['cold_over_floor']:.2f} | {ok(f['cold_over_floor'] <= TARGETS['cold_over_floor'])} |",
        f"| naive / cold flow beyond start-up | {naive['total']:.0f} s / {f['cold_beyond_startup']:.1f} s = "
        f"**{f['naive_over_cold']:.1f}** | ≥ {TARGETS['naive_over_cold']:.0f} | {ok(f['naive_over_cold'] >= TARGETS['naive_over_cold'])} |",
        f"| warm re-run beyond Prefect start-up | **{f['warm_beyond_startup']:.2f} s** | ≤ {TARGETS['warm_seconds']:.0f} s | "
        f"{ok(f['warm_beyond_startup'] <= TARGETS['warm_seconds'])} |",
    ]
    if res.get("cli"):
        cli = res["cli"]
        ratio = cli["best_warm"] / floor["total"]
        lines.append(
            f"| `jstmine run` end to end, a fresh process, `jstmine server start` running / floor | "
            f"{cli['best_warm']:.1f} s / {floor['total']:.1f} s = **{ratio:.2f}** "
            f"(the command in its own process: {cli['best_own']:.1f} s = {cli['best_own'] / floor['total']:.2f}) | "
            f"≤ {TARGETS['cli_over_floor']:.2f} | {ok(ratio <= TARGETS['cli_over_floor'] and all(r['by_runner'] for r in cli['warm']))} |")
    lines += [
        f"| peak memory, flow process and children, {cold.get('pages', '')} pages | **{f['peak_mb']:,.0f} MB** | ≤ 1,536 MB | "
        f"{ok(f['peak_mb'] <= TARGETS['peak_mb'])} |",
    ]
    if res.get("engines"):
        e = res["engines"]
        ratio = e["pdfium"] / e["get_text_range"]
        lines.append(
            f"| extract stage / pypdfium2 `get_text_range()` (`extract_pdf`, engine pdfium, worker processes; same "
            f"process, same run) | {e['pdfium']:.2f} s / {e['get_text_range']:.2f} s = **{ratio:.1f}** | "
            f"≤ {TARGETS['extract_over_pdfium']:.0f} | {ok(ratio <= TARGETS['extract_over_pdfium'])} |")
    if f["peak_big_mb"] is not None:
        big = res["cold_big"]
        growth = f["peak_big_mb"] / f["peak_mb"]
        lines.append(
            f"| peak memory, {big.get('pages', '?')} pages | **{f['peak_big_mb']:,.0f} MB** = **{growth:.2f}×** the "
            f"{cold.get('pages', '')}-page peak | ≤ {TARGETS['peak_growth']:.1f} × the {cold.get('pages', '')}-page peak "
            f"(flat with size), ≤ 1,536 MB | {ok(growth <= TARGETS['peak_growth'] and f['peak_big_mb'] <= TARGETS['peak_mb'])} "
            f"({big.get('pages', 0) / max(cold.get('pages', 1), 1):.1f}× the pages{_growth(cold, big, f)}) |"
        )
    lines.append(tag_target_row(cold, chars, ok))
    if res.get("corpus"):
        lines += corpus_targets(res["corpus"], f["startup_process"],
                                {"pages": cold.get("pages", floor["pages"]), "beyond": f["cold_beyond_startup"]})
    lines += [
        "",
        f"The cold flow's tasks themselves take {f['tasks_total']:.1f} s ({f['tasks_over_floor']:.2f} × the floor); "
        f"the rest of its {cold['run']:.1f} s ({f['prefect_overhead']:.1f} s) is Prefect's own work between tasks "
        f"(see the README's Performance section).",
        "",
        f"## Cold flow, {cold.get('pages', '')} pages: stages (task run durations from the Prefect API)",
        "",
        "| stage | seconds | characters/s |",
        "|---|---|---|",
    ]
    for s in cold["stages"]:
        lines.append(f"| {s['name']} | {s['seconds']:.2f} | {_rate(chars, s['seconds'])} |")
    lines += [
        f"| **all tasks** | **{f['tasks_total']:.2f}** | {_rate(chars, f['tasks_total'])} |",
        f"| Prefect between and around tasks | {f['prefect_overhead']:.2f} | |",
        f"| **flow run** (`process_report(...)` call) | **{cold['run']:.2f}** | {_rate(chars, cold['run'])} |",
        f"| flow run beyond Prefect start-up | {f['cold_beyond_startup']:.2f} | {_rate(chars, f['cold_beyond_startup'])} |",
        "",
        f"Process: {cold['process_seconds']:.1f} s in all, of which importing `flows.process_report` {cold['import']:.1f} s. "
        f"Output: {cold.get('sentences', 0):,} sentences, {cold.get('tokens', 0):,} tokens, {cold.get('mentions', 0):,} mentions. "
        f"Peak memory {cold['peak_tree_mb']:,.0f} MB (summed RSS of the flow process and its extract worker, polled); "
        f"`ru_maxrss` of the flow process {cold['maxrss_self_mb']:,.0f} MB."
        + (f" The Prefect server used {cold['server_cpu']:.1f} s of CPU during the run, on the same {m['nproc']} cores."
           if cold.get("server_cpu") is not None else ""),
        "",
        f"Warm re-run (same PDF, same output directory: the edition is up to date and nothing is extracted): "
        f"flow run {warm['run']:.2f} s, {f['warm_beyond_startup']:.2f} s beyond Prefect start-up "
        f"(process {warm['process_seconds']:.1f} s; state {warm['state']}, unchanged={warm.get('unchanged')}).",
        "",
        "## Baselines on the same PDF",
        "",
        "| | seconds | characters/s | peak memory |",
        "|---|---|---|---|",
        f"| floor: pdfplumber `extract_text()`, one process | {floor['extract']:.1f} | {_rate(chars, floor['extract'])} | |",
        f"| floor: SudachiPy mode C on that text (dictionary load included) | {floor['tokenize']:.2f} | {_rate(chars, floor['tokenize'])} | |",
        f"| **floor** | **{floor['total']:.1f}** | {_rate(chars, floor['total'])} | {floor['peak_tree_mb']:,.0f} MB |",
        f"| naive: `extract_text()` | {naive['extract']:.1f} | {_rate(chars, naive['extract'])} | |",
        f"| naive: `spacy.load(\"ja_ginza\")` | {naive['load']:.1f} | | |",
        f"| naive: GiNZA on every paragraph (**extrapolated**: measured on {naive['sample_pages']} pages, "
        f"{naive['sample_chars']:,} characters, at {naive['ginza_chars_per_s']:,.0f} characters/s; "
        f"{naive['paragraph_chars']:,} characters in {naive['paragraphs']:,} paragraphs in all) | {naive['ginza_extrapolated']:.0f} | "
        f"{naive['ginza_chars_per_s']:,.0f} | |",
        f"| **naive** | **{naive['total']:.0f}** | {_rate(chars, naive['total'])} | {naive['peak_tree_mb']:,.0f} MB (sample run) |",
        f"| `extract_pdf`, one process (`workers=1`) | {res['extract_1']['seconds']:.1f} | {_rate(chars, res['extract_1']['seconds'])} | "
        f"{res['extract_1']['peak_tree_mb']:,.0f} MB |",
        f"| `extract_pdf`, worker processes (`workers=None`: {m['nproc']}) | {res['extract_n']['seconds']:.1f} | "
        f"{_rate(chars, res['extract_n']['seconds'])} | {res['extract_n']['peak_tree_mb']:,.0f} MB |",
        f"| context: pdftotext | {res['context']['pdftotext']:.2f} | {_rate(chars, res['context']['pdftotext'])} | |",
        f"| context: pypdfium2 | {res['context']['pypdfium2']:.2f} | {_rate(chars, res['context']['pypdfium2'])} | |",
        *_engine_rows(res.get("engines"), chars),
        "",
        f"`extract_pdf` CPU time: {res['extract_1']['cpu']:.1f} s in one process, {res['extract_n']['cpu']:.1f} s "
        f"with workers (this process and its workers together).",
        "",
        "## Prefect start-up (a trivial flow with one task, run the same way)",
        "",
        "| Prefect | process | import prefect | flow run |",
        "|---|---|---|---|",
        f"| `prefect server start` on loopback (median of 3) | {f['startup_process']:.1f} s | {f['startup_import']:.1f} s | {f['startup_run']:.1f} s |",
    ]
    for label, key in (("temporary server per run (no PREFECT_API_URL)", "trivial_ephemeral"),
                       ("temporary server, UI and server services off", "trivial_ephemeral_lean")):
        runs = res[key]
        cells = [" / ".join(f"{t[k]:.1f}" for t in runs) for k in ("process_seconds", "import", "run")]
        lines.append(f"| {label} | {cells[0]} s | {cells[1]} s | {cells[2]} s |")
    lines.append("")
    lines.append("(For the temporary server, the first run also creates its database.)")
    q = res.get("quality")
    lines += ["", "## Tagging quality: the executive summary's country × technology pairs", ""]
    if q:
        lines += [
            f"Expected pairs (tests/summary_truth.py `TECHNOLOGIES`, as the acceptance test checks them): {q['expected']}.",
            "",
            "| | pairs recovered | pairs not expected |",
            "|---|---|---|",
            f"| this pipeline (lexicon over Sudachi tokens, subject attribution) | **{q['ours']} of {q['expected']}** | "
            f"{len(q['ours_extra'])} {q['ours_extra'] or ''} |",
            f"| naive: GiNZA NER, entity text looked up in the lexicon, subject = first country of the paragraph | "
            f"**{q['naive']} of {q['expected']}** | {len(q['naive_extra'])} {q['naive_extra'] or ''} |",
            "",
            f"GiNZA has no technology label: of its entities ({', '.join(f'{k} {v}' for k, v in sorted(q['naive_labels'].items(), key=lambda kv: -kv[1])[:8])}, …), "
            f"{q['naive_tech_entities']} have a technology term of the lexicon as their text, while the text names "
            f"AI/量子/半導体/バイオ {q['naive_tech_terms_in_text']} times.",
        ]
    else:
        lines.append(f"Skipped: {SUMMARY_TXT} is not there.")
    if res.get("cold_big"):
        big = res["cold_big"]
        lines += [
            "",
            "## Memory with document size",
            "",
            "| report | flow run (tasks + Prefect between them) | peak memory, flow (process and extract worker) | `ru_maxrss` of the flow process | flow process at the end: own memory + mapped files | peak memory, `extract_pdf` alone (process and worker) |",
            "|---|---|---|---|---|---|",
        ]
        for run, ex in ((cold, res["extract_n"]), (big, res.get("extract_big"))):
            tasks = sum(x["seconds"] for x in run["stages"])
            lines.append(
                f"| {run.get('pages')} pages | {run['run']:.1f} s ({tasks:.1f} + {run['run'] - tasks:.1f}) | "
                f"{run['peak_tree_mb']:,.0f} MB | {run['maxrss_self_mb']:,.0f} MB | "
                + (f"{run['rss_anon_mb']:,.0f} + {run['rss_file_mb']:,.0f} MB | " if "rss_anon_mb" in run else "– | ")
                + (f"{ex['peak_tree_mb']:,.0f} MB ({ex['seconds']:.1f} s) |" if ex else "– |")
            )
        lines += [
            "",
            "Extraction keeps only small per-page records (no glyphs of other pages) in every process; "
            "what grows with the document is its text, tokens and tables, which every later stage holds. "
            "Mapped files are mostly SudachiPy's dictionary (a 217 MB file whose pages count once touched: "
            "bounded by its size, and shared between processes) and the libraries.",
        ]
    if res.get("corpus"):
        lines += ["", *corpus_report(res["corpus"], f["startup_process"],
                                     {"pages": cold.get("pages", floor["pages"]), "beyond": f["cold_beyond_startup"]})]
    if res.get("ocr"):
        lines += ["", *ocr_report(res["ocr"])]
    lines += [
        "",
        "## Definitions",
        "",
        f"- The cold flow, the floor and `extract_pdf` alone ran {len(cold.get('repeats', [0]))} times each; the fastest run "
        f"counts (cold flow runs: {', '.join(f'{x:.1f}' for x in cold.get('repeats', []))} s; floor: "
        f"{', '.join(f'{x:.1f}' for x in floor.get('repeats', []))} s), with the highest peak memory of the runs.",
        "- *Flow run*: the wall time of the `process_report(...)` call in a fresh process (imports excluded; "
        "they are given separately). *Beyond Prefect start-up*: minus the flow run time of the trivial flow.",
        "- *Floor*: pdfplumber `extract_text()` on every page in one process plus SudachiPy mode C on that text "
        f"(chunks under {SUDACHI_MAX_BYTES:,} bytes), imports excluded.",
        "- *Naive*: `extract_text()` plus the full `ja_ginza` pipeline on every paragraph (lines joined up to a "
        "sentence end); GiNZA's time is measured on evenly spaced sample pages and extrapolated linearly by characters.",
        "- Characters/s: the report's characters divided by the stage's seconds (the same numerator for every stage).",
        "- Peak memory: the peak of the summed RSS of the measured process and all its children, polled every 50 ms "
        "(`ru_maxrss` of the children is not used: a child started with fork counts its parent's pages until it execs).",
    ]
    return "\n".join(lines) + "\n"


def corpus_only(args, argv) -> int:
    """``--corpus-only``: a loopback Prefect server, the trivial flow (Prefect's start-up), the
    cold flow on the ``--pages`` report once (the single-report rate) and the corpus runs."""
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="jstmine-bench-corpus-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "bench.log"
    # JSTMINE_WARM=0: a warm runner the user has running (jstmine server start) would run the
    # commands measured here in its own processes, out of reach of wait4 and of the timing
    # (the warm runner is measured on purpose, by cli_benchmark, with a runner of its own)
    base_env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
                    PREFECT_HOME=str(work / "prefect-home"), JSTMINE_WARM="0")
    server = None
    if os.environ.get("PREFECT_API_URL"):
        api_url = os.environ["PREFECT_API_URL"]
    else:
        print("starting prefect server on loopback", flush=True)
        server, api_url, _ = start_server(work / "server-home", work / "server.log")
    env = dict(base_env, PREFECT_API_URL=api_url)
    try:
        pdf = build_report(args.pages, Path(args.cache))
        print("Prefect start-up: trivial flows", flush=True)
        trivial = [run_child("trivial", {}, env, log) for _ in range(3)]
        print(f"flow, cold, {args.pages} pages", flush=True)
        out = work / "single"
        cold = run_child("flow", dict(pdf=str(pdf), edition="bench", out=str(out / "processed"), raw=str(out / "raw")),
                         dict(env, PREFECT_LOCAL_STORAGE_PATH=str(work / "storage-single")), log)
        corpus = corpus_benchmark(work, env, args.corpus_reports, args.corpus_pages, Path(args.cache),
                                  server.pid if server is not None else None)
    finally:
        if server is not None:
            stop_server(server)
    startup_process = _median([t["process_seconds"] for t in trivial])
    single = {"pages": cold["pages"], "beyond": cold["run"] - _median([t["run"] for t in trivial])}
    res = {"trivial": trivial, "cold": cold, "corpus": corpus}
    text = "\n".join([f"Measured {datetime.now(timezone.utc).isoformat(timespec='seconds')} on {os.cpu_count()} cores; "
                      f"single report: {cold['pages']} pages, cold flow {cold['run']:.1f} s, "
                      f"{single['beyond']:.1f} s beyond Prefect start-up (trivial flow run "
                      f"{_median([t['run'] for t in trivial]):.1f} s, process {startup_process:.1f} s).", "",
                      *corpus_report(corpus, startup_process, single, targets=True)])
    if "--results" in (argv or sys.argv):
        Path(args.results).write_text(text, encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1, default=str), encoding="utf-8")
    print(text)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--big-pages", type=int, default=1000, help="0 skips the big report")
    parser.add_argument("--naive-sample-pages", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=2, help="runs of the cold flow, floor and extract_pdf (the fastest counts)")
    parser.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"))
    parser.add_argument("--json", default="", help="also write the raw figures here")
    parser.add_argument("--work", default="", help="work directory (default: a new temporary one)")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "jstmine-bench-cache"))
    parser.add_argument("--from-json", default="", help="only write the results of an earlier --json again")
    parser.add_argument("--ocr-only", action="store_true",
                        help="only the OCR figures (seconds per page, character error rate, the cost of --ocr auto); "
                             "printed, and written to --results only when it is given")
    parser.add_argument("--corpus-reports", type=int, default=20, help="reports of the corpus run (0 skips it)")
    parser.add_argument("--corpus-pages", type=int, default=100, help="pages of each corpus report")
    parser.add_argument("--corpus-only", action="store_true",
                        help="only the corpus figures (jstmine update on --corpus-reports reports, plain, --workers 2 "
                             "and --dask-address) and the single-report cold rate they are compared with; printed, and "
                             "written to --results only when it is given")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    parser.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args.child, args.params)
        return 0
    sys.path.insert(0, str(ROOT))
    if args.from_json:
        text = report(json.loads(Path(args.from_json).read_text(encoding="utf-8")))
        Path(args.results).write_text(text, encoding="utf-8")
        print(text)
        return 0
    if args.ocr_only:
        work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="jstmine-bench-ocr-"))
        work.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
        pdf = build_report(args.pages, Path(args.cache))
        o = ocr_benchmark(pdf, work, env, lambda kind, env, **params: run_child(kind, params, env, work / "bench.log"),
                          args.repeat)
        text = "\n".join([f"Measured {datetime.now(timezone.utc).isoformat(timespec='seconds')}, "
                          f"load average before {os.getloadavg()[0]:.1f}.", "", *ocr_report(o)])
        if "--results" in (argv or sys.argv):
            Path(args.results).write_text(text, encoding="utf-8")
        if args.json:
            Path(args.json).write_text(json.dumps(o, indent=1, default=str), encoding="utf-8")
        print(text)
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    if args.corpus_only:
        return corpus_only(args, argv)
    res = benchmark(args)
    text = report(res)
    Path(args.results).write_text(text, encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1, default=str), encoding="utf-8")
    print()
    print(text)
    print(f"written to {args.results}")
    if not args.work:
        shutil.rmtree(res["work"], ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
