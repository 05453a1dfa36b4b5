"""Which of a page's drawings are joined into clusters: the connected components of boxes that
lie within a distance of each other, without asking about every pair.

``figures._cluster`` joins two drawings when their boxes are within a limit of each other along
both axes (and a coarse grid, ``figures._Grid``, finds one near the other). Asking that of every
pair takes time that grows with the square of the drawings: a page of 10,000 drawings asked 50
million questions. Here:

* the boxes are sorted by their left edge, and each is tested only against the later ones whose
  left edge is not beyond its right edge and the limit (a binary search): a pair further apart
  along x cannot be joined;
  (or along y, top edge first, when fewer pairs overlap along y: rows of long shapes);
* a block of boxes is taken with its windows, some 130,000 pairs at a time: the pairs whose boxes
  are already in one cluster are left out with one comparison of labels each (on a stack of
  shapes they soon all are), the rest tested with numpy, and the clusters joined with numpy;
* drawings with the same box (and the same role) join the same others, so one of them stands for
  all (a page of 10,000 shapes drawn on a few spots has a few boxes to compare).

The answer is exactly the one the pairwise test gives: the same test, in the same floating point
arithmetic, on every pair that can pass it. If one box standing for equal ones would answer
differently from them (the grid's test depends on which of two drawings comes first, and can
differ in the last bit of a coordinate), the clusters are found again without that shortcut.
"""
from __future__ import annotations

import numpy as np

CHUNK = 1 << 17  # pairs looked at at once (some 20 arrays of this length: a few MB)
FEW = 32  # boxes up to which neither the axis is chosen nor equal boxes merged


def cluster_labels(boxes: np.ndarray, n_seeds: int, gap: float, own: np.ndarray, grown: np.ndarray) -> np.ndarray:
    """A label per box, equal for boxes of one cluster: boxes ``i < j`` are joined when both
    are seeds and within ``gap`` of each other along both axes, or (one of them not a seed)
    within 2.0, and the grid cells of box ``i`` grown by the larger limit meet those of box
    ``j``; clusters are the transitive closure (what ``figures._cluster`` asks, pair by pair).

    ``boxes``: (n, 4) x0, top, x1, bottom; ``n_seeds``: the first ``n_seeds`` boxes are seeds,
    the rest connectors; ``gap``: the seeds' limit (pt); ``own``, ``grown``: (n, 4) the first
    and last grid column and row of each box and of each box grown by ``max(gap, 2.0)``."""
    n = len(boxes)
    if n < 2:
        return np.arange(n)
    if n < FEW:  # a page's few drawings: all pairs at once, no shortcut worth its own cost
        return _components(_Pairs(boxes, n_seeds, gap, own, grown), np.arange(n), check=False)
    if _window_pairs(boxes[:, 1], boxes[:, 3], gap) < _window_pairs(boxes[:, 0], boxes[:, 2], gap):
        # fewer pairs overlap along y (rows of long shapes): sweep along y, the test is the same
        boxes, own, grown = boxes[:, [1, 0, 3, 2]], own[:, [2, 3, 0, 1]], grown[:, [2, 3, 0, 1]]
    pairs = _Pairs(boxes, n_seeds, gap, own, grown)
    rep = _representatives(boxes, pairs.seed, pairs.self_limit)
    shortcut = bool((rep != np.arange(n)).any())
    label = _components(pairs, np.flatnonzero(rep == np.arange(n)), check=shortcut) if shortcut else None
    if label is None:  # no shortcut, or one that would answer differently
        return _components(pairs, np.arange(n), check=False)
    return label[rep]


def _window_pairs(low: np.ndarray, high: np.ndarray, gap: float) -> int:
    """How many pairs a sweep along this axis (``low``, ``high``: the boxes' extents) would test."""
    start = np.sort(low)
    end = np.searchsorted(start, np.sort(high) + max(gap, 2.0) + 1e-9 * (np.abs(high).max() + 1.0), side="right")
    return int(np.maximum(end - np.arange(1, len(low) + 1), 0).sum())


