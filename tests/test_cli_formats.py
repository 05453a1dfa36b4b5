"""--format table|csv|tsv|json on show, sql, kwic, diff and discover; --version; short flags.

Each machine format is parsed back (csv.reader, tab-split lines, json.loads per line) and compared
with the rows pipeline/query.py returns for the same question. The editions are the small ones of
tests/test_inspect.py, with a longer key-term table (more rows than a table shows by default) and a
document title that holds what a terminal, a TSV line or a spreadsheet must not take as it is.
"""
from __future__ import annotations

import csv
import gc
import io
import json
import re
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner

from flows.main import app
from pipeline.diff import diff_editions
from pipeline.publish import publish
from pipeline.query import DIFF_COLUMNS, KWIC_COLUMNS, diff_rows, kwic_lines, show_rows, sql_rows
from pipeline.sources import Report
from test_inspect import CT_OLD, SENTENCES, edition_tables, table

MACHINE = ("csv", "tsv", "json")
TEXT = {sid: text for sid, _, _, text, _ in SENTENCES}
LONG = TEXT[3]  # 31 characters, 62 cells: more than a table cell shows (--max-width 60, kwic --width 30)
# A title with a formula start, a tab, a newline, a backslash, an escape sequence and a bidi override
TITLE = "=HYPERLINK(\"x\")\t題名\\注\n次の行\x1b[2J \u202eevil"
KEYTERMS = 45


@pytest.fixture
def out(tmp_path):
    tables = edition_tables("new", "2025-04-01T10:00:00+00:00")
    doc = tables["documents"].to_pylist()
    doc[0]["title"] = TITLE
    tables["documents"] = table("documents", doc)
    tables["keyterms"] = table("keyterms", [
        {"edition": "new", "country": "KR", "rank": i, "term": f"用語{i}", "score": 1 / i, "frequency": i}
        for i in range(1, KEYTERMS + 1)])
    publish(tables, tmp_path, "new")
    publish(edition_tables("old", "2025-01-15T10:00:00+00:00", ct=CT_OLD, extras=False), tmp_path, "old")
    return tmp_path


@pytest.fixture(autouse=True)
def _collect_garbage():
    yield
    gc.collect()  # DuckDB objects in reference cycles: freed now, not in a later test's child


def run(*args: str):
    return CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "FORCE_COLOR": None}).invoke(app, list(args))


# ------------------------------------------------------------------------------- reading back


def unescape_tsv(field: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "\\": "\\"}.get(m.group(1), m.group()), field)


def parse(fmt: str, stdout: str) -> tuple[list[str], list[list]]:
    """(columns, rows) as another program reads them: csv and tsv cells as text, json as values."""
    if fmt == "csv":
        header, *rows = list(csv.reader(io.StringIO(stdout)))
        return header, rows
    if fmt == "tsv":
        lines = stdout.split("\n")
        assert lines[-1] == "", "every line ends with a newline"
        header, *rows = [[unescape_tsv(f) for f in line.split("\t")] for line in lines[:-1]]
        assert all(len(r) == len(header) for r in rows), "one record per line, one field per column"
        return header, rows
    records = [json.loads(line) for line in stdout.splitlines()]
    columns = list(records[0]) if records else []
    assert all(list(r) == columns for r in records)
    return columns, [list(r.values()) for r in records]


