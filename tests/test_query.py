"""pipeline/query.py: the rows behind show, kwic, sql and diff, read from published editions.

The editions are the small ones of tests/test_inspect.py ('new' with every table, 'old' with a
few), published under tmp_path; the CLI's rendering of these rows is tested in
tests/test_inspect.py (table) and tests/test_cli_formats.py (csv, tsv, json).
"""
from __future__ import annotations

import gc

import duckdb
import pytest

from pipeline.diff import diff_editions, diff_tables
from pipeline.publish import publish
from pipeline.query import (DIFF_COLUMNS, KWIC_COLUMNS, QueryError, SqlQueryError, diff_rows, kwic_lines,
                            parse_labels, show_rows, sql_rows)
from pipeline.report import EditionError
from test_inspect import CT_OLD, SENTENCES, edition_tables

TEXT = {sid: text for sid, _, _, text, _ in SENTENCES}


@pytest.fixture
def out(tmp_path):
    publish(edition_tables("new", "2025-04-01T10:00:00+00:00"), tmp_path, "new")
    publish(edition_tables("old", "2025-01-15T10:00:00+00:00", ct=CT_OLD, extras=False), tmp_path, "old")
    return tmp_path


@pytest.fixture(autouse=True)
def _collect_garbage():
    yield
    gc.collect()  # DuckDB objects in reference cycles: freed now, not in a later test's child


# ------------------------------------------------------------------------------------ show_rows


def test_show_rows_reads_the_latest_edition_with_every_column(out):
    result = show_rows(out, None, "country_technology")
    assert result.edition == "new" and result.table == "country_technology"
    assert result.columns[:4] == ["edition", "country", "technology", "technology_name"]
    assert result.total == result.matched == len(result.rows) == 5 and not result.more
    records = result.records()
    assert {(r["country"], r["technology"]) for r in records} == {
        ("KR", "quantum"), ("KR", "ai"), ("KR", "semiconductors"), ("CN", "quantum"), ("JP", "quantum")}
    cn = next(r for r in records if r["country"] == "CN")
    assert cn["evidence"] == TEXT[3] and cn["pages"] == [3] and cn["sentence_ids"] == [3]  # lists stay lists
    assert show_rows(out, "old", "country_technology").total == 2


def test_show_rows_where_columns_and_limit(out):
    result = show_rows(out, None, "country_technology", where=["country=kr"], columns=["technology", "mentions"])
    assert result.columns == ["technology", "mentions"]
    assert sorted(result.rows) == [("ai", 1), ("quantum", 1), ("semiconductors", 1)]
    assert (result.total, result.matched) == (5, 3)
    # a list column matches when it contains the value; conditions narrow together
    result = show_rows(out, None, "country_technology", where=["pages=3", "technology=quantum"], columns=["country"])
    assert result.rows == [("CN",)] and result.matched == 1
    # COL= matches empty cells; the value is NFKC-normalized (full-width Ｋ Ｒ)
    assert show_rows(out, None, "sentences", where=["subject="], columns=["sentence_id"]).rows == [(5,)]
    assert show_rows(out, None, "sentences", where=["subject=ＫＲ"], columns=["sentence_id"]).matched == 3
    limited = show_rows(out, None, "sentences", limit=2, columns=["sentence_id"])
    assert len(limited.rows) == 2 and limited.matched == 6 and limited.more


def test_show_rows_give_32_bit_floats_as_the_decimals_they_were_written_as(out):
    # keyterms.score is a 32-bit float: 0.4 is stored as 0.4000000059604645 …
    assert show_rows(out, None, "keyterms", where=["country=CN"], columns=["score"]).rows == [(0.4,)]
    assert show_rows(out, None, "country_similarity", columns=["similarity"]).rows == [(0.42,), (0.42,)]


def test_a_file_given_as_the_output_directory_is_said_to_be_no_directory(tmp_path):
    """--out pointing at a file said "no editions in FILE/ yet", as if it were an empty directory."""
    afile = tmp_path / "notes.txt"
    afile.write_text("mine", encoding="utf-8")
    for call in (lambda: show_rows(afile, None, "documents"), lambda: kwic_lines(afile, None, "量子"),
                 lambda: sql_rows(afile, "SELECT 1")):
        with pytest.raises(EditionError, match="is not a directory") as info:
            call()
        assert "--out DIR" in info.value.todo
    assert afile.read_text(encoding="utf-8") == "mine"


