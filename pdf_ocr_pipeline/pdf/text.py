"""Words and text straight from a page's text layer, in the displayed page's frame."""

from __future__ import annotations

from dataclasses import dataclass

import pymupdf

#: Words whose tops or bottoms differ by at most this many points share a line (as PyMuPDF's ``sort=True``).
LINE_TOLERANCE = 3.0


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float


def text_page(page: pymupdf.Page) -> pymupdf.TextPage:
    """The page's text, extracted once, for ``page_words`` and ``page_text`` to share (the flags PyMuPDF's
    ``get_text("words")`` and ``get_text("blocks")`` use)."""
    return page.get_textpage(flags=pymupdf.TEXTFLAGS_WORDS)


def page_words(page: pymupdf.Page, textpage: pymupdf.TextPage | None = None) -> list[Word]:
    """Words with boxes in PDF points, origin top left of the page as displayed (its /Rotate applied).

    PyMuPDF reports text in the unrotated page's coordinates; the rotation matrix turns them into the
    displayed frame, which is the frame of the rendered image and of every box in our tables. Words come in
    reading order, line by line (``sort_words``). ``textpage``: the page's ``text_page``, to share.
    """
    words = sort_words(page.get_text("words", textpage=textpage or text_page(page)))
    if page.rotation == 0:
        return [Word(w[4], w[0], w[1], w[2], w[3]) for w in words]
    matrix = page.rotation_matrix
    out = []
    for x0, y0, x1, y1, text, *_ in words:
        r = pymupdf.Rect(x0, y0, x1, y1) * matrix
        out.append(Word(text, r.x0, r.y0, r.x1, r.y1))
    return out


def sort_words(words: list[tuple]) -> list[tuple]:
    """Word tuples ``(x0, y0, x1, y1, text, ...)`` line by line, top to bottom, each line left to right.

    The order of PyMuPDF's ``get_text("words", sort=True)``, on plain floats (PyMuPDF's own makes two ``Rect``s a
    word: most of the text stage's time). A word joins the current line when its top or bottom is within
    ``LINE_TOLERANCE`` of the line's box.

    >>> [w[4] for w in sort_words([(50, 10, 60, 20, "b"), (0, 11, 40, 21, "a"), (0, 40, 9, 50, "c")])]
    ['a', 'b', 'c']
    """
    if not words:
        return []
    words = sorted(words, key=lambda w: (w[3], w[0]))
    out: list[tuple] = []
    line = [words[0]]
    box = list(words[0][:4])
    for w in words[1:]:
        if abs(w[1] - box[1]) <= LINE_TOLERANCE or abs(w[3] - box[3]) <= LINE_TOLERANCE:
            line.append(w)
            box = _union(box, w)
        else:
            line.sort(key=lambda v: v[0])
            out.extend(line)
            line, box = [w], list(w[:4])
    line.sort(key=lambda v: v[0])
    out.extend(line)
    return out


def _union(box: list[float], w: tuple) -> list[float]:
    """MuPDF's rectangle union: an empty rectangle (no area) adds nothing, and is replaced by any other."""
    if w[0] >= w[2] or w[1] >= w[3]:
        return box
    if box[0] >= box[2] or box[1] >= box[3]:
        return list(w[:4])
    return [min(box[0], w[0]), min(box[1], w[1]), max(box[2], w[2]), max(box[3], w[3])]


def page_text(page: pymupdf.Page, textpage: pymupdf.TextPage | None = None) -> str:
    """The page's text in reading order, blocks separated by blank lines.

    The text of ``get_text("blocks", sort=True)``, built from ``"dict"``: PyMuPDF 1.28's block extraction keeps
    about 5 KiB a page for good (2,000 pages: +10 MiB), the dict extraction keeps nothing.
    """
    return "\n\n".join(text for _, text in page_paragraphs(page, textpage))


def page_paragraphs(page: pymupdf.Page, textpage: pymupdf.TextPage | None = None, text_dict: dict | None = None
                    ) -> list[tuple[tuple[float, float, float, float], str]]:
    """The page's text blocks in reading order, each with its box in the displayed frame (``page_text``'s parts).
    ``text_dict``: the page's ``get_text("dict")``, unsorted, when the caller has it (sorted here as PyMuPDF's
    ``sort=True`` does: by bottom, then left)."""
    parts = []
    matrix = page.rotation_matrix
    if text_dict is None:
        blocks = page.get_text("dict", sort=True, textpage=textpage or text_page(page))["blocks"]
    else:
        blocks = sorted(text_dict["blocks"], key=lambda b: (b["bbox"][3], b["bbox"][0]))
    for block in blocks:
        if block["type"] == 0:
            text = "".join("".join(span["text"] for span in line["spans"]) + "\n" for line in block["lines"]).strip()
            if text:
                r = pymupdf.Rect(block["bbox"]) * matrix if page.rotation else pymupdf.Rect(block["bbox"])
                parts.append(((r.x0, r.y0, r.x1, r.y1), text))
    return parts


def insert_in_reading_order(paragraphs: list[tuple[tuple[float, float, float, float], str]],
                            inserts: list[tuple[tuple[float, float, float, float], str]]) -> str:
    r"""``paragraphs`` (``page_paragraphs``) with ``inserts`` (a picture's box and the text read from it) placed
    where a reader meets them: before the first paragraph that starts at or below the picture's top, joined by
    blank lines.

    >>> insert_in_reading_order([((0, 0, 9, 9), "above"), ((0, 50, 9, 60), "caption")], [((0, 20, 9, 45), "pic")])
    'above\n\npic\n\ncaption'
    """
    out = [text for _, text in paragraphs]
    tops = [box[1] for box, _ in paragraphs]
    # later inserts first, so earlier indexes stay valid; pictures at the same height keep their order
    for box, text in sorted(inserts, key=lambda item: (item[0][1], item[0][0]), reverse=True):
        if not text.strip():
            continue
        at = next((i for i, top in enumerate(tops) if top >= box[1] - 1.0), len(tops))
        out.insert(at, text.strip())
        tops.insert(at, box[1])
    return "\n\n".join(out)
