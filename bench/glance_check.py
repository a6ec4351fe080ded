"""Does the look at pictures (``bpmn.document.pictures_may_hold_diagram``) give the same verdict with the
pictures decoded by OpenCV (``bpmn.glance``) as with MuPDF rendering them? Every page with pictures of the test
PDFs (tests/fixtures, data/input, ../shared/testdata), the miwg PNG exports and the hdBPMN photos pasted as
pictures into a text page (as ``tests/bpmn/test_document_gate.py`` builds it; the photos at most 1,400 px, as
``bench/bpmn_eval.py`` reads them, stored both as JPEG and as PNG), and the text pages with screenshots of
``bench/scale.py``. Prints one line per differing page and the counts; exit status 1 if any verdict differs.

    .venv/bin/python bench/glance_check.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pymupdf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pdf_ocr_pipeline.bpmn.document import GLANCE_DPI, pictures_area, pictures_may_hold_diagram  # noqa: E402
from pdf_ocr_pipeline.bpmn.glance import glance_plan  # noqa: E402

TESTDATA = ROOT.parent / "shared" / "testdata"


def pasted(stream: bytes, aspect: float) -> pymupdf.Document:
    """A text page with the picture a third of the page tall in its lower half and a caption under it."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 440), "The process is shown in figure 1.", fontsize=12)
    box = pymupdf.Rect(72, 470, 523, 470 + 451 * aspect)
    page.insert_image(box, stream=stream)
    page.insert_text((72, min(box.y1 + 20, 830)), "Figure 1: the process", fontsize=12)
    return pymupdf.open("pdf", doc.tobytes())


def _idat(img: np.ndarray) -> tuple[bytes, int]:
    """The zlib stream of ``img`` as a PNG holds it (its IDAT chunks) and its colour count (1 grey, 3 RGB)."""
    png = cv2.imencode(".png", img)[1].tobytes()
    out, i = [], 8
    while i < len(png):
        n = int.from_bytes(png[i:i + 4], "big")
        if png[i + 4:i + 8] == b"IDAT":
            out.append(png[i + 8:i + 8 + n])
        i += 12 + n
    return b"".join(out), 1 if img.ndim == 2 else 3


def _flate_xobject(doc: pymupdf.Document, img: np.ndarray, colorspace: str) -> int:
    """An image XObject as word processors write a pasted PNG: its data passed through (Flate, PNG predictors)."""
    data, colors = _idat(img)
    xref = doc.get_new_xref()
    doc.update_object(xref, "<<>>")
    doc.update_stream(xref, data, new=True, compress=0)
    for key, value in (("Type", "/XObject"), ("Subtype", "/Image"), ("Width", str(img.shape[1])),
                       ("Height", str(img.shape[0])), ("BitsPerComponent", "8"),
                       ("ColorSpace", "/DeviceGray" if colors == 1 else colorspace), ("Filter", "/FlateDecode"),
                       ("DecodeParms", f"<</Predictor 15/Colors {colors}/Columns {img.shape[1]}/BitsPerComponent 8>>")):
        doc.xref_set_key(xref, key, value)
    return xref


