"""The inspection commands over published editions: show, kwic, sql, as tables for reading.

The rows behind them come from pipeline/query.py (tested directly in tests/test_query.py); here
the commands render them (``--format table``, the default); tests/test_cli_formats.py checks the
csv, tsv and json formats. Every test publishes its own small tables (with the specs' schemas)
under tmp_path; nothing here needs the demo outputs. ``edition_tables`` is also used by
tests/test_report.py, tests/test_query.py and tests/test_cli_formats.py.
"""
from __future__ import annotations

import gc
import re

import duckdb
import pyarrow as pa
import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from flows.main import app
from pipeline.publish import publish
from pipeline.tables import SPECS, validate

SHA = "0123456789abcdef" * 4
SENTENCES = [
    # (sentence_id, page, kind, text, subject)
    (0, 1, "heading", "第1章 韓国", "KR"),
    (1, 1, "body", "韓国は、量子技術とAIを国家戦略技術に指定した。", "KR"),
    (2, 3, "body", "同国は半導体の輸出管理で米国と協力する。", "KR"),
    (3, 3, "body", "中国は、量子情報の研究開発を強化しており、量子通信も重視する。", "CN"),
    (4, 4, "body", "[注] 日本は量子コンピュータに投資する。", "JP"),
    (5, 4, "body", "本章のまとめである。", None),
]
# (sentence_id, surface, label, id, top)
MENTIONS = [
    (0, "韓国", "COUNTRY", "KR", "KR"),
    (1, "韓国", "COUNTRY", "KR", "KR"),
    (1, "量子技術", "TECHNOLOGY", "quantum", "quantum"),
    (1, "AI", "TECHNOLOGY", "ai", "ai"),
    (2, "半導体", "TECHNOLOGY", "semiconductors", "semiconductors"),
    (2, "米国", "COUNTRY", "US", "US"),
    (3, "中国", "COUNTRY", "CN", "CN"),
    (3, "量子情報", "TECHNOLOGY", "quantum_information", "quantum"),
    (3, "量子通信", "TECHNOLOGY", "quantum_communication", "quantum"),
    (4, "日本", "COUNTRY", "JP", "JP"),
    (4, "量子コンピュータ", "TECHNOLOGY", "quantum_computing", "quantum"),
]
# (country, technology, technology_name, mentions, sentence_ids, pages)
CT_NEW = [
    ("KR", "quantum", "量子技術", 1, [1], [1]),
    ("KR", "ai", "人工知能(AI)", 1, [1], [1]),
    ("KR", "semiconductors", "半導体", 1, [2], [3]),
    ("CN", "quantum", "量子技術", 2, [3], [3]),
    ("JP", "quantum", "量子技術", 1, [4], [4]),
]
CT_OLD = [
    ("KR", "ai", "人工知能(AI)", 1, [1], [1]),
    ("KR", "cybersecurity", "サイバーセキュリティ", 1, [1], [1]),
]


def table(name: str, rows: list[dict]) -> pa.Table:
    """A table with the spec's schema (columns a row leaves out are null), validated like the flow's."""
    schema = SPECS[name].schema
    t = pa.table({f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in schema}, schema=schema)
    return validate(t, SPECS[name])


