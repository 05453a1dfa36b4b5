"""The figure search's searches over all of a page's drawings, ``figures._smallest_containers``
(what each filled shape is drawn on), ``figures._cluster`` (which drawings form one figure),
``figures._bleeding`` and ``figures._mostly_on`` (artwork bleeding off the page, what lies on it),
``figures._grow`` (a cluster grown by the drawings it comes to touch), ``figures._merge_regions``,
and ``box_clusters.cluster_labels`` (what ``_cluster`` asks it, every pair it tests at once or
box by box, equal boxes standing for each other only where the grid answers alike),
against the algorithms they replaced (kept here as the reference: every earlier ground tested for
each shape, every pair the grid finds tested one by one): the same answers on many random sets of
boxes (hypothesis) in the layouts that made them slow (shapes stacked on one spot, nested in one
another, a grid, scattered, mixed), and the same figure regions on pages drawn with text, a table
and a figure, read with both engines.
"""
from __future__ import annotations

import contextlib
import random

import numpy as np
import pdfplumber
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pdfdraw import GOTHIC, draw_paragraph, draw_table, save_pdf

from pipeline.extract import ExtractConfig, box_clusters, extract_pdf, figures
from pipeline.extract.figures import _bleeds, _distance, _Grid, _Shape, _share_inside, _smallest_container, _union

PARA = "第一段落の本文である。研究開発投資の拡大と人材育成の強化が重要な課題として挙げられている。"
ROWS = [("国名", "件数"), ("日本", "12"), ("米国", "34")]
COLOURS = [(0.2, 0.4, 0.6), (1.0, 1.0, 1.0), (0.9, 0.1, 0.1)]


# -- the reference: the algorithms as they were ------------------------------------------------


def reference_containers(shapes: list[_Shape], grounds: list[_Shape]) -> list[_Shape | None]:
    index = _Grid(48.0)
    for k, g in enumerate(grounds):
        index.add(k, g.box)
    return [_smallest_container(s, grounds, index) for s in shapes]


def reference_bleeding(raw: list[_Shape], bounds) -> list[_Shape]:
    found = [s for s in raw if not s.image and _bleeds(s.box, bounds)]
    pending = list(found)
    while pending:
        b = pending.pop()
        if b.colour is None:
            continue
        for s in raw:
            if s.image or s.colour != b.colour or any(s is f for f in found):
                continue
            if _distance(s.box, b.box) <= 1.0:
                found.append(s)
                pending.append(s)
    return found


def reference_mostly_on(shapes: list[_Shape], under: list[_Shape]) -> list[bool]:
    return [not s.image and any(_share_inside(s.box, b.box) >= 0.6 for b in under) for s in shapes]


def reference_grow_by_seeds(members: list[_Shape], shapes: list[_Shape]):
    """``_grow`` without labels, as it was: every shape asked in every pass."""
    region = _union(s.box for s in members)
    members = list(members)
    for _ in range(8):
        changed = False
        for s in shapes:
            if s.seed and s not in members and _distance(s.box, region) <= 0:
                members.append(s)
                region = _union([region, s.box])
                changed = True
        if not changed:
            break
    return region, members


def reference_merge_regions(regions: list, gap: float) -> list:
    regions = list(regions)
    merged = True
    while merged:
        merged = False
        for i in range(len(regions)):
            for j in range(i + 1, len(regions)):
                a, b = regions[i], regions[j]
                if _distance(a[0], b[0]) < gap or (gap > 0 and _distance(a[0], b[0]) <= gap):
                    regions[i] = (_union([a[0], b[0]]), a[1] + b[1], a[2] + b[2])
                    del regions[j]
                    merged = True
                    break
            if merged:
                break
    return regions


