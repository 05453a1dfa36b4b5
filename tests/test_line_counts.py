"""Counts a line keeps when it is made (pipeline/extract/lines.py ``_make_line``: its glyphs that
are not blank, the bold ones among them, and those glyphs by font): ``_lines_mostly_bold`` and
``_lines_dominant_font`` of lines tell what ``_mostly_bold`` and ``_dominant_font`` of all their
glyphs tell, for lines made by ``_make_line`` and for lines built without the counts."""
from __future__ import annotations

import random

import pytest

from pipeline.extract.lines import (
    _cluster_rows,
    _dominant_font,
    _lines_dominant_font,
    _lines_mostly_bold,
    _make_line,
    _mostly_bold,
)
from pipeline.extract.model import _Glyph, _Line


def _glyphs(rng: random.Random, rows: int, bold_share: float) -> list[_Glyph]:
    out = []
    for r in range(rows):
        for k in range(rng.randint(1, 30)):
            text = rng.choice(["科", "学", " ", "\u3000", "A", "1"])
            x0 = 72 + 10.5 * k
            out.append(_Glyph(text, x0, x0 + 10.5, 100 + 15 * r, 110.5 + 15 * r, 10.5,
                              rng.choice(["Mincho", "Gothic", "Century"]), rng.random() < bold_share))
    return out


def _bare(line: _Line) -> _Line:
    """The line as built elsewhere (figure text, vertical lines): without the counts."""
    return _Line(glyphs=line.glyphs, text=line.text, x0=line.x0, x1=line.x1, top=line.top, bottom=line.bottom,
                 size=line.size, bold=line.bold, page_x0=line.page_x0, page_top=line.page_top)


@pytest.mark.parametrize("seed", range(40))
def test_lines_mostly_bold_is_mostly_bold_of_their_glyphs(seed):
    rng = random.Random(seed)
    glyphs = _glyphs(rng, rng.randint(1, 6), rng.choice([0.0, 0.3, 0.5, 0.7, 1.0]))
    lines = [_make_line(row) for row in _cluster_rows(glyphs)]
    assert all(line.visible >= 0 and line.bold_glyphs >= 0 for line in lines)
    every = [g for line in lines for g in line.glyphs]
    assert _lines_mostly_bold(lines) == _mostly_bold(every)
    mixed = [_bare(line) if k % 2 else line for k, line in enumerate(lines)]
    assert _lines_mostly_bold(mixed) == _mostly_bold(every)
    assert _lines_dominant_font(lines) == _lines_dominant_font(mixed) == _dominant_font(every)
    for line in lines:
        assert line.visible == sum(not g.text.isspace() for g in line.glyphs)
        assert _lines_mostly_bold([line]) == _mostly_bold(line.glyphs) == line.bold


def test_no_lines_or_only_blank_glyphs_are_not_bold():
    assert _lines_mostly_bold([]) is False
    blank = _make_line([_Glyph(" ", 0.0, 5.0, 0.0, 10.0, 10.0, "Mincho", True)])
    assert blank.visible == 0
    assert _lines_mostly_bold([blank]) is False
    assert _lines_mostly_bold([_bare(blank)]) is False


def test_a_tie_between_fonts_goes_to_the_font_that_comes_first():
    def glyph(font: str, x0: float) -> _Glyph:
        return _Glyph("字", x0, x0 + 10.0, 0.0, 10.0, 10.0, font, False)

    first = _make_line([glyph("Gothic", 0.0), glyph("Mincho", 10.0)])
    blank = _Glyph(" ", 20.0, 30.0, 0.0, 10.0, 10.0, "Century", False)  # not counted
    second = _make_line([glyph("Mincho", 0.0), glyph("Gothic", 10.0), blank, blank])
    assert _lines_dominant_font([first, second]) == _dominant_font(first.glyphs + second.glyphs) == "Gothic"
    assert _lines_dominant_font([second, first]) == _dominant_font(second.glyphs + first.glyphs) == "Mincho"
    assert _lines_dominant_font([_bare(second), first]) == "Mincho"
    assert _lines_dominant_font([]) == ""