def pasted_flate(images: list[np.ndarray], colorspace: str = "/DeviceRGB", caption_gap: float = 40) -> pymupdf.Document:
    """A text page with the pictures stacked in its lower part, each with a caption under it, stored as Flate
    with PNG predictors (and an /SMask where the picture has alpha), as Word or LibreOffice store a pasted PNG."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 300), "The process is shown in the figures.", fontsize=12)
    y = 330.0
    for n, img in enumerate(images, 1):
        alpha = None
        if img.ndim == 3 and img.shape[2] == 4:
            img, alpha = img[:, :, :3], img[:, :, 3]
        h = min(451 * img.shape[0] / img.shape[1], (842 - 40 - 330) / len(images) - caption_gap)
        box = pymupdf.Rect(72, y, 72 + h * img.shape[1] / img.shape[0], y + h)
        xref = _flate_xobject(doc, img, colorspace)
        if alpha is not None:
            doc.xref_set_key(xref, "SMask", f"{_flate_xobject(doc, alpha, colorspace)} 0 R")
        page.insert_image(box, xref=xref)
        page.insert_text((72, box.y1 + 20), f"Figure {n}: the process", fontsize=12)
        y = box.y1 + caption_gap
    return pymupdf.open("pdf", doc.tobytes())


#: The calibrated RGB Microsoft Word gives pasted pictures (sRGB's primaries and white point, gamma 2.2).
WORD_CALRGB = ("[/CalRGB<</Gamma[2.2 2.2 2.2]/Matrix[.41239 .21264 .01933 .35758 .71517 .11919 .18048 .07219 .95053]"
               "/WhitePoint[.95046 1 1.08906]>>]")


def documents():
    pdfs = sorted({*ROOT.glob("tests/fixtures/**/*.pdf"), *ROOT.glob("data/input/*.pdf"), *TESTDATA.glob("**/*.pdf")})
    for path in pdfs:
        yield str(path.relative_to(ROOT.parent)), pymupdf.open(path)
    src = pymupdf.open(ROOT / "tests/fixtures/A.1.0.pdf")[0]
    yield "gate test: A.1.0 at 150 dpi pasted", pasted(src.get_pixmap(dpi=150).tobytes("png"),
                                                        src.rect.height / src.rect.width)
    for png in sorted((TESTDATA / "miwg-reference").glob("*.png")):
        im = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
        yield f"miwg {png.name} pasted", pasted(png.read_bytes(), im.shape[0] / im.shape[1])
    miwg = sorted((TESTDATA / "miwg-reference").glob("*.png"))
    for png in miwg:
        im = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
        yield f"miwg {png.name} pasted as Flate/PNG", pasted_flate([im])
        yield f"miwg {png.name} pasted as grey Flate/PNG", pasted_flate([cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)])
        yield f"miwg {png.name} pasted as Flate/PNG, Word's CalRGB", pasted_flate([im], WORD_CALRGB)
        yield f"miwg {png.name} pasted as Flate/PNG, other CalRGB", pasted_flate([im], "[/CalRGB<</WhitePoint[.95 1 1.09]>>]")
    for png in miwg:  # a transparent background (an /SMask), as a screenshot tool or a modeller may export
        im = cv2.imread(str(png), cv2.IMREAD_COLOR)
        alpha = np.where(im.min(axis=2) >= 250, 0, 255).astype(np.uint8)
        yield f"miwg {png.name} pasted as Flate/PNG with alpha", pasted_flate([np.dstack([im, alpha])])
    for a, b in zip(miwg, miwg[1:]):
        yield f"miwg {a.name} + {b.name} pasted as Flate/PNG", pasted_flate(
            [cv2.imread(str(a), cv2.IMREAD_UNCHANGED), cv2.imread(str(b), cv2.IMREAD_UNCHANGED)])
    for jpg in sorted((TESTDATA / "hdbpmn/train/images").glob("*.jpg")):
        im = cv2.imread(str(jpg), cv2.IMREAD_GRAYSCALE)
        f = min(1.0, 1400 / max(im.shape))
        small = cv2.resize(im, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else im
        yield f"hdBPMN {jpg.name} pasted (jpeg)", pasted(jpg.read_bytes(), im.shape[0] / im.shape[1])
        yield f"hdBPMN {jpg.name} pasted as Flate/PNG (1400 px)", pasted_flate([small])
        yield f"hdBPMN {jpg.name} pasted as Flate/PNG (full size)", pasted_flate([im])
        yield f"hdBPMN {jpg.name} pasted (png, 1400 px)", pasted(cv2.imencode(".png", small)[1].tobytes(),
                                                                 small.shape[0] / small.shape[1])


def main() -> int:
    pages = same = differ = cheap = 0
    times = {True: [0.0, 0.0], False: [0.0, 0.0]}  # by path taken: MuPDF's and the new look's seconds
    for name, doc in documents():
        for page in doc:
            if not page.get_images():
                continue
            pages += 1
            infos = page.get_image_info()
            area = pictures_area(page, infos)
            # which path the look takes: whether MuPDF's part of the new look plans it (decodes nothing)
            took = not area.is_empty and glance_plan(page, infos, area, GLANCE_DPI) is not None
            cheap += took
            pymupdf.TOOLS.store_shrink(100)
            t = time.perf_counter()
            old = pictures_may_hold_diagram(page, decode=False)
            pymupdf.TOOLS.store_shrink(100)
            t1 = time.perf_counter()
            new = pictures_may_hold_diagram(page)
            t2 = time.perf_counter()
            times[took][0] += t1 - t
            times[took][1] += t2 - t1
            if old == new:
                same += 1
            else:
                differ += 1
                print(f"DIFFERS {name} page {page.number + 1}: MuPDF {old}, OpenCV {new}")
            if "-v" in sys.argv:
                print(f"{name} p{page.number + 1}: {old} {new} {'opencv' if took else 'mupdf'}")
    old_t, new_t = (times[True][i] + times[False][i] for i in (0, 1))
    print(f"{pages} picture pages: {same} same verdict, {differ} differ; {cheap} took the OpenCV path; "
          f"look {old_t / pages * 1e3:.1f} ms a page with MuPDF, {new_t / pages * 1e3:.1f} ms now")
    if cheap:
        print(f"on the {cheap} pages of the OpenCV path: {times[True][0] / cheap * 1e3:.1f} ms a page with MuPDF, "
              f"{times[True][1] / cheap * 1e3:.1f} ms now")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
