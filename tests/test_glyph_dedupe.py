"""Bold doubles (pipeline/extract/glyphs.py ``_dedupe_glyphs``): the whole-page search for
glyphs with a neighbour (``_crowded``) leaves the result of the glyph-by-glyph lookup as it is."""
from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np

from pipeline.extract.glyphs import _CROWDED_MIN, _crowded, _dedupe_glyphs, _dedupe_scan
from pipeline.extract.model import _Glyph


def _grid(n: int) -> list[_Glyph]:
    """``n`` glyphs set 10.5 pt apart in rows 15 pt apart (no two within the tolerance)."""
    return [_Glyph("あいう"[k % 3], 72 + 10.5 * (k % 20), 72 + 10.5 * (k % 20) + 10.5, 100 + 15 * (k // 20),
                   110.5 + 15 * (k // 20), 10.5, "Mincho", False) for k in range(n)]


def _copy(g: _Glyph, dx: float = 0.0, dy: float = 0.0, **changes) -> _Glyph:
    fields = dict(text=g.text, x0=g.x0 + dx, x1=g.x1 + dx, top=g.top + dy, bottom=g.bottom + dy, size=g.size,
                  font=g.font, bold=False)
    fields.update(changes)
    return _Glyph(**fields)


def _state(glyphs: list[_Glyph], kept: list[_Glyph]) -> tuple:
    """Which glyphs were kept (by place in the input) and every glyph's bold mark."""
    place = {id(g): i for i, g in enumerate(glyphs)}
    return [place[id(g)] for g in kept], [g.bold for g in glyphs]


def test_a_double_on_a_full_page_is_dropped_and_its_glyph_marked_bold():
    glyphs = _grid(60)
    assert len(glyphs) >= _CROWDED_MIN  # the whole-page search runs
    first, second = glyphs[5], glyphs[30]
    glyphs += [_copy(first, 0.3, 0.2), _copy(second, 1.0, -1.0), _copy(second, 1.01), _copy(first, font="Gothic")]
    kept = _dedupe_glyphs(glyphs)
    assert len(kept) == 62  # the two within 1 pt dropped; 1.01 pt away and another font kept
    assert first.bold and second.bold
    assert sum(g.bold for g in glyphs) == 2
    assert kept[:60] == glyphs[:60] and kept[60:] == glyphs[62:]


def test_a_page_without_doubles_keeps_every_glyph():
    glyphs = _grid(80)
    kept = _dedupe_glyphs(glyphs)
    assert kept == glyphs and kept is not glyphs
    assert not any(g.bold for g in glyphs)


offsets = st.sampled_from([0.0, 0.4, 0.99, 1.0, -1.0, 1.0001, -0.5, 2.0, 3.0])


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=90),
    doubles=st.lists(st.tuples(st.integers(min_value=0, max_value=10_000), offsets, offsets,
                               st.sampled_from([10.5, 10.52, 10.56, 9.0]), st.booleans()), max_size=40),
)
def test_the_whole_page_search_keeps_the_lookups_result(n, doubles):
    glyphs = _grid(n)
    for pick, dx, dy, size, same_font in doubles:
        if glyphs:
            base = glyphs[pick % len(glyphs)]
            glyphs.append(_copy(base, dx, dy, size=size, font=base.font if same_font else "Gothic"))
    reference = copy.deepcopy(glyphs)
    assert _state(glyphs, _dedupe_glyphs(glyphs)) == _state(reference, _dedupe_scan(reference))


def _neighbours_brute(glyphs: list[_Glyph]) -> list[int]:
    """The glyphs with another glyph in the 3 x 3 cells (1 pt) around their own, pair by pair."""
    cells = [(int(g.x0 // 1.0), int(g.top // 1.0)) for g in glyphs]
    return [i for i, (cx, cy) in enumerate(cells)
            if any(j != i and abs(cx - ox) <= 1 and abs(cy - oy) <= 1 for j, (ox, oy) in enumerate(cells))]


coordinates = st.floats(min_value=-50.0, max_value=900.0, allow_nan=False) | st.sampled_from([0.0, 0.999, 1.0, -1.0, 2.0])


@settings(max_examples=200, deadline=None)
@given(points=st.lists(st.tuples(coordinates, coordinates), min_size=1, max_size=120))
def test_the_whole_page_search_finds_the_glyphs_with_a_neighbour(points):
    """``_crowded`` (sorted cell numbers, binary searches) against a pair-by-pair count, with the
    positions read off the glyphs and given as PDFium's columns give them."""
    glyphs = [_Glyph("あ", x, x + 10.5, y, y + 10.5, 10.5, "Mincho", False) for x, y in points]
    expected = _neighbours_brute(glyphs)
    assert _crowded(glyphs) == expected
    positions = [np.array([g.x0 for g in glyphs]), np.array([g.top for g in glyphs])]
    assert _crowded(glyphs, positions) == expected
