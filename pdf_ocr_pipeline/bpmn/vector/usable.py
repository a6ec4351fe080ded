"""Can a vector page's drawings carry the vector path? Pure geometry and counts over ``page.get_drawings()``.

Some vector PDFs hold a diagram the vector path cannot read from its drawings, though the page looks fine:

- **text as curves**: labels exported as outlines ("convert text to paths"), so the page has no text layer and
  hundreds of small filled glyph outlines laid out in rows;
- **one path**: the whole diagram flattened into one (or a few) paths, so nothing tells one shape's outline from
  the next one's paint, order or style;
- **sketchy strokes**: a hand-drawn look (rough.js, bpmn-js-sketchy): every straight edge drawn as slightly bent
  Bezier curves, twice over.

``unusable_reason`` names the case (``None``: usable); ``bpmn.extract_diagram`` then reads the page as a picture.

Thresholds were measured on ``page.get_drawings()``: usable are the 306 vector pages of ``../shared/testdata``
(MIWG reference PDFs, Enterprise Architect renders), ``tests/fixtures/bpmn`` and the corpus's bpmn-js (default,
bold) and bpmn-visualization renders of hdBPMN train/val and open example models; unusable are real vector pages'
text turned into curves (PyMuPDF's SVG with text as paths, read back), their drawings re-emitted as one path
(PyMuPDF ``Shape``), and 40 bpmn-js-sketchy renders of hdBPMN train/val models (never of the MIWG models).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

#: One path: a page with at least this many subpaths ...
ONE_PATH_MIN_SUBPATHS = 30
#: ... of which the largest ``ONE_PATH_DRAWINGS`` drawings hold this share. 306 clean vector pages: at most 0.72
#: (bpmn-js pages whose dotted associations are hundreds of dots in a few paths; MIWG and Enterprise Architect at
#: most 0.18); drawings re-emitted as one path: 1.0.
ONE_PATH_DRAWINGS = 3
ONE_PATH_SHARE = 0.9

#: Text as curves: a glyph is a filled subpath with a side of at least ``GLYPH_MIN_PT`` (Chromium's outlined
#: association dots are 1.5 pt) and at most ``GLYPH_MAX_PT`` (labels and titles up to ~24 pt type) ...
GLYPH_MIN_PT = 2.5
GLYPH_MAX_PT = 24.0
#: ... it sits in a row when another glyph's bottom is within ``ROW_TOL`` of its height of its own and the gap
#: between them is at most ``ROW_GAP`` of its height (letters of a word, words of a line) ...
ROW_TOL = 0.25
ROW_GAP = 1.0
#: ... and a page is text as curves with at least ``MIN_GLYPHS`` glyphs in rows, of at least ``MIN_GLYPH_SHAPES``
#: different sizes (letters differ; arrowheads and markers repeat one size), while its text layer has fewer words
#: than ``MAX_WORDS_PER_GLYPH`` per glyph (a real word of 5 letters gives 0.2). The three text-as-curves test
#: pages: 98-285 glyphs in rows, 27-51 sizes, 0 words; the 9 of 306 clean pages with 40+ filled glyph-sized
#: marks in rows (icons, fills; 11-19 sizes): 0.53 words a glyph or more.
MIN_GLYPHS = 40
MIN_GLYPH_SHAPES = 10
MAX_WORDS_PER_GLYPH = 0.05

#: Sketchy: a stroked cubic whose chord is at least ``WOBBLE_MIN_CHORD_PT`` long and whose control points stray
#: from the chord by less than ``WOBBLE_MAX_BEND`` of its length, but by ``WOBBLE_MIN_DEV_PT`` or more, is a
#: straight edge drawn wobbly (rough.js bends every line a little: median 3.4 % of its length). Arcs of clean
#: renderers bend more (B.1.0's shortest arc pieces: 6.0 %); an exactly straight cubic is a line, not a sketch.
WOBBLE_MIN_CHORD_PT = 4.0
WOBBLE_MAX_BEND = 0.04
WOBBLE_MIN_DEV_PT = 0.05
#: A page is sketchy when at least ``MIN_WOBBLY`` of its stroked segments, and ``WOBBLY_SHARE`` of them, are
#: wobbly. 40 bpmn-js-sketchy renders of hdBPMN train/val models (en and ru): 29-61 % (109-545 segments); 306
#: clean vector pages: 0 (MIWG B.1.0 had 4 % before the bend limit: short pieces of arcs).
MIN_WOBBLY = 20
WOBBLY_SHARE = 0.1

Pt = tuple[float, float]


def unusable_reason(drawings: Sequence[dict], words: Sequence | int | Callable[[], int] = 0) -> str | None:
    """Why a page's drawings cannot carry the vector path, or ``None`` when they can.

    Args:
        drawings: ``page.get_drawings()`` (or ``get_cdrawings()``) of the page.
        words: the page's own text-layer words (any sequence; only its length counts), their number, or a
            function that counts them (called only when needed). Not OCR: a page whose text is outlines has OCR
            words but no text layer.

    Returns:
        A short reason (``"text as curves: ..."``, ``"one path: ..."``, ``"sketchy strokes: ..."``), or ``None``.
    """
    subpaths = [(i, sp) for i, d in enumerate(drawings) for sp in _subpaths(d.get("items") or ())]
    reason = _one_path(drawings, subpaths)
    if reason is None:
        reason = _text_as_curves(drawings, subpaths, words)
    if reason is None:
        reason = _sketchy(drawings)
    return reason


def one_path_reason(drawings: Sequence[dict]) -> str | None:
    """The one-path test alone (``"one path: ..."`` or ``None``): a page of fewer drawings than a diagram needs
    may still be one, flattened into a path (``bpmn.document.page_check`` lets such pages through)."""
    return _one_path(drawings, [(i, sp) for i, d in enumerate(drawings) for sp in _subpaths(d.get("items") or ())])


def _one_path(drawings: Sequence[dict], subpaths: list[tuple[int, list]]) -> str | None:
    if len(subpaths) < ONE_PATH_MIN_SUBPATHS:
        return None
    per = [0] * len(drawings)
    for i, _ in subpaths:
        per[i] += 1
    top = sorted(per, reverse=True)[:ONE_PATH_DRAWINGS]
    share = sum(top) / len(subpaths)
    if share < ONE_PATH_SHARE:
        return None
    held = "one drawing holds" if top[0] == sum(top) else f"{len([t for t in top if t])} drawings hold"
    return f"one path: {held} {sum(top)} of the page's {len(subpaths)} subpaths"


def _text_as_curves(drawings: Sequence[dict], subpaths: list[tuple[int, list]],
                    words: Sequence | int | Callable[[], int]) -> str | None:
    glyphs = []  # (x0, y0, x1, y1, segments)
    for k, (i, sp) in enumerate(subpaths):
        if "f" not in (drawings[i].get("type") or ""):
            continue
        alone = (k == 0 or subpaths[k - 1][0] != i) and (k + 1 == len(subpaths) or subpaths[k + 1][0] != i)
        x0, y0, x1, y1 = tuple(drawings[i]["rect"]) if alone and "rect" in drawings[i] else _extent(sp)
        side = max(x1 - x0, y1 - y0)
        if GLYPH_MIN_PT <= side <= GLYPH_MAX_PT:
            glyphs.append((x0, y0, x1, y1, len(sp)))
    if len(glyphs) < MIN_GLYPHS:
        return None
    n_words = words() if callable(words) else words if isinstance(words, int) else len(words)
    if n_words >= MAX_WORDS_PER_GLYPH * len(glyphs):
        return None
    in_rows = max(_in_rows(glyphs), _in_rows([(y0, x0, y1, x1, n) for x0, y0, x1, y1, n in glyphs]), key=len)
    shapes = {(round(g[2] - g[0]), round(g[3] - g[1]), g[4]) for g in in_rows}
    if len(in_rows) < MIN_GLYPHS or len(shapes) < MIN_GLYPH_SHAPES or n_words >= MAX_WORDS_PER_GLYPH * len(in_rows):
        return None
    return f"text as curves: {len(in_rows)} glyph outlines in rows, {n_words} text-layer words"


def _in_rows(glyphs: list[tuple]) -> list[tuple]:
    """The glyphs with a neighbour on their baseline (bottoms, or tops, within ``ROW_TOL``, gap within ``ROW_GAP``
    of the height): bucketed by bottom, so each is compared with the glyphs of nearby rows only. Text that runs
    down the page (a rotated page's content, unrotated) is the same test with x and y swapped: then the baseline
    is the left or the right edge."""
    cell = max(1.0, GLYPH_MAX_PT * ROW_TOL)
    buckets: dict[int, list[int]] = {}
    for k, g in enumerate(glyphs):
        buckets.setdefault(int(g[3] // cell), []).append(k)
    out = []
    for k, (x0, y0, x1, y1, _) in enumerate(glyphs):
        h = max(y1 - y0, 1.0)
        b = int(y1 // cell)
        span = int(h // cell) + 1  # glyphs whose tops agree may have bottoms a glyph's height apart
        for j in (j for bb in range(b - span, b + span + 1) for j in buckets.get(bb, ())):
            if j == k:
                continue
            ox0, _, ox1, oy1, _ = glyphs[j]
            if (abs(oy1 - y1) <= ROW_TOL * h or abs(glyphs[j][1] - y0) <= ROW_TOL * h) \
                    and max(ox0 - x1, x0 - ox1) <= ROW_GAP * h:
                out.append(glyphs[k])
                break
    return out


def _sketchy(drawings: Sequence[dict]) -> str | None:
    stroked = wobbly = 0
    for d in drawings:
        if "s" not in (d.get("type") or ""):
            continue
        for item in d.get("items") or ():
            stroked += 1
            if item[0] == "c" and _wobbly(*(_xy(p) for p in item[1:5])):
                wobbly += 1
    if wobbly < MIN_WOBBLY or wobbly < WOBBLY_SHARE * stroked:
        return None
    return f"sketchy strokes: {wobbly} of {stroked} stroked segments are straight edges drawn as bent curves"


def _wobbly(p0: Pt, p1: Pt, p2: Pt, p3: Pt) -> bool:
    chord = math.dist(p0, p3)
    if chord < WOBBLE_MIN_CHORD_PT:
        return False
    ux, uy = (p3[0] - p0[0]) / chord, (p3[1] - p0[1]) / chord
    dev = max(abs((p[0] - p0[0]) * uy - (p[1] - p0[1]) * ux) for p in (p1, p2))
    return WOBBLE_MIN_DEV_PT <= dev < WOBBLE_MAX_BEND * chord


def _subpaths(items: Iterable) -> list[list]:
    """A drawing's items split where the pen jumps (a new subpath); a rectangle or quad is a subpath of its own."""
    out: list[list] = []
    current: list = []
    last: Pt | None = None
    for item in items:
        if item[0] in ("re", "qu"):
            if current:
                out.append(current)
                current, last = [], None
            out.append([item])
            continue
        start = item[1]
        if current and last is not None and abs(start[0] - last[0]) + abs(start[1] - last[1]) > 0.01:
            out.append(current)
            current = []
        current.append(item)
        last = item[-1]
    if current:
        out.append(current)
    return out


def _extent(subpath: list) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []
    for item in subpath:
        if item[0] == "re":
            r = item[1]
            xs += [r[0], r[2]]
            ys += [r[1], r[3]]
            continue
        points = item[1] if item[0] == "qu" else item[1:]
        for p in points:
            x, y = _xy(p)
            xs.append(x)
            ys.append(y)
    return min(xs), min(ys), max(xs), max(ys)


def _xy(p) -> Pt:
    return (float(p[0]), float(p[1]))


def page_unusable_reason(page) -> str | None:
    """``unusable_reason`` of an open PyMuPDF page: its drawings (``get_cdrawings``: plain tuples, several times
    cheaper) and the words of its own text layer (read only when the drawings hold enough glyph-like marks)."""
    drawings = page.get_cdrawings()
    if not drawings:
        return None
    return unusable_reason(drawings, lambda: len(page.get_text("words")))
