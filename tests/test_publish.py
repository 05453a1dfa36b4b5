import os

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.errors import TableValidationError
from pipeline.publish import PublishError, publish, published_editions
from pipeline.tables import SPECS, validate


def _pages(edition: str, n: int = 2, **overrides) -> pa.Table:
    rows = {
        "edition": [edition] * n, "page": list(range(1, n + 1)), "width": [595.0] * n, "height": [842.0] * n,
        "chars": [100] * n, "has_text_layer": [True] * n, "unmapped_share": [0.0] * n, "column_count": [1] * n,
        "problem": [None] * n, "removed_lines": [["- 1 -"]] * n, "text_source": ["text_layer"] * n,
        "ocr_engine": [None] * n, "ocr_language": [None] * n, "ocr_confidence": pa.array([None] * n, pa.float32()),
    }
    rows.update(overrides)
    return validate(pa.table(rows), SPECS["pages"])


def test_validation_names_every_problem():
    with pytest.raises(TableValidationError) as info:
        _pages("e", 2, page=[0, 0], chars=[None, 3])
    msg = str(info.value)
    assert "1 rows have no chars" in msg and "'page >= 1'" in msg and "repeat the key" in msg


def test_validation_rejects_missing_columns_and_wrong_types():
    with pytest.raises(TableValidationError, match="missing columns"):
        validate(pa.table({"edition": ["e"]}), SPECS["pages"])
    rows = _pages("e").to_pydict()
    rows["page"] = ["one", "two"]
    with pytest.raises(TableValidationError, match="wrong type"):
        validate(pa.table(rows), SPECS["pages"])


def test_publish_writes_parquet_csv_with_bom_and_the_database(tmp_path):
    link = publish({"pages": _pages("ed1")}, tmp_path, "ed1")
    assert link.is_symlink() and published_editions(tmp_path) == ["ed1"]
    assert pq.read_table(link / "pages.parquet").num_rows == 2
    raw = (link / "pages.csv").read_bytes()
    assert raw.startswith("\ufeff".encode()) and "- 1 -".encode() in raw
    con = duckdb.connect(str(tmp_path / "jstmine.duckdb"))
    assert con.execute("select count(*) from pages where edition = 'ed1'").fetchone() == (2,)


def test_republishing_replaces_the_editions_rows_and_keeps_other_editions(tmp_path):
    publish({"pages": _pages("a", 2)}, tmp_path, "a")
    publish({"pages": _pages("b", 3)}, tmp_path, "b")
    publish({"pages": _pages("a", 1)}, tmp_path, "a")
    con = duckdb.connect(str(tmp_path / "jstmine.duckdb"))
    assert con.execute("select edition, count(*) from pages group by 1 order by 1").fetchall() == [("a", 1), ("b", 3)]
    # the replaced run's files are gone, only the live ones remain
    runs = list((tmp_path / ".runs" / "a").iterdir())
    assert len(runs) == 1 and (tmp_path / "a").resolve() == runs[0].resolve()


def test_a_failed_publish_leaves_the_previous_outputs_intact(tmp_path, monkeypatch):
    publish({"pages": _pages("ed", 2)}, tmp_path, "ed")
    before = (tmp_path / "ed" / "pages.parquet").read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pipeline.publish.pq.write_table", full_disk)
    with pytest.raises(PublishError, match="No space left") as info:
        publish({"pages": _pages("ed", 5)}, tmp_path, "ed")
    assert "free disk space" in info.value.todo
    assert (tmp_path / "ed" / "pages.parquet").read_bytes() == before
    con = duckdb.connect(str(tmp_path / "jstmine.duckdb"))
    assert con.execute("select count(*) from pages").fetchone() == (2,)
    assert len(list((tmp_path / ".runs" / "ed").iterdir())) == 1  # the failed run's files are removed


def test_a_database_failure_rolls_back_and_keeps_the_old_link(tmp_path, monkeypatch):
    publish({"pages": _pages("ed", 2)}, tmp_path, "ed")
    target = os.readlink(tmp_path / "ed")
    monkeypatch.setattr("pipeline.publish._switch_link", lambda *a: (_ for _ in ()).throw(OSError(5, "I/O error")))
    with pytest.raises(PublishError):
        publish({"pages": _pages("ed", 4)}, tmp_path, "ed")
    assert os.readlink(tmp_path / "ed") == target
    con = duckdb.connect(str(tmp_path / "jstmine.duckdb"))
    assert con.execute("select count(*) from pages").fetchone() == (2,)


