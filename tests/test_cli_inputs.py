"""The command line's boundary: options and files checked before any work (and before Prefect
starts), the inspection commands' output safe for a terminal, `jstmine sql` unable to touch files,
problem pages summarised as ranges."""
from __future__ import annotations

import gc
import os
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from conftest import BIN
from flows.main import app
from pipeline.publish import publish
from test_inspect import edition_tables, table

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture(autouse=True)
def _collect_garbage():
    yield
    gc.collect()  # CliRunner keeps frames that hold DuckDB objects (see test_inspect)


def run(*args: str):
    result = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"}).invoke(app, list(args))
    result.text = " ".join(result.output.split())
    return result


@pytest.fixture
def pdf(tmp_path) -> Path:
    path = tmp_path / "r.pdf"
    path.write_bytes(PDF)
    return path


@pytest.mark.parametrize("option, message", [
    (["--edition", "jstmine.duckdb"], "is the name of one of jstmine's own files in the output directory"),
    (["--edition", "e" * 250], "is 250 characters long, more than 120"),
    (["--edition", "../escape"], "is not usable as a directory name"),
    (["--mode", "X"], "--mode 'X' is not a Sudachi split mode"),
    (["--ocr", "sometimes"], "--ocr sometimes is not a mode what to do: use one of: auto, off, force"),
    (["--engine", "mupdf"], "--engine mupdf is not an extraction engine what to do: use one of: pdfium, pdfplumber"),
    (["--lexicon", "missing.toml"], "lexicon file not found: missing.toml"),
])
def test_bad_options_are_refused_before_any_work(pdf, tmp_path, option, message):
    r = run("run", "--source", str(pdf), "--out", str(tmp_path / "out"), "--raw", str(tmp_path / "raw"), *option)
    assert r.exit_code == 1 and message in r.text, r.text
    assert "bug" not in r.text and "Traceback" not in r.output
    assert not (tmp_path / "out" / ".runs").exists() and not (tmp_path / "raw").exists()
    assert not (tmp_path / "out").exists()  # nothing is created for a command line that is refused


@pytest.mark.parametrize("option", [["--edition=-x"], ["--edition", "-x"], ["-e", "--x"]])
def test_a_new_edition_name_beginning_with_a_dash_is_refused_before_any_work(pdf, tmp_path, option):
    r = run("run", "--source", str(pdf), "--out", str(tmp_path / "out"), "--raw", str(tmp_path / "raw"), *option)
    assert r.exit_code == 1, r.text
    assert "begins with '-'" in r.text and "would take it for an option" in r.text, r.text
    assert "give a name beginning with a letter, a digit or '_', e.g. x" in r.text
    assert not (tmp_path / "out").exists() and not (tmp_path / "raw").exists()


def test_an_edition_published_earlier_under_a_dash_name_stays_listable_readable_removable(pdf, tmp_path, monkeypatch):
    import json

    import pipeline.publish as publishing

    out = tmp_path / "processed"
    with monkeypatch.context() as m:  # as a jstmine that still accepted such names published it
        m.setattr(publishing, "check_new_edition_name", lambda name, out_dir=None: publishing.check_edition_name(name))
        publish(edition_tables("-x"), out, "-x")
    publish(edition_tables("y"), out, "y")
    listed = run("editions", "list", "--out", str(out), "--format", "json")
    assert listed.exit_code == 0 and {json.loads(ln)["edition"] for ln in listed.output.splitlines()} == {"-x", "y"}
    for how in (["--edition=-x"], ["-e", "-x"]):
        shown = run("show", "documents", *how, "--out", str(out), "--columns", "edition", "--format", "json")
        assert shown.exit_code == 0 and json.loads(shown.output) == {"edition": "-x"}, shown.output
    assert run("diff", "--out", str(out), "--", "-x", "y").exit_code == 0
    report = run("report", "--edition=-x", "--out", str(out), "--no-changes")
    assert report.exit_code == 0 and report.output.strip().endswith("-x/report.html"), report.output
    # a run may publish it again under its name (no new name), even though the name is refused for a new edition
    assert publishing.check_new_edition_name("-x", out) == "-x"
    removed = run("editions", "remove", "--out", str(out), "--yes", "--", "-x")
    assert removed.exit_code == 0 and "removed edition -x" in removed.text, removed.text
    assert publishing.published_editions(out) == ["y"]