class _Pairs:
    """The test of pairs of boxes, with numpy, on arrays of box numbers."""

    def __init__(self, boxes: np.ndarray, n_seeds: int, gap: float, own: np.ndarray, grown: np.ndarray) -> None:
        self.x0, self.top, self.x1, self.bottom = (np.ascontiguousarray(boxes[:, k]) for k in range(4))
        self.own = [np.ascontiguousarray(own[:, k]) for k in range(4)]
        self.grown = [np.ascontiguousarray(grown[:, k]) for k in range(4)]
        self.seed = np.arange(len(boxes)) < n_seeds
        self.gap = gap
        self.reach = max(gap, 2.0)
        self.self_limit = np.where(self.seed, gap, 2.0)

    def _grid(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Whether the cells of ``i`` grown meet those of ``j``."""
        g0, g1, g2, g3 = self.grown
        c0, c1, c2, c3 = self.own
        return (g0[i] <= c1[j]) & (c0[j] <= g1[i]) & (g2[i] <= c3[j]) & (c2[j] <= g3[i])

    def test(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For pairs of box numbers ``a``, ``b`` (a != b): whether they are joined (the grid's
        test with the earlier one grown), and whether the grid's test would answer the other way
        round differently for a pair within the limit."""
        limit = np.where(self.seed[a] & self.seed[b], self.gap, 2.0)
        # along y first: the sweep went along x, so most pairs it tests are apart along y
        near = (self.top[b] - self.bottom[a] <= limit) & (self.top[a] - self.bottom[b] <= limit)
        near &= (self.x0[b] - self.x1[a] <= limit) & (self.x0[a] - self.x1[b] <= limit)
        hit = np.zeros(len(a), dtype=bool)
        odd = np.zeros(len(a), dtype=bool)
        which = np.flatnonzero(near)
        if which.size:
            a, b = a[which], b[which]
            ab, ba = self._grid(a, b), self._grid(b, a)
            hit[which] = np.where(a < b, ab, ba)
            odd[which] = ab != ba
        return hit, odd


def _representatives(boxes: np.ndarray, seed: np.ndarray, self_limit: np.ndarray) -> np.ndarray:
    """For each box, the first box equal to it (the same coordinates, both seeds or both not),
    when equal boxes are joined to each other (a box not inverted beyond the limit); else itself."""
    n = len(boxes)
    order = np.lexsort((seed, boxes[:, 3], boxes[:, 2], boxes[:, 1], boxes[:, 0]))
    s = boxes[order]
    same = np.ones(n, dtype=bool)
    same[0] = False
    same[1:] = (s[1:] == s[:-1]).all(axis=1) & (seed[order][1:] == seed[order][:-1])
    joined = (boxes[:, 0] - boxes[:, 2] <= self_limit) & (boxes[:, 1] - boxes[:, 3] <= self_limit)
    start = np.maximum.accumulate(np.where(same, 0, np.arange(n)))  # where each run of equal boxes starts
    first = order[start]  # lexsort is stable: the run's first is its lowest box number
    rep = np.arange(n)
    keep = joined[order]
    rep[order[keep]] = first[keep]
    return rep


def _components(pairs: _Pairs, nodes: np.ndarray, *, check: bool) -> np.ndarray | None:
    """Labels (by box number; only those of ``nodes`` meaningful) of the clusters of ``nodes``,
    or None when ``check`` and a tested pair would answer differently the other way round."""
    m = len(nodes)
    order = nodes[np.argsort(pairs.x0[nodes], kind="stable")]
    x1 = pairs.x1[order]
    # the first position past the window of each box: whose left edge is beyond its right edge
    # and the limit (a little beyond, so that rounding in the test cannot join a pair left out)
    bound = x1 + pairs.reach + 1e-12 * (np.abs(x1) + pairs.reach + 1.0)
    end = np.maximum(np.searchsorted(pairs.x0[order], bound, side="right"), np.arange(1, m + 1))
    furthest = np.maximum.accumulate(end)
    forest = _Forest(m)
    p = 0
    while p < m - 1:
        # a block of boxes whose windows side by side hold about CHUNK pairs (one box at least)
        area = (furthest[p : m - 1] - p) * np.arange(1, m - p)
        stop = p + max(1, int(np.searchsorted(area, CHUNK, side="right")))
        last = int(furthest[stop - 1])
        label = forest.label
        later = np.arange(p + 1, last)
        # each box with the later boxes of its window not yet in its cluster
        mask = label[p + 1 : last][None, :] != label[p:stop, None]
        mask &= (later[None, :] < end[p:stop, None]) & (later[None, :] > np.arange(p, stop)[:, None])
        row, col = np.nonzero(mask)
        if row.size:
            first, second = row + p, col + p + 1
            hit, odd = pairs.test(order[first], order[second])
            if check and odd.any():
                return None
            forest.join_all(first[hit], second[hit])
        p = stop
    result = np.empty(len(pairs.x0), dtype=np.int64)
    result[order] = order[forest.label]
    return result


class _Forest:
    """Clusters as a label per position: the smallest position of the cluster."""

    def __init__(self, m: int) -> None:
        self.label = np.arange(m)

    def join_all(self, first: np.ndarray, second: np.ndarray) -> None:
        """Join the clusters of ``first[k]`` and ``second[k]`` for every k, with numpy: each
        round hooks every cluster to the smallest label it is joined to, then every label is
        followed to the end of its chain; each round leaves fewer pairs in two clusters."""
        a, b = self.label[first], self.label[second]
        keep = a != b
        a, b = a[keep], b[keep]
        if not a.size:
            return
        parent = np.arange(len(self.label))
        while a.size:
            np.minimum.at(parent, np.maximum(a, b), np.minimum(a, b))
            while True:
                onward = parent[parent]
                if np.array_equal(onward, parent):
                    break
                parent = onward
            a, b = parent[a], parent[b]
            keep = a != b
            a, b = a[keep], b[keep]
        self.label = parent[self.label]
