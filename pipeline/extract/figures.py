"""Figures and captions: where a page has pictures, and which caption belongs to a table or figure.

``figure_regions`` finds the parts of a page that are figures: embedded images, and clusters of
vector drawings (filled or stroked shapes) with the short text labels in and next to them. Text
whose centre lies inside a region is figure text (labels, axes, legends, source notes), not body.
What is not a figure, though drawn: table rulings and hairlines (footnote rules, frames of
hairline rectangles), artwork that bleeds off the page (page-header bands, chapter tabs) and
what lies on it, page-wide bands in the top and bottom margins, caption bands, and frames whose
inside is body text (a コラム box, a highlighted line): the paragraphs in a box stay body text.

``CAPTION`` recognises caption lines (図1, 表3-2, ■第1-2-1図／…, Figure 1, …); ``caption_lines``
reads them from a page's glyphs (a wrapped caption's second line joined), and ``caption_for`` /
``assign_captions`` pick the caption of a table or figure: the nearest caption line directly
above or below it, within a few line heights, overlapping it horizontally.

Coordinates are pdfplumber's (``page.chars``, ``page.rects``…): y grows downwards, and a page
whose media box is offset has negative tops; bounds always come from ``page.bbox``.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.extract.box_clusters import cluster_labels
from pipeline.extract.lines import _cluster_rows, _glyph_run_text, _join_lines, _mostly_bold
from pipeline.extract.model import _Glyph
from pipeline.extract.tables import RULING_MAX, trusted_tables

Box = tuple[float, float, float, float]  # x0, top, x1, bottom

# ---------------------------------------------------------------------------------------------
# Captions
# ---------------------------------------------------------------------------------------------

_D = "0-9０-９"
_DASH = "\\-－‐―−–—ー・.．"
_NUMBER = rf"[{_D}]+(?:\s*[{_DASH}]\s*[{_D}]+)*"
# After the number: the end, a space, or a separator before the title; not a particle
# (図1に示す…, 表2の… are references in running text, not captions).
_AFTER = r"(?=$|[\s\u3000:：／/｜|.．、,，)）\]】」])"
CAPTION = re.compile(
    r"^[\s\u3000]*[■□◆◇●○▲△▼▽◼◾▪【\[［]?[\s\u3000]*"
    rf"(?:(?:図表|図|表)[\s\u3000]*{_NUMBER}{_AFTER}"
    rf"|第[\s\u3000]*{_NUMBER}[\s\u3000]*(?:図表|図|表)"
    rf"|(?:Figure|Fig\.?|FIGURE|FIG\.?|Table|TABLE)[\s\u3000]*{_NUMBER}{_AFTER})"
)

# How far (in caption line heights) a caption may be from what it captions.
CAPTION_REACH = 3.0
# A caption's next line joins it when it starts this close below (share of the font size).
_CAPTION_WRAP_GAP = 0.8


@dataclass(frozen=True)
class CaptionLine:
    """A caption as drawn: its text (a wrapped second line joined) and its box."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float


def caption_lines(glyphs: Iterable[_Glyph]) -> list[CaptionLine]:
    """The page's captions, top to bottom: runs of text (a row split where an empty gap of more
    than a character opens: two columns' captions side by side are two runs; drawn spaces do
    not split) that match ``CAPTION``.
    The caption's next line is joined when it is set in the same size and weight, a third of it
    or more in fonts the line above uses (a Latin word may be set in another), starts at most
    ``_CAPTION_WRAP_GAP`` of the size below, overlaps it horizontally and is no caption itself
    (■第１-２-７図／さくらインターネット / データセンターの設備)."""
    captions = []
    for parts in _caption_chains(_runs(list(glyphs))):
        first, last = parts[0], parts[-1]
        captions.append(CaptionLine(
            text=_join_lines([p.text for p in parts]),
            x0=min(p.box[0] for p in parts), top=first.box[1],
            x1=max(p.box[2] for p in parts), bottom=last.box[3], size=first.size,
        ))
    return sorted(captions, key=lambda c: (c.top, c.x0))


def _continuation(caption: _Run, candidates: list[_Run]) -> _Run | None:
    fonts = {g.font for g in caption.glyphs}
    for r in candidates:
        gap = r.box[1] - caption.box[3]
        if (
            -0.3 * caption.size <= gap <= _CAPTION_WRAP_GAP * caption.size
            and abs(r.size - caption.size) <= 0.5
            and sum(g.font in fonts for g in r.glyphs) * 3 >= len(r.glyphs)
            and _mostly_bold(r.glyphs) == _mostly_bold(caption.glyphs)
            and _x_overlap(r.box, caption.box) > 0
            and not CAPTION.match(r.text)
        ):
            return r
    return None


def caption_for(bbox: Sequence[float], caption_lines: Iterable, reach: float = CAPTION_REACH) -> str | None:
    """The caption of the table or figure at ``bbox``: among ``caption_lines`` (anything with
    ``text``, ``x0``, ``top``, ``x1``, ``bottom``, e.g. ``CaptionLine``; lines not matching
    ``CAPTION`` are ignored), the nearest one directly above the box or directly below it, at
    most ``reach`` line heights away (its font ``size`` if it has one, else its own height),
    overlapping the box horizontally by at least half of the narrower of the two. A caption inside the box near its top or bottom edge (a frame
    drawn round figure and caption) counts as distance 0. On a tie the caption above wins.
    None when there is none."""
    best = _caption_candidates(bbox, list(caption_lines), reach)
    return best[0][2].text if best else None


