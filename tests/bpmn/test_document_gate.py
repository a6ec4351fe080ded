"""The page gate before the raster search: pictures that cannot hold a diagram are skipped cheaply, and raster
diagrams (a scanned page, a diagram embedded as a picture in a text page) still reach the search and are found."""

from pathlib import Path

import pymupdf
import pytest

from pdf_ocr_pipeline.bpmn.document import find_diagrams, pictures_may_hold_diagram
from pdf_ocr_pipeline.bpmn.raster.detector.extract import PICTURE_METHODS  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def rows(doc: pymupdf.Document, words: bool = True) -> list[dict]:
    """What ``bpmn_elements`` passes: rendered_pages (no image for text-layer pages) and ocr_pages words."""
    out = []
    for page in doc:
        blocks = [{"label": "word", "text": w[4], "x0": w[0], "y0": w[1], "x1": w[2], "y1": w[3], "confidence": None}
                  for w in page.get_text("words")] if words else []
        out.append({"page_no": page.number + 1, "png": None, "dpi": None, "blocks": blocks})
    return out


@pytest.fixture(scope="module")
def diagram_as_picture(tmp_path_factory) -> Path:
    """A text page with A.1.0 drawn as a 150-dpi picture a third of the page tall in its lower half, with a caption
    (a report that pasted a screenshot of its process model)."""
    src = pymupdf.open(FIXTURES / "A.1.0.pdf")[0]
    png = src.get_pixmap(dpi=150).tobytes("png")
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 440), "The process is shown in figure 1.", fontsize=12)
    box = pymupdf.Rect(72, 470, 523, 470 + 451 * src.rect.height / src.rect.width)
    page.insert_image(box, stream=png)
    page.insert_text((72, box.y1 + 20), "Figure 1: the process", fontsize=12)
    path = tmp_path_factory.mktemp("gate") / "picture.pdf"
    doc.save(path)
    return path


def test_screenshots_of_windows_are_not_searched():
    doc = pymupdf.open(FIXTURES / "ru_report_p14_18.pdf")
    assert [pictures_may_hold_diagram(page) for page in doc] == [False, False]
    assert list(find_diagrams(FIXTURES / "ru_report_p14_18.pdf", rows(doc))) == []


def test_a_scanned_diagram_page_is_searched_and_found():
    path = FIXTURES / "bpmn" / "C.1.1.pdf"
    doc = pymupdf.open(path)
    assert pictures_may_hold_diagram(doc[0])
    [diagram] = find_diagrams(path, rows(doc, words=False))
    assert diagram.method in PICTURE_METHODS and len(diagram.shapes) >= 8


def test_a_diagram_embedded_as_a_picture_is_searched_and_found(diagram_as_picture: Path):
    doc = pymupdf.open(diagram_as_picture)
    assert pictures_may_hold_diagram(doc[0])
    [diagram] = find_diagrams(diagram_as_picture, rows(doc))
    assert diagram.method in PICTURE_METHODS and len(diagram.shapes) >= 4


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_the_look_follows_the_pictures_on_turned_pages(diagram_as_picture: Path, rotation: int):
    doc = pymupdf.open(diagram_as_picture)
    doc[0].set_rotation(rotation)  # image boxes are given in the unturned page: the look must turn them too
    assert pictures_may_hold_diagram(doc[0])


def test_a_scan_rendered_at_the_ocr_resolution_is_searched_at_the_raster_one():
    """Found on a run over the test data: the OCR stage renders scans at 200 dpi, and the raster search, whose
    thresholds are set at 150 dpi, found nothing on C.1.1 at 200. The page is rendered again at 150."""
    path = FIXTURES / "bpmn" / "C.1.1.pdf"
    doc = pymupdf.open(path)
    [row] = rows(doc, words=False)
    row.update(png=doc[0].get_pixmap(dpi=200).tobytes("png"), dpi=200.0)
    [diagram] = find_diagrams(path, [row])
    assert diagram.method in PICTURE_METHODS and len(diagram.shapes) >= 8


