"""The report's evidence: every sentence behind each country × technology cell, links to the PDF's
pages, and the sentences as JSON for the report's offline keyword-in-context search.

Input: rows of an edition's tables as dicts (``documents``, ``sentences``, ``mentions``,
``country_technology``). Output: plain data for ``pipeline/templates/report.html.j2``. Pure
functions, apart from looking whether the PDF named by ``documents.raw_path`` is on disk.
"""
from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote

# Labels of a sentence's kind (sentences.kind), as the report shows them.
KIND_NAMES = {"body": "本文", "heading": "見出し", "caption": "図表の見出し", "footnote": "脚注",
              "figure_text": "図中の文字", "reference": "参考文献"}


def evidence_anchor(country: str, technology: str) -> str:
    """The HTML id of a cell's evidence block: ``ev-KR-quantum`` (characters other than ASCII
    letters, digits, ``_`` and ``-`` become ``_``, so an id can never break the attribute or URL).

    Args:
        country: the subject's id (country_technology.country).
        technology: the broad technology's id (country_technology.technology).
    """
    safe = re.compile(r"[^A-Za-z0-9_-]")
    return f"ev-{safe.sub('_', country)}-{safe.sub('_', technology)}"


def locate_pdf(raw_path: str | None, out_dir: Path, edition: str, cwd: Path | None = None) -> dict:
    """Where the edition's PDF is, as a link relative to the report's directory.

    ``raw_path`` is as the flow stored it: absolute, or relative to the directory the flow ran in
    (``raw/…``). It is looked for there and next to ``out_dir`` (``processed/`` and ``raw/`` side
    by side in the project). The link is relative to ``out_dir/edition`` as a path, not to the run
    directory its symlink points to, since that is the path ``jstmine report`` prints and a
    browser opens.

    Args:
        raw_path: documents.raw_path, or None when the edition has no documents table.
        out_dir: the output directory holding the edition (``processed``).
        edition: the edition's name.
        cwd: the directory a relative ``raw_path`` is tried against first (the current one if None).

    Returns:
        ``{"raw_path": str, "href": str | None}``: ``href`` is None when the file is not at hand.
    """
    if not raw_path:
        return {"raw_path": "", "href": None}
    path = Path(raw_path)
    candidates = [path] if path.is_absolute() else [Path(cwd or os.getcwd()) / path, Path(out_dir).absolute().parent / path]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        return {"raw_path": raw_path, "href": None}
    report_dir = os.path.abspath(Path(out_dir) / edition)
    relative = os.path.relpath(os.path.abspath(found), report_dir)
    return {"raw_path": raw_path, "href": quote(Path(relative).as_posix())}


def page_href(pdf_href: str | None, page: int | None) -> str | None:
    """The link to one page of the PDF (``file.pdf#page=N``), or None without a PDF or page.

    Args:
        pdf_href: the PDF's relative link (``locate_pdf``'s ``href``).
        page: the 1-based page number.
    """
    if not pdf_href or page is None:
        return None
    return f"{pdf_href}#page={int(page)}"


def marked(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, highlighted) parts; overlapping spans are merged.

    Args:
        text: the sentence.
        spans: (start, end) character offsets to highlight.
    """
    parts: list[tuple[str, bool]] = []
    pos = 0
    for start, end in sorted(spans):
        start, end = max(start, pos), min(end, len(text))
        if start >= end:
            continue
        if start > pos:
            parts.append((text[pos:start], False))
        parts.append((text[start:end], True))
        pos = end
    if pos < len(text):
        parts.append((text[pos:], False))
    return parts


def preview(parts: list[tuple[str, bool]], before: int = 12) -> list[tuple[str, bool]]:
    """A sentence's parts for a one-line preview: the text before the first highlight cut to its
    last ``before`` characters (after "…"), so the highlight is in view.

    Args:
        parts: ``marked``'s (piece, highlighted) parts.
        before: how many characters before the first highlight to keep.
    """
    if not parts or parts[0][1] or len(parts) == 1 or len(parts[0][0]) <= before + 1:
        return parts
    return [("…" + parts[0][0][-before:], False), *parts[1:]]


def technology_spans(mentions: list[dict]) -> dict[tuple[int, str], list[tuple[int, int]]]:
    """(sentence id, broad technology) → the character spans of its technology mentions.

    Args:
        mentions: rows of the mentions table.
    """
    spans: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
    for m in mentions:
        if m.get("label") == "TECHNOLOGY" and m.get("char_start") is not None:
            spans[(m["sentence_id"], m["top"])].append((m["char_start"], m["char_end"]))
    return spans


def cell_evidence(row: dict, sentences: dict[int, dict], spans: dict[tuple[int, str], list[tuple[int, int]]],
                  pdf_href: str | None) -> dict:
    """One country × technology cell with every sentence behind it, in document order.

    Args:
        row: a country_technology row.
        sentences: sentence id → sentences row (may be empty when the edition has no sentences table).
        spans: ``technology_spans`` of the edition's mentions.
        pdf_href: the PDF's relative link, or None when it is not at hand.

    Returns:
        The cell's anchor, technology, counts and pages, and ``sentences``: each with its id, page,
        kind, whether it is in the executive summary, a link to its page and its text cut into
        highlighted parts. A sentence the sentences table lacks keeps its id and says so
        (``missing``), except the first, whose text and page the row itself carries. ``preview``
        is the first sentence's parts for the collapsed block's one line.
    """
    tech = row["technology"]
    sids = list(row.get("sentence_ids") or [])
    shown = []
    for i, sid in enumerate(sids):
        s = sentences.get(sid)
        if s is None and i == 0 and row.get("evidence"):
            s = {"page": row.get("evidence_page"), "text": row["evidence"], "kind": None, "in_summary": None}
        if s is None:
            shown.append({"id": sid, "page": None, "href": None, "kind": None, "kind_name": "", "in_summary": False,
                          "parts": [], "missing": True})
            continue
        kind = s.get("kind")
        shown.append({"id": sid, "page": s.get("page"), "href": page_href(pdf_href, s.get("page")), "kind": kind,
                      "kind_name": KIND_NAMES.get(kind, kind or "") if kind != "body" else "",
                      "in_summary": bool(s.get("in_summary")), "missing": False,
                      "parts": marked(s.get("text") or "", spans.get((sid, tech), []))})
    if not sids and row.get("evidence"):  # a row without sentence ids still has its evidence
        page = row.get("evidence_page")
        shown.append({"id": None, "page": page, "href": page_href(pdf_href, page), "kind": None, "kind_name": "",
                      "in_summary": False, "missing": False, "parts": [(row["evidence"], False)]})
    first = next((s for s in shown if not s["missing"]), None)
    return {"anchor": evidence_anchor(row["country"], tech), "id": tech, "mentions": row.get("mentions") or 0,
            "pages": row.get("pages") or [], "finer": row.get("items") or [], "sentences": shown,
            "preview": preview(first["parts"]) if first else []}


def kwic_json(sentences: list[dict]) -> str:
    """The sentences as a JSON array for the report's search box, safe inside ``<script>``.

    Each sentence is ``[id, page, subject, kind, text]`` (arrays, not objects: the file stays
    small). ``<``, ``>`` and ``&`` are written as ``\\u003c`` … so no text can close the script
    element or open a comment (``</script>``, ``<!--``); U+2028 and U+2029 are escaped too.

    Args:
        sentences: rows of the sentences table.
    """
    data = [[s["sentence_id"], s.get("page"), s.get("subject") or "", s.get("kind") or "", s.get("text") or ""]
            for s in sorted(sentences, key=lambda s: s["sentence_id"])]
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text