def assign_captions(bboxes: Sequence[Sequence[float]], caption_lines: Iterable,
                    reach: float = CAPTION_REACH) -> list[str | None]:
    """``caption_for`` for several boxes at once (a page's tables and figures), each caption used
    at most once: the closest box-caption pairs are matched first, so a figure without a
    caption does not take the caption of the figure below it. One entry per box."""
    lines = list(caption_lines)
    pairs = []
    for i, bbox in enumerate(bboxes):
        for distance, above, line in _caption_candidates(bbox, lines, reach):
            pairs.append((distance, above, i, id(line), line))
    result: list[str | None] = [None] * len(bboxes)
    used: set[int] = set()
    for _, _, i, key, line in sorted(pairs, key=lambda p: (p[0], p[1], p[2])):
        if result[i] is None and key not in used:
            result[i] = line.text
            used.add(key)
    return result


def _caption_candidates(bbox: Sequence[float], lines: list, reach: float) -> list[tuple[float, int, object]]:
    """(distance, 0 above / 1 below, line) of the caption lines that may caption ``bbox``, best first."""
    x0, top, x1, bottom = (float(v) for v in bbox)
    found = []
    for line in lines:
        if not CAPTION.match(line.text):
            continue
        height = max(float(getattr(line, "size", 0) or line.bottom - line.top), 1.0)
        overlap = min(x1, line.x1) - max(x0, line.x0)
        if overlap < 0.5 * min(x1 - x0, line.x1 - line.x0):
            continue
        limit = reach * height
        if line.bottom <= top + 0.5 * height:  # above (touching allowed)
            distance, above = max(0.0, top - line.bottom), 0
        elif line.top >= bottom - 0.5 * height:  # below
            distance, above = max(0.0, line.top - bottom), 1
        elif line.top >= top and line.bottom <= bottom:  # inside, near an edge
            edge = min(line.top - top, bottom - line.bottom)
            if edge > limit:
                continue
            distance, above = 0.0, 0 if line.top - top <= bottom - line.bottom else 1
        else:
            continue
        if distance <= limit:
            found.append((distance, above, line))
    return sorted(found, key=lambda f: (f[0], f[1]))


# ---------------------------------------------------------------------------------------------
# Figure regions
# ---------------------------------------------------------------------------------------------

# Sizes in units of the body font size.
_SEED_GAP = 1.0  # drawings this close are parts of one figure
_REGION_GAP = 1.5  # grown regions this close are parts of one figure
_LABEL_GAP = 1.0  # a label this close (in its own font size) to a figure belongs to it
_LABEL_MAX_CHARS = 20  # a label is short...
_SMALL_LABEL_MAX_CHARS = 40  # ... or set smaller than the body and not much longer
_BODY_LINE_CHARS = 12  # a body-size run this long is running text, not a label
_TEXT_LINE_CHARS = 15  # a run this long across a frame is a line of a paragraph in a box
_IMAGE_MIN = (5.0, 2.5)  # an image figure: longer side, shorter side (QR codes, icons are smaller)
_DRAWING_MIN = (8.0, 5.0)  # a figure drawn with vectors (a badge behind a heading is smaller)
_BLEED = 1.0  # pt beyond the page box: the shape bleeds off the page (print decoration)
_MARGIN_BAND = 0.12  # share of the page height: page-wide bands there are running decoration


@dataclass(eq=False)
class _Run:
    glyphs: list[_Glyph]
    row: int
    box: Box
    size: float
    font: str
    text: str

    @property
    def n(self) -> int:
        return len(self.glyphs)


@dataclass(eq=False)
class _Shape:
    box: Box
    image: bool
    kind: str
    seed: bool = True
    filled: bool = False
    stroked: bool = False
    colour: tuple | None = None
    invisible: bool = False  # filled in the colour of what it lies on (set by ``_shapes``)
    ruling: bool = False  # a hairline: joins drawings, is none itself