def edition_tables(edition: str, processed_at: str = "2025-04-01T10:00:00+00:00", *, ct=CT_NEW,
                   extras: bool = True, hostile: str = "") -> dict[str, pa.Table]:
    """One edition's tables: KR, CN and JP with technologies, facts, relations, findings…"""
    text = {sid: t for sid, _, _, t, _ in SENTENCES}
    page = {sid: p for sid, p, _, _, _ in SENTENCES}
    subject = {sid: s for sid, _, _, _, s in SENTENCES}
    kind = {sid: k for sid, _, k, _, _ in SENTENCES}
    mentions = []
    for i, (sid, surface, label, mid, top) in enumerate(MENTIONS):
        start = text[sid].index(surface)
        mentions.append({"edition": edition, "mention_id": i, "sentence_id": sid, "paragraph_id": sid, "section_id": 1,
                         "page": page[sid], "char_start": start, "char_end": start + len(surface), "text": surface,
                         "label": label, "id": mid, "top": top, "via": "lexicon", "subject": subject[sid],
                         "subject_source": "paragraph" if subject[sid] else "none", "kind": kind[sid]})
    tables = {
        "documents": table("documents", [{
            "edition": edition, "sha256": SHA, "source": "https://spap.jst.go.jp/investigation/report_2022.html#fy24_rr02",
            "url": "https://spap.jst.go.jp/investigation/downloads/fy2024-rr-02.pdf", "raw_path": "raw/x.pdf",
            "bytes": 1234, "fetched_at": processed_at, "processed_at": processed_at, "title": "新興技術政策の国際動向",
            "pages": 4, "pages_without_text": [2], "pages_with_unmapped_glyphs": [], "sentences": len(SENTENCES),
            "tokens": 50, "mentions": len(MENTIONS), "pipeline_version": "0.1.0", "lexicon_version": "2025.04.1",
            "config": "{}"}]),
        "pages": table("pages", [
            {"edition": edition, "page": p, "width": 595.0, "height": 842.0, "chars": 0 if p == 2 else 300,
             "has_text_layer": p != 2, "unmapped_share": 0.0, "column_count": 1,
             "problem": "no_text_layer: page 2 has no text layer (scanned or drawn as paths) and was left out (--ocr off): run with --ocr auto (the default) to read it by OCR" if p == 2 else None,
             "removed_lines": [], "text_source": "text_layer"} for p in (1, 2, 3, 4)]),
        "sentences": table("sentences", [
            {"edition": edition, "sentence_id": sid, "paragraph_id": sid, "section_id": 1, "page": p, "position_in_paragraph": 0,
             "kind": kind, "text": t, "subject": s, "subject_source": "paragraph" if s else "none", "in_summary": False}
            for sid, p, kind, t, s in SENTENCES]),
        "mentions": table("mentions", mentions),
        "country_technology": table("country_technology", [
            {"edition": edition, "country": c, "technology": tech, "technology_name": name, "mentions": n,
             "sentences": len(sids), "pages": pages, "items": [], "sentence_ids": sids, "evidence_page": page[sids[0]],
             "evidence": text[sids[0]]} for c, tech, name, n, sids, pages in ct]),
    }
    if not extras:
        return tables
    tables |= {
        "policy_facts": table("policy_facts", [{
            "edition": edition, "fact_id": 0, "country": "KR", "item_count": 12, "year": 2022, "item": "国家戦略技術",
            "policy": "国家戦略技術育成法", "technologies": ["quantum", "ai"], "page": 1, "sentence_id": 1,
            "also_in": [], "evidence": text[1], "in_summary": False}]),
        "relations": table("relations", [{
            "edition": edition, "relation_id": 0, "subject": "KR", "other": "US", "other_label": "COUNTRY",
            "relation": "partner", "cue": "協力", "via": "cue", "page": 3, "sentence_id": 2, "evidence": text[2],
            "in_summary": False}]),
        "policies": table("policies", [{
            "edition": edition, "policy_id": 0, "subject": "KR", "name": "国家戦略技術育成法", "type": "strategy",
            "page": 1, "sentence_id": 1, "evidence": text[1]}]),
        "keyterms": table("keyterms", [
            {"edition": edition, "country": "KR", "rank": 1, "term": "国家戦略技術", "score": 0.5, "frequency": 3},
            {"edition": edition, "country": "CN", "rank": 1, "term": "研究開発", "score": 0.4, "frequency": 2}]),
        "country_similarity": table("country_similarity", [
            {"edition": edition, "country": "KR", "other": "CN", "similarity": 0.42},
            {"edition": edition, "country": "CN", "other": "KR", "similarity": 0.42}]),
        "findings_check": table("findings_check", [
            {"edition": edition, "claim_id": "F1", "kind": "technology", "country": "KR", "origin": "summary_chapter",
             "claim": "韓国は量子技術を重要技術とする" + hostile, "status": "matched", "evidence_table": "country_technology",
             "summary_page": 1, "summary_sentence_id": 0, "summary_evidence": text[0],
             "evidence_row": 0, "page": 1, "sentence_id": 1, "evidence": text[1]},
            {"edition": edition, "claim_id": "F2", "kind": "technology", "country": "CN", "origin": "expectations_file",
             "claim": "中国はAIを重要技術とする", "status": "missing", "detail": "no CN × ai row",
             "detail_ja": "本文はこの技術を挙げていない"},
            {"edition": edition, "claim_id": "F3", "kind": "fact", "country": "JP", "origin": "announcement_page",
             "claim": "日本は20の技術を指定した", "status": "contradicted", "detail": "the body says 量子コンピュータ only",
             "detail_ja": "本文は量子コンピュータのみを挙げる",
             "summary_evidence": "日本は20の技術を指定した。", "page": 4, "sentence_id": 4, "evidence": text[4]}]),
    }
    return tables


