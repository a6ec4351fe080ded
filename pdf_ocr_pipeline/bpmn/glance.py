"""The look at a page's pictures without MuPDF decoding them, where that draws the same image.

MuPDF inflates a Flate picture in full and converts it before scaling it down; for the coarse look before the
raster search (``document.pictures_may_hold_diagram``) libpng through OpenCV decodes the same stream (a PDF
Flate stream with PNG predictors is a PNG's image data) in about half the time, and OpenCV scales it down
(``INTER_AREA``). Text and drawings between and beside the pictures are still rendered by MuPDF. Only plain cases
take this path: an unturned page without clipping paths or graphics states in its content, upright pictures
drawn by the page itself, side by side and not enlarged, 8-bit grey or RGB (sRGB as calibrated RGB too) Flate data with PNG
predictors, an /SMask of grey Flate data, and no word or vector drawing on a picture. Anything else returns
``None`` and is rendered by MuPDF as before. ``bench/glance_check.py`` compares the verdicts of both ways.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

import numpy as np
import pymupdf

#: MuPDF converts calibrated RGB through its parameters; only sRGB's (the calibrated RGB Microsoft Word gives
#: pasted pictures: sRGB's primaries and white point, gamma 2.2) comes out as plain RGB does.
_SRGB_CAL = {"Gamma": (2.2, 2.2, 2.2), "WhitePoint": (0.95046, 1.0, 1.08906),
             "Matrix": (0.41239, 0.21264, 0.01933, 0.35758, 0.71517, 0.11919, 0.18048, 0.07219, 0.95053)}


#: A clipping path (``W n``, ``W* n``) or a graphics state dictionary (``/Name gs``) in a content stream.
_CLIP_OR_STATE = re.compile(rb"(?<![^\s\]\)>])W\*?\s+n(?![^\s\[\(/<])|(?<![^\s\]\)>])gs(?![^\s\[\(/<])")


def _is_srgb_cal(cs: str) -> bool:
    """Whether the colour space array ``cs`` (as ``xref_get_key`` gives it) is sRGB as calibrated RGB."""
    m = re.fullmatch(r"\[\s*/CalRGB\s*<<(.*)>>\s*\]", cs, re.S)
    if not m:
        return False
    found = dict(re.findall(r"/(\w+)\s*\[([^\]]*)\]", m.group(1)))
    if set(found) != set(_SRGB_CAL) or re.sub(r"/\w+\s*\[[^\]]*\]", "", m.group(1)).strip():
        return False
    try:
        return all(len(v := [float(x) for x in found[k].split()]) == len(ref)
                   and all(abs(a - b) < 1e-3 for a, b in zip(v, ref)) for k, ref in _SRGB_CAL.items())
    except ValueError:
        return False


@dataclass(frozen=True)
class FlatePicture:
    """A Flate picture's stream as stored (``data``) and how to decode it; read from MuPDF, decoded without it."""

    data: bytes
    width: int
    height: int
    colors: int  # 1 grey, 3 RGB
    predictor: int  # 1 none, 2 TIFF, 10-15 PNG


def _flate_picture(doc: pymupdf.Document, xref: int, grey_only: bool) -> FlatePicture | None:
    """The picture ``xref``'s stream, or ``None`` if it is not a plain Flate picture this module decodes."""
    def key(name: str) -> tuple[str, str]:  # (type, value) of the picture dictionary's entry
        return doc.xref_get_key(xref, name)

    if key("Filter") != ("name", "/FlateDecode") or key("BitsPerComponent")[1] != "8":
        return None
    for k in ("Decode", "Mask", "Matte", "ImageMask", "SMaskInData"):
        if key(k)[0] != "null":
            return None
    kind, cs = key("ColorSpace")
    if kind == "array" and _is_srgb_cal(cs):
        cs = "/CalRGB"
    elif kind != "name":
        return None
    colors = 1 if cs == "/DeviceGray" else 3 if cs in ("/DeviceRGB", "/CalRGB") and not grey_only else 0
    if not colors:
        return None
    try:
        w, h = int(key("Width")[1]), int(key("Height")[1])
        parms = key("DecodeParms")[0] != "null"
        pred = int(key("DecodeParms/Predictor")[1]) if parms else 1
        cols = int(key("DecodeParms/Columns")[1]) if parms else w
    except ValueError:
        return None
    ncol = key("DecodeParms/Colors")
    bpc = key("DecodeParms/BitsPerComponent")
    if cols != w or (ncol[0] != "null" and ncol[1] != str(colors)) or (bpc[0] != "null" and bpc[1] != "8") \
            or w < 1 or h < 1:
        return None
    if not (pred in (1, 2) and colors == 1) and not 10 <= pred <= 15:
        return None
    return FlatePicture(doc.xref_stream_raw(xref), w, h, colors, pred)