def figure_regions(page, glyphs: Sequence[_Glyph], body_size: float, *,
                   tables: Sequence[Sequence[float]] | None = None) -> list[Box]:
    """Regions (x0, top, x1, bottom) of ``page`` that are figures, top to bottom.

    ``glyphs``: the page's glyphs (``_Glyph``, as read for the body; text of tables is ignored);
    ``body_size``: the body font size; the size of the page's own running text (the commonest
    size of runs of ``_TEXT_LINE_CHARS`` glyphs or more) is used where it is larger, so a page
    crowded with small figure labels does not shrink the scale. Labels are compared with it
    and sizes of figures are in units of it. ``tables``: bboxes of the page's tables: drawings
    inside a table (its rulings, cell backgrounds) or behind one (its panel) are not figure
    material, and table text is no label. None: found here with
    ``trusted_tables(page.find_tables(), glyphs)``; pass the tables already found to save that.

    Figure material is images and drawings less what ``_shapes`` and ``_classify`` set aside
    (rulings, bleeding artwork, margin bands, invisible strips, caption bands, boxes of running
    text, highlights behind a line). Drawings within ``_SEED_GAP`` of each other, or joined by
    a ruling touching both (a chart's axis), form a cluster; the cluster's region grows by the
    short labels (``_is_label``: not captions) within ``_LABEL_GAP`` of it, repeatedly, and by
    the drawings it comes to touch. A region is a figure when it holds an image of at least
    ``_IMAGE_MIN`` body sizes, or at least two drawings (rulings not counted) and a label in
    ``_DRAWING_MIN`` body sizes; and it holds fewer than three body-size lines of
    ``_BODY_LINE_CHARS`` glyphs across half its width (paragraphs), and no run of text leaves it
    with an ordinary gap (body text running through its edge). A figure then takes in the
    pieces within ``_REGION_GAP`` of it when the whole is still a figure (a frame beside a
    drawing, joined by an arrow too thin to count). Regions are clipped to ``page.bbox``.
    """
    bounds = tuple(float(v) for v in page.bbox)
    body = float(body_size) if body_size and body_size > 0 else 10.0
    if tables is None:
        tables = [t.bbox for t in trusted_tables(page.find_tables(), list(glyphs))]
    table_boxes = [tuple(float(v) for v in t) for t in tables]
    text = [g for g in glyphs if not any(_centre_in(g, t) for t in table_boxes)]
    runs = _runs(text)
    body = max(body, _running_size(runs, body))
    caption_ids = {id(g) for c in _caption_runs(runs) for g in c.glyphs}

    shapes = _shapes(page, bounds, table_boxes)
    _classify(shapes, runs, caption_ids, body)
    seeds = [s for s in shapes if s.seed]
    connectors = [s for s in shapes if s.ruling]
    clusters = _cluster(seeds, connectors, _SEED_GAP * body)

    labels = [r for r in runs if _is_label(r, body) and not any(id(g) in caption_ids for g in r.glyphs)]
    seed_index = _Seeds(shapes)
    regions = _merge_regions([_grow(members, shapes, labels, seed_index) for members in clusters], 0.0)

    def accepted(region) -> bool:
        return _is_figure(region[0], region[1], region[2], runs, caption_ids, body)

    # A figure takes in the pieces next to it (a frame beside a drawing, joined by an arrow too
    # thin to count) when the whole is still a figure.
    figures = [r for r in regions if accepted(r)]
    pieces = [r for r in regions if not any(r is f for f in figures)]
    grown = True
    while grown:
        grown = False
        for i, f in enumerate(figures):
            for other in pieces + [g for g in figures if g is not f]:
                if _distance(f[0], other[0]) > _REGION_GAP * body:
                    continue
                union = (_union([f[0], other[0]]), f[1] + other[1], f[2] + other[2])
                if accepted(union):
                    figures[i] = union
                    pieces = [p for p in pieces if p is not other]
                    figures = [g for g in figures if g is not other]
                    grown = True
                    break
            if grown:
                break
    kept = [_clip(f[0], bounds) for f in figures]
    return sorted(_merge_boxes(kept), key=lambda b: (b[1], b[0]))


# -- text ---------------------------------------------------------------------------------------


def _runs(glyphs: list[_Glyph]) -> list[_Run]:
    """Rows of glyphs split into runs where an empty gap wider than a character opens (drawn
    spaces do not open one: "図 1　メタデータのイメージ" is one run)."""
    runs: list[_Run] = []
    for index, row in enumerate(_cluster_rows(glyphs)):
        current: list[_Glyph] = []
        prev: _Glyph | None = None
        for g in row:
            if prev is not None and g.x0 - prev.x1 > 1.0 * max(g.size, prev.size) and current:
                if any(not x.text.isspace() for x in current):
                    runs.append(_make_run(current, index))
                current = []
            current.append(g)
            prev = g
        if any(not x.text.isspace() for x in current):
            runs.append(_make_run(current, index))
    return runs


def _make_run(glyphs: list[_Glyph], row: int) -> _Run:
    visible = [g for g in glyphs if not g.text.isspace()]
    sizes: dict[float, int] = {}
    fonts: dict[str, int] = {}
    for g in visible:
        sizes[round(g.size, 1)] = sizes.get(round(g.size, 1), 0) + 1
        fonts[g.font] = fonts.get(g.font, 0) + 1
    return _Run(
        glyphs=visible, row=row,
        box=_union((g.x0, g.top, g.x1, g.bottom) for g in visible),
        size=max(sizes, key=sizes.get), font=max(fonts, key=fonts.get),
        text=_run_text(glyphs),
    )


def _run_text(glyphs: list[_Glyph]) -> str:
    """The run's text, spaced as every line's is (``lines._glyph_run_text``)."""
    return _glyph_run_text(glyphs, lambda g: g.x0, lambda g: g.x1)[0].strip()


def _caption_chains(runs: list[_Run]) -> list[list[_Run]]:
    """Each caption run with the wrapped lines that continue it (at most three)."""
    by_row: dict[int, list[_Run]] = {}
    for r in runs:
        by_row.setdefault(r.row, []).append(r)
    chains = []
    for r in runs:
        if not CAPTION.match(r.text):
            continue
        chain = [r]
        for _ in range(3):
            nxt = _continuation(chain[-1], [x for k in (1, 2, 3) for x in by_row.get(chain[-1].row + k, [])])
            if nxt is None:
                break
            chain.append(nxt)
        chains.append(chain)
    return chains


def _caption_runs(runs: list[_Run]) -> list[_Run]:
    """Caption runs and the wrapped lines that continue them."""
    return [r for chain in _caption_chains(runs) for r in chain]


def _is_label(r: _Run, body: float) -> bool:
    """Short text: a label, an axis value, a legend entry (not a line of running text)."""
    if r.size > body + 0.5 and r.n > 8:
        return False
    if r.n <= _LABEL_MAX_CHARS:
        return True
    return r.size <= body - 1.0 and r.n <= _SMALL_LABEL_MAX_CHARS


