"""The report's charts drawn in a child process while the flow checks and publishes
(``flows.report_charts``): the same report as drawing them in the flow's process, a drawing used
only for the rows it was drawn from, and a child that fails, dies or cannot start changing nothing
but where the charts are drawn, never leaving a process behind."""
from __future__ import annotations

import math
import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows import report_charts as child_charts
from flows.report_charts import ChartProcess
from pipeline import report_charts
from pipeline.publish import publish
from pipeline.published import table_rows
from pipeline.report import render_html, render_report, report_context
from pipeline.report_analyses import analyses_context

GENERATED = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")


def _refuse(chart, rows):
    raise AssertionError(f"the {chart} chart was drawn in this process")


@pytest.fixture(scope="module")
def flow_edition(prefect_server, tmp_path_factory) -> tuple[Path, object]:
    """The sample edition through the whole flow, with the flow's process unable to draw a chart:
    its report's charts can only come from the child process."""
    from flows.process_report import process_report
    from samples.build import build_sample_pdf

    tmp = tmp_path_factory.mktemp("report-charts")
    pdf = build_sample_pdf(tmp / "sample.pdf", edition_note="test_report_charts")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(report_charts, "draw_chart", _refuse)
        state = process_report(source=str(pdf), edition="sample", out_dir=str(tmp / "processed"),
                               raw_dir=str(tmp / "raw"), expectations="", return_state=True)
    assert not _chart_children()  # the child the flow started is gone, reaped
    return tmp / "processed", state


def _chart_children() -> list:
    """This process's children that are a charts' child process (zombies included)."""
    import psutil

    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "flows.report_charts" in " ".join(child.cmdline()) or child.status() == psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def _published(out: Path, edition: str) -> dict[str, pa.Table]:
    return {name: pq.read_table(out / edition / f"{name}.parquet") for name in report_charts.TABLES}


def _rows(out: Path, edition: str) -> dict:
    return {name: table_rows(out, edition, name) for name in report_charts.TABLES}


def _children() -> set[int]:
    """This process's child processes still there (zombies included)."""
    import psutil

    return {p.pid for p in psutil.Process().children()}


@pytest.mark.slow
def test_the_flows_report_has_the_childs_charts_and_equals_the_report_drawn_here(flow_edition):
    out, state = flow_edition
    assert state.is_completed(), state.message
    summary = state.result()
    assert summary.report == str(out / "sample" / "report.html")  # written, with charts from the child
    written = (out / "sample" / "report.html").read_text(encoding="utf-8")
    here = render_html(report_context(out, "sample"))  # every chart drawn in this process
    assert "共起ネットワーク" in here and here.count("<svg") >= 2
    assert GENERATED.sub("TIME", written) == GENERATED.sub("TIME", here)


@pytest.mark.slow
def test_the_childs_drawings_are_used_only_for_the_rows_they_were_drawn_from(flow_edition, monkeypatch):
    out, _ = flow_edition
    plain = analyses_context(out, "sample")
    rows = _rows(out, "sample")
    charts = ChartProcess()
    charts.send(_published(out, "sample"))
    with monkeypatch.context() as mp:
        mp.setattr(report_charts, "draw_chart", _refuse)
        assert analyses_context(out, "sample", drawn=charts) == plain
    assert set(charts.drawn) == {report_charts.chart_key(c, rows) for c in report_charts.CHARTS}
    charts.close()

    # drawn from other rows (one node's frequency changed): not used, the report draws its own
    tables = _published(out, "sample")
    nodes = tables["cooccurrence_nodes"].to_pylist()
    nodes[0]["frequency"] += 1
    tables["cooccurrence_nodes"] = pa.Table.from_pylist(nodes, schema=tables["cooccurrence_nodes"].schema)
    other = ChartProcess()
    other.send(tables)
    assert other.get(report_charts.chart_key("network", rows)) is None
    assert other.get(report_charts.chart_key("correspondence", rows)) is not None  # its rows are the same
    assert analyses_context(out, "sample", drawn=other) == plain
    other.close()