def as_text(value) -> str:
    """How csv and tsv write a value: empty for null, lists joined with ';'."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(as_text(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def expected(fmt: str, rows) -> list[list]:
    return [[v if fmt == "json" else as_text(v) for v in row] for row in rows]


def assert_rows(fmt: str, stdout: str, columns, rows) -> None:
    got_columns, got_rows = parse(fmt, stdout)
    if rows or fmt != "json":  # json has no header: an empty result is no line at all
        assert got_columns == list(columns)
    assert got_rows == expected(fmt, rows)


# ------------------------------------------------------------------------------------------- show


@pytest.mark.parametrize("fmt", MACHINE)
@pytest.mark.parametrize("name", ["country_technology", "findings_check", "policy_facts", "sentences", "keyterms"])
def test_show_in_each_format_is_the_librarys_rows(out, name, fmt):
    r = run("show", name, "--out", str(out), "--format", fmt)
    assert r.exit_code == 0, r.output
    rows = show_rows(out, None, name)  # all of them: no table limit in a machine format
    assert len(rows.rows) == (KEYTERMS if name == "keyterms" else len(rows.rows)) and not rows.more
    assert_rows(fmt, r.stdout, rows.columns, rows.rows)


@pytest.mark.parametrize("fmt", MACHINE)
def test_show_machine_formats_print_the_rows_only_with_the_full_evidence(out, fmt):
    r = run("show", "country_technology", "-o", str(out), "-f", fmt, "-w", "country=CN", "-c", "country,pages,evidence")
    assert r.exit_code == 0, r.output
    columns, rows = parse(fmt, r.stdout)
    assert columns == ["country", "pages", "evidence"]
    assert rows == [["CN", [3] if fmt == "json" else "3", LONG]]  # the whole sentence, lists as arrays or a;b
    assert "edition" not in r.stdout and "match" not in r.stdout and "row" not in r.stdout  # no title, no caption
    # the table cuts the same evidence
    table = run("show", "country_technology", "-o", str(out), "-w", "country=CN", "-c", "country,pages,evidence")
    assert table.exit_code == 0 and LONG not in table.stdout and LONG[:10] in table.stdout and "…" in table.stdout


def test_show_limit_in_machine_formats_is_explicit_and_noted_on_stderr(out):
    assert "showing 20" in run("show", "keyterms", "--out", str(out)).stdout  # a table: 20 by default
    r = run("show", "keyterms", "--out", str(out), "-f", "json", "-n", "7")
    assert r.exit_code == 0
    assert [json.loads(line)["rank"] for line in r.stdout.splitlines()] == list(range(1, 8))
    assert "7 of 45 rows written" in r.stderr and "note" not in r.stdout


def test_machine_formats_keep_the_text_and_neither_a_terminal_nor_a_spreadsheet_takes_it_as_commands(out):
    outputs = {}
    for fmt in MACHINE:
        r = run("show", "documents", "--out", str(out), "-f", fmt, "-c", "title,pages_without_text")
        assert r.exit_code == 0, r.output
        assert not any(c in r.stdout for c in "\x1b\u202e"), fmt
        outputs[fmt] = parse(fmt, r.stdout)[1][0]
    # json: the same text, the escape and the override as \u escapes; the list as an array
    assert outputs["json"] == [TITLE, [2]]
    assert "\\u001b[2J" in run("show", "documents", "--out", str(out), "-f", "json", "-c", "title").stdout
    # csv: a leading ' stops the formula; the tab and newline are quoted; controls shown as escapes
    assert outputs["csv"] == ["'" + TITLE.replace("\x1b", "\\x1b").replace("\u202e", "\\u202e"), "2"]
    # tsv: one line, the tab, newline and backslash escaped (and read back), controls as \xNN
    tsv = run("show", "documents", "--out", str(out), "-f", "tsv", "-c", "title").stdout
    assert tsv.count("\n") == 2 and "題名\\\\注\\n次の行" in tsv
    assert outputs["tsv"] == [TITLE.replace("\x1b", "\\x1b").replace("\u202e", "\\u202e"), "2"]


def test_show_errors_go_to_stderr_in_machine_formats(out):
    r = run("show", "countries", "--out", str(out), "-f", "csv")
    assert r.exit_code == 1 and r.stdout == "" and "unknown table 'countries'" in r.stderr


# ------------------------------------------------------------------------------------------- kwic


@pytest.mark.parametrize("fmt", MACHINE)
def test_kwic_in_each_format_has_the_whole_sentence_subject_page_and_sentence_id(out, fmt):
    r = run("kwic", "quantum", "--out", str(out), "--format", fmt)
    assert r.exit_code == 0, r.output
    found = kwic_lines(out, None, "quantum")
    lines = found.lines
    assert len(lines) == 4
    assert_rows(fmt, r.stdout, KWIC_COLUMNS, [line.row() for line in lines])
    columns, rows = parse(fmt, r.stdout)
    # The edition first: sentence ids only mean something within it.
    assert columns[0] == "edition" and {row[0] for row in rows} == {found.edition}
    for row in rows:
        record = dict(zip(columns, row, strict=True))
        assert record["left"] + record["hit"] + record["right"] == TEXT[int(record["sentence_id"])]
    assert "occurrence" not in r.stdout  # no caption


def test_kwic_json_narrowed_and_limited(out):
    r = run("kwic", "量子", "-o", str(out), "-f", "json", "-s", "CN", "-n", "1")
    assert r.exit_code == 0, r.output
    assert [json.loads(line) for line in r.stdout.splitlines()] == [
        {"edition": "new", "subject": "CN", "page": 3, "sentence_id": 3, "char_start": 4, "char_end": 6,
         "left": "中国は、", "hit": "量子", "right": "情報の研究開発を強化しており、量子通信も重視する。"}]
    nothing = run("kwic", "存在しない", "-o", str(out), "-f", "json")
    assert nothing.exit_code == 1 and nothing.stdout == "" and "no occurrence" in nothing.stderr


def test_kwic_width_has_no_short_flag_any_more(out):
    r = run("kwic", "量子", "--out", str(out), "-w", "6")
    assert r.exit_code == 2 and "No such option: -w" in r.output
    assert run("kwic", "量子", "--out", str(out), "--width", "6").exit_code == 0


# -------------------------------------------------------------------------------------------- sql


@pytest.mark.parametrize("fmt", MACHINE)
def test_sql_in_each_format_is_the_librarys_rows(out, fmt):
    query = ("SELECT edition, country, technology, pages, evidence, mentions, CAST(mentions AS DOUBLE) / 3 AS share "
             "FROM country_technology ORDER BY edition, country, technology")
    r = run("sql", query, "--out", str(out), "-f", fmt)
    assert r.exit_code == 0, r.output
    result = sql_rows(out, query)
    assert len(result.rows) == 7
    assert_rows(fmt, r.stdout, result.columns, result.rows)
    assert LONG in parse(fmt, r.stdout)[1][0]  # new, CN: the evidence whole


def test_sql_json_values_and_repeated_names(out):
    r = run("sql", "SELECT 1 AS a, 2 AS a, NULL AS n, true AS t, DATE '2025-04-01' AS d, [1, 2] AS l, 1.5 AS x",
            "--out", str(out), "-f", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"a": 1, "a_2": 2, "n": None, "t": True, "d": "2025-04-01", "l": [1, 2], "x": 1.5}
    r = run("sql", "SELECT 1 AS a, 2 AS a, NULL AS n, true AS t, DATE '2025-04-01' AS d, [1, 2] AS l",
            "--out", str(out), "-f", "csv")
    assert r.stdout == "a,a,n,t,d,l\n1,2,,true,2025-04-01,1;2\n"


def test_sql_limit_and_errors_in_machine_formats(out):
    r = run("sql", "SELECT sentence_id FROM sentences ORDER BY edition, sentence_id", "--out", str(out), "-f", "csv")
    assert len(r.stdout.splitlines()) == 1 + 12  # all rows: no table limit
    r = run("sql", "SELECT sentence_id FROM sentences", "--out", str(out), "-f", "csv", "--limit", "3")
    assert len(r.stdout.splitlines()) == 1 + 3 and "the query has more" in r.stderr
    r = run("sql", "SELECT * FROM countries", "--out", str(out), "-f", "json")
    assert r.exit_code == 1 and r.stdout == "" and "Catalog Error" in r.stderr and "country_technology:" in r.stderr


# ------------------------------------------------------------------------------------------- diff


@pytest.mark.parametrize("fmt", MACHINE)
def test_diff_in_each_format_is_one_row_per_change(out, fmt):
    r = run("diff", "old", "new", "--out", str(out), "--format", fmt)
    assert r.exit_code == 0, r.output
    rows = diff_rows(diff_editions(out, "old", "new"))
    assert len(rows.rows) >= 5
    assert_rows(fmt, r.stdout, DIFF_COLUMNS, rows.rows)
    columns, parsed = parse(fmt, r.stdout)
    changes = [dict(zip(columns, row, strict=True)) for row in parsed]
    assert {"country": "KR", "part": "technology", "change": "removed", "item": "cybersecurity"}.items() <= changes[
        next(i for i, c in enumerate(changes) if c["item"] == "cybersecurity")].items()
    assert any(c["part"] == "fact" and c["change"] == "added" and c["evidence"] == TEXT[1] for c in changes)


def test_diff_table_is_unchanged_and_errors_go_to_stderr(out):
    r = run("diff", "old", "new", "--out", str(out))
    assert r.exit_code == 0 and "old → new" in r.stdout and "+ technology quantum" in r.stdout
    r = run("diff", "old", "fy99", "--out", str(out), "-f", "json")
    assert r.exit_code == 1 and r.stdout == "" and "no edition 'fy99'" in r.stderr


# --------------------------------------------------------------------------------------- discover


LONG_URL = "https://spap.jst.go.jp/investigation/downloads/" + "very-long-directory-name/" * 8 + "fy2024-rr-02.pdf"
REPORTS = [
    Report(source="jst", entry_id="fy24_rr02", title="新興技術政策の国際動向", url=LONG_URL, published="2025-04-01",
           listing_url="https://spap.jst.go.jp/investigation/report_2022.html#fy24_rr02"),
    Report(source="page", entry_id="topic_et_06", title=None, url="https://spap.jst.go.jp/x.pdf", published=None,
           listing_url="https://spap.jst.go.jp/other_asia/experience/2025/topic_et_06.html"),
]


@pytest.fixture
def discovered(monkeypatch):
    """discover without a network: the sources file's reports are REPORTS (discovery itself is
    tested in tests/test_editions.py and tests/test_announcement.py against a loopback site)."""
    import pipeline.sources as sources

    monkeypatch.setattr(sources, "load_sources", lambda path: [sources.Source(name="jst", listing="https://spap.jst.go.jp/l.html"),
                                                               sources.Source(name="page", announcements=("https://a/",))])
    monkeypatch.setattr(sources, "discover_all", lambda followed: REPORTS)


@pytest.mark.parametrize("fmt", MACHINE)
def test_discover_in_each_format_has_whole_urls(discovered, fmt):
    r = run("discover", "-f", fmt)
    assert r.exit_code == 0, r.output
    assert_rows(fmt, r.stdout, ["source", "entry_id", "published", "title", "url", "listing_url"],
                [[x.source, x.entry_id, x.published, x.title, x.url, x.listing_url] for x in REPORTS])


@pytest.mark.parametrize("columns", ["80", "400"])
def test_discover_table_never_breaks_a_url_over_lines(discovered, columns):
    r = CliRunner(env={"COLUMNS": columns, "NO_COLOR": "1"}).invoke(app, ["discover"])
    assert r.exit_code == 0, r.output
    assert any(LONG_URL in line for line in r.stdout.splitlines())
    assert "topic_et_06.html" in r.stdout and "新興技術政策の国際動向" in r.stdout


def test_discover_on_a_narrow_terminal_prints_a_block_per_report_with_whole_urls(discovered, monkeypatch):
    from rich.console import Console

    import flows.app

    page = io.StringIO()
    monkeypatch.setattr(flows.app, "stdout_console", lambda min_width=0: Console(file=page, width=60, no_color=True))
    r = run("discover")
    assert r.exit_code == 0, r.output
    lines = page.getvalue().splitlines()
    assert "PDF: " + LONG_URL in lines and "title: 新興技術政策の国際動向" in lines
    assert "announcement page: https://spap.jst.go.jp/other_asia/experience/2025/topic_et_06.html" in lines


# ------------------------------------------------------------------------------ version and flags


def test_version_is_the_installed_packages():
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    for flag in ("--version", "-V"):
        r = run(flag)
        assert r.exit_code == 0 and r.stdout == f"jstmine {version('jstmine')}\n"
    assert version("jstmine") == pyproject["project"]["version"]


def _commands(group, prefix: str = "jstmine"):
    """(name, command) for every command of ``group``, those of its sub-groups (editions, server) too."""
    for name, command in group.commands.items():
        yield f"{prefix} {name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix} {name}")


def test_every_edition_and_out_option_has_its_short_flag():
    """The README's promise: -e edition, -o out in every command that has --edition or --out."""
    missing = []
    for name, command in _commands(typer.main.get_command(app)):
        for param in command.params:
            for long, short in (("--edition", "-e"), ("--out", "-o")):
                if long in param.opts and short not in param.opts:
                    missing.append(f"{name} {long}")
    assert not missing, missing