def _flate_png_picture_page(img, words_over_it: bool = False) -> pymupdf.Document:
    """A text page with ``img`` (cv2 order, 3 or 4 channels) pasted as a word processor stores a PNG: its data
    passed through as Flate with PNG predictors, the alpha channel as an /SMask; a caption above and under it."""
    import cv2

    def xobject(doc, pixels) -> int:
        png = cv2.imencode(".png", pixels)[1].tobytes()
        data, i = b"", 8
        while i < len(png):
            n = int.from_bytes(png[i:i + 4], "big")
            data += png[i + 8:i + 8 + n] if png[i + 4:i + 8] == b"IDAT" else b""
            i += 12 + n
        colors = 1 if pixels.ndim == 2 else 3
        xref = doc.get_new_xref()
        doc.update_object(xref, "<<>>")
        doc.update_stream(xref, data, new=True, compress=0)
        for key, value in (("Type", "/XObject"), ("Subtype", "/Image"), ("Width", str(pixels.shape[1])),
                           ("Height", str(pixels.shape[0])), ("BitsPerComponent", "8"), ("Filter", "/FlateDecode"),
                           ("ColorSpace", "/DeviceGray" if colors == 1 else "/DeviceRGB"),
                           ("DecodeParms", f"<</Predictor 15/Colors {colors}/Columns {pixels.shape[1]}>>")):
            doc.xref_set_key(xref, key, value)
        return xref

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 440), "The process is shown in figure 1.", fontsize=12)
    box = pymupdf.Rect(72, 470, 523, 470 + 451 * img.shape[0] / img.shape[1])
    xref = xobject(doc, img[:, :, :3].copy())
    if img.shape[2] == 4:
        doc.xref_set_key(xref, "SMask", f"{xobject(doc, img[:, :, 3].copy())} 0 R")
    page.insert_image(box, xref=xref)
    page.insert_text((72, box.y1 + 20), "Figure 1: the process", fontsize=12)
    if words_over_it:
        page.insert_text((box.x0 + 20, box.y0 + 20), "a word on the picture", fontsize=12)
    return pymupdf.open("pdf", doc.tobytes())


@pytest.mark.parametrize("alpha", [False, True])
def test_a_diagram_pasted_as_flate_png_is_looked_at_from_its_own_data(alpha: bool):
    """Pictures stored as Flate with PNG predictors are decoded by OpenCV for the look, not rendered by MuPDF:
    the verdict is MuPDF's (``bench/glance_check.py`` compares them on all the test sets)."""
    import numpy as np

    img = _a10_pixels()
    if alpha:  # a transparent background
        img = np.dstack([img, np.where(img.min(axis=2) >= 250, 0, 255).astype(np.uint8)])
    page = _flate_png_picture_page(img)[0]
    info = page.get_image_info()
    area = pymupdf.Rect(info[0]["bbox"])
    grey = _glance(page, info, area, 75)
    assert grey is not None
    rendered = page.get_pixmap(dpi=75, clip=area, colorspace=pymupdf.csGRAY, alpha=False)
    assert grey.shape == (rendered.height, rendered.width)
    mupdf = np.frombuffer(rendered.samples, np.uint8).reshape(rendered.height, rendered.width)
    assert np.abs(grey.astype(int) - mupdf).mean() < 2
    assert pictures_may_hold_diagram(page) and pictures_may_hold_diagram(page, decode=False)


def test_the_screenshots_of_a_report_are_looked_at_from_their_own_data():
    for page in pymupdf.open(FIXTURES / "ru_report_p14_18.pdf"):
        info = page.get_image_info()
        area = pymupdf.Rect()
        for i in info:
            area |= pymupdf.Rect(i["bbox"])
        assert _glance(page, info, area, 75) is not None
        assert not pictures_may_hold_diagram(page)


def test_pictures_under_text_or_on_turned_pages_are_rendered_by_mupdf(diagram_as_picture: Path):
    """Text on a picture, a turned page, a picture MuPDF must decode itself (here: stored uncompressed): the
    look renders the area as before."""
    img = _a10_pixels()
    covered = _flate_png_picture_page(img, words_over_it=True)[0]
    turned = _flate_png_picture_page(img)
    turned[0].set_rotation(90)
    for page in (covered, turned[0], pymupdf.open(diagram_as_picture)[0]):
        info = page.get_image_info()
        assert _glance(page, info, pymupdf.Rect(info[0]["bbox"]) * page.rotation_matrix, 75) is None
        assert pictures_may_hold_diagram(page)