def reference_cluster(seeds: list[_Shape], connectors: list[_Shape], gap: float) -> list[list[_Shape]]:
    nodes = seeds + connectors
    n_seeds = len(seeds)
    parent = list(range(len(nodes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    reach = max(gap, 2.0)
    grid = _Grid(max(2 * reach, 12.0))
    for i, node in enumerate(nodes):
        grid.add(i, node.box)
    for i, node in enumerate(nodes):
        a0, a1, a2, a3 = node.box
        for j in grid.near(node.box, reach):
            if j <= i:
                continue
            limit = gap if i < n_seeds and j < n_seeds else 2.0
            b0, b1, b2, b3 = nodes[j].box
            if b0 - a2 <= limit and a0 - b2 <= limit and b1 - a3 <= limit and a1 - b3 <= limit:
                parent[find(i)] = find(j)
    groups: dict[int, list[_Shape]] = {}
    for i, s in enumerate(nodes):
        groups.setdefault(find(i), []).append(s)
    return [g for g in groups.values() if any(s.seed for s in g)]


# -- random layouts -------------------------------------------------------------------------------


def layout_boxes(kind: str, n: int, rnd: random.Random) -> list[tuple[float, float, float, float]]:
    """``n`` boxes in one of the layouts: on coordinates of quarter points, so that equal boxes,
    touching edges and the 0.5 pt tolerance come up often."""
    def q(v: float) -> float:
        return round(v * 4) / 4

    boxes = []
    for i in range(n):
        if kind == "stacked":
            x, y, w, h = 100 + rnd.choice([0, 0, 0, 0.25, 0.5, 0.75]), 100, 50, 50 + rnd.choice([0, 0, 0.5, -0.5])
        elif kind == "nested":
            d = q(i * rnd.choice([0.25, 0.5, 1.0]))
            x, y, w, h = 50 + d, 50 + d, max(0.0, 300 - 2 * d), max(0.0, 400 - 2 * d)
        elif kind == "grid":
            x, y, w, h = 40 + (i % 12) * rnd.choice([5, 12, 14]), 40 + (i // 12) * 7, 4, 4
        elif kind == "scattered":
            x, y, w, h = q(rnd.uniform(0, 200)), q(rnd.uniform(0, 200)), q(rnd.uniform(0, 60)), q(rnd.uniform(0, 60))
        else:  # mixed: page-size panels, stacks, small marks, hairlines, shapes across cell lines
            pick = rnd.random()
            if pick < 0.2:
                x, y, w, h = q(rnd.uniform(0, 20)), q(rnd.uniform(0, 20)), q(rnd.uniform(100, 300)), q(rnd.uniform(100, 300))
            elif pick < 0.4:
                x, y, w, h = 47.5 + rnd.choice([0, 0.5, 1]), 95.5, rnd.choice([1, 2, 5]), rnd.choice([1, 2, 5])
            elif pick < 0.6:
                x, y, w, h = q(rnd.uniform(0, 300)), q(rnd.uniform(0, 300)), q(rnd.uniform(0, 2)), q(rnd.uniform(0, 80))
            else:
                x, y, w, h = q(rnd.uniform(0, 300)), q(rnd.uniform(0, 300)), q(rnd.uniform(0, 15)), q(rnd.uniform(0, 15))
        boxes.append((float(x), float(y), float(x + w), float(y + h)))
    return boxes


def random_shapes(kind: str, n: int, seed: int) -> list[_Shape]:
    rnd = random.Random(seed)
    shapes = []
    for box in layout_boxes(kind, n, rnd):
        s = _Shape(box, False, "rect")
        s.filled = rnd.random() < 0.8
        s.stroked = rnd.random() < 0.2
        s.colour = rnd.choice(COLOURS) if s.filled else None
        s.seed = rnd.random() < 0.7
        shapes.append(s)
    return shapes


KINDS = ["stacked", "nested", "grid", "scattered", "mixed"]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(KINDS), st.integers(0, 120), st.integers(0, 2**32 - 1))
def test_the_smallest_containers_are_the_reference_ones(kind, n, seed):
    raw = random_shapes(kind, n, seed)
    grounds = [s for s in raw if s.filled]
    asking = [s for s in grounds if not s.stroked]
    found = figures._smallest_containers(asking, grounds)
    expected = reference_containers(asking, grounds)
    assert [id(f) for f in found] == [id(e) for e in expected]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(KINDS), st.integers(0, 120), st.integers(0, 2**32 - 1),
       st.sampled_from([1.0, 2.0, 7.5, 10.0, 10.5, 14.0]))
def test_the_clusters_are_the_reference_ones(kind, n, seed, gap):
    raw = random_shapes(kind, n, seed)
    seeds = [s for s in raw if s.seed]
    connectors = [s for s in raw if not s.seed]
    found = figures._cluster(seeds, connectors, gap)
    expected = reference_cluster(seeds, connectors, gap)
    assert [[id(s) for s in g] for g in found] == [[id(s) for s in g] for g in expected]


@contextlib.contextmanager
def _chunk(chunk: int):
    """``box_clusters`` with ``CHUNK`` set (a hypothesis test cannot take pytest's monkeypatch)."""
    saved = box_clusters.CHUNK
    box_clusters.CHUNK = chunk
    try:
        yield
    finally:
        box_clusters.CHUNK = saved


def pooled_shapes(n: int, seed: int) -> list[_Shape]:
    """``n`` shapes drawn from a pool of a few boxes (some a hairline or a point) on quarter
    points: many equal boxes, seeds and connectors among them. (Not inverted, as pdfplumber's
    boxes never are: the reference's grid files a box whose x1 < x0 across a cell edge in no
    cell, the tests below ask about such cells directly.)"""
    rnd = random.Random(seed)
    pool = []
    for _ in range(rnd.randint(1, 8)):
        x, y = rnd.randrange(0, 200) / 4, rnd.randrange(0, 200) / 4
        w, h = rnd.choice([0.0, 0.5, 1.0, 3.0, 12.0]), rnd.choice([0.0, 2.0, 9.75])
        pool.append((x, y, x + w, y + h))
    return [_Shape(rnd.choice(pool), False, "rect", seed=rnd.random() < 0.6) for _ in range(n)]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([*KINDS, "pooled"]), st.integers(0, 400), st.integers(0, 2**32 - 1),
       st.sampled_from([1.0, 2.0, 7.5, 10.0, 10.5, 14.0]),
       st.sampled_from([1 << 17, 50, 1]))
def test_the_clusters_are_the_reference_ones_whichever_way_the_pairs_are_tested(kind, n, seed, gap, chunk):
    """Up to 400 shapes, the pairs looked at all at once, about 50 at a time, or box by box (as
    for thousands of boxes overlapping along x), equal boxes standing for each other."""
    raw = pooled_shapes(n, seed) if kind == "pooled" else random_shapes(kind, n, seed)
    seeds = [s for s in raw if s.seed]
    connectors = [s for s in raw if not s.seed]
    with _chunk(chunk):
        found = figures._cluster(seeds, connectors, gap)
    expected = reference_cluster(seeds, connectors, gap)
    assert [[id(s) for s in g] for g in found] == [[id(s) for s in g] for g in expected]


def pairwise_labels(boxes, n_seeds, gap, own, grown) -> list[int]:
    """``box_clusters.cluster_labels`` asked pair by pair: the smallest box number of each
    box's cluster."""
    n = len(boxes)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            limit = gap if i < n_seeds and j < n_seeds else 2.0
            a, b = boxes[i], boxes[j]
            near = b[0] - a[2] <= limit and a[0] - b[2] <= limit and b[1] - a[3] <= limit and a[1] - b[3] <= limit
            g, c = grown[i], own[j]
            if near and g[0] <= c[1] and c[0] <= g[1] and g[2] <= c[3] and c[2] <= g[3]:
                ri, rj = find(i), find(j)
                parent[max(ri, rj)] = min(ri, rj)
    return [find(i) for i in range(n)]


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 120), st.integers(0, 2**32 - 1), st.sampled_from([1.0, 2.0, 10.0]),
       st.sampled_from([1 << 17, 1]))