def _is_body_line(r: _Run, body: float) -> bool:
    return abs(r.size - body) <= 0.75 and r.n >= _BODY_LINE_CHARS


def _is_text_line(r: _Run, frame: Box, body: float) -> bool:
    """A line of running text in a frame: long, across most of the frame, not set small (a
    コラム may be set a little smaller than the body)."""
    wide = (r.box[2] - r.box[0]) >= 0.6 * (frame[2] - frame[0])
    return r.n >= _TEXT_LINE_CHARS and r.size >= 0.8 * body and wide


def _running_size(runs: list[_Run], default: float) -> float:
    """The size of the page's running text: the commonest size (by glyphs) of long runs."""
    counts: dict[float, int] = {}
    for r in runs:
        if r.n >= _TEXT_LINE_CHARS:
            counts[round(r.size * 2) / 2] = counts.get(round(r.size * 2) / 2, 0) + r.n
    return max(counts, key=counts.get) if counts else default


# -- drawings -----------------------------------------------------------------------------------


def _shapes(page, bounds: Box, tables: list[Box]) -> list[_Shape]:
    """The page's images and drawings that may be figure material: no hairlines (rulings), no
    print decoration (shapes that bleed off the page, the drawings mostly lying on them, page-wide
    bands in the top and bottom margins), no drawings of tables."""
    raw: list[_Shape] = []
    for obj in page.images:
        raw.append(_Shape(_box(obj), True, "image"))
    for kind in ("rects", "curves", "lines"):
        for obj in getattr(page, kind):
            box = _box(obj)
            w, h = box[2] - box[0], box[3] - box[1]
            shape = _Shape(box, False, kind[:-1])
            # A ruling (table lines, footnote rules, hairline frames, axes) is no figure
            # material by itself, but it joins the drawings it touches (the axis of a chart).
            shape.ruling = min(w, h) <= RULING_MAX and (kind != "curves" or max(w, h) > 4 * RULING_MAX)
            shape.filled = bool(obj.get("fill"))
            shape.stroked = bool(obj.get("stroke"))
            shape.colour = _colour(obj.get("non_stroking_color")) if shape.filled else None
            raw.append(shape)
    grounds = [s for s in raw if not s.image and s.filled]
    bleeding = _bleeding(raw, bounds)
    bleeding_ids = {id(b) for b in bleeding}
    on_bleed = _mostly_on(raw, bleeding)
    page_w = bounds[2] - bounds[0]
    page_h = bounds[3] - bounds[1]
    shapes = []
    for s, on in zip(raw, on_bleed, strict=True):
        if (on and not s.image) or id(s) in bleeding_ids:
            continue  # header bands, chapter tabs, crop marks, and the drawings on them
        if s.box[2] - s.box[0] >= 0.8 * page_w and (
            s.box[3] <= bounds[1] + _MARGIN_BAND * page_h or s.box[1] >= bounds[3] - _MARGIN_BAND * page_h
        ):
            continue  # a page-wide band in the top or bottom margin
        if any(_share_inside(s.box, t) >= 0.8 or _contains(s.box, t, 1.0) for t in tables):
            continue  # a table's cell backgrounds, or the panel behind a table
        clipped = _clip(s.box, bounds)
        if clipped[2] < clipped[0] or clipped[3] < clipped[1]:
            continue  # off the page
        shapes.append(s)
    filled = [s for s in shapes if s.filled and not s.stroked]
    for s, under in zip(filled, _smallest_containers(filled, grounds), strict=True):
        s.invisible = s.colour is not None and s.colour == (under.colour if under is not None else _WHITE)
    for s in shapes:
        s.box = _clip(s.box, bounds)
    return shapes


def _bleeding(raw: list[_Shape], bounds: Box) -> list[_Shape]:
    """Drawings that bleed off the page, and the drawings of the same fill colour that touch
    them (within 1 pt, ``_distance``), transitively (a band drawn in pieces); in no particular
    order. Images never count.

    A search outwards from the bleeding drawings; each drawing reached is compared at once
    (numpy, with a margin) with all drawings of its colour not reached yet, and ``_distance``
    decides for those near enough: a chain of 10,000 touching rectangles is not walked by
    comparing every drawing with every other for each one reached."""
    found = [s for s in raw if not s.image and _bleeds(s.box, bounds)]
    reached = {id(s) for s in found}
    by_colour: dict[tuple, list[_Shape]] = {}
    for s in raw:
        if not s.image and s.colour is not None:
            by_colour.setdefault(s.colour, []).append(s)
    boxes = {c: np.array([s.box for s in group], dtype=np.float64).reshape(-1, 4) for c, group in by_colour.items()}
    free = {c: np.array([id(s) not in reached for s in group], dtype=bool) for c, group in by_colour.items()}
    pending = [s for s in found if s.colour is not None]
    while pending:
        b = pending.pop()
        group, box, open_ = by_colour[b.colour], boxes[b.colour], free[b.colour]
        a0, a1, a2, a3 = b.box
        # The gaps along each axis (as ``_distance`` reckons them) at most 1 pt, with a margin
        # for rounding: ``_distance`` itself decides.
        # (a comparison with NaN is false: such a pair is left to ``_distance``).
        near = np.flatnonzero(
            open_
            & ~(np.maximum(box[:, 0] - a2, a0 - box[:, 2]) > 1.0 + _NEAR_SLACK)
            & ~(np.maximum(box[:, 1] - a3, a1 - box[:, 3]) > 1.0 + _NEAR_SLACK)
        )
        for k in near.tolist():
            s = group[k]
            if _distance(s.box, b.box) <= 1.0:
                open_[k] = False
                found.append(s)
                pending.append(s)
    return found


