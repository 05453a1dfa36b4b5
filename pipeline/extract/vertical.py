"""Vertical writing (縦書き): vertical lines and their tiers."""
from __future__ import annotations

from pipeline.extract.lines import _dominant_size, _glyph_run_text, _mostly_bold
from pipeline.extract.model import _Glyph, _Line

# Vertical writing (縦書き)
# ---------------------------------------------------------------------------------------------


def _split_vertical(glyphs: list[_Glyph]) -> tuple[list[_Glyph], list[list[_Glyph]]]:
    """Separate glyphs set in vertical lines from horizontal ones.

    pdfminer reports vertical glyphs as upright, so geometry decides: in content order, a
    glyph followed by one of the same size directly below it (same column, at most one blank
    character in between) is part of a vertical line. Runs of three or more such glyphs are
    vertical lines (two suffice on a page that is mostly vertical); glyphs placed out of
    content order (brackets, item numbers) are then attached to the line they sit in.
    Horizontal text never stacks like this except in table cells, which are cut out before.
    Returns (horizontal glyphs, vertical lines as glyph lists).
    """
    visible = [g for g in glyphs if not g.text.isspace()]
    linked = _links(visible)
    if not any(linked):
        return glyphs, []
    runs: list[list[_Glyph]] = []
    start = None
    for i, is_linked in enumerate(linked + [False]):
        if is_linked and start is None:
            start = i
        elif not is_linked and start is not None:
            runs.append(visible[start : i + 1])
            start = None
    mostly_vertical = sum(len(r) for r in runs if len(r) >= 3) * 2 > len(visible)
    runs = [r for r in runs if len(r) >= 3 or (mostly_vertical and len(r) == 2)]
    if not runs:
        return glyphs, []
    in_vertical = {id(g) for run in runs for g in run}
    _attach_orphans([g for g in visible if id(g) not in in_vertical], runs, in_vertical)
    return [g for g in glyphs if id(g) not in in_vertical], runs


def _links(visible: list[_Glyph]) -> list[bool]:
    """For each glyph ``a`` of ``visible`` and the next one ``b``: whether ``b`` follows ``a``
    downwards in the same vertical line (about the same size, the same column, below it by
    0.3 to 2.6 sizes). The going-down test is made first: it fails for most pairs (glyphs of a
    horizontal line)."""
    linked = []
    append = linked.append
    for a, b in zip(visible, visible[1:], strict=False):
        a_size, b_size = a.size, b.size
        size = b_size if b_size > a_size else a_size  # max(a.size, b.size)
        append(
            0.3 * size < b.top - a.top <= 2.6 * size
            and abs(a_size - b_size) <= 0.1 * size
            and abs((a.x0 + a.x1) / 2 - (b.x0 + b.x1) / 2) <= 0.7 * size
        )
    return linked


def _attach_orphans(orphans: list[_Glyph], runs: list[list[_Glyph]], in_vertical: set[int]) -> None:
    """Put glyphs drawn out of content order into the vertical line they sit in: same size,
    same column, within or right next to the line's extent."""
    buckets: dict[int, list[list[_Glyph]]] = {}
    for run in runs:
        buckets.setdefault(int(run[0].cx // 4), []).append(run)
    for g in orphans:
        reach = 0.7 * g.size
        for key in range(int((g.cx - reach) // 4), int((g.cx + reach) // 4) + 1):
            match = next((run for run in buckets.get(key, ()) if _sits_in(g, run)), None)
            if match is not None:
                match.append(g)
                in_vertical.add(id(g))
                break


def _sits_in(g: _Glyph, run: list[_Glyph]) -> bool:
    ref = run[0]
    top, bottom = min(x.top for x in run), max(x.bottom for x in run)
    gap = max(top - g.bottom, g.top - bottom)
    same_font = abs(ref.size - g.size) <= 0.1 * g.size
    return same_font and abs(ref.cx - g.cx) <= 0.7 * g.size and gap <= g.size


def _make_vertical_line(glyphs: list[_Glyph], page_width: float) -> _Line:
    """A vertical line in rotated coordinates (see ``_Line``): along = y, across = -x."""
    glyphs = sorted(glyphs, key=lambda g: g.top)
    x0, x1 = min(g.x0 for g in glyphs), max(g.x1 for g in glyphs)
    top = min(g.top for g in glyphs)
    return _Line(
        glyphs=glyphs,
        text=_glyph_run_text(glyphs, lambda g: g.top, lambda g: g.bottom)[0],
        x0=top,
        x1=max(g.bottom for g in glyphs),
        top=page_width - x1,
        bottom=page_width - x0,
        size=_dominant_size(glyphs),
        bold=_mostly_bold(glyphs),
        page_x0=x0,
        page_top=top,
        vertical=True,
    )


def _vertical_tiers(lines: list[_Line]) -> list[list[_Line]]:
    """Tiers (段) of vertical text: lines whose vertical extents overlap, read top tier first;
    inside a tier, lines right to left (ascending in the rotated coordinates)."""
    tiers: list[list[_Line]] = []
    tier_end = 0.0
    for line in sorted(lines, key=lambda ln: ln.x0):
        if tiers and line.x0 < tier_end:
            tiers[-1].append(line)
            tier_end = max(tier_end, line.x1)
        else:
            tiers.append([line])
            tier_end = line.x1
    return [sorted(t, key=lambda ln: ln.top) for t in tiers]


# ---------------------------------------------------------------------------------------------