def test_cluster_labels_answer_as_the_pairwise_test_even_where_the_grid_is_lopsided(n, seed, gap, chunk):
    """Grid cells drawn at random (not from the boxes): the grid's test of ``i`` with ``j`` and
    of ``j`` with ``i`` often differ, so an equal box cannot always stand for another; the labels
    are still the pairwise test's."""
    rnd = random.Random(seed)
    cells = {}  # a box's cells and grown cells (as in figures, equal boxes have equal cells)
    for _ in range(rnd.randint(1, 6)):
        x, y, cx, cy = float(rnd.randrange(0, 40)), float(rnd.randrange(0, 40)), rnd.randrange(0, 4), rnd.randrange(0, 4)
        cells[(x, y, x + 3.0, y + 3.0)] = (
            (cx, cx, cy, cy),
            (cx - rnd.randrange(0, 2), cx + rnd.randrange(0, 2), cy - rnd.randrange(0, 2), cy + rnd.randrange(0, 2)))
    pool = [(box, *found) for box, found in cells.items()]
    boxes, own, grown = (list(v) for v in zip(*[rnd.choice(pool) for _ in range(n)], strict=True)) if n else ([], [], [])
    n_seeds = rnd.randint(0, n)
    arrays = [np.array(v, dtype=np.float64).reshape(n, 4) for v in (boxes, own, grown)]
    with _chunk(chunk):
        labels = box_clusters.cluster_labels(arrays[0], n_seeds, gap, arrays[1], arrays[2]).tolist()
    expected = pairwise_labels(boxes, n_seeds, gap, own, grown)
    # the same partition: each box's label is that of the first box of its cluster
    first = {}
    assert [first.setdefault(lab, k) for k, lab in enumerate(labels)] == expected


