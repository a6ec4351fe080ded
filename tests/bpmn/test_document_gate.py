"""The page gate before the raster search: pictures that cannot hold a diagram are skipped cheaply, and raster
diagrams (a scanned page, a diagram embedded as a picture in a text page) still reach the search and are found."""

from pathlib import Path

import pymupdf
import pytest

from pdf_ocr_pipeline.bpmn.document import find_diagrams, pictures_may_hold_diagram

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
    assert diagram.method == "raster" and len(diagram.shapes) >= 8


def test_a_diagram_embedded_as_a_picture_is_searched_and_found(diagram_as_picture: Path):
    doc = pymupdf.open(diagram_as_picture)
    assert pictures_may_hold_diagram(doc[0])
    [diagram] = find_diagrams(diagram_as_picture, rows(doc))
    assert diagram.method == "raster" and len(diagram.shapes) >= 4


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
    assert diagram.method == "raster" and len(diagram.shapes) >= 8