@pytest.mark.parametrize("bad, message", [
    ("", "the edition name is empty"), ("../x", "not usable as a directory name"),
    (".hidden", "not usable as a directory name"), ("a/b", "not usable"), ("名前", "not usable"),
    ("e" * 121, "is 121 characters long, more than 120"), ("jstmine.duckdb", "one of jstmine's own files"),
    ("JSTMINE.DUCKDB", "one of jstmine's own files"), ("jstmine.duckdb.wal", "one of jstmine's own files"),
    ("x.publishing", "one of jstmine's own files"), ("x.tmp", "one of jstmine's own files"),
])
def test_edition_names_that_are_not_safe_directory_names_are_refused(bad, message):
    from pipeline.publish import check_edition_name

    with pytest.raises(PublishError) as caught:
        check_edition_name(bad)
    assert message in caught.value.what and caught.value.todo
    assert check_edition_name("e" * 120) == "e" * 120


def _publish_as_an_older_jstmine(monkeypatch, tables, out, edition):
    """Publish ``edition`` as a jstmine that still accepted new names beginning with '-' did."""
    import pipeline.publish as publishing

    with monkeypatch.context() as m:
        m.setattr(publishing, "check_new_edition_name", lambda name, out_dir=None: publishing.check_edition_name(name))
        publish(tables, out, edition)


def test_a_new_edition_name_beginning_with_a_dash_is_refused_an_existing_one_is_kept(tmp_path, monkeypatch):
    from pipeline.publish import EditionNameError, check_edition_name, check_new_edition_name

    out = tmp_path / "out"
    for bad in ("-x", "--edition", "-"):
        with pytest.raises(EditionNameError) as caught:
            check_new_edition_name(bad, out)
        assert "begins with '-'" in caught.value.what and "for an option" in caught.value.what
        assert "beginning with a letter" in caught.value.todo and "-- " in caught.value.todo
    with pytest.raises(EditionNameError, match="begins with '-'"):
        publish({"pages": _pages("-x")}, out, "-x")  # nothing is written under a new such name
    assert not os.path.lexists(out / "-x") and not (out / ".runs" / "-x").exists()
    assert check_new_edition_name("x-1", out) == "x-1" and check_new_edition_name("_x", out) == "_x"
    # an edition an older jstmine published under such a name stays an edition: listed, readable, re-publishable
    _publish_as_an_older_jstmine(monkeypatch, {"pages": _pages("-x")}, out, "-x")
    assert published_editions(out) == ["-x"] and check_edition_name("-x") == "-x"
    assert check_new_edition_name("-x", out) == "-x"
    publish({"pages": _pages("-x", 3)}, out, "-x")
    assert pq.read_table(out / "-x" / "pages.parquet").num_rows == 3
    with pytest.raises(EditionNameError):  # another new one still is not
        check_new_edition_name("-y", out)


def test_cleanup_removes_only_jstmines_own_temporaries(tmp_path):
    from pipeline.publish import output_lock

    out = tmp_path / "out"
    publish({"pages": _pages("fy24")}, out, "fy24")
    run = os.readlink(out / "fy24")  # .runs/fy24/<run>
    (tmp_path / "notes").mkdir()
    theirs = {".notes.tmp": tmp_path / "notes",  # a user's or another tool's links: kept
              ".fy24.0123abcd.tmp": tmp_path / "notes",  # named like jstmine's, but not to a run directory
              ".fy24.fedcba98.tmp": ".runs/other/x",  # to a run directory of another edition
              ".jstmine.duckdb.0123abcd.tmp": run}
    for name, target in theirs.items():
        os.symlink(target, out / name)
    (out / ".draft.tmp").write_text("a user's file")
    (out / ".fy24.publishing.notes.tmp").write_text("not a name mkstemp makes")
    # what a killed jstmine left: a link being switched, a journal being written
    os.symlink(run, out / ".fy24.89abcdef.tmp")
    os.symlink(".runs/fy24/20250101T000000-00000000", out / ".fy24.0badf00d.tmp")  # its run already gone
    (out / ".fy24.publishing.k2_x9q0a.tmp").write_text('{"edition": "fy24"')
    (out / ".fy24.removing.abcdefgh.tmp").write_text("")
    with output_lock(out):
        publish({"pages": _pages("fy25")}, out, "fy25")
    left = {p.name for p in out.glob(".*.tmp")}
    assert left == set(theirs) | {".draft.tmp", ".fy24.publishing.notes.tmp"}
    assert os.readlink(out / ".notes.tmp") == str(tmp_path / "notes") and (tmp_path / "notes").is_dir()
    assert published_editions(out) == ["fy24", "fy25"]