@pytest.mark.slow
def test_a_chart_the_child_cannot_draw_fails_the_report_as_it_would_have_here(flow_edition, tmp_path):
    out, _ = flow_edition
    bad = tmp_path / "bad"
    tables = {f.stem: pq.read_table(f) for f in (out / "sample").glob("*.parquet")}
    publish(tables, bad, "sample")
    nodes = tables["cooccurrence_nodes"]  # then a node without a frequency, in the published file
    pq.write_table(nodes.set_column(nodes.schema.get_field_index("frequency"), "frequency",
                                    pa.nulls(nodes.num_rows, pa.int64())),
                   bad / "sample" / "cooccurrence_nodes.parquet")
    with pytest.raises(Exception) as here:  # noqa: PT011 (whatever drawing a node without a frequency raises)
        render_report(bad, "sample")
    said: list[str] = []
    charts = ChartProcess(log=said.append)
    charts.send(_published(bad, "sample"))
    with pytest.raises(type(here.value)) as there:
        render_report(bad, "sample", drawn=charts)
    assert str(there.value) == str(here.value)
    assert set(charts.errors) == {"network"}
    assert charts.errors["network"] == f"{type(here.value).__name__}: {here.value}"
    assert len(said) == 1 and "could not draw network" in said[0] and "drawn again in the flow's process" in said[0]
    charts.close()


@pytest.mark.slow
def test_a_child_that_dies_changes_nothing_but_where_the_charts_are_drawn(flow_edition):
    out, _ = flow_edition
    plain = analyses_context(out, "sample")
    said: list[str] = []
    charts = ChartProcess(log=said.append)
    charts.send(_published(out, "sample"))
    charts.proc.kill()
    assert analyses_context(out, "sample", drawn=charts) == plain
    assert charts.drawn == {} and len(said) == 1 and "exit code -9" in said[0]
    assert charts.proc.returncode == -9 and charts.proc.pid not in _children()  # reaped
    charts.close()
    charts.close()  # twice is harmless


def test_closing_a_child_that_was_never_sent_anything_ends_and_reaps_it():
    charts = ChartProcess()
    assert charts.proc.pid in _children()
    charts.close()
    assert charts.proc.returncode is not None and charts.proc.pid not in _children()
    with pytest.raises(ChildProcessError):
        os.waitpid(charts.proc.pid, os.WNOHANG)
    assert charts.get("network-0") is None  # nothing drawn: the report draws its charts itself


def _no_python(monkeypatch, tmp_path):
    monkeypatch.setattr(child_charts.sys, "executable", str(tmp_path / "no-python"))
    return "could not start"


def _no_temporary_file(monkeypatch, tmp_path):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(child_charts.tempfile, "TemporaryFile", full)
    return "No space left on device"


@pytest.mark.parametrize("fault", [_no_python, _no_temporary_file], ids=["cannot-start", "no-temporary-file"])
def test_a_child_that_cannot_start_leaves_the_charts_to_the_report(fault, monkeypatch, tmp_path):
    """No interpreter to start, or no temporary file for the child's errors: the charts are left to
    the report, and the log says why."""
    why = fault(monkeypatch, tmp_path)
    said: list[str] = []
    charts = ChartProcess(log=said.append)
    assert charts.proc is None and len(said) == 1 and why in said[0]
    charts.send({})
    assert charts.get("network-0") is None
    charts.close()


def test_a_child_that_goes_away_before_anything_is_sent_ends_quietly():
    """The child of a flow that ended (its stdin closed with nothing sent) exits 0, saying nothing."""
    charts = ChartProcess()
    charts.proc.stdin.close()
    assert charts.proc.wait(timeout=120) == 0
    charts.stderr.seek(0)
    assert charts.stderr.read() == b""
    charts.close()