# Rounding margin (pt) of the numpy tests that choose the pairs ``_distance`` and
# ``_share_inside`` then decide for.
_NEAR_SLACK = 1e-6


def _mostly_on(shapes: list[_Shape], under: list[_Shape]) -> list[bool]:
    """For each of ``shapes``: whether at least 0.6 of its area lies inside one of ``under``
    (``_share_inside``); False for images. The boxes that overlap it are found at once (numpy); ``_share_inside``
    decides for them."""
    if not under or not shapes:
        return [False] * len(shapes)
    box = np.array([u.box for u in under], dtype=np.float64)
    u0, u1, u2, u3 = (np.ascontiguousarray(box[:, k]) for k in range(4))
    result = []
    for s in shapes:
        if s.image:
            result.append(False)  # never set aside for lying on artwork
            continue
        b0, b1, b2, b3 = s.box
        # a share above 0 needs an overlap of some width and height
        # (NaN is left to ``_share_inside``)
        overlapping = np.flatnonzero(
            ~(np.minimum(b2, u2) - np.maximum(b0, u0) <= -_NEAR_SLACK)
            & ~(np.minimum(b3, u3) - np.maximum(b1, u1) <= -_NEAR_SLACK)
        )
        result.append(any(_share_inside(s.box, under[k].box) >= 0.6 for k in overlapping.tolist()))
    return result


def _classify(shapes: list[_Shape], runs: list[_Run], caption_ids: set[int], body: float) -> None:
    """Mark the shapes that are not figure material (``seed`` False):

    - invisible shapes: filled, not stroked, in the colour of what they lie on (the page's
      white, or the panel they are drawn on): layout strips, not drawing;
    - caption bands (frames holding a caption) and what is drawn in them;
    - boxes: frames holding two or more lines of running text (``_is_text_line``), or one and
      no drawing (a strip behind a line), and the strips spanning such a box;
    - shapes about a line high that a line of text runs through (a highlighter mark, a badge
      behind the number of a heading).
    Images stay figure material.
    """
    for s in shapes:
        if s.invisible or s.ruling:
            s.seed = False
    boxes: list[Box] = []
    bands: list[Box] = []
    for s in shapes:
        if s.image or s.ruling:
            continue
        near = [r for r in runs if _boxes_meet(r.box, s.box)]
        inner_runs = [r for r in near if _run_inside(r, s.box)]
        if any(id(g) in caption_ids for r in inner_runs for g in r.glyphs):
            s.seed = False
            bands.append(s.box)
            continue
        text_lines = [r for r in inner_runs if _is_text_line(r, s.box, body)]
        if len(text_lines) >= 2 or (text_lines and not _holds_drawing(s, shapes)):
            s.seed = False
            boxes.append(s.box)
            continue
        height = s.box[3] - s.box[1]
        if any(height <= 3 * r.size and _crosses(r, s.box) for r in near):
            s.seed = False
    for s in shapes:
        if not s.seed or s.image:
            continue
        if any(_contains(b, s.box, 1.0) and s.box != b for b in bands):
            s.seed = False  # the strips behind a caption's lines
        elif any(
            _contains(b, s.box, 1.0) and s.box != b and (s.box[2] - s.box[0]) >= 0.8 * (b[2] - b[0])
            for b in boxes
        ):
            s.seed = False  # a box's background strips


def _smallest_container(s: _Shape, grounds: list[_Shape], index: _Grid | None = None) -> _Shape | None:
    """The smallest filled shape drawn before ``s`` that contains it (what it is drawn on);
    None: the page. ``grounds`` are in drawing order (pdfplumber's, per kind); ``index``, if
    given, is a ``_Grid`` of them by position in that list."""
    best = None
    if index is None:
        candidates = range(len(grounds))
    else:
        cx, cy = (s.box[0] + s.box[2]) / 2, (s.box[1] + s.box[3]) / 2
        candidates = sorted(index.near((cx, cy, cx, cy)))
    for k in candidates:
        o = grounds[k]
        if o is s:
            break
        if not _contains(o.box, s.box, 0.5) or _area(o.box) < _area(s.box):
            continue
        if best is None or _area(o.box) <= _area(best.box):
            best = o
    return best


# The cell (pt) of the grid ``_smallest_container`` looks for containers in.
_GROUND_CELL = 48.0
# How many containers in the order of ``_smallest_containers`` are tried one by one before the
# rest of the cell is tested at once.
_FIRST_TRIES = 16