def _decode(pic: FlatePicture) -> np.ndarray | None:
    """``pic`` in grey (uint8, its own pixel size), or ``None`` where its data is broken. No MuPDF: thread-safe."""
    import cv2

    w, h = pic.width, pic.height
    if pic.predictor in (1, 2):  # grey: no predictor, or TIFF's
        try:
            raw = zlib.decompress(pic.data)
        except zlib.error:
            return None
        if len(raw) < w * h:
            return None
        grey = np.frombuffer(raw, np.uint8, w * h).reshape(h, w)
        if pic.predictor == 2:  # each byte the difference to its left one, modulo 256
            grey = np.cumsum(grey, axis=1, dtype=np.uint8)
        return grey
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0 if pic.colors == 1 else 2, 0, 0, 0)
    png = b"".join([b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", ihdr), _chunk(b"IDAT", pic.data), _chunk(b"IEND", b"")])
    grey = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    if grey is None or grey.shape != (h, w):
        return None
    return grey


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(tag)))


@dataclass(frozen=True)
class GlancePlan:
    """What the look's image is made of: pictures to decode and scale into their pixel boxes, and MuPDF's strips
    of the rest, already rendered. ``compose`` needs no MuPDF."""

    shape: tuple[int, int]  # the canvas, rows and columns
    pictures: list[tuple[tuple[int, int, int, int], FlatePicture, FlatePicture | None]]  # box, picture, soft mask
    strips: list[tuple[int, int, np.ndarray]]  # left column, top row, grey pixels