def test_cleanup_never_follows_a_symbolic_link_planted_under_runs(tmp_path):
    from pipeline.publish import output_lock

    publish({"pages": _pages("x")}, tmp_path / "out", "fy24")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    runs = tmp_path / "out" / ".runs"
    (runs / "planted").symlink_to(victim, target_is_directory=True)  # .runs/<edition> as a link
    (runs / "fy24" / "run-link").symlink_to(victim, target_is_directory=True)  # .runs/<edition>/<run> as a link
    with output_lock(tmp_path / "out"):
        pass
    assert (victim / "keep.txt").read_text() == "precious"
    assert not (runs / "planted").exists() and not (runs / "fy24" / "run-link").is_symlink()
    assert (tmp_path / "out" / "fy24" / "pages.parquet").is_file()  # the edition itself is kept


def test_a_journal_pointing_outside_the_runs_is_ignored(tmp_path):
    import json

    from pipeline.publish import output_lock

    publish({"pages": _pages("x")}, tmp_path / "out", "fy24")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    journal = tmp_path / "out" / ".fy24.publishing"
    journal.write_text(json.dumps({"edition": "fy24", "run": "../victim", "previous": "../victim"}))
    with output_lock(tmp_path / "out"):
        pass
    assert (victim / "keep.txt").is_file() and not journal.exists()
    assert (tmp_path / "out" / "fy24" / "pages.parquet").is_file()


def test_a_failed_first_publish_leaves_nothing_that_stops_a_later_run(tmp_path, monkeypatch):
    import errno

    from pipeline.publish import output_lock

    def too_long(*args, **kwargs):
        raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))

    monkeypatch.setattr("pipeline.publish.pq.write_table", too_long)
    with pytest.raises(PublishError, match="File name too long"):
        publish({"pages": _pages("x")}, tmp_path / "out", "fy24")
    monkeypatch.undo()
    assert not (tmp_path / "out" / ".runs" / "fy24").exists()
    with output_lock(tmp_path / "out"):
        publish({"pages": _pages("x")}, tmp_path / "out", "fy24")


def test_a_second_run_on_the_same_outputs_is_refused_with_a_clear_message(tmp_path):
    import subprocess
    import sys

    from pipeline.publish import OutputLockedError, output_lock

    # Another process holds the outputs (a subprocess, not a fork: forking a process that holds
    # DuckDB handles is unsafe).
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from pipeline.publish import output_lock\n"
         f"with output_lock({str(tmp_path)!r}):\n    print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputLockedError) as info:
            with output_lock(tmp_path):
                pass
        assert f"pid {holder.pid}" in info.value.what and "--out" in info.value.todo
    finally:
        holder.stdin.close()
        holder.wait(10)
    with output_lock(tmp_path):  # free again once the holder is gone
        pass


def test_a_newer_schema_adds_columns_to_the_database_and_keeps_older_editions(tmp_path):
    old = _pages("old").drop_columns(["removed_lines"])
    con = duckdb.connect(str(tmp_path / "jstmine.duckdb"))
    con.register("t", old)
    con.execute("CREATE TABLE pages AS SELECT * FROM t")
    con.close()
    publish({"pages": _pages("new")}, tmp_path, "new")
    con = duckdb.connect(str(tmp_path / "jstmine.duckdb"))
    rows = con.execute("select edition, removed_lines from pages order by edition, page").fetchall()
    assert rows == [("new", ["- 1 -"]), ("new", ["- 1 -"]), ("old", None), ("old", None)]


