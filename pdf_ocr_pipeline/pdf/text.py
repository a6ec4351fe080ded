"""Words and text straight from a page's text layer, in the displayed page's frame."""

from __future__ import annotations

from dataclasses import dataclass

import pymupdf


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float


def page_words(page: pymupdf.Page) -> list[Word]:
    """Words with boxes in PDF points, origin top left of the page as displayed (its /Rotate applied).

    PyMuPDF reports text in the unrotated page's coordinates; the rotation matrix turns them into the
    displayed frame, which is the frame of the rendered image and of every box in our tables.
    """
    matrix = page.rotation_matrix
    words = []
    for x0, y0, x1, y1, text, *_ in page.get_text("words", sort=True):
        r = pymupdf.Rect(x0, y0, x1, y1) * matrix
        words.append(Word(text, r.x0, r.y0, r.x1, r.y1))
    return words


def page_text(page: pymupdf.Page) -> str:
    """The page's text in reading order, blocks separated by blank lines."""
    blocks = page.get_text("blocks", sort=True)
    parts = [b[4].strip() for b in blocks if b[6] == 0 and b[4].strip()]
    return "\n\n".join(parts)