def test_a_lexicon_that_is_not_toml_or_lacks_ids_is_refused(pdf, tmp_path):
    bad = tmp_path / "lexicon.toml"
    bad.write_text("[[country]\nname = 'x'\n", encoding="utf-8")
    r = run("run", "--source", str(pdf), "--out", str(tmp_path / "out"), "--lexicon", str(bad))
    assert r.exit_code == 1 and "is not valid TOML" in r.text
    bad.write_text("[[country]]\nname = 'x'\n", encoding="utf-8")
    r = run("run", "--source", str(pdf), "--out", str(tmp_path / "out"), "--lexicon", str(bad))
    assert r.exit_code == 1 and "an entry without 'id'" in r.text


def test_update_with_a_bad_engine_is_refused_before_prefect_starts(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    proc = subprocess.run([str(BIN / "jstmine"), "update", "--engine", "mupdf", "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, env=env, timeout=120, cwd=Path(__file__).resolve().parents[1])
    text = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 1 and "--engine mupdf is not an extraction engine" in text, text
    assert "use one of: pdfium, pdfplumber" in text and "Traceback" not in text
    assert "Prefect" not in text and "temporary server" not in text and not (tmp_path / "o").exists()


def test_update_with_a_bad_sources_file_is_refused_before_prefect_starts(tmp_path):
    bad = tmp_path / "sources.toml"
    bad.write_text('[[source]]\nname = "x"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    proc = subprocess.run([str(BIN / "jstmine"), "update", "--sources", str(bad), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, env=env, timeout=120, cwd=Path(__file__).resolve().parents[1])
    text = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 1 and "missing key(s) listing" in text and "Traceback" not in text, text
    assert "Prefect" not in text and "temporary server" not in text  # no flow was started
    good = tmp_path / "good.toml"
    good.write_text('[[source]]\nname = "x"\nlisting = "https://e.org/l.html"\nentries = ["a"]\n', encoding="utf-8")
    r = run("update", "--sources", str(good), "--only", "y", "--out", str(tmp_path / "o"))
    assert r.exit_code == 1 and "no source named 'y'" in r.text


# ------------------------------------------------------------------------------- reading safely

HOSTILE = "題名\x1b[2J\x1b]0;owned\x07\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\\x9b31m\u202eevil"


@pytest.fixture
def out(tmp_path):
    tables = edition_tables("new")
    doc = tables["documents"].to_pylist()
    doc[0]["title"] = HOSTILE
    tables["documents"] = table("documents", doc)
    publish(tables, tmp_path / "processed", "new")
    return tmp_path / "processed"


@pytest.mark.parametrize("command", [
    ["show", "documents", "--columns", "title", "--max-width", "400"],
    ["sql", "select title from documents", "--max-width", "400"],
])
def test_control_characters_from_a_document_never_reach_the_terminal(out, command):
    r = CliRunner(env={"COLUMNS": "400"}).invoke(app, [*command, "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert not any(c in r.output for c in "\x1b\x07\x9b\u202e")
    assert "題名\\x1b[2J" in r.output and "\\u202eevil" in r.output  # shown, harmlessly
    assert pq.read_table(out / "new" / "documents.parquet")["title"].to_pylist() == [HOSTILE]  # kept as it was


@pytest.mark.parametrize("query", [
    "COPY (SELECT 1) TO '{out}/new/country_technology.parquet' (FORMAT parquet)",
    "COPY (SELECT 1) TO '{tmp}/planted.csv'",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_parquet('{out}/new/pages.parquet')",
    "ATTACH '{tmp}/other.duckdb' AS other",
    "SET enable_external_access = true",
    "CREATE TABLE x AS SELECT 1",
    "INSTALL httpfs",
])
def test_sql_can_only_query_the_database(out, tmp_path, query):
    before = (out / "new" / "country_technology.parquet").read_bytes()
    r = run("sql", query.format(out=out, tmp=tmp_path), "--out", str(out))
    assert r.exit_code == 1 and "error: the SQL query failed" in r.text, r.text
    assert (out / "new" / "country_technology.parquet").read_bytes() == before
    assert not (tmp_path / "planted.csv").exists() and not (tmp_path / "other.duckdb").exists()
    assert run("sql", "select count(*) from pages", "--out", str(out)).exit_code == 0


def test_report_on_a_read_only_output_directory_says_so(out, monkeypatch):
    import builtins
    import errno

    real_open = builtins.open

    def read_only(path, mode="r", *args, **kwargs):
        if "w" in mode and str(path).startswith(str(out)):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, mode, *args, **kwargs)

    real_os_open = os.open

    def read_only_os(path, flags, *args, **kwargs):  # the report is written with os.open (O_NOFOLLOW)
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", read_only)
    monkeypatch.setattr(os, "open", read_only_os)
    r = run("report", "--out", str(out))
    assert r.exit_code == 1, r.output
    assert "could not write" in r.text and "Read-only file system" in r.text and "Traceback" not in r.output


# ------------------------------------------------------------------------------- problem pages


def test_problem_pages_are_summarised_as_ranges():
    from flows.process_report import page_ranges, problem_lines

    assert page_ranges([9, 2, 3, 4, 7, 10, 4]) == "2–4, 7, 9–10"
    many = [(p, "no_text_layer", f"page {p} has no text layer") for p in range(2, 5001)]
    few = [(3, "unmapped_glyphs", "page 3: 4 of 10 glyphs"), (8, "unmapped_glyphs", "page 8: 2 of 9 glyphs")]
    lines = problem_lines(many + few)
    assert lines == ["4999 pages 2–5000: no_text_layer (page 2: page 2 has no text layer)",
                     "page 3: unmapped_glyphs (page 3: 4 of 10 glyphs)", "page 8: unmapped_glyphs (page 8: 2 of 9 glyphs)"]


def test_problem_lines_count_pages_not_problems_when_a_page_has_several():
    # font_refused is one problem per font: four fonts refused on page 2 were "4 pages 2: font_refused"
    from flows.process_report import problem_lines

    one_page = [(2, "font_refused", f"the font /F{n} was refused") for n in range(4)]
    assert problem_lines(one_page) == ["page 2: font_refused, 4 in all (page 2: the font /F0 was refused)"]
    spread = one_page[:2] + [(3, "font_refused", "the font /F0 was refused"), (5, "font_refused", "the font /F0 was refused")]
    assert problem_lines(spread) == ["3 pages 2–3, 5: font_refused, 4 in all (page 2: the font /F0 was refused)"]
    assert problem_lines(one_page[:3]) == [f"page 2: font_refused (the font /F{n} was refused)" for n in range(3)]


def test_sql_column_names_are_no_markup_and_no_escapes(out):
    r = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["sql", 'select 1 as "[bold]x\x1b[2J"', "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "[bold]x\\x1b[2J" in r.output and "\x1b" not in r.output


def test_a_listing_page_of_thousands_of_entries_is_read_in_linear_time():
    import time

    from pipeline.listing import find_report_links

    html = "<div id='all'>" + "".join(f"<div id='e{i}'><h3>T{i}</h3><a href='/same.pdf'>PDF</a></div>"
                                      for i in range(8000)) + "</div>"
    started = time.monotonic()
    found = find_report_links(html, "https://spap.jst.go.jp/list.html")
    assert len(found) == 8000 and "all" not in {f["id"] for f in found}  # the container claims nothing
    assert time.monotonic() - started < 15  # was 50 s: every pair of entries compared


def test_run_into_an_editions_directory_is_refused_before_any_work(pdf, tmp_path):
    out = tmp_path / "out"
    publish(edition_tables("new", "2025-04-01T10:00:00+00:00"), out, "new")
    files = sorted(p.name for p in (out / "new").iterdir())
    r = run("run", "--source", str(pdf), "--out", str(out / "new"), "--raw", str(tmp_path / "raw"))
    assert r.exit_code == 1 and "where jstmine keeps the files of the editions published to" in r.text, r.text
    assert f"--out {out}" in r.text and "Traceback" not in r.output
    assert sorted(p.name for p in (out / "new").iterdir()) == files


def test_the_flow_itself_refuses_a_new_edition_name_beginning_with_a_dash_before_any_work(pdf, tmp_path):
    """A flow started another way (a deployment, a script) checks the name at its start too."""
    from flows.process_report import process_report
    from pipeline.publish import EditionNameError

    with pytest.raises(EditionNameError, match="begins with '-'"):
        process_report.fn(source=str(pdf), edition="-x", out_dir=str(tmp_path / "out"), raw_dir=str(tmp_path / "raw"))
    assert not (tmp_path / "out").exists() and not (tmp_path / "raw").exists()


TWO_PROBLEMS = [  # a refused font's reason holds "; " itself
    ("font_refused", "the font /F1 was refused and the text set in it left out: its map is too large; check the file"),
    ("font_refused", "the font /F2 was refused and the text set in it left out: its widths contain themselves"),
    ("unmapped_glyphs", "12 of 300 glyphs have no Unicode"),
]


def test_a_pages_problem_cell_reads_back_as_its_problems_even_when_a_detail_holds_a_semicolon():
    from pipeline.extract.model import PageProblem
    from pipeline.tables import page_problems_of_cell, problem_cell

    cell = problem_cell([PageProblem(2, kind, detail) for kind, detail in TWO_PROBLEMS])
    assert page_problems_of_cell(cell) == TWO_PROBLEMS
    assert page_problems_of_cell(None) == [] and page_problems_of_cell("") == []
    # an older jstmine's cell of one problem of a kind unknown today reads as that one problem
    assert page_problems_of_cell("odd_kind: a; b") == [("odd_kind", "a; b")]


def test_an_unchanged_editions_summary_and_report_list_every_problem_of_a_page(tmp_path):
    from flows.process_report import unchanged_summary
    from pipeline.acquire import Acquired
    from pipeline.extract.model import PageProblem
    from pipeline.report import _header
    from pipeline.tables import problem_cell
    from test_inspect import SHA

    tables = edition_tables("e")
    rows = tables["pages"].to_pylist()
    rows[2]["problem"] = problem_cell([PageProblem(3, kind, detail) for kind, detail in TWO_PROBLEMS])
    tables["pages"] = table("pages", rows)
    out = tmp_path / "out"
    publish(tables, out, "e")
    acquired = Acquired(path=tmp_path / "x.pdf", sha256=SHA, bytes=1234, source="x.pdf", url=None, final_url=None,
                        etag=None, last_modified=None, fetched_at="2025-04-01T10:00:00+00:00")
    lines = unchanged_summary("e", str(out), acquired).problems
    # was: one problem of kind font_refused whose detail ran on over the other two
    assert "page 3: unmapped_glyphs (12 of 300 glyphs have no Unicode)" in lines, lines
    assert f"page 3: font_refused ({TWO_PROBLEMS[0][1]})" in lines and f"page 3: font_refused ({TWO_PROBLEMS[1][1]})" in lines
    what = {p["page"]: p["what"] for p in _header(out, "e")["problems"]}
    assert what[3] == f"{TWO_PROBLEMS[0][1]}; {TWO_PROBLEMS[1][1]}; {TWO_PROBLEMS[2][1]}", what