def test_show_rows_read_an_older_editions_columns_under_todays_names(out):
    """An edition written before item_count was renamed from count showed `count`, and
    --columns item_count / --where item_count=… (the data dictionary's name) failed on it."""
    import os

    import pyarrow.parquet as pq

    today = show_rows(out, "new", "policy_facts")
    path = os.path.realpath(out / "new" / "policy_facts.parquet")
    table = pq.read_table(path)
    pq.write_table(table.rename_columns(["count" if c == "item_count" else c for c in table.column_names]), path)
    older = show_rows(out, "new", "policy_facts")
    assert older.columns == today.columns and older.rows == today.rows
    counts = sorted(r["item_count"] for r in today.records() if r["item_count"] is not None)
    picked = show_rows(out, "new", "policy_facts", columns=["item_count"], where=[f"item_count={counts[0]}"])
    assert picked.columns == ["item_count"] and picked.rows and all(r == (counts[0],) for r in picked.rows)


@pytest.mark.parametrize("kwargs, what, todo", [
    ({"table": "countries"}, "unknown table 'countries'", "jstmine show country_technology"),
    ({"table": "sentences", "where": ["colour=red"]}, "sentences has no column 'colour'", "--where"),
    ({"table": "sentences", "where": ["subject"]}, "--where 'subject' is not COL=VALUE", "--where"),
    ({"table": "sentences", "columns": ["text", "nope"]}, "no column 'nope'", "--columns"),
    ({"table": "sentences", "columns": [" "]}, "(none given)", "--columns"),
    ({"table": "policy_facts", "edition": "old"}, "edition 'old' has no policy_facts table", "run the flow again"),
])
def test_show_rows_errors_say_what_and_what_to_do(out, kwargs, what, todo):
    kwargs = {"edition": None} | kwargs
    with pytest.raises(QueryError) as info:
        show_rows(out, **kwargs)
    assert what in info.value.what and todo in info.value.todo


def test_show_rows_without_the_edition_or_any_edition(out, tmp_path):
    with pytest.raises(EditionError, match="no edition 'fy99'"):
        show_rows(out, "fy99", "documents")
    with pytest.raises(EditionError, match="no editions in"):
        show_rows(tmp_path / "nothing", None, "documents")


@pytest.mark.parametrize("name", ["jstmine.duckdb", ".runs", "..", ".", "../victim.txt", "/etc/passwd", "new/../new"])
def test_a_name_that_is_no_edition_name_is_never_advised_to_be_removed(out, name):
    """--edition jstmine.duckdb once said `rm processed/jstmine.duckdb` (every edition's rows), and
    --edition /etc/passwd `rm /etc/passwd`: a name that cannot be an edition is refused as a name."""
    with pytest.raises(EditionError) as info:
        show_rows(out, name, "documents")
    assert "rm " not in info.value.todo
    assert "not usable" in info.value.what or "jstmine's own files" in info.value.what
    assert "--edition" in info.value.todo and "new, old" in info.value.what


def test_someone_elses_file_named_like_an_edition_is_not_advised_to_be_removed(out):
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(EditionError) as info:
        show_rows(out, "notes.txt", "documents")
    assert "rm " not in info.value.todo and "move" in info.value.todo and "not an edition" in info.value.what


# ----------------------------------------------------------------------------------- kwic_lines


def test_kwic_lines_cut_the_whole_sentence_around_each_occurrence(out):
    found = kwic_lines(out, None, "量子")
    assert found.edition == "new" and found.needle == "量子" and found.sentences == 3 and found.canonical_ids == []
    assert [(line.subject, line.page, line.sentence_id) for line in found.lines] == [
        ("KR", 1, 1), ("CN", 3, 3), ("CN", 3, 3), ("JP", 4, 4)]
    for line in found.lines:
        assert line.left + line.hit + line.right == TEXT[line.sentence_id]  # nothing clipped
        assert line.hit == "量子" and TEXT[line.sentence_id][line.char_start:line.char_end] == "量子"
        assert len(line.row()) == len(KWIC_COLUMNS)
    second = found.lines[2]  # 量子通信, the second in sentence 3: its left is everything before it
    assert second.left == "中国は、量子情報の研究開発を強化しており、" and second.right == "通信も重視する。"