def glance_plan(page: pymupdf.Page, infos: list[dict], area: pymupdf.Rect, dpi: float,
                words: list[tuple[float, float, float, float]] | None = None,
                drawings: list[dict] | None = None) -> GlancePlan | None:
    """MuPDF's part of the grey image of ``area`` at ``dpi``: the pictures' streams and the rest rendered, or
    ``None`` (render the whole area with MuPDF instead). ``compose`` makes the image.

    The rest of the area (text and drawings between and beside the pictures, which move the look's Otsu
    threshold) is rendered by MuPDF in strips that miss the pictures' pixels, so MuPDF decodes none of them.
    ``words``: boxes of the page's words (points), ``drawings``: its ``get_cdrawings()``, or ``None`` to read
    either from the page; a word or a vector drawing on a picture sends the page to MuPDF (it would be drawn over
    or under the picture).
    """
    if page.rotation or not infos:
        return None
    doc = page.parent
    # which picture each box shows: by its pixel size, where no two pictures of the page share it (asking
    # MuPDF for the xrefs hashes every picture, which decodes it)
    by_size: dict[tuple[int, int], set[int]] = {}
    for item in page.get_images(full=True):
        if item[-1]:  # drawn from a form XObject (whose box and state may clip or blend it)
            return None
        by_size.setdefault((item[2], item[3]), set()).add(item[0])
    if _CLIP_OR_STATE.search(page.read_contents()):  # a clip path or graphics state (opacity, blending) on the page
        return None
    boxes = []
    for info in infos:
        a, b, c, d, _, _ = info["transform"]
        xrefs = by_size.get((info["width"], info["height"]), ())
        xref = next(iter(xrefs)) if len(xrefs) == 1 else 0
        if xref <= 0 or b != 0 or c != 0 or a <= 0 or d <= 0:
            return None
        boxes.append((pymupdf.Rect(info["bbox"]), xref))
    for i, (r, _) in enumerate(boxes):
        if not r in page.rect:
            return None
        for s, _ in boxes[i + 1:]:
            if r.intersects(s):
                return None
    if words is None:
        words = [w[:4] for w in page.get_text("words", clip=area)]
    if drawings is None:
        drawings = page.get_cdrawings()
    others = [pymupdf.Rect(d["rect"]) for d in drawings] + [pymupdf.Rect(w) for w in words]
    if any(o.intersects(r) for o in others for r, _ in boxes):
        return None
    k = dpi / 72
    cx0, cy0, cx1, cy1 = _pixel_box(area, k)
    if cx1 - cx0 < 1 or cy1 - cy0 < 1:
        return None
    shape = (cy1 - cy0, cx1 - cx0)
    pictures = []
    for r, xref in boxes:
        pic = _flate_picture(doc, xref, grey_only=False)
        if pic is None:
            return None
        smask = doc.xref_get_key(xref, "SMask")
        alpha = None
        if smask[0] == "xref":
            alpha = _flate_picture(doc, int(smask[1].split()[0]), grey_only=True)
            if alpha is None:
                return None
        px0, py0, px1, py1 = _pixel_box(r, k)
        x0, y0 = max(px0, cx0) - cx0, max(py0, cy0) - cy0
        x1, y1 = min(px1, cx1) - cx0, min(py1, cy1) - cy0
        if x1 - x0 < 1 or y1 - y0 < 1 or x1 - x0 > pic.width or y1 - y0 > pic.height:
            return None  # enlarged pictures: MuPDF's interpolation, not OpenCV's
        pictures.append(((x0, y0, x1, y1), pic, alpha))
    # the rest in strips: bands between the pictures' top and bottom rows, in each the runs no picture covers
    held = [box for box, _, _ in pictures]
    strips = []
    ys = sorted({0, shape[0], *(b[1] for b in held), *(b[3] for b in held)})
    for ya, yb in zip(ys, ys[1:]):
        cover = sorted((b[0], b[2]) for b in held if b[1] < yb and b[3] > ya)
        x = 0
        for xa, xb in [*cover, (shape[1], shape[1])]:
            if xa > x:
                e = 0.01 / k
                clip = pymupdf.Rect((cx0 + x) / k + e, (cy0 + ya) / k + e, (cx0 + xa) / k - e, (cy0 + yb) / k - e)
                pix = page.get_pixmap(dpi=dpi, clip=clip, colorspace=pymupdf.csGRAY, alpha=False)
                if (pix.x, pix.y, pix.width, pix.height) != (cx0 + x, cy0 + ya, xa - x, yb - ya):
                    return None
                strips.append((x, ya, grey_pixels(pix)))
            x = max(x, xb)
    return GlancePlan(shape, pictures, strips)


def _pixel_box(r: pymupdf.Rect, k: float) -> tuple[int, int, int, int]:
    """The pixels MuPDF renders for ``r`` at ``k`` pixels a point (its rounding, with the same tolerance)."""
    return (int(np.floor(r.x0 * k + 0.001)), int(np.floor(r.y0 * k + 0.001)),
            int(np.ceil(r.x1 * k - 0.001)), int(np.ceil(r.y1 * k - 0.001)))


def grey_pixels(pix: pymupdf.Pixmap) -> np.ndarray:
    """A grey pixmap's pixels as an array (a view on its samples, without the row padding)."""
    return np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.stride)[:, :pix.width]


def compose(plan: GlancePlan) -> np.ndarray | None:
    """The grey image ``plan`` describes, as MuPDF would render it; ``None`` where a picture's data is broken.
    No MuPDF: runs in any thread (OpenCV and zlib release the GIL while they decode and scale)."""
    import cv2

    canvas = np.full(plan.shape, 255, np.uint8)
    for (x0, y0, x1, y1), pic, alpha_pic in plan.pictures:
        grey = _decode(pic)
        alpha = _decode(alpha_pic) if alpha_pic is not None else None
        if grey is None or (alpha_pic is not None and alpha is None):
            return None
        small = cv2.resize(grey, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
        if alpha is not None:
            a = cv2.resize(alpha, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA).astype(np.uint16)
            small = ((small.astype(np.uint16) * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)
        canvas[y0:y1, x0:x1] = small
    for x, y, pixels in plan.strips:
        canvas[y:y + pixels.shape[0], x:x + pixels.shape[1]] = pixels
    return canvas