def _glance(page: pymupdf.Page, infos: list[dict], area: pymupdf.Rect, dpi: float):
    """The look's grey image of ``area`` drawn from the pictures' own data, or None where MuPDF must render it."""
    from pdf_ocr_pipeline.bpmn.glance import compose, glance_plan

    plan = glance_plan(page, infos, area, dpi)
    return compose(plan) if plan is not None else None


def _a10_pixels():
    import numpy as np

    pix = pymupdf.open(FIXTURES / "A.1.0.pdf")[0].get_pixmap(dpi=150)
    return np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width, 3)[:, :, ::-1]


def test_the_looks_in_threads_find_what_one_page_after_another_finds(tmp_path: Path):
    """``find_diagrams`` in one process looks at pictures in threads beside the page reading: same diagrams, in
    page order, as ``page_diagram`` page by page, on every kind of page the look meets."""
    from pdf_ocr_pipeline.bpmn.document import page_diagram

    doc = pymupdf.open()
    doc.insert_pdf(pymupdf.open(FIXTURES / "ru_report_p14_18.pdf"))  # screenshots: looked at, not searched
    doc.insert_pdf(_flate_png_picture_page(_a10_pixels()))  # a pasted diagram: looked at from its own data
    doc.insert_pdf(pymupdf.open(FIXTURES / "A.1.0.pdf"))  # vector: searched without a look
    doc.new_page().insert_text((72, 72), "plain text, no graphics")
    doc.insert_pdf(pymupdf.open(FIXTURES / "bpmn" / "C.1.1.pdf"))  # a JPEG scan: MuPDF renders the look
    doc.insert_pdf(pymupdf.open(FIXTURES / "ru_report_p14_18.pdf"))
    path = tmp_path / "mixed.pdf"
    doc.save(path)
    doc = pymupdf.open(path)
    page_rows = rows(doc)
    one_by_one = [d for page, row in zip(doc, page_rows) if (d := page_diagram(page, row)) is not None]
    threaded = list(find_diagrams(path, page_rows))
    assert [d.page_no for d in threaded] == [d.page_no for d in one_by_one] == [3, 4, 6]
    assert [(d.method, d.counts()) for d in threaded] == [(d.method, d.counts()) for d in one_by_one]


def test_a_picture_with_broken_data_is_looked_at_by_mupdf(tmp_path: Path):
    """The OpenCV look cannot decode a damaged stream: it says so (``None``) and MuPDF's look decides, in the
    threads as page by page."""
    from pdf_ocr_pipeline.bpmn.document import picture_look

    doc = _flate_png_picture_page(_a10_pixels())
    [(xref, *_)] = doc[0].get_images(full=True)
    keys = {k: doc.xref_get_key(xref, k)[1] for k in ("Filter", "DecodeParms")}
    doc.update_stream(xref, b"\x78\x9c" + b"\x00" * 64, compress=0)  # a zlib header, then garbage
    for k, v in keys.items():
        doc.xref_set_key(xref, k, v)
    path = tmp_path / "broken.pdf"
    doc.save(path)
    page = pymupdf.open(path)[0]
    assert picture_look(page)() is None
    assert pictures_may_hold_diagram(page) == pictures_may_hold_diagram(page, decode=False)
    assert list(find_diagrams(path, rows(pymupdf.open(path)))) == []


def test_without_an_error_handler_a_failed_page_stops_the_search(monkeypatch):
    """Callers that give no ``on_error`` (tests, benchmarks) see the first failure as an error, with its page."""
    from pdf_ocr_pipeline.bpmn import document

    def broken(page, row):
        raise ValueError("broken")

    monkeypatch.setattr(document, "search_page", broken)
    path = FIXTURES / "A.1.0.pdf"
    with pytest.raises(RuntimeError, match="page 1: ValueError: broken"):
        list(find_diagrams(path, rows(pymupdf.open(path))))
    failures = []
    assert list(find_diagrams(path, rows(pymupdf.open(path)), on_error=failures.append)) == []
    assert failures == [document.PageFailure(1, "ValueError: broken")]
