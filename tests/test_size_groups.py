"""The sizes of a page's body glyphs by group (pipeline/extract/page.py ``_size_groups``: what the
document's body size is counted from) are counted for the page at once with the result of
counting them glyph by glyph (``_size_groups_each``): the same groups, sizes, counts, first
positions, and the same order, on generated pages and on every page of the sample report."""
from __future__ import annotations

import math
import random

import pytest

from pipeline.extract import ExtractConfig, extract_pdf, page
from pipeline.extract.lines import _cluster_rows, _make_line
from pipeline.extract.model import _Glyph, _RawPage
from samples.build import build_sample_pdf


def _raw(rng: random.Random) -> _RawPage:
    glyphs = []
    for r in range(rng.randint(0, 25)):
        size = rng.choice([10.5, 10.5, 9.0, 7.25, 12.0, 10.75, 0.2])
        for k in range(rng.randint(1, 25)):
            text = rng.choice(["科", "学", " ", "\u3000", "1", "A"])
            x0 = 72 + size * k
            glyphs.append(_Glyph(text, x0, x0 + size, 60 + 16 * r, 60 + 16 * r + size,
                                 size + rng.choice([0.0, 0.0, 0.01, -0.02]), "Mincho", False))
    rng.shuffle(glyphs)  # body glyphs in content order, not row order
    rows = [_make_line(row) for row in _cluster_rows(glyphs)]
    stray = _Glyph("注", 300.0, 310.0, 900.0, 910.0, 8.0, "Mincho", False)
    if rows and rng.random() < 0.5:  # a row glyph that is not among the body glyphs
        rows[0].glyphs.append(stray)
    return _RawPage(number=1, width=595.0, height=842.0, top=0.0, glyph_count=len(glyphs), unmapped=0,
                    glyphs=glyphs, rows=rows, vertical_lines=[], tables=[])


def _as_list(groups: dict) -> list:
    return [(group, list(stats.items())) for group, stats in groups.items()]


@pytest.mark.parametrize("seed", range(60))
def test_page_at_once_counts_as_glyph_by_glyph(seed):
    rng = random.Random(seed)
    raw = _raw(rng)
    n = len(raw.rows)
    picks = [i for i in range(n) if rng.random() < 0.3]
    bare = frozenset(i for i in picks if rng.random() < 0.4)
    candidates = set(picks) - set(bare) | ({next(iter(bare))} if bare and rng.random() < 0.5 else set())
    assert _as_list(page._size_groups(raw, bare, candidates)) == _as_list(page._size_groups_each(raw, bare, candidates))


def test_a_size_that_is_not_a_number_is_counted_glyph_by_glyph():
    raw = _raw(random.Random(3))
    raw.glyphs[0].size = math.nan
    with pytest.raises(ValueError):  # as it always did: round(nan) raises
        page._size_groups(raw, frozenset(), set())


def test_every_page_of_the_sample_report_counts_the_same_both_ways(tmp_path, monkeypatch):
    compared = []
    real = page._size_groups

    def both(raw, bare, candidates):
        got = real(raw, bare, candidates)
        assert _as_list(got) == _as_list(page._size_groups_each(raw, bare, candidates))
        compared.append(raw.number)
        return got

    monkeypatch.setattr(page, "_size_groups", both)
    extract_pdf(build_sample_pdf(tmp_path / "sample.pdf"), ExtractConfig(ocr="off"), workers=1)
    assert len(compared) >= 5