def test_kwic_lines_find_canonical_ids_labels_and_subjects(out):
    found = kwic_lines(out, None, "quantum")
    assert [line.hit for line in found.lines] == ["量子技術", "量子情報", "量子通信", "量子コンピュータ"]
    assert found.canonical_ids == ["quantum"]
    assert [line.hit for line in kwic_lines(out, None, "ＡＩ").lines] == ["AI"]  # NFKC
    assert [line.hit for line in kwic_lines(out, None, "米国", labels={"COUNTRY"}).lines] == ["米国"]
    assert kwic_lines(out, None, "韓国", labels={"TECHNOLOGY"}).lines == []  # nothing found is no error
    assert {line.subject for line in kwic_lines(out, None, "量子", subject="cn").lines} == {"CN"}


def test_a_latin_term_matches_whole_words_against_latin_neighbours_japanese_anywhere(tmp_path):
    """Japanese has no spaces: ai is found in AI技術 and 生成AI, and not inside said, maintain,
    Thai or AIST; a Japanese term is found inside longer words as before."""
    from test_inspect import table

    texts = ["AI技術と生成AIを推進する。", "He said they maintain Thai AIST links.", "(AI) and Ai-based tools, AI2 and MAI.",
             "量子技術と量子コンピュータ。", "Café AI研究とCAFÉ。"]
    tables = edition_tables("latin")
    template = tables["sentences"].to_pylist()[0]
    rows = [template | {"sentence_id": i, "paragraph_id": i, "page": 1, "text": t, "subject": None}
            for i, t in enumerate(texts)]
    publish({"sentences": table("sentences", rows), "documents": tables["documents"]}, tmp_path, "latin")

    def hits(term: str) -> list[tuple[int, int, str]]:
        return [(line.sentence_id, line.char_start, line.hit) for line in kwic_lines(tmp_path, "latin", term).lines]

    assert hits("ai") == [(0, 0, "AI"), (0, 7, "AI"), (2, 1, "AI"), (2, 9, "Ai"), (4, 5, "AI")]
    assert hits("ＡＩ技術") == [(0, 0, "AI技術")]  # the Latin start at a boundary, the Japanese end anywhere
    assert hits("生成ai") == [(0, 5, "生成AI")]
    assert hits("aist") == [(1, 27, "AIST")] and hits("thai") == [(1, 22, "Thai")]
    assert hits("caf") == [] and hits("café") == [(4, 0, "Café"), (4, 10, "CAFÉ")]  # é is a Latin letter
    assert [h for _, _, h in hits("量子")] == ["量子", "量子"] and hits("子技") == [(3, 1, "子技")]


def test_a_latin_term_does_not_match_part_of_a_letter_or_word_that_nfkc_leaves_apart(tmp_path):
    """A combining mark NFKC cannot compose with its letter (i + U+0307, I + U+0334) belongs to that
    letter: the hit would cut it in two (ai in "ai̇", AI in "AI̴技術", ai after "i̇"); letters of the
    Latin blocks beyond Extended Additional (IPA ɐ, Extended-D ꜰ) are Latin neighbours too. A term
    that ends with such a mark is found whole."""
    from pipeline.query import term_pattern

    def hits(term: str, text: str) -> list[str]:
        return [m.group() for m in term_pattern(term).finditer(text)]

    assert hits("ai", "ai\u0307") == [] and hits("ai", "AI\u0334技術") == [] and hits("ai", "i\u0307ai") == []
    assert hits("ai", "\u0250ai") == [] and hits("ai", "\ua730ai") == []
    assert hits("ai", "AI技術と生成AI") == ["AI", "AI"]  # as before
    assert hits("ai\u0307", "ai\u0307 and ai\u0307x") == ["ai\u0307"]
    assert hits("量子", "量子\u0307") == ["量子"]  # a Japanese end: anywhere, as before


def test_kwic_lines_errors(out):
    with pytest.raises(QueryError, match="empty after normalization"):
        kwic_lines(out, None, "   ")
    with pytest.raises(QueryError, match="unknown label 'PLANET'") as info:
        kwic_lines(out, None, "量子", labels=["PLANET"])
    assert "TECHNOLOGY" in info.value.todo
    with pytest.raises(QueryError, match="subject 'XX'; subjects: CN, JP, KR") as info:
        kwic_lines(out, None, "量子", subject="XX")
    assert "--subject" in info.value.todo
    assert parse_labels(["country, region", "Technology"]) == {"COUNTRY", "REGION", "TECHNOLOGY"}


# ------------------------------------------------------------------------------------- sql_rows


