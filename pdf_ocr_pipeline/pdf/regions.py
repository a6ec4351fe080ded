"""Pictures on a page that may hold text the text layer does not have: where they are, and their crops. No Dagster.

Born-digital documents carry their diagrams, screenshots and logos as pictures (Word to PDF): the text layer holds
the body text but not the words drawn inside those pictures. Under the ``auto`` page policy such pictures are
OCR'd as regions of their own (``engines.router``) and their words join the page's.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pymupdf

from .render import effective_dpi

#: A picture can hold a line of text only when both its sides reach this many points: 10 pt type with its
#: line spacing and a little margin. Smaller pictures are bullets, rules, icons and spacers (the sample report's
#: smallest picture is a 324 x 231 pt screenshot; Word's decorations are under 12 pt on a side).
MIN_REGION_SIDE_PT = 14.0
#: ... and an area of at least this many square points: one short word of 10 pt type (about 60 x 20 pt).
MIN_REGION_AREA_PT2 = 1200.0
#: Pictures covering this share of the page are the page itself (a scan): the page goes to OCR whole, or its
#: text layer (an earlier OCR's) is judged as the page's text; they are not regions.
PAGE_PICTURE_COVERAGE = 0.85
#: A picture with this many text-layer words over it already has its text (an earlier OCR layer, labels drawn
#: as text over a picture): it is not OCR'd again.
MIN_LAYER_WORDS_OVER_REGION = 3
#: Pictures whose boxes overlap or lie this close together are one region (a diagram pasted in tiles, a
#: picture with its mask): OCR'd once, words not cut at the seam.
REGION_JOIN_GAP_PT = 2.0
#: At most this many regions a page: a page tiled with hundreds of pictures is a scan in disguise or a mosaic,
#: and is better read whole (the largest regions are kept).
MAX_REGIONS_PER_PAGE = 24


@dataclass(frozen=True)
class PictureRegion:
    """A picture (or pictures touching each other) on the displayed page, in PDF points, origin top left.

    ``content`` identifies the pictures (a hash of each one's stored stream, ``_contents``), the same wherever the
    same picture is placed: a logo repeated on every page, or in another document, has one ``content``.
    """

    x0: float
    y0: float
    x1: float
    y1: float
    content: str
    #: the pictures' own resolution as placed: their pixels per inch of the page (the finest when joined)
    ppi: float = 0.0

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1, self.y1)

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def as_row(self) -> dict:
        return {"x0": self.x0, "y0": self.y0, "x1": self.x1, "y1": self.y1, "content": self.content,
                "ppi": self.ppi}


def picture_regions(page: pymupdf.Page, word_boxes: Sequence[tuple[float, float, float, float]] | None = None
                    ) -> list[PictureRegion]:
    """Regions of ``page`` worth OCR'ing for text its text layer lacks, largest first, at most
    ``MAX_REGIONS_PER_PAGE``.

    A region is a picture (pictures that touch are joined) of at least ``MIN_REGION_SIDE_PT`` a side and
    ``MIN_REGION_AREA_PT2``, not covering the page (``PAGE_PICTURE_COVERAGE``), with fewer than
    ``MIN_LAYER_WORDS_OVER_REGION`` text-layer words over it. ``word_boxes``: the text layer's words in the
    displayed frame (``pdf.text.page_words``); read from the page when None.
    """
    try:
        infos = page.get_image_info()
    except Exception:  # noqa: BLE001 - a broken image dictionary: no regions, the page keeps its text layer
        return []
    page_rect = page.rect
    page_area = abs(page_rect) or 1.0
    pictures = []  # (info, placed box in the displayed frame, its part on the page)
    for info in infos:
        placed = pymupdf.Rect(info["bbox"]) * page.rotation_matrix  # boxes come in the unrotated frame
        rect = placed & page_rect
        # a picture covering the page is the page (a scan, a letterhead background): never a region, nor joined
        if not rect.is_empty and abs(rect) / page_area < PAGE_PICTURE_COVERAGE:
            pictures.append((info, placed, rect))
    if sum(abs(rect) for _, _, rect in pictures) < MIN_REGION_AREA_PT2:
        return []  # bullets and rules only: nothing worth identifying
    if word_boxes is None:
        from .text import page_words

        word_boxes = [(w.x0, w.y0, w.x1, w.y1) for w in page_words(page)]
    # a picture under the text (a watermark, a picture with its words as text over it) holds no text to add
    pictures = [p for p in pictures if _words_over(p[2], word_boxes) < MIN_LAYER_WORDS_OVER_REGION]
    if not pictures:
        return []
    contents = _contents(page, [info for info, _, _ in pictures])
    joined = _join_touching([(rect, content, _ppi(info, placed))
                             for (info, placed, rect), content in zip(pictures, contents)])
    out = []
    for rect, contents, ppi in joined:
        if min(rect.width, rect.height) < MIN_REGION_SIDE_PT or abs(rect) < MIN_REGION_AREA_PT2:
            continue
        if abs(rect) / page_area >= PAGE_PICTURE_COVERAGE or _words_over(rect, word_boxes) >= MIN_LAYER_WORDS_OVER_REGION:
            continue
        content = contents[0] if len(contents) == 1 else hashlib.sha256("+".join(contents).encode()).hexdigest()[:32]
        out.append(PictureRegion(rect.x0, rect.y0, rect.x1, rect.y1, content, round(ppi, 1)))
    out.sort(key=lambda r: -(r.width * r.height))
    return out[:MAX_REGIONS_PER_PAGE]


def _words_over(rect: pymupdf.Rect, word_boxes) -> int:
    return sum(1 for x0, y0, x1, y1 in word_boxes
               if rect.x0 <= (x0 + x1) / 2 <= rect.x1 and rect.y0 <= (y0 + y1) / 2 <= rect.y1)


def _ppi(info: dict, placed: pymupdf.Rect) -> float:
    """Pixels per inch as placed, from areas (the same whichever way the picture or the page is turned)."""
    return 72.0 * math.sqrt(info.get("width", 0) * info.get("height", 0) / max(abs(placed), 1e-6))


#: An inline image in a page's content (``BI ... ID ... EI``): it is in no image list, so it cannot be told apart
#: from a listed image of its size without decoding.
_INLINE_IMAGE = re.compile(rb"(?:^|\s)BI\s")


def _contents(page: pymupdf.Page, infos: list[dict]) -> list[str]:
    """The content id of each picture of ``page.get_image_info()``: a hash of its image stream (and its soft mask)
    as stored, the same wherever the same picture is placed, read without decoding the picture. A picture the
    page's image list does not tell apart by its pixel size (two pictures of one size, an inline image) gets
    MuPDF's digest of its decoded pixels instead (it decodes every picture of the page, ~10 ms a screenshot)."""
    if _INLINE_IMAGE.search(page.read_contents()):
        return _digests(page, infos)
    by_size: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for xref, smask, width, height, *_ in page.get_images(full=True):
        by_size.setdefault((width, height), []).append((xref, smask))
    doc = page.parent
    out = []
    for info in infos:
        found = by_size.get((info.get("width"), info.get("height")), [])
        if len(found) != 1:
            break
        xref, smask = found[0]
        digest = hashlib.sha256(doc.xref_stream_raw(xref))
        if smask:
            digest.update(doc.xref_stream_raw(smask))
        out.append(digest.hexdigest()[:32])
    else:
        return out
    return _digests(page, infos)


def _digests(page: pymupdf.Page, infos: list[dict]) -> list[str]:
    """MuPDF's digest of each picture's decoded pixels, for the pictures ``infos`` (by their place on the page)."""
    by_number = {info["number"]: info["digest"].hex() for info in page.get_image_info(hashes=True)}
    return [by_number.get(info["number"], f"picture-{info['number']}") for info in infos]


def _join_touching(pictures: list[tuple[pymupdf.Rect, str, float]]) -> list[tuple[pymupdf.Rect, list[str], float]]:
    """Pictures whose boxes (grown by ``REGION_JOIN_GAP_PT``) overlap, joined into one box, contents in page order,
    the finest resolution kept."""
    groups: list[tuple[pymupdf.Rect, list[str], float]] = []
    for rect, content, ppi in pictures:
        rect = pymupdf.Rect(rect)
        contents = [content]
        merged = True
        while merged:  # a joined box may now reach groups it did not before
            merged = False
            for i, (other, other_contents, other_ppi) in enumerate(groups):
                grown = pymupdf.Rect(other.x0 - REGION_JOIN_GAP_PT, other.y0 - REGION_JOIN_GAP_PT,
                                     other.x1 + REGION_JOIN_GAP_PT, other.y1 + REGION_JOIN_GAP_PT)
                if grown.intersects(rect):
                    rect |= other
                    contents = other_contents + [c for c in contents if c not in other_contents]
                    ppi = max(ppi, other_ppi)
                    del groups[i]
                    merged = True
                    break
        groups.append((rect, contents, ppi))
    return groups


@dataclass(frozen=True)
class RegionCrop:
    """A region rendered for OCR: PNG bytes at ``dpi``, the region's size in points."""

    png: bytes
    dpi: float
    width_pt: float
    height_pt: float
    width_px: int
    height_px: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.png).hexdigest()


def render_region(page: pymupdf.Page, region: PictureRegion, dpi: float, max_pixels: int) -> RegionCrop:
    """The region as the reader sees it (what is drawn over the picture too), at ``dpi`` (lower when the crop
    would pass ``max_pixels``), RGB PNG. Raises what MuPDF raises for a picture it cannot decode."""
    eff = effective_dpi(region.width, region.height, dpi, max_pixels)
    clip = pymupdf.Rect(region.box)  # in the displayed frame, as get_pixmap takes it
    pix = page.get_pixmap(matrix=pymupdf.Matrix(eff / 72, eff / 72), clip=clip, alpha=False,
                          colorspace=pymupdf.csRGB)
    return RegionCrop(pix.tobytes("png"), eff, region.width, region.height, pix.width, pix.height)