def _smallest_containers(shapes: list[_Shape], grounds: list[_Shape]) -> list[_Shape | None]:
    """``_smallest_container(s, grounds, index)`` for each of ``shapes`` (each one of ``grounds``),
    with ``index`` a ``_Grid`` of ``_GROUND_CELL`` pt holding ``grounds``: the same answers, found
    without looking at every ground drawn before a shape (a page of 10,000 rectangles drawn on
    one another asked 50 million questions).

    A shape's candidates are the grounds whose cells hold the cell of its centre (as the grid
    gives them). In each such cell they are put in order of area, then latest drawn first: the
    answer is the first one after the shape itself (it is one of them) that contains it (0.5 pt
    tolerance) and is drawn before it; those before the shape in that order are smaller, or as
    large and drawn later. The first ``_FIRST_TRIES`` are tried one by one (a stack of equal
    shapes, shapes nested in one another: the next one), the rest of the cell at once with
    numpy. Areas that are not numbers (an infinite side by a zero one) fall back to asking
    ``_smallest_container`` shape by shape."""
    grid = _Grid(_GROUND_CELL)
    position = {id(g): k for k, g in enumerate(grounds)}
    # The cells each ground covers, as ``_Grid.add`` reckons them (raising as it raises).
    spans = []
    for g in grounds:
        xs, ys = grid._range(g.box)
        spans.append((xs.start, xs.stop - 1, ys.start, ys.stop - 1))
    areas = [_area(g.box) for g in grounds]
    if any(a != a for a in areas):  # NaN: no order of area
        index = _Grid(_GROUND_CELL)
        for k, g in enumerate(grounds):
            index.add(k, g.box)
        return [_smallest_container(s, grounds, index) for s in shapes]
    by_cell: dict[tuple[int, int], list[int]] = {}
    for i, s in enumerate(shapes):
        cx, cy = (s.box[0] + s.box[2]) / 2, (s.box[1] + s.box[3]) / 2
        xs, ys = grid._range((cx, cy, cx, cy))
        by_cell.setdefault((xs.start, ys.start), []).append(i)
    result: list[_Shape | None] = [None] * len(shapes)
    if not grounds:
        return result
    span = np.array(spans, dtype=np.float64)
    boxes = np.array([g.box for g in grounds], dtype=np.float64)
    area = np.array(areas, dtype=np.float64)
    drawn = np.arange(len(grounds))
    rank = np.full(len(grounds), -1)
    for (x, y), asking in by_cell.items():
        inside = np.flatnonzero((span[:, 0] <= x) & (x <= span[:, 1]) & (span[:, 2] <= y) & (y <= span[:, 3]))
        order = inside[np.lexsort((-drawn[inside], area[inside]))]
        rank[order] = np.arange(len(order))
        o_box, o_area = boxes[order], area[order]
        grown = np.column_stack((o_box[:, 0] - 0.5, o_box[:, 1] - 0.5, o_box[:, 2] + 0.5, o_box[:, 3] + 0.5))
        order_list = order.tolist()
        for i in asking:
            s = shapes[i]
            k_s = position[id(s)]
            a_s = _area(s.box)
            start = int(rank[k_s]) + 1
            # Not in its centre's cell (never, for a finite box): nothing stops the search at it.
            before = k_s if start > 0 else len(grounds)
            found = None
            for p in range(start, min(start + _FIRST_TRIES, len(order_list))):
                k = order_list[p]
                o = grounds[k]
                if k < before and areas[k] >= a_s and _contains(o.box, s.box, 0.5):
                    found = o
                    break
            rest = start + _FIRST_TRIES
            if found is None and rest < len(order_list):
                b0, b1, b2, b3 = s.box
                g = grown[rest:]
                hit = ((order[rest:] < before) & (o_area[rest:] >= a_s) & (b0 >= g[:, 0]) & (b1 >= g[:, 1])
                       & (b2 <= g[:, 2]) & (b3 <= g[:, 3]))
                if hit.any():
                    found = grounds[order_list[rest + int(hit.argmax())]]
            result[i] = found
        rank[order] = -1
    return result