def test_sql_rows_over_every_edition(out):
    result = sql_rows(out, "SELECT edition, count(*) AS pairs FROM country_technology GROUP BY 1 ORDER BY 1")
    assert result.columns == ["edition", "pairs"] and result.rows == [("new", 5), ("old", 2)] and not result.more
    limited = sql_rows(out, "SELECT sentence_id FROM sentences WHERE edition = 'new' ORDER BY 1", limit=4)
    assert limited.rows == [(0,), (1,), (2,), (3,)] and limited.more
    assert not sql_rows(out, "SELECT sentence_id FROM sentences WHERE edition = 'new'", limit=6).more
    assert sql_rows(out, "SELECT sentence_id FROM sentences WHERE false").rows == []


def test_sql_rows_refuse_bad_sql_and_writing_and_list_the_tables(out, tmp_path):
    with pytest.raises(SqlQueryError, match="the SQL query failed: Catalog Error") as info:
        sql_rows(out, "SELECT * FROM countries")
    tables = dict(info.value.tables)
    assert tables["country_technology"].startswith("edition, country, technology") and "sentences" in tables
    with pytest.raises(SqlQueryError, match="read-only"):
        sql_rows(out, "DELETE FROM country_technology")
    con = duckdb.connect(str(out / "jstmine.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM country_technology").fetchone() == (7,)
    con.close()
    with pytest.raises(QueryError, match="no editions in") as info:
        sql_rows(tmp_path / "nothing", "SELECT 1")
    assert "make demo" in info.value.todo


# ------------------------------------------------------------------------------------ diff_rows


def test_diff_rows_one_row_per_change():
    fact = {"country": "KR", "item": "国家戦略技術", "item_count": 12, "year": 2022, "page": 1, "evidence": "12の国家戦略技術"}
    def tech(technology, page, evidence):
        return {"country": "KR", "technology": technology, "evidence_page": page, "evidence": evidence}

    a = {"country_technology": [tech("ai", 3, "AI"), tech("6g", 4, "6Gの研究")],
         "policy_facts": [fact, {"country": "US", "item": "重要技術", "item_count": 3, "page": 9, "evidence": "旧"}],
         "relations": [{"subject": "KR", "other": "US", "relation": "partner", "page": 2, "evidence": "協力"}]}
    b = {"country_technology": [tech("ai", 3, "AI"), tech("quantum", 7, "量子の研究")],
         "policy_facts": [fact | {"item_count": 13, "evidence": "13の国家戦略技術"}],
         "relations": [{"subject": "KR", "other": "CN", "relation": "competitor", "page": 5, "evidence": "競争"}]}
    result = diff_rows(diff_tables("a", a, "b", b))
    assert result.columns == list(DIFF_COLUMNS)
    assert result.records() == [
        {"country": "KR", "part": "technology", "change": "added", "item": "quantum", "field": None,
         "before": None, "after": None, "page": 7, "evidence": "量子の研究", "in_summary": None},  # from b
        {"country": "KR", "part": "technology", "change": "removed", "item": "6g", "field": None,
         "before": None, "after": None, "page": 4, "evidence": "6Gの研究", "in_summary": None},  # from a, the edition it is in
        {"country": "KR", "part": "fact", "change": "changed", "item": "国家戦略技術", "field": "item_count",
         "before": 12, "after": 13, "page": 1, "evidence": "13の国家戦略技術", "in_summary": False},
        {"country": "KR", "part": "relation", "change": "added", "item": "CN", "field": "competitor",
         "before": None, "after": "competitor CN", "page": 5, "evidence": "競争", "in_summary": None},
        {"country": "KR", "part": "relation", "change": "removed", "item": "US", "field": "partner",
         "before": "partner US", "after": None, "page": 2, "evidence": "協力", "in_summary": None},
        {"country": "US", "part": "fact", "change": "removed", "item": "重要技術", "field": None,
         "before": "3 重要技術", "after": None, "page": 9, "evidence": "旧", "in_summary": False},
    ]
    assert diff_rows(diff_tables("a", a, "b", a)).rows == []


def test_diff_rows_of_published_editions_count_every_change(out):
    diff = diff_editions(out, "old", "new")
    rows = diff_rows(diff).records()
    changes = (sum(map(len, diff.technologies_added.values())) + sum(map(len, diff.technologies_removed.values()))
               + len(diff.facts_changed) + len(diff.facts_added) + len(diff.facts_removed)
               + len(diff.relations_added) + len(diff.relations_removed))
    assert len(rows) == changes > 0
    assert {"country": "KR", "part": "technology", "change": "removed", "item": "cybersecurity"}.items() <= rows[
        next(i for i, r in enumerate(rows) if r["item"] == "cybersecurity")].items()