def test_csv_cells_that_would_start_a_formula_are_neutralised_in_the_csv_only(tmp_path):
    import pyarrow as pa

    texts = ["=HYPERLINK(\"http://x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx=1", "普通の文。", None, "a=b",
             " =1+1", "\u3000=1+1", "＝SUM(A1)", "＋1"]
    table = pa.table({"edition": ["x"] * len(texts), "text": texts, "ids": [[1, 2]] * len(texts)})
    publish({"cells": table}, tmp_path, "x")
    import csv

    with open(tmp_path / "x" / "cells.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["text"] for r in rows] == ["'=HYPERLINK(\"http://x\")", "'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(A1)",
                                         "'\tx=1", "普通の文。", "", "a=b", "' =1+1", "'\u3000=1+1", "'＝SUM(A1)", "'＋1"]
    assert rows[0]["ids"] == "1;2"
    assert pq.read_table(tmp_path / "x" / "cells.parquet")["text"].to_pylist() == texts  # kept exactly
    con = duckdb.connect(str(tmp_path / "jstmine.duckdb"), read_only=True)
    assert [r[0] for r in con.execute("select text from cells").fetchall()] == texts
    con.close()


def test_the_csv_written_window_by_window_is_the_csv_of_the_whole_table(tmp_path, monkeypatch):
    import pyarrow.csv as pacsv

    import pipeline.publish as publish_module

    n = 10
    table = _pages("ed1", n, removed_lines=[["=1+1", f"行{i}"] if i % 3 == 0 else [] for i in range(n)],
                   problem=["@cmd" if i in (2, 7) else None for i in range(n)])
    whole = tmp_path / "whole.csv"
    with open(whole, "wb") as fh:
        fh.write("\ufeff".encode("utf-8"))
        pacsv.write_csv(publish_module._csv_ready(table), fh)
    monkeypatch.setattr(publish_module, "CSV_WINDOW_ROWS", 3)  # windows of 3, 3, 3 and 1 rows
    publish_module.write_table_files(table, tmp_path, "pages")
    assert (tmp_path / "pages.csv").read_bytes() == whole.read_bytes()
    assert (tmp_path / "pages.csv").read_bytes().count("'=1+1".encode()) == 4
    publish_module.write_table_files(table.slice(0, 0), tmp_path, "empty")  # the header alone
    assert (tmp_path / "empty.csv").read_bytes().decode("utf-8-sig").splitlines() == [",".join(f'"{c}"' for c in table.column_names)]


def test_a_planted_database_cannot_change_the_rows_publish_inserts(tmp_path):
    """A database planted in a shared output directory, with a view and table macros named as what
    publishing reads, changes none of the rows it inserts: they come from the tables in memory."""
    con = duckdb.connect(str(tmp_path / "jstmine.duckdb"))
    con.execute("CREATE TABLE forged AS SELECT 'ed1' AS edition, 100 + range AS page, 'FORGED' AS problem FROM range(2)")
    con.execute("CREATE VIEW _incoming AS SELECT * FROM forged")
    con.execute("CREATE MACRO read_parquet(p) AS TABLE SELECT * FROM forged")
    con.execute("CREATE MACRO parquet_scan(p) AS TABLE SELECT * FROM forged")
    con.close()
    tables = {"pages": _pages("ed1", 2)}
    publish(dict(tables), tmp_path, "ed1")
    got = duckdb.connect(str(tmp_path / "jstmine.duckdb"), read_only=True)
    rows = got.execute("SELECT edition, page, problem FROM pages ORDER BY page").fetchall()
    assert rows == [(r["edition"], r["page"], r["problem"]) for r in tables["pages"].to_pylist()]
    assert all(problem != "FORGED" for *_, problem in rows)


def test_repeated_keys_counts_what_a_grouping_of_the_key_counts():
    """Rows less distinct keys, nulls equal to nulls, over string and integer columns."""
    import random

    from pipeline.tables import repeated_keys

    rng = random.Random(7)
    for _ in range(30):
        n = rng.randint(0, 60)
        table = pa.table({
            "edition": pa.array([rng.choice(["a", "b", None]) for _ in range(n)], pa.string()),
            "sentence_id": pa.array([rng.choice([1, 2, 3, None]) for _ in range(n)], pa.int32()),
            "token_index": pa.array([rng.randint(0, 3) for _ in range(n)], pa.int32()),
        })
        for key in (("edition",), ("edition", "sentence_id"), ("edition", "sentence_id", "token_index")):
            distinct = table.group_by(list(key)).aggregate([]).num_rows if n else 0
            assert repeated_keys(table, key) == n - distinct, (key, table.to_pydict())
