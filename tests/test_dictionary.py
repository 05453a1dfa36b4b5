"""The data dictionary: complete, committed as generated, printed by ``jstmine schema``; and
no column is an SQL keyword."""
from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from flows.main import app
from pipeline.dictionary import (DESCRIPTIONS, DOCS_PATH, REGENERATE, TABLES, described_but_absent, dictionary,
                                 markdown, missing_descriptions)
from pipeline.tables import SPECS, TableSpec

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run(*args: str):
    result = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1", "FORCE_COLOR": None}).invoke(app, list(args))
    result.text = ANSI.sub("", result.output)
    return result


def test_every_table_and_column_has_a_description():
    missing = missing_descriptions()
    assert not missing, (
        "these tables or columns have no description: " + ", ".join(missing)
        + " — add them to TABLES / DESCRIPTIONS in pipeline/dictionary.py (keyed by table, then column), "
        f"then run {REGENERATE}")


def test_no_description_is_left_for_a_column_that_no_longer_exists():
    assert not described_but_absent(), "remove or rename these descriptions in pipeline/dictionary.py"


def test_missing_descriptions_names_the_table_and_column():
    spec = TableSpec("made_up_table", pa.schema([pa.field("edition", pa.string()), pa.field("pos", pa.string())]),
                     required=("edition",), key=("edition",))
    specs = {"keyterms": SPECS["keyterms"], "made_up_table": spec}
    assert missing_descriptions(specs) == ["made_up_table", "made_up_table.edition", "made_up_table.pos"]
    partial = {**DESCRIPTIONS, "made_up_table": {"edition": "the edition"}}
    assert missing_descriptions(specs, partial, {**TABLES, "made_up_table": "one row per word"}) == [
        "made_up_table.pos"]
    blank = {**DESCRIPTIONS, "keyterms": {**DESCRIPTIONS["keyterms"], "score": "  "}}
    assert missing_descriptions(specs, blank, {**TABLES, "made_up_table": "x"}) == [
        "keyterms.score", "made_up_table.edition", "made_up_table.pos"]


def test_ids_dates_and_units_are_explained():
    text = markdown()
    assert "stable only\n  within an edition" in text
    for column in ("sentence_id", "section_id", "paragraph_id", "mention_id"):
        assert f"`{column}`" in text.split("## Tables")[0], column
    docs = {(c.table, c.name): c.description for c in dictionary()}
    assert "+00:00" in docs[("documents", "fetched_at")] and "+00:00" in docs[("documents", "last_modified")]
    assert "YYYY-MM-DD" in docs[("documents", "published")]
    assert "points" in docs[("pages", "width")]
    assert "exclusive" in docs[("tokens", "char_end")]
    assert "cosine" in docs[("country_similarity", "similarity")].lower()


def test_the_committed_dictionary_is_the_generated_one():
    committed = (ROOT / DOCS_PATH).read_text(encoding="utf-8")
    assert committed == markdown(), f"docs/data-dictionary.md is stale: run {REGENERATE} and commit it"


def test_markdown_has_one_row_per_column_with_type_and_required():
    text = markdown("footnotes")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert [r.split("`")[1] for r in rows] == SPECS["footnotes"].schema.names
    cited_by = next(r for r in rows if r.startswith("| `cited_by`"))
    assert "| list<int32> | yes |" in cited_by
    citing_page = next(r for r in rows if r.startswith("| `citing_page`"))
    assert "| int32 |  |" in citing_page


def test_no_table_or_column_is_a_reserved_duckdb_keyword():
    reserved = {r[0] for r in duckdb.sql(
        "select keyword_name from duckdb_keywords() where keyword_category = 'reserved'").fetchall()}
    assert {"end", "select", "order"} <= reserved  # the query reads what it should
    clashes = [f"{t}.{c}" for t, spec in SPECS.items() for c in spec.schema.names if c.lower() in reserved]
    clashes += [t for t in SPECS if t.lower() in reserved]
    assert not clashes, f"rename these (and add the old names to pipeline/schema_history.py): {clashes}"


def test_every_column_can_be_selected_without_quotes():
    con = duckdb.connect()
    for name, spec in SPECS.items():
        con.register(name, pa.table({f.name: pa.array([], f.type) for f in spec.schema}, schema=spec.schema))
        con.execute(f"select {', '.join(spec.schema.names)} from {name}").fetchall()
    con.close()


# ------------------------------------------------------------------------------------- the CLI


def test_schema_prints_every_table_with_its_columns():
    r = run("schema")
    assert r.exit_code == 0, r.text
    for name in SPECS:
        assert f"{name}: " in r.text
    assert "stable only" in r.text  # the conventions come first
    assert r.text.index("documents: ") < r.text.index("footnotes: ")


def test_schema_of_one_table_as_a_table():
    r = run("schema", "country_similarity")
    assert r.exit_code == 0, r.text
    assert "shared_terms" in r.text and "cosine" in r.text.lower()
    assert "documents:" not in r.text


def test_schema_as_markdown_is_the_committed_file():
    r = run("schema", "--format", "markdown")
    assert r.exit_code == 0
    assert r.output == (ROOT / DOCS_PATH).read_text(encoding="utf-8") + "\n"


def test_schema_as_json():
    r = run("schema", "keyterms", "-f", "json")
    data = json.loads(r.output)
    [table] = data["tables"]
    assert table["name"] == "keyterms" and table["key"] == list(SPECS["keyterms"].key)
    assert [c["name"] for c in table["columns"]] == SPECS["keyterms"].schema.names
    assert all(c["description"] for c in table["columns"])
    assert {c["name"]: c["type"] for c in table["columns"]}["score"] == "float32"


@pytest.mark.parametrize("args", [("schema", "mention"), ("schema", "keyterms", "--format", "csv")])
def test_schema_refuses_what_it_does_not_know(args):
    r = run(*args)
    assert r.exit_code != 0
    assert "mention" in r.text or "csv" in r.text


# ------------------------------------------------------------------------------------ the views


def test_the_views_a_database_has_are_described_with_their_columns(tmp_path):
    """Every view publish creates is in the dictionary, with the columns the database gives it."""
    from pipeline.dictionary import view_columns, views
    from pipeline.publish import publish
    from test_inspect import edition_tables

    publish(edition_tables("new", "2025-04-01T10:00:00+00:00"), tmp_path, "new")
    con = duckdb.connect(str(tmp_path / "jstmine.duckdb"), read_only=True)
    try:
        made = [v for (v,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()]
        columns = {v: [c for (c, *_rest) in con.execute(f'DESCRIBE "{v}"').fetchall()] for v in made}
    finally:
        con.close()
    assert "latest_editions" in made and "latest_mentions" in made
    described = views()
    for view in made:
        assert view in described, view
        assert [c.name for c in view_columns(view)] == columns[view], view
        assert all(c.description for c in view_columns(view)), view
    text = markdown()
    views_part = text[text.index("## Views"):]
    assert "sha256" in views_part and "processed_at" in views_part  # how latest is decided
    for view in described:
        assert f"`{view}`" in views_part


def test_schema_describes_a_view(tmp_path):
    r = run("schema", "latest_editions")
    assert r.exit_code == 0, r.text
    assert "report_id" in r.text and "sha256" in r.text and "documents:" not in r.text
    r = run("schema", "latest_keyterms", "-f", "json")
    assert r.exit_code == 0, r.output
    [view] = json.loads(r.output)["views"]
    assert [c["name"] for c in view["columns"]] == SPECS["keyterms"].schema.names
    r = run("schema", "latest_nothing")
    assert r.exit_code != 0 and "latest_editions" in r.text
