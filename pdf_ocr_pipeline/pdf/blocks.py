"""A page's text layer as paragraphs and headings, in the displayed page's frame. No Dagster here.

PyMuPDF reports text as spans in lines in blocks, but its lines and blocks are not a reader's: a justified line
comes as one "line" per word, and a typical report gives each line a block of its own. Here lines are rebuilt
from their geometry (pieces on one baseline), ordered for reading (a plain two-column run is read column by
column), and grouped into paragraphs by spacing, indent and style. A paragraph is a heading when its type is
bold or larger than the page's body text (see the constants, measured on a GOST 7.32 report: its headings are
bold Times at 13.5 pt over a 13.8 pt body, numbered ``1``, ``1.1``, ``1.2.1`` or unnumbered capitals).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from statistics import median

import pymupdf

#: A paragraph whose type is at least this much larger than the body text is a heading (size alone) ...
HEADING_SIZE_RATIO = 1.12
#: ... heading level by size alone, for unnumbered headings: at least H1 -> level 1, H2 -> level 2, else 3.
H1_SIZE_RATIO = 1.5
H2_SIZE_RATIO = 1.25
#: ... and bold type is a heading even at body size (GOST: bold 13.5 pt over a 13.8 pt body), down to this.
BOLD_MIN_SIZE_RATIO = 0.9
#: A line is bold when this share of its characters is set in a bold face.
BOLD_SHARE = 0.8
#: Headings are short: at most this many words and lines.
MAX_HEADING_WORDS = 20
MAX_HEADING_LINES = 3
#: Lines wholly inside this share of the page height at the top or bottom are running headers and footers
#: (page numbers): kept as text, never headings. The report's headings start 60 pt down (7 %), its page
#: numbers sit 24 pt from the bottom (3 %).
FURNITURE_BAND = 0.06
#: Pieces of text on one baseline are one line when the gap between them is under this many ems (justified
#: words in the report: up to 1.5 em; a table of contents' leader to its page number: 1.2 em), or four times
#: that within one PyMuPDF block.
LINE_JOIN_GAP_EM = 1.8
#: A gap between lines this many ems wider than the page's usual line gap starts a paragraph (the report:
#: 0.58 em between lines, 1.0 em and more between paragraphs and list items).
PARA_GAP_EXTRA_EM = 0.3
#: A line starting at least this many ems right of the line above starts a paragraph (a first-line indent:
#: GOST's 1.25 cm is 2.5 em) ...
INDENT_EM = 1.0
#: ... and a line ending this many ems short of the column's right edge ends its paragraph.
SHORT_LINE_EM = 4.0
#: A font's size from an OCR word or line box's height (a text-layer line box is about 1.0 to 1.15 sizes tall;
#: an OCR box is drawn tight around the ink, about 0.7 (lower case) to 1.0 (with capitals and descenders)).
OCR_SIZE_PER_HEIGHT = 1.1
#: A run of rows split by a common gutter, with at least this many lines of at least COLUMN_MIN_WORDS words
#: on either side, is read as two columns (left, then right); fewer is a table or a form, read row by row.
COLUMN_MIN_LINES = 6
COLUMN_MIN_WORDS = 4.0

_BULLET = re.compile(r"^(?:[•●▪◦‣∙○■□–—-]|\d{1,3}[.)]|[a-zа-я][.)])\s")
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,3}){0,5})\.?\s+\w")
_LEADER_ENTRY = re.compile(r"(?:\.\s*){4,}\s*\S{0,6}\d+$|…\s*\d+$")  # a table of contents line
_PAGE_NUMBER = re.compile(r"^(?:[-–—]\s*)?(?:\d{1,4}|[ivxlc]{1,7})(?:\s*[-–—])?$|"
                          r"^(?:page|стр\.?|страница|с\.)\s*\d{1,4}(?:\s*(?:of|из|/)\s*\d{1,4})?$", re.I)
_CAPTION = re.compile(r"^(?:Рисунок|Рис\.|Таблица|Табл\.|Листинг|Figure|Fig\.|Table|Listing)\s+"
                      r"(?:[A-ZА-Я]\.)?\d+(?:\.\d+)*\s*(?:[—–\-:.]|$)")


@dataclass(frozen=True)
class TextBlock:
    """A paragraph of a page's text (its text layer, or OCR lines through ``blocks_from_lines``).

    Attributes:
        text: its lines joined by spaces (a line ending in a hyphen joins the next without one).
        x0, y0, x1, y1: its box in PDF points, displayed page frame (origin top left, /Rotate applied).
        level: 0 for body text; 1..6 for a heading.
        role: ``heading`` | ``paragraph`` | ``list_item`` | ``caption`` | ``furniture`` (a running header or
            footer, such as a page number).
        size: its characters' mean font size in points.
        bold: all its lines are set in a bold face.
    """

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    level: int = 0
    role: str = "paragraph"
    size: float = 0.0
    bold: bool = False

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1, self.y1)


@dataclass
class _Line:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    size: float
    bold: float  # share of characters in bold
    chars: int
    block: int = -1  # the PyMuPDF block it came from
    horizontal: bool = True


def text_layer_blocks(page: pymupdf.Page, body_size: float | None = None,
                      textpage: pymupdf.TextPage | None = None, text_dict: dict | None = None) -> list[TextBlock]:
    """The page's text layer as paragraphs and headings in reading order.

    Args:
        page: an open PyMuPDF page.
        body_size: the document's body text size in points; by default the page's most used size (by
            characters). Pass the document's when a page holds little body text.
        textpage: the page's ``pdf.text.text_page``, to share one extraction.
        text_dict: the page's ``get_text("dict")`` (unsorted), to share it with ``pdf.text.page_paragraphs``.

    Returns:
        ``TextBlock``s top to bottom (a two-column run left column first), boxes in the displayed frame.
    """
    from .text import text_page

    raw = text_dict if text_dict is not None else page.get_text("dict", textpage=textpage or text_page(page))
    lines = _lines(raw, page.rotation_matrix if page.rotation else None)
    if not lines:
        return []
    body = body_size or _body_size(lines)
    return _page_numbers([_block(p, body, page.rect.height) for p in _paragraphs(_reading_order(lines))])


def blocks_from_lines(lines: list[tuple[str, tuple[float, float, float, float]]],
                      page_height: float) -> list[TextBlock]:
    """Paragraphs from plain ``(text, box)`` lines or words (OCR output: no fonts, so no bold and sizes from
    the boxes' heights); headings by size only. Boxes in points, displayed frame."""
    pieces = [_Line(t.strip(), *b, size=max(1.0, (b[3] - b[1]) * OCR_SIZE_PER_HEIGHT), bold=0.0,
                    chars=len(t.strip()), block=i) for i, (t, b) in enumerate(lines) if t.strip()]
    if not pieces:
        return []
    body = _body_size(pieces)
    return _page_numbers([_block(p, body, page_height) for p in _paragraphs(_reading_order(pieces))])


def _page_numbers(blocks: list[TextBlock]) -> list[TextBlock]:
    """A page number above or below all other text is a footer (or header) wherever the margin puts it."""
    if len(blocks) < 2:
        return blocks
    top, bottom = min(b.y0 for b in blocks), max(b.y1 for b in blocks)
    return [replace(b, role="furniture", level=0) if _PAGE_NUMBER.match(b.text) and (b.y0 <= top or b.y1 >= bottom)
            else b for b in blocks]


def _lines(raw: dict, matrix: pymupdf.Matrix | None) -> list[_Line]:
    out = []
    for bi, block in enumerate(raw["blocks"]):
        if block["type"] != 0:
            continue
        for line in block["lines"]:
            spans = [s for s in line["spans"] if s["text"]]
            text = "".join(s["text"] for s in spans)
            if not text.strip():
                continue
            weights = [len(s["text"].strip()) for s in spans]
            chars = sum(weights) or 1
            size = sum(w * s["size"] for w, s in zip(weights, spans)) / chars
            bold = sum(w for w, s in zip(weights, spans) if _is_bold(s)) / chars
            x0, y0, x1, y1 = line["bbox"]  # plain floats: a Rect a line costs more than the rest of the line
            dx, dy = line["dir"]
            if matrix is not None:
                r = pymupdf.Rect(x0, y0, x1, y1) * matrix
                x0, y0, x1, y1 = r.x0, r.y0, r.x1, r.y1
                dx, dy = dx * matrix.a + dy * matrix.c, dx * matrix.b + dy * matrix.d
            out.append(_Line(text.strip(), x0, y0, x1, y1, size, bold, chars, bi,
                             horizontal=abs(dy) < 0.1 and dx > 0))
    return out


def _is_bold(span: dict) -> bool:
    font = span.get("font", "")
    return bool(span.get("flags", 0) & 16) or any(w in font for w in ("Bold", "Black", "Heavy", "Semibold"))


def _body_size(lines: list[_Line]) -> float:
    counts: Counter[float] = Counter()
    for ln in lines:
        counts[round(ln.size * 2) / 2] += ln.chars
    return counts.most_common(1)[0][0]


def _reading_order(lines: list[_Line]) -> list[_Line]:
    """Lines joined along their baselines, rows top to bottom, a two-column run column by column."""
    flat = sorted((ln for ln in lines if ln.horizontal), key=lambda ln: ((ln.y0 + ln.y1) / 2, ln.x0))
    rows: list[list[_Line]] = []
    for ln in flat:
        h = ln.y1 - ln.y0
        row = rows[-1] if rows else None
        if row and min(ln.y1, row[0].y1) - max(ln.y0, row[0].y0) >= 0.5 * min(h, row[0].y1 - row[0].y0):
            row.append(ln)
        else:
            rows.append([ln])
    joined = [_join_row(sorted(row, key=lambda ln: ln.x0)) for row in rows]
    joined += [[ln] for ln in lines if not ln.horizontal]
    joined.sort(key=lambda segs: (min(s.y0 for s in segs), min(s.x0 for s in segs)))
    return _columns(joined)


def _join_row(row: list[_Line]) -> list[_Line]:
    """A row's pieces joined into lines: pieces close together (or of one PyMuPDF block) are one line."""
    out = [row[0]]
    for ln in row[1:]:
        cur = out[-1]
        gap = ln.x0 - cur.x1
        em = max(cur.size, ln.size)
        if gap <= LINE_JOIN_GAP_EM * em or (ln.block == cur.block and gap <= 4 * LINE_JOIN_GAP_EM * em):
            chars = cur.chars + ln.chars
            out[-1] = _Line(cur.text + " " + ln.text, cur.x0, min(cur.y0, ln.y0), max(cur.x1, ln.x1),
                            max(cur.y1, ln.y1), (cur.size * cur.chars + ln.size * ln.chars) / chars,
                            (cur.bold * cur.chars + ln.bold * ln.chars) / chars, chars, cur.block)
        else:
            out.append(ln)
    return out


def _columns(rows: list[list[_Line]]) -> list[_Line]:
    """Rows flattened for reading; a run of rows sharing a gutter with prose on both sides goes left column
    first, then right."""
    out: list[_Line] = []
    i = 0
    while i < len(rows):
        run, gutter = _column_run(rows, i)
        if run:
            left = [s for row in rows[i:i + run] for s in row if s.x1 <= gutter[0]]
            right = [s for row in rows[i:i + run] for s in row if s.x0 >= gutter[1]]
            out += left + right
            i += run
        else:
            out += rows[i]
            i += 1
    return out


def _column_run(rows: list[list[_Line]], start: int) -> tuple[int, tuple[float, float]]:
    """How many rows from ``start`` share a gutter (0 if they are not two columns of prose), and the gutter."""
    first = rows[start]
    if len(first) != 2:
        return 0, (0.0, 0.0)
    left_end, right_start = first[0].x1, first[1].x0
    n = 0
    for row in rows[start:]:
        lo, hi = left_end, right_start
        for s in row:
            if (s.x0 + s.x1) / 2 < (left_end + right_start) / 2:
                lo = max(lo, s.x1)
            else:
                hi = min(hi, s.x0)
        if hi - lo < 0.5 * max(s.size for s in row):  # a piece crosses the gutter: the run ends
            break
        left_end, right_start = lo, hi
        n += 1
    sides = ([s for row in rows[start:start + n] for s in row if s.x1 <= left_end],
             [s for row in rows[start:start + n] for s in row if s.x0 >= right_start])
    for side in sides:
        if len(side) < COLUMN_MIN_LINES or sum(len(s.text.split()) for s in side) / len(side) < COLUMN_MIN_WORDS:
            return 0, (left_end, right_start)
    return n, (left_end, right_start)


def _paragraphs(lines: list[_Line]) -> list[list[_Line]]:
    gaps = [b.y0 - a.y1 for a, b in zip(lines, lines[1:]) if 0 <= b.y0 - a.y1 <= 2 * a.size]
    usual_gap = median(gaps) if gaps else 0.3 * lines[0].size
    edges = _column_edges(lines)
    paras: list[list[_Line]] = []
    for ln in lines:
        cur = paras[-1] if paras else None
        if cur is None or _starts_paragraph(cur, ln, usual_gap, edges):
            paras.append([ln])
        else:
            cur.append(ln)
    return paras


def _column_edges(lines: list[_Line]) -> dict[int, tuple[float, float]]:
    """Each line's column edges: the leftmost start and rightmost end among lines overlapping it horizontally."""
    spans = [(ln.x0, ln.x1) for ln in lines]
    edges = {}
    for ln in lines:
        over = [(x0, x1) for x0, x1 in spans if x0 < ln.x1 and x1 > ln.x0]
        edges[id(ln)] = (min(x0 for x0, _ in over), max(x1 for _, x1 in over))
    return edges


def _styled(ln: _Line) -> bool:
    return ln.bold >= BOLD_SHARE


def _starts_paragraph(para: list[_Line], ln: _Line, usual_gap: float,
                      edges: dict[int, tuple[float, float]]) -> bool:
    prev = para[-1]
    em = max(prev.size, ln.size)
    if not (prev.horizontal and ln.horizontal):
        return True
    if ln.y0 - prev.y1 > usual_gap + PARA_GAP_EXTRA_EM * em or ln.y1 < prev.y0 or ln.x0 >= prev.x1 or ln.x1 <= prev.x0:
        return True
    if _styled(prev) != _styled(ln) or abs(prev.size - ln.size) > 0.15 * em:
        return True
    if _BULLET.match(ln.text) or _CAPTION.match(ln.text) or (_styled(ln) and _NUMBERED.match(ln.text)):
        return True
    if prev.x1 < edges[id(prev)][1] - SHORT_LINE_EM * em or _LEADER_ENTRY.search(prev.text):
        return True
    return ln.x0 > edges[id(ln)][0] + INDENT_EM * em and not _BULLET.match(para[0].text)


def _join_lines(lines: list[_Line]) -> str:
    text = lines[0].text
    for ln in lines[1:]:
        if text.endswith("\u00ad"):
            text = text[:-1] + ln.text
        elif len(text) > 1 and text[-1] == "-" and text[-2].isalpha() and ln.text[:1].islower():
            text += ln.text  # a word broken at its hyphen ("научно-" + "исследовательской")
        else:
            text += " " + ln.text
    return " ".join(text.split())


def _block(lines: list[_Line], body: float, page_height: float) -> TextBlock:
    text = _join_lines(lines)
    x0, y0 = min(ln.x0 for ln in lines), min(ln.y0 for ln in lines)
    x1, y1 = max(ln.x1 for ln in lines), max(ln.y1 for ln in lines)
    chars = sum(ln.chars for ln in lines) or 1
    size = sum(ln.size * ln.chars for ln in lines) / chars
    bold = all(_styled(ln) for ln in lines)
    level, role = 0, "paragraph"
    if y1 <= FURNITURE_BAND * page_height or y0 >= (1 - FURNITURE_BAND) * page_height:
        role = "furniture"
    elif _CAPTION.match(text):
        role = "caption"
    elif _is_heading(text, lines, size, bold, body):
        level, role = _heading_level(text, size / body, lines), "heading"
    elif _BULLET.match(text):
        role = "list_item"
    return TextBlock(text, x0, y0, x1, y1, level, role, round(size, 2), bold)


def _is_heading(text: str, lines: list[_Line], size: float, bold: bool, body: float) -> bool:
    if len(lines) > MAX_HEADING_LINES or len(text.split()) > MAX_HEADING_WORDS:
        return False
    if not any(c.isalpha() for c in text) or not all(ln.horizontal for ln in lines):
        return False
    return size >= HEADING_SIZE_RATIO * body or (bold and size >= BOLD_MIN_SIZE_RATIO * body)


def _heading_level(text: str, ratio: float, lines: list[_Line]) -> int:
    """By section number (``1.2.1`` -> 3) when it has one, else by size; an unnumbered bold heading at body size
    is a level 1 when set in capitals (GOST's ВВЕДЕНИЕ, ЗАКЛЮЧЕНИЕ), else a level 3."""
    m = _NUMBERED.match(text)
    if m:
        return min(6, m.group(1).count(".") + 1)
    if ratio >= H1_SIZE_RATIO:
        return 1
    if ratio >= H2_SIZE_RATIO:
        return 2
    if ratio >= HEADING_SIZE_RATIO:
        return 3
    letters = [c for c in text if c.isalpha()]
    return 1 if letters and all(c.isupper() for c in letters) else 3