@pytest.fixture
def out(tmp_path):
    """Two editions: 'new' (processed 2025-04) published first, then 'old' (processed 2025-01)."""
    publish(edition_tables("new", "2025-04-01T10:00:00+00:00"), tmp_path, "new")
    publish(edition_tables("old", "2025-01-15T10:00:00+00:00", ct=CT_OLD, extras=False), tmp_path, "old")
    return tmp_path


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(autouse=True)
def _collect_garbage():
    """Free what a test left in reference cycles (CliRunner keeps tracebacks, frames hold DuckDB
    objects) now, not in a later test's forked child, where freeing DuckDB objects crashes."""
    yield
    gc.collect()


def run(*args: str):
    """The CLI as a user runs it, output captured without colours, 200 columns wide."""
    result = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "FORCE_COLOR": None}).invoke(app, list(args))
    result.text = ANSI.sub("", result.output)
    return result


# ------------------------------------------------------------------------------------------ show


def test_show_defaults_to_the_most_recently_processed_edition(out):
    # 'old' was published last (newest symlink), but 'new' has the later processed_at
    r = run("show", "country_technology", "--out", str(out))
    assert r.exit_code == 0, r.text
    assert "country_technology — edition new" in r.text
    assert "JP" in r.text and "cybersecurity" not in r.text and "5 rows" in r.text
    r = run("show", "country_technology", "-o", str(out), "-e", "old")
    assert r.exit_code == 0 and "cybersecurity" in r.text and "JP" not in r.text


def test_show_where_columns_and_limit(out):
    r = run("show", "country_technology", "--out", str(out), "--where", "country=kr",
            "--columns", "country,technology,mentions")
    assert r.exit_code == 0, r.text
    lines = [line for line in r.text.splitlines() if "│" in line]
    assert {line.split("│")[2].strip() for line in lines} == {"quantum", "ai", "semiconductors"}
    assert "CN" not in r.text and "evidence" not in r.text  # other rows and columns left out
    assert "3 of 5 rows match" in r.text
    # two conditions narrow further; a list column matches when it contains the value
    r = run("show", "country_technology", "--out", str(out), "-w", "pages=3", "-w", "technology=quantum", "-c", "country,pages")
    assert r.exit_code == 0 and "1 of 5 rows match" in r.text and "CN" in r.text and "KR" not in r.text
    r = run("show", "sentences", "--out", str(out), "--limit", "2", "-c", "sentence_id,text")
    assert r.exit_code == 0 and "showing 2" in r.text and "第1章 韓国" in r.text and "中国は" not in r.text
    # COL= matches empty cells
    r = run("show", "sentences", "--out", str(out), "--where", "subject=", "-c", "sentence_id,text")
    assert r.exit_code == 0 and "本章のまとめである。" in r.text and "1 of 6 rows match" in r.text


def test_show_findings_check_as_the_readme_shows_it(out):
    r = run("show", "findings_check", "--out", str(out), "--columns", "status,claim,origin,detail,summary_page,page")
    assert r.exit_code == 0, r.text
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in r.text.splitlines() if "│" in line]
    assert [row[0] for row in rows] == ["matched", "missing", "contradicted"]
    assert [row[2] for row in rows] == ["summary_chapter", "expectations_file", "announcement_page"]
    assert "3 rows" in r.text