def test_short_flags_work_in_run_report_and_editions(out, tmp_path):
    listed = run("editions", "list", "-o", str(out))
    assert listed.exit_code == 0, listed.output
    report = run("report", "-o", str(out), "-e", "new")
    assert report.exit_code == 0, report.output
    assert report.output.strip() == str(out / "new" / "report.html")
    absent = run("editions", "remove", "nothing-here", "-o", str(tmp_path / "none"), "-y")
    assert "No such option" not in absent.output


def test_show_help_lists_every_table():
    from pipeline.tables import SPECS

    helped = CliRunner(env={"COLUMNS": "2000", "NO_COLOR": "1"}).invoke(app, ["show", "--help"])
    assert helped.exit_code == 0
    text = " ".join(helped.output.split())
    assert f"Table to print: {', '.join(SPECS)}." in text


def test_no_short_flag_means_two_different_options():
    """Across every command (and the app's own options), one short flag names one long option."""
    group = typer.main.get_command(app)
    meaning: dict[str, set[str]] = {}
    for name, command in [("jstmine", group), *_commands(group)]:
        for param in command.params:
            if param.param_type_name != "option":  # arguments have no flags
                continue
            flags = param.opts + param.secondary_opts
            shorts = [f for f in flags if re.fullmatch(r"-[^-]", f)]
            longs = sorted(f for f in flags if f.startswith("--"))
            for short in shorts:
                meaning.setdefault(short, set()).add(longs[0] if longs else f"{name}:{param.name}")
    assert {"-e", "-o", "-n", "-c", "-w", "-f"} <= set(meaning)
    clashes = {short: longs for short, longs in meaning.items() if len(longs) > 1}
    assert not clashes, clashes
    assert meaning["-e"] == {"--edition"} and meaning["-o"] == {"--out"} and meaning["-f"] == {"--format"}