def test_an_equal_box_does_not_stand_for_another_where_the_grid_answers_differently():
    """Boxes 0 and 2 are equal (so joined); box 1 is near both, but the grid joins 1 with 2 (1
    first, grown) and not 0 with 1 (0 first): box 0 standing for box 2 would leave 1 out."""
    boxes = np.array([(0.0, 0.0, 3.0, 3.0), (4.0, 0.0, 7.0, 3.0), (0.0, 0.0, 3.0, 3.0)])
    own = np.array([(0, 0, 0, 0), (1, 1, 0, 0), (0, 0, 0, 0)], dtype=np.float64)
    grown = np.array([(0, 0, 0, 0), (0, 1, 0, 0), (0, 0, 0, 0)], dtype=np.float64)
    pairs = box_clusters._Pairs(boxes, 3, 2.0, own, grown)
    shortcut = box_clusters._components(pairs, np.array([0, 1]), check=False)
    assert shortcut[0] != shortcut[1]  # what standing for it would give
    assert box_clusters._components(pairs, np.array([0, 1]), check=True) is None
    assert box_clusters.cluster_labels(boxes, 3, 2.0, own, grown).tolist() == [0, 0, 0]
    assert pairwise_labels(boxes.tolist(), 3, 2.0, own.tolist(), grown.tolist()) == [0, 0, 0]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(KINDS), st.integers(1, 120), st.integers(0, 2**32 - 1), st.sampled_from([0.5, 2.0, 10.0]))
def test_clusters_grow_by_the_seeds_they_touch_as_before(kind, n, seed, gap):
    """Clusters made with a small gap, so that growing them by the seeds they come to touch
    takes in more (the labels' part of ``_grow`` is unchanged)."""
    shapes = random_shapes(kind, n, seed)
    seeds = [s for s in shapes if s.seed]
    index = figures._Seeds(shapes)
    for members in figures._cluster(seeds, [], gap)[:10]:
        region, grown, n_labels = figures._grow(members, shapes, [], index)
        expected_region, expected = reference_grow_by_seeds(members, shapes)
        assert (region, [id(s) for s in grown], n_labels) == (expected_region, [id(s) for s in expected], 0)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(KINDS), st.integers(0, 120), st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.5, 3.0, 15.0]))
def test_the_regions_merge_as_before(kind, n, seed, gap):
    """Regions (box, members, number of labels) from boxes in each layout: the same merges, in
    the same order (the members' order shows it)."""
    regions = [(s.box, [k], k % 3) for k, s in enumerate(random_shapes(kind, n, seed))]
    assert figures._merge_regions(regions, gap) == reference_merge_regions(regions, gap)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(KINDS), st.integers(0, 120), st.integers(0, 2**32 - 1))
def test_the_bleeding_drawings_and_those_on_them_are_the_reference_ones(kind, n, seed):
    """The page box cuts through the layouts: many drawings bleed off it, chains of one colour
    touch them."""
    raw = random_shapes(kind, n, seed)
    for s in raw[::7]:
        s.image = True
    bounds = (60.0, 60.0, 250.0, 250.0)
    found = figures._bleeding(raw, bounds)
    expected = reference_bleeding(raw, bounds)
    assert len(found) == len({id(s) for s in found})
    assert {id(s) for s in found} == {id(s) for s in expected}
    assert figures._mostly_on(raw, found) == reference_mostly_on(raw, expected)


def test_a_band_in_pieces_bleeds_with_all_its_pieces_and_not_with_another_colour():
    band = [_Shape((-5.0 + 10 * k, 0.0, 5.5 + 10 * k, 20.0), False, "rect", colour=(0.2, 0.4, 0.6))
            for k in range(5)]
    apart = _Shape((52.0, 0.0, 60.0, 20.0), False, "rect", colour=(0.2, 0.4, 0.6))  # 6.5 pt away
    red = _Shape((40.0, 0.0, 50.0, 20.0), False, "rect", colour=(0.9, 0.1, 0.1))
    found = figures._bleeding([*band, apart, red], (0.0, 0.0, 500.0, 500.0))
    assert {id(s) for s in found} == {id(s) for s in band}
    on = _Shape((36.0, 2.0, 44.0, 10.0), False, "rect")  # on the last piece
    assert figures._mostly_on([on, apart], found) == [True, False]