def test_show_prints_japanese_text_literally_and_truncates_wide_cells(out):
    r = run("show", "sentences", "--out", str(out), "--where", "sentence_id=4", "-c", "page,text")
    assert r.exit_code == 0, r.text
    assert "[注] 日本は量子コンピュータに投資する。" in r.text  # brackets are text, not rich markup
    r = run("show", "sentences", "--out", str(out), "--where", "sentence_id=3", "-c", "text", "--max-width", "12")
    assert r.exit_code == 0
    assert "中国は、量…" in r.text and "量子通信" not in r.text  # 5 characters (10 cells) and the ellipsis


def test_show_wide_tables_print_one_block_per_row(out):
    r = run("show", "documents", "--out", str(out), "-e", "new")
    assert r.exit_code == 0, r.text
    assert "row 1" in r.text and "one block per row" in r.text
    assert re.search(r"processed_at\s+2025-04-01T10:00:00\+00:00", r.text)
    assert re.search(r"title\s+新興技術政策の国際動向", r.text)


def test_show_an_empty_table_prints_its_columns(tmp_path):
    tables = edition_tables("e")
    tables["relations"] = table("relations", [])
    publish(tables, tmp_path, "e")
    r = run("show", "relations", "--out", str(tmp_path))
    assert r.exit_code == 0, r.text
    assert "relation_id" in r.text and "evidence" in r.text and "0 rows" in r.text


def test_show_errors_name_what_is_valid(out, tmp_path):
    r = run("show", "countries", "--out", str(out))
    assert r.exit_code == 1
    assert "unknown table 'countries'" in r.text and "country_technology" in r.text and "findings_check" in r.text
    r = run("show", "documents", "--out", str(out), "--edition", "fy99")
    assert r.exit_code == 1 and "no edition 'fy99'" in r.text and "new, old" in r.text
    r = run("show", "policy_facts", "--out", str(out), "--edition", "old")
    assert r.exit_code == 1 and "edition 'old' has no policy_facts table" in r.text and "country_technology" in r.text
    r = run("show", "sentences", "--out", str(out), "--where", "colour=red")
    assert r.exit_code == 1 and "no column 'colour'" in r.text and "subject_source" in r.text
    r = run("show", "sentences", "--out", str(out), "--where", "subject")
    assert r.exit_code == 1 and "is not COL=VALUE" in r.text
    r = run("show", "sentences", "--out", str(out), "--columns", "text,nope")
    assert r.exit_code == 1 and "no column 'nope'" in r.text
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run("show", "documents", "--out", str(empty))
    assert r.exit_code == 1 and "no editions in" in r.text and "make demo" in r.text and "jstmine run --source" in r.text


# ------------------------------------------------------------------------------------------ kwic


def _kwic_lines(text: str, term: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"^\s*(KR|CN|JP|US|—)\s+p\.\d+", line) and term in line]


def test_kwic_aligns_the_term_with_subject_and_page(out):
    r = run("kwic", "量子", "--out", str(out))
    assert r.exit_code == 0, r.text
    lines = _kwic_lines(r.text, "量子")
    assert len(lines) == 4  # 量子技術, 量子情報, 量子通信 (two in one sentence), 量子コンピュータ
    assert [line.split()[:2] for line in lines] == [["KR", "p.1"], ["CN", "p.3"], ["CN", "p.3"], ["JP", "p.4"]]
    # the left context is right-aligned: the term starts at the same display column on every line
    columns = {cell_len(line[:line.index("量子", line.index("p."))]) for line in lines}
    assert len(columns) == 1, lines
    assert "韓国は、" in lines[0] and "技術とAIを" in lines[0]
    assert "4 occurrences of '量子' in 3 sentences, edition new" in r.text