def _colour(value) -> tuple | None:
    """A fill colour as a comparable tuple (gray, RGB or CMYK components rounded), None if unknown."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        value = (value,)
    try:
        parts = tuple(round(float(v), 2) for v in value)
    except (TypeError, ValueError):
        return None
    if len(parts) == 1:
        return (parts[0],) * 3
    if len(parts) == 4:  # CMYK to RGB, roughly: enough to compare
        c, m, y, k = parts
        return tuple(round((1 - v) * (1 - k), 2) for v in (c, m, y))
    return parts[:3]


_WHITE = (1.0, 1.0, 1.0)


def _holds_drawing(s: _Shape, shapes: list[_Shape]) -> bool:
    return any(o is not s and _contains(s.box, o.box, 1.0) and _area(o.box) < _area(s.box) for o in shapes)


def _cluster(seeds: list[_Shape], connectors: list[_Shape], gap: float) -> list[list[_Shape]]:
    """Seeds whose boxes are within ``gap`` of each other (along both axes), or joined by rulings
    that touch them (within 2 pt), transitively; clusters with no seed are left out. Clusters are
    listed by their first node (seeds, then connectors), their shapes in that order.

    Two nodes are compared when a ``_Grid`` of cells ``max(2 * reach, 12)`` pt (``reach``: the
    larger limit) would find the later one near the earlier one grown by ``reach`` (their cell
    ranges meet). Which pairs pass, and the clusters they make, are found by
    ``box_clusters.cluster_labels`` without asking every pair (sorted along x, tested with numpy,
    equal boxes once): no pair of the 10,000 shapes drawn on one spot is asked about one by one."""
    nodes = seeds + connectors
    n = len(nodes)
    reach = max(gap, 2.0)
    grid = _Grid(max(2 * reach, 12.0))
    # The cells of each node and of each node grown by ``reach``, as ``_Grid.add`` and
    # ``_Grid.near`` reckon them (raising as they raise).
    own, grown = [], []
    for node in nodes:
        xs, ys = grid._range(node.box)
        own.append((xs.start, xs.stop - 1, ys.start, ys.stop - 1))
    for node in nodes:
        xs, ys = grid._range(node.box, reach)
        grown.append((xs.start, xs.stop - 1, ys.start, ys.stop - 1))
    label = np.arange(n)
    if n > 1:
        label = cluster_labels(np.array([node.box for node in nodes], dtype=np.float64), len(seeds), gap,
                               np.array(own, dtype=np.float64), np.array(grown, dtype=np.float64))
    groups: dict[int, list[_Shape]] = {}
    for s, key in zip(nodes, label.tolist(), strict=True):
        groups.setdefault(key, []).append(s)
    return [g for g in groups.values() if any(s.seed for s in g)]


class _Grid:
    """A coarse spatial index of boxes: which boxes may be near a box."""

    def __init__(self, cell: float) -> None:
        self.cell = cell
        self.cells: dict[tuple[int, int], list[int]] = {}

    def _range(self, box: Sequence[float], pad: float = 0.0):
        c = self.cell
        return (
            range(int((box[0] - pad) // c), int((box[2] + pad) // c) + 1),
            range(int((box[1] - pad) // c), int((box[3] + pad) // c) + 1),
        )

    def add(self, key: int, box: Sequence[float]) -> None:
        xs, ys = self._range(box)
        for x in xs:
            for y in ys:
                self.cells.setdefault((x, y), []).append(key)

    def near(self, box: Sequence[float], pad: float = 0.0) -> set[int]:
        xs, ys = self._range(box, pad)
        found: set[int] = set()
        for x in xs:
            for y in ys:
                found.update(self.cells.get((x, y), ()))
        return found


def _grow(members: list[_Shape], shapes: list[_Shape], labels: list[_Run], seeds: _Seeds | None = None):
    """The cluster's region grown by the labels in and next to it, and by the seeds it comes to
    touch (``shapes`` in order, each taken as it is reached, the region growing); returns
    (region, members, number of labels). ``seeds``: the ``_Seeds`` of ``shapes``, if made
    already (one for all of a page's clusters)."""
    region = _union(s.box for s in members)
    members = list(members)
    member_ids = {id(s) for s in members}
    if seeds is None:
        seeds = _Seeds(shapes)
    attached: set[int] = set()
    for _ in range(8):
        changed = False
        for r in labels:
            if id(r) in attached:
                continue
            if _run_inside(r, region) or _distance(r.box, region) <= _LABEL_GAP * r.size:
                attached.add(id(r))
                region = _union([region, r.box])
                changed = True
        start = 0
        while True:
            for k in seeds.touching(region, start):
                s = seeds.shapes[k]
                if id(s) not in member_ids and _distance(s.box, region) <= 0:
                    members.append(s)
                    member_ids.add(id(s))
                    region = _union([region, s.box])
                    changed = True
                    start = k + 1  # the next seeds are asked about the grown region
                    break
            else:
                break
        if not changed:
            break
    return region, members, len(attached)


class _Seeds:
    """A page's seeds (the shapes with ``seed`` set, in order) and their boxes as an array: which
    of them may touch a region, found at once (numpy)."""

    def __init__(self, shapes: list[_Shape]) -> None:
        self.shapes = [s for s in shapes if s.seed]
        box = np.array([s.box for s in self.shapes], dtype=np.float64).reshape(-1, 4)
        self.x0, self.top, self.x1, self.bottom = (np.ascontiguousarray(box[:, k]) for k in range(4))

    def touching(self, region: Box, start: int = 0) -> list[int]:
        """The positions, from ``start`` on, of the seeds whose boxes may touch ``region``: a
        superset (a margin for rounding, NaN kept) of those at ``_distance`` 0 or less."""
        r0, r1, r2, r3 = region
        near = (
            ~(np.maximum(self.x0[start:] - r2, r0 - self.x1[start:]) > _NEAR_SLACK)
            & ~(np.maximum(self.top[start:] - r3, r1 - self.bottom[start:]) > _NEAR_SLACK)
        )
        return (np.flatnonzero(near) + start).tolist()


def _merge_regions(regions: list, gap: float) -> list:
    """Regions that overlap (or lie within ``gap`` of each other) become one: the first pair in
    order (by the first region's place, then the second's) is merged into the first's place,
    and so on until no pair is left.

    The same merges in the same order as asking all pairs again after each merge, without it:
    regions before the one that grew had no partner, so only the grown region can give them
    one; its partners are looked for at once (numpy, with a margin; ``_distance`` decides)."""
    regions = list(regions)
    n = len(regions)
    if n < 2:
        return regions
    box = np.array([r[0] for r in regions], dtype=np.float64).reshape(-1, 4)
    alive = np.ones(n, dtype=bool)
    reach = max(gap, 0.0) + _NEAR_SLACK

    def meet(a, b) -> bool:
        return _distance(a[0], b[0]) < gap or (gap > 0 and _distance(a[0], b[0]) <= gap)

    def partners(i: int, lo: int, hi: int) -> list[int]:
        """The living regions in [lo, hi) that may merge with region ``i``, in order."""
        a0, a1, a2, a3 = regions[i][0]
        b = box[lo:hi]
        near = (
            alive[lo:hi]
            & ~(np.maximum(b[:, 0] - a2, a0 - b[:, 2]) > reach)
            & ~(np.maximum(b[:, 1] - a3, a1 - b[:, 3]) > reach)
        )
        return (np.flatnonzero(near) + lo).tolist()

    def merge(i: int, j: int) -> None:  # j into i (i < j)
        a, b = regions[i], regions[j]
        regions[i] = (_union([a[0], b[0]]), a[1] + b[1], a[2] + b[2])
        box[i] = regions[i][0]
        alive[j] = False

    i = 0
    while i < n:
        if not alive[i]:
            i += 1
            continue
        # An earlier region meeting this one (it grew): that pair comes first.
        earlier = next((p for p in partners(i, 0, i) if meet(regions[p], regions[i])), None)
        if earlier is not None:
            merge(earlier, i)
            i = earlier
            continue
        later = next((j for j in partners(i, i + 1, n) if meet(regions[i], regions[j])), None)
        if later is None:
            i += 1
        else:
            merge(i, later)
    return [r for r, keep in zip(regions, alive.tolist(), strict=True) if keep]


def _is_figure(region: Box, members: list[_Shape], n_labels: int, runs: list[_Run],
               caption_ids: set[int], body: float) -> bool:
    w, h = region[2] - region[0], region[3] - region[1]
    images = [s for s in members if s.image]
    big_images = [s for s in images if _big_enough(s.box, _IMAGE_MIN, body)]
    if big_images:
        if not _big_enough(region, _IMAGE_MIN, body):
            return False
    else:
        drawings = [s for s in members if not s.image and not s.ruling]
        if len(drawings) < 2 or n_labels < 1 or not _big_enough(region, _DRAWING_MIN, body):
            return False
    inner = [r for r in runs if _run_inside(r, region) and not any(id(g) in caption_ids for g in r.glyphs)]
    if sum(1 for r in inner if _is_body_line(r, body) and r.box[2] - r.box[0] >= 0.5 * w) >= 3:
        return False  # paragraphs: a box or a column, not a figure
    for r in runs:
        if _run_overlaps(r, region) and _crosses(r, region):
            return False  # body text runs through its edge
    return w > 0 and h > 0


def _big_enough(box: Box, minimum: tuple[float, float], body: float) -> bool:
    w, h = box[2] - box[0], box[3] - box[1]
    return max(w, h) >= minimum[0] * body and min(w, h) >= minimum[1] * body


# -- geometry -----------------------------------------------------------------------------------


def _box(obj: dict) -> Box:
    return (float(obj["x0"]), float(obj["top"]), float(obj["x1"]), float(obj["bottom"]))


def _bleeds(box: Box, bounds: Box) -> bool:
    return (
        box[0] < bounds[0] - _BLEED or box[1] < bounds[1] - _BLEED
        or box[2] > bounds[2] + _BLEED or box[3] > bounds[3] + _BLEED
    )


def _centre_in(g: _Glyph, box: Sequence[float]) -> bool:
    return box[0] <= g.cx <= box[2] and box[1] <= g.cy <= box[3]


def _boxes_meet(a: Sequence[float], b: Sequence[float]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _run_inside(r: _Run, box: Box) -> bool:
    """Most of the run's glyphs have their centre inside the box."""
    if not _boxes_meet(r.box, box):
        return False
    inside = sum(1 for g in r.glyphs if _centre_in(g, box))
    return inside * 2 > len(r.glyphs)


def _run_overlaps(r: _Run, box: Box) -> bool:
    if not _boxes_meet(r.box, box):
        return False
    return any(_centre_in(g, box) for g in r.glyphs)


def _crosses(r: _Run, box: Box) -> bool:
    """A run with glyphs inside and outside the box and an ordinary gap (under 1.5 characters:
    a double space after a heading number included) where it leaves it."""
    for a, b in zip(r.glyphs, r.glyphs[1:], strict=False):
        if _centre_in(a, box) != _centre_in(b, box) and b.x0 - a.x1 <= 1.5 * max(a.size, b.size):
            return True
    return False


def _x_overlap(a: Sequence[float], b: Sequence[float]) -> float:
    return min(a[2], b[2]) - max(a[0], b[0])


def _distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Gap between two boxes (0 when they touch, negative when they overlap)."""
    dx = max(a[0] - b[2], b[0] - a[2])
    dy = max(a[1] - b[3], b[1] - a[3])
    if dx < 0 and dy < 0:
        return max(dx, dy)
    return max(dx, 0.0) if dy < 0 else max(dy, 0.0) if dx < 0 else (dx * dx + dy * dy) ** 0.5


def _area(box: Sequence[float]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _share_inside(inner: Box, outer: Sequence[float]) -> float:
    """The share of ``inner``'s area that lies inside ``outer``."""
    w = min(inner[2], outer[2]) - max(inner[0], outer[0])
    h = min(inner[3], outer[3]) - max(inner[1], outer[1])
    area = _area(inner)
    if area <= 0:
        return 0.0
    return max(0.0, w) * max(0.0, h) / area


def _contains(outer: Sequence[float], inner: Sequence[float], tol: float = 0.0) -> bool:
    return (
        inner[0] >= outer[0] - tol and inner[1] >= outer[1] - tol
        and inner[2] <= outer[2] + tol and inner[3] <= outer[3] + tol
    )


def _union(boxes: Iterable[Sequence[float]]) -> Box:
    boxes = list(boxes)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _clip(box: Sequence[float], bounds: Sequence[float]) -> Box:
    return (max(box[0], bounds[0]), max(box[1], bounds[1]), min(box[2], bounds[2]), min(box[3], bounds[3]))


def _merge_boxes(boxes: list[Box]) -> list[Box]:
    boxes = list(boxes)
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                if _distance(boxes[i], boxes[j]) < 0:
                    boxes[i] = _union([boxes[i], boxes[j]])
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return boxes