def test_a_stack_of_equal_shapes_lies_each_on_the_one_drawn_before():
    """Hand-checked: each of three equal rectangles lies on the previous one; the first on the page."""
    shapes = [_Shape((10.0, 10.0, 60.0, 60.0), False, "rect", filled=True) for _ in range(3)]
    found = figures._smallest_containers(shapes, shapes)
    assert found[0] is None and found[1] is shapes[0] and found[2] is shapes[1]


def test_a_shape_lies_on_the_smallest_earlier_one_holding_it_not_a_later_one():
    panel = _Shape((0.0, 0.0, 500.0, 500.0), False, "rect", filled=True)
    box = _Shape((10.0, 10.0, 200.0, 200.0), False, "rect", filled=True)
    mark = _Shape((20.0, 20.0, 30.0, 30.0), False, "rect", filled=True)
    later = _Shape((15.0, 15.0, 40.0, 40.0), False, "rect", filled=True)
    grounds = [panel, box, mark, later]
    found = figures._smallest_containers(grounds, grounds)
    assert found == [None, panel, box, box]


def test_far_apart_shapes_are_two_clusters_and_a_ruling_joins_them():
    left = _Shape((0.0, 0.0, 10.0, 10.0), False, "rect")
    right = _Shape((100.0, 0.0, 110.0, 10.0), False, "rect")
    assert [len(c) for c in figures._cluster([left, right], [], 10.0)] == [1, 1]
    axis = _Shape((9.0, 11.0, 101.0, 11.5), False, "line", seed=False, ruling=True)
    assert [len(c) for c in figures._cluster([left, right], [axis], 10.0)] == [3]


# -- pages ----------------------------------------------------------------------------------------


def _marks(c, kind: str, n: int, seed: int) -> None:
    """``n`` filled rectangles in a layout, in the lower part of the page, in three colours, with
    short labels beside them (figure material)."""
    rnd = random.Random(seed)
    for k, (x0, y0, x1, y1) in enumerate(layout_boxes(kind, n, rnd)):
        c.setFillColorRGB(*COLOURS[k % 3])
        c.rect(60 + x0, 120 + y0 * 0.8, x1 - x0, (y1 - y0) * 0.8, stroke=rnd.random() < 0.2, fill=1)
    c.setFillColorRGB(0, 0, 0)
    c.setFont(GOTHIC, 8)
    for k in range(4):
        c.drawString(380, 140 + 40 * k, f"系列{k + 1}")


def _page(kind: str, n: int, seed: int):
    def draw(c) -> None:
        draw_paragraph(c, PARA, 72, 780)
        draw_table(c, ROWS, 72, 700)
        c.setFont(GOTHIC, 9)
        c.drawString(72, 560, "図1　分野別の件数")
        _marks(c, kind, n, seed)
    return draw


@pytest.fixture(scope="module")
def pages_pdf(tmp_path_factory):
    draws = [_page(kind, n, seed) for seed, (kind, n) in enumerate(
        (k, n) for k in KINDS for n in (40, 300))]
    return save_pdf(tmp_path_factory.mktemp("scaling") / "layouts.pdf", draws)


@pytest.mark.parametrize("engine", ["pdfium", "pdfplumber"])
def test_pages_of_each_layout_give_the_reference_figures(pages_pdf, engine, monkeypatch):
    """The whole extraction (tables, figures, text) is the same with the reference searches put
    back, on pages mixing text, a ruled table, a caption and drawings in each layout."""
    new = extract_pdf(pages_pdf, ExtractConfig(engine=engine), workers=1)
    monkeypatch.setattr(figures, "_smallest_containers", reference_containers)
    monkeypatch.setattr(figures, "_cluster", reference_cluster)
    monkeypatch.setattr(figures, "_bleeding", reference_bleeding)
    monkeypatch.setattr(figures, "_mostly_on", reference_mostly_on)
    monkeypatch.setattr(figures, "_merge_regions", reference_merge_regions)
    old = extract_pdf(pages_pdf, ExtractConfig(engine=engine), workers=1)
    assert new == old
    with pdfplumber.open(pages_pdf) as pdf:
        assert len(pdf.pages) == len(new.pages) == 2 * len(KINDS)
    # tables and figures were found (not every page's table: marks drawn near it join its grid)
    assert new.tables and any(b.kind == "figure_text" for b in new.blocks)