def test_kwic_normalizes_the_term_and_matches_canonical_ids(out):
    r = run("kwic", "ＡＩ", "--out", str(out))  # full-width, NFKC → AI
    assert r.exit_code == 0, r.text
    assert len(_kwic_lines(r.text, "AI")) == 1 and "'AI'" in r.text
    r = run("kwic", "quantum", "--out", str(out))  # no sentence says "quantum": its mentions do
    assert r.exit_code == 0, r.text
    hits = _kwic_lines(r.text, "量子")
    assert len(hits) == 4
    assert any("量子コンピュータ" in h for h in hits) and any("量子情報" in h for h in hits)
    assert "canonical id quantum" in r.text
    r = run("kwic", "quantum_information", "--out", str(out))
    assert r.exit_code == 0 and len(_kwic_lines(r.text, "量子情報")) == 1 and "JP" not in r.text.split("occurrence")[0]


def test_kwic_help_states_how_latin_and_japanese_terms_match():
    r = run("kwic", "--help")
    text = " ".join(r.text.replace("│", " ").split())
    assert r.exit_code == 0 and "word boundary against Latin letters and digits" in text, text
    assert "AI技術, 生成AI, not said, Thai, AIST" in text and "Japanese matches anywhere" in text


def test_kwic_label_subject_and_width(out):
    r = run("kwic", "米国", "--label", "COUNTRY", "--out", str(out))
    assert r.exit_code == 0, r.text
    assert len(_kwic_lines(r.text, "米国")) == 1
    r = run("kwic", "韓国", "--label", "TECHNOLOGY", "--out", str(out))
    assert r.exit_code == 1 and "no occurrence of '韓国'" in r.text and "label TECHNOLOGY" in r.text
    r = run("kwic", "量子", "--subject", "cn", "--out", str(out))
    assert r.exit_code == 0
    lines = _kwic_lines(r.text, "量子")
    assert len(lines) == 2 and all(line.split()[0] == "CN" for line in lines)
    r = run("kwic", "量子", "--subject", "CN", "--width", "6", "--out", str(out))
    assert r.exit_code == 0
    first = _kwic_lines(r.text, "量子")[0]
    assert "…" in first and "研究開発" not in first  # six cells of context: three Japanese characters


def test_kwic_errors(out, tmp_path):
    r = run("kwic", "量子", "--subject", "XX", "--out", str(out))
    assert r.exit_code == 1 and "subject 'XX'" in r.text and "CN, JP, KR" in r.text
    r = run("kwic", "量子", "--label", "PLANET", "--out", str(out))
    assert r.exit_code == 1 and "unknown label 'PLANET'" in r.text and "TECHNOLOGY" in r.text
    r = run("kwic", "存在しない", "--out", str(out))
    assert r.exit_code == 1 and "no occurrence of '存在しない'" in r.text
    r = run("kwic", "量子", "--out", str(tmp_path / "nothing"))
    assert r.exit_code == 1 and "no editions in" in r.text and "make demo" in r.text


# ------------------------------------------------------------------------------------------- sql


def test_sql_reads_every_edition(out):
    r = run("sql", "SELECT edition, count(*) AS pairs FROM country_technology GROUP BY 1 ORDER BY 1", "--out", str(out))
    assert r.exit_code == 0, r.text
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in r.text.splitlines() if line.startswith("│")]
    assert rows == [["new", "5"], ["old", "2"]]
    r = run("sql", "SELECT text FROM sentences WHERE edition = 'new' AND subject = 'JP'", "--out", str(out))
    assert r.exit_code == 0 and "[注] 日本は量子コンピュータに投資する。" in r.text and "1 row" in r.text


def test_sql_errors_show_duckdbs_message_and_the_tables(out):
    r = run("sql", "SELECT * FROM countries", "--out", str(out))
    assert r.exit_code == 1
    assert "Catalog Error" in r.text and "countries" in r.text
    assert re.search(r"country_technology: edition, country, technology", r.text)
    assert "findings_check:" in r.text and "sentences:" in r.text
    # the connection is read-only: writing is refused and nothing changes
    r = run("sql", "DELETE FROM country_technology", "--out", str(out))
    assert r.exit_code == 1 and "read-only" in r.text
    con = duckdb.connect(str(out / "jstmine.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM country_technology").fetchone() == (7,)
    con.close()


def test_sql_without_editions(tmp_path):
    r = run("sql", "SELECT 1", "--out", str(tmp_path))
    assert r.exit_code == 1 and "no editions in" in r.text and "make demo" in r.text