def test_the_key_is_the_rows_not_their_column_order_and_a_missing_table_draws_nothing():
    nodes = [{"node_id": "JP", "node_label": "日本", "node_kind": "country", "frequency": 3, "degree": 1}]
    reordered = [dict(reversed(list(r.items()))) for r in nodes]
    key = report_charts.chart_key("network", {"cooccurrence_nodes": nodes, "cooccurrence_edges": []})
    assert key == report_charts.chart_key("network", {"cooccurrence_nodes": reordered, "cooccurrence_edges": []})
    assert key != report_charts.chart_key("network", {"cooccurrence_nodes": [nodes[0] | {"frequency": 4}],
                                                      "cooccurrence_edges": []})
    assert key != report_charts.chart_key("network", {"cooccurrence_nodes": nodes, "cooccurrence_edges": None})
    assert report_charts.draw_chart("network", {"cooccurrence_nodes": nodes}) is None  # no edges table
    assert report_charts.draw_chart("network", {"cooccurrence_nodes": nodes, "cooccurrence_edges": []}) == ""
    assert report_charts.draw_chart("correspondence", {"correspondence": []}) == ""
    drawn, errors = report_charts.draw_charts({"cooccurrence_nodes": nodes, "cooccurrence_edges": []})
    assert drawn == {key: ""} and errors == {}


@pytest.mark.parametrize("on_a_box", [False, True])
def test_a_moved_labels_line_starts_two_points_off_its_box_and_ends_at_its_point(on_a_box, monkeypatch):
    """``start_at_labels``: each line adjustText draws from a moved label to its point starts where
    it leaves the label's box (the text's, or the box it is drawn on), ``shrinkA`` points further,
    as matplotlib's own cut at the label gave, and still ends at the point."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch

    from pipeline import charts

    fig = Figure(figsize=(4, 4))
    ax = fig.subplots()
    xs, ys = [0.0, 0.01, 0.02, 0.0, 1.0], [0.0, 0.0, 0.01, 0.02, 1.0]
    ax.scatter(xs, ys)
    box = {"boxstyle": "round,pad=0.3", "facecolor": "#ffffff", "edgecolor": "none"} if on_a_box else None
    texts = [ax.text(x, y, label, fontsize=9, fontfamily=charts.font_families(), bbox=box)
             for x, y, label in zip(xs, ys, ["人工知能(AI)", "量子技術", "半導体", "宇宙技術", "米国"], strict=True)]
    labels, targets = {}, {}  # each line's label and point, as adjustText made it
    start_at_labels = charts.start_at_labels

    def recording(ax, lines, renderer):
        labels.update({id(line): line.patchA for line in lines})
        targets.update({id(line): tuple(line._posA_posB[1]) for line in lines})  # where adjustText ends it
        start_at_labels(ax, lines, renderer)

    monkeypatch.setattr(charts, "start_at_labels", recording)
    charts.spread_labels(fig, ax, texts, xs, ys)
    lines = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert set(labels) == {id(line) for line in lines}
    assert lines and all(line.patchA is None for line in lines)  # nothing left to cut at each drawing
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    cut = 0
    for line in lines:
        start, end = line.get_path().vertices[0], line.get_path().vertices[-1]  # data coordinates, as drawn
        extent = labels[id(line)].get_window_extent(renderer)
        if on_a_box:
            extent = extent.padded(0.3 * renderer.points_to_pixels(9))
        (sx, sy), (ex, ey) = ax.transData.transform([start, end])  # it ends at its point, ``shrinkB`` at most short
        shrink = renderer.points_to_pixels(line.shrinkA)
        target = ax.transData.transform(targets[id(line)])
        if extent.contains(*target):  # its point inside the box: no line (it starts at the point)
            assert math.hypot(sx - target[0], sy - target[1]) < 0.01 and math.hypot(ex - target[0], ey - target[1]) < 0.01
            continue
        assert math.hypot(ex - target[0], ey - target[1]) <= renderer.points_to_pixels(line.shrinkB) + 0.01
        gap = max(extent.x0 - sx, sx - extent.x1, extent.y0 - sy, sy - extent.y1)  # outside the box, along x or y
        assert -0.01 <= gap <= shrink + 0.01  # on the edge when the line is too short to shrink
        assert min(abs(extent.x0 - sx), abs(sx - extent.x1), abs(extent.y0 - sy), abs(sy - extent.y1)) <= shrink + 0.01
        cut += 1
    assert cut >= 1