def test_a_closed_pipe_stops_json_lines_quietly(out):
    """`jstmine … -f json | head -1`: the reader goes away; no traceback, exit status 0."""
    jstmine = Path(sys.executable).with_name("jstmine")
    proc = subprocess.Popen([str(jstmine), "sql", "SELECT range AS i, repeat('量子', 50) AS t FROM range(20000)",
                             "--out", str(out), "-f", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, stderr
    assert json.loads(first) == {"i": 0, "t": "量子" * 50} and "Traceback" not in stderr


def test_a_closed_pipe_stops_a_table_quietly_too(out):
    """`jstmine sql … | head` (the table for reading; show, kwic, diff alike) exited 1, so
    `set -o pipefail` failed the pipeline, while -f json exited 0: both stop quietly with 0 now."""
    jstmine = Path(sys.executable).with_name("jstmine")
    proc = subprocess.Popen([str(jstmine), "sql", "SELECT range AS i, repeat('量子', 50) AS t FROM range(20000)",
                             "--limit", "0", "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, stderr
    assert first and "Traceback" not in stderr


# ---------------------------------------------------------------------------- the sample edition


@pytest.fixture(scope="module")
def sample_out(prefect_server, tmp_path_factory):
    """The sample edition (samples/build.py) through the whole flow, published once for the module."""
    from flows.process_report import process_report
    from samples.build import build_sample_pdf

    tmp = tmp_path_factory.mktemp("sample-formats")
    pdf = build_sample_pdf(tmp / "sample.pdf", edition_note="test_cli_formats")
    process_report(source=str(pdf), edition="sample", out_dir=str(tmp / "processed"), raw_dir=str(tmp / "raw"))
    return tmp / "processed"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", MACHINE)
def test_the_sample_edition_in_each_format(sample_out, fmt):
    for name in ("country_technology", "findings_check", "policy_facts"):
        r = run("show", name, "-o", str(sample_out), "-f", fmt)
        assert r.exit_code == 0, r.output
        rows = show_rows(sample_out, "sample", name)
        assert rows.rows, name
        assert_rows(fmt, r.stdout, rows.columns, rows.rows)
    # the evidence sentences whole, however long: here longer than a table cell shows (60 cells)
    r = run("show", "country_technology", "-o", str(sample_out), "-f", fmt, "-c", "evidence")
    evidence = [row[0] for row in parse(fmt, r.stdout)[1]]
    assert evidence == [e for (e,) in show_rows(sample_out, None, "country_technology", columns=["evidence"]).rows]
    assert max(map(len, evidence)) > 30
    sentences = {s["sentence_id"]: s["text"].replace("\n", " ")
                 for s in show_rows(sample_out, None, "sentences", columns=["sentence_id", "text"]).records()}
    r = run("kwic", "量子", "-o", str(sample_out), "-f", fmt)
    assert r.exit_code == 0, r.output
    lines = kwic_lines(sample_out, None, "量子").lines
    assert len(lines) > 3
    assert_rows(fmt, r.stdout, KWIC_COLUMNS, [line.row() for line in lines])
    assert all(line.left + line.hit + line.right == sentences[line.sentence_id] for line in lines)


def test_a_listing_entrys_10_000_character_title_is_cut_in_the_table_not_in_csv(monkeypatch):
    """One hostile entry's title of 10,000 characters made the piped table 20,000 columns wide,
    every row padded to it (170 KB for four reports; a listing of a thousand, 20 MB of spaces)."""
    import pipeline.sources as sources

    long_title = "長" * 10_000
    reports = [*REPORTS, Report(source="jst", entry_id="e" * 5000, title=long_title, url="https://spap.jst.go.jp/e.pdf",
                                published=None, listing_url="https://spap.jst.go.jp/investigation/report_2022.html#e")]
    monkeypatch.setattr(sources, "load_sources", lambda path: [sources.Source(name="jst", listing="https://spap.jst.go.jp/l.html")])
    monkeypatch.setattr(sources, "discover_all", lambda followed: reports)
    r = CliRunner(env={"COLUMNS": "400", "NO_COLOR": "1"}).invoke(app, ["discover"])
    assert r.exit_code == 0, r.output
    assert len(r.stdout) < 20_000 and any(LONG_URL in line for line in r.stdout.splitlines())
    assert "長" * 100 + "…" in r.stdout and "新興技術政策の国際動向" in r.stdout
    r = run("discover", "-f", "csv")
    assert long_title in r.stdout and "e" * 5000 in r.stdout
