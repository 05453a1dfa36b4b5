"""A shared output or raw directory: what someone with write access plants there (symbolic links,
special files, a database of their own, a re-pointed edition link) never makes jstmine write, read
or delete anything outside, and never stops a later run."""
from __future__ import annotations

import json
import os
import time

import duckdb
import pyarrow as pa
import pytest

from pipeline.errors import AcquireError
from pipeline.publish import DATABASE_NAME, PublishError, output_lock, publish, published_editions, settle_before_reading


def _pages(edition: str) -> pa.Table:
    return pa.table({"edition": [edition, edition], "page": [1, 2]})


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "victim.txt"
    path.write_text("precious", encoding="utf-8")
    return path


@pytest.fixture
def out(tmp_path):
    out = tmp_path / "out"
    publish({"pages": _pages("a")}, out, "a")
    publish({"pages": _pages("b")}, out, "b")
    return out


def test_the_lock_holder_file_is_never_written_through_a_link(out, victim):
    (out / ".jstmine.lock.holder").symlink_to(victim)
    with output_lock(out):
        assert not (out / ".jstmine.lock.holder").is_symlink()
    assert victim.read_text(encoding="utf-8") == "precious"


def test_a_planted_journal_temporary_file_is_never_written_through(out, victim):
    # named like a journal being written, but links: never written through, and, being no file
    # jstmine made, left where they are (clean-up removes only jstmine's own temporaries)
    planted = [out / ".a.publishing.tmp", out / ".a.publishing.k2_x9q0a.tmp"]
    for link in planted:
        link.symlink_to(victim)
    with output_lock(out):
        publish({"pages": _pages("a")}, out, "a")
    assert victim.read_text(encoding="utf-8") == "precious"
    assert all(link.is_symlink() and link.resolve() == victim for link in planted)


@pytest.mark.parametrize("name", [DATABASE_NAME + ".wal", DATABASE_NAME])
def test_a_database_or_wal_that_is_a_link_is_refused(tmp_path, victim, name):
    out = tmp_path / "o"
    out.mkdir()
    (out / name).symlink_to(victim)
    with pytest.raises(PublishError, match="is a symbolic link, not a file jstmine made"):
        publish({"pages": _pages("a")}, out, "a")
    assert victim.read_text(encoding="utf-8") == "precious"
    assert published_editions(out) == [] and not list((out / ".runs").glob("*/*"))


def test_a_planted_database_cannot_make_settling_read_a_file(out, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    db = out / DATABASE_NAME
    db.unlink()
    con = duckdb.connect(str(db))
    con.execute(f"CREATE VIEW publish_log AS SELECT content AS run, 'a' AS edition FROM read_text('{secret}')")
    con.close()
    (out / ".a.publishing").write_text(json.dumps({"edition": "a", "run": ".runs/a/x", "previous": None}))
    notes = settle_before_reading(out)
    assert not any("TOP-SECRET" in n for n in notes)
    assert (out / "a" / "pages.parquet").is_file()


def test_a_journal_that_is_a_special_file_is_removed_not_read(out):
    (out / ".a.publishing").symlink_to("/dev/zero")
    started = time.monotonic()
    with output_lock(out):
        pass
    assert time.monotonic() - started < 5 and not os.path.lexists(out / ".a.publishing")


def test_an_edition_link_re_pointed_at_another_editions_run_costs_that_edition_nothing(out):
    other = os.readlink(out / "b")
    (out / "a").unlink()
    (out / "a").symlink_to(other, target_is_directory=True)  # a now shows b's run
    with output_lock(out):
        publish({"pages": _pages("a")}, out, "a")
    assert os.readlink(out / "b") == other and (out / "b" / "pages.parquet").is_file()
    assert (out / "a" / "pages.parquet").is_file() and os.readlink(out / "a") != other


def test_runs_that_is_not_a_directory_is_refused_before_any_work(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / ".runs").write_text("not a directory")
    with pytest.raises(PublishError, match="is not a directory jstmine made"), output_lock(out):
        pass


def test_links_named_like_no_edition_are_no_editions(out):
    (out / "e\x1b[2J").symlink_to(os.readlink(out / "a"), target_is_directory=True)
    (out / "jstmine.duckdb.wal.checkpoint").symlink_to(os.readlink(out / "a"), target_is_directory=True)
    assert published_editions(out) == ["a", "b"]


def test_raw_manifest_and_pdf_names_are_never_written_through_links(http_server, tmp_path, victim):
    from pipeline.acquire import AcquireConfig, acquire
    from test_acquire import make_pdf

    raw = tmp_path / "raw"
    raw.mkdir()
    url = http_server.serve_pdf("/r.pdf", make_pdf("raw links"))
    first = acquire(url, AcquireConfig(raw_dir=raw))  # learn the name the PDF gets
    first.path.unlink()
    (raw / "manifest.jsonl").unlink()
    first.path.symlink_to(tmp_path / "nowhere.pdf")  # a dangling link at the PDF's own name
    (raw / "manifest.jsonl").symlink_to(victim)
    with pytest.raises(AcquireError, match="manifest.jsonl is a symbolic link"):
        acquire(url, AcquireConfig(raw_dir=raw))
    assert victim.read_text(encoding="utf-8") == "precious" and not (tmp_path / "nowhere.pdf").exists()
    (raw / "manifest.jsonl").unlink()
    again = acquire(url, AcquireConfig(raw_dir=raw))
    assert again.path == first.path and not again.path.is_symlink() and again.path.read_bytes()[:5] == b"%PDF-"


@pytest.mark.parametrize("inside", ["a", "a/sub", ".runs", ".runs/a/new"])
def test_an_output_directory_inside_an_editions_files_is_refused(out, inside):
    """--out processed/fy24_rr02 (an edition's link) once nested a database, a lock and editions
    inside that edition's published run directory."""
    run_dir = (out / "a").resolve()
    before = sorted(p.name for p in run_dir.iterdir())
    with pytest.raises(PublishError, match=r"is inside .*\.runs, where jstmine keeps the files") as refused, \
            output_lock(out / inside):
        pass
    assert f"--out {out}" in refused.value.todo
    assert sorted(p.name for p in run_dir.iterdir()) == before
    assert not (out / ".runs" / "a" / "new").exists() and published_editions(out) == ["a", "b"]


def test_an_output_directory_beside_or_linked_to_another_is_its_own(out, tmp_path):
    (tmp_path / "elsewhere").symlink_to(out, target_is_directory=True)  # a link to an output directory: the same one
    with output_lock(tmp_path / "elsewhere"):
        pass
    with output_lock(tmp_path / "second"), output_lock(out / "nested-but-not-in-runs"):
        pass
