"""Shaded artifacts read off an edge map (``bpmn/raster/shaded.py``) and message flows on artifacts retyped
(``bpmn/raster/links.py``), on the real C.1.1 JPEG page (grey-gradient data objects with a light outline)."""

from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
pymupdf = pytest.importorskip("pymupdf")

from pdf_ocr_pipeline.bpmn import geometry as g  # noqa: E402
from pdf_ocr_pipeline.bpmn.model import BpmnDiagram, BpmnElement  # noqa: E402
from pdf_ocr_pipeline.bpmn.raster.artifacts import dog_ear  # noqa: E402
from pdf_ocr_pipeline.bpmn.raster.ink import binarize  # noqa: E402
from pdf_ocr_pipeline.bpmn.raster.links import artifact_links  # noqa: E402
from pdf_ocr_pipeline.bpmn.raster.shaded import edge_map, edge_regions, fill_contrast, shaded_artifacts  # noqa: E402

C11 = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "C.1.1.pdf"
SCALE = 72 / 150
# the three data objects of C.1.1 (points, at the page's own frame), read off the page image by eye
DATA_OBJECTS = [(134, 229, 166, 259), (461, 229, 492, 259), (287, 385, 319, 415)]


@pytest.fixture(scope="module")
def c11() -> np.ndarray:
    pix = pymupdf.open(C11)[0].get_pixmap(dpi=150, colorspace="gray")
    return np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width).copy()


def _px(b):
    return tuple(int(round(v / SCALE)) for v in b)


def test_the_binarisation_loses_a_shaded_data_object_but_the_edge_map_closes_it(c11):
    x0, y0, x1, y1 = _px(g.expand(DATA_OBJECTS[0], 4))
    ink = binarize(c11)[y0:y1, x0:x1]
    contours, hier = cv2.findContours(ink, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    ink_holes = [c.reshape(-1, 2) for i, c in enumerate(contours) if hier[0][i][3] >= 0 and
                 min(cv2.boundingRect(c)[2:]) >= 16]
    assert not any(dog_ear(h) is not None for h in ink_holes)       # the gradient's dark end fills the hole
    regions = edge_regions(edge_map(c11[y0:y1, x0:x1]), SCALE)
    page = max(regions, key=cv2.contourArea)
    assert dog_ear(page) == 1                                        # top right corner folded
    assert fill_contrast(c11[y0:y1, x0:x1], page) > 40              # grey fill on a near-white page


def test_the_three_shaded_data_objects_of_c11_are_found_where_they_are(c11):
    found = shaded_artifacts(c11, SCALE, [])
    assert len(found) == 3
    for prim, contour in found:
        assert prim.lines == 5 and prim.closed                        # a page outline with its corner cut
        assert max(g.iou(prim.box, b) for b in DATA_OBJECTS) > 0.85
        assert cv2.contourArea(contour) * SCALE ** 2 > 0.7 * g.area(prim.box)


def test_a_region_a_found_shape_covers_is_left_to_the_ink_path_but_a_pool_may_hold_it(c11):
    pool = (20.0, 100.0, 820.0, 500.0)
    taken = [pool, g.expand(DATA_OBJECTS[1], 2), g.expand(DATA_OBJECTS[2], 6)]  # the 2nd found, the 3rd in a box
    found = shaded_artifacts(c11, SCALE, taken)
    assert [max(range(3), key=lambda i: g.iou(p.box, DATA_OBJECTS[i])) for p, _ in found] == [0]


def test_unfilled_and_near_black_regions_are_no_shaded_artifacts():
    page = np.full((160, 160), 250, np.uint8)
    outline = np.array([[40, 30], [85, 30], [110, 55], [110, 130], [40, 130]], np.int32)
    cv2.polylines(page, [outline], True, 150, 1)                     # a light outline, no fill
    assert shaded_artifacts(page, 0.5, []) == []
    dark = page.copy()
    cv2.fillPoly(dark, [outline], 30)                                # a filled black mark
    assert shaded_artifacts(dark, 0.5, []) == []
    shaded = page.copy()
    for y in range(30, 131):                                         # the same page, grey gradient fill
        cv2.line(shaded, (40, y), (110, y), int(235 - 0.8 * (y - 30)), 1)
    cv2.fillPoly(shaded, [np.array([[86, 29], [111, 29], [111, 54]], np.int32)], 250)  # the cut corner
    cv2.polylines(shaded, [outline], True, 150, 1)
    found = shaded_artifacts(shaded, 0.5, [])
    assert len(found) == 1 and found[0][0].lines == 5


def test_a_gradient_filled_cylinder_is_a_data_store():
    from pdf_ocr_pipeline.bpmn.recognise.shapes import classify
    img = np.full((200, 200), 250, np.uint8)
    body = np.zeros_like(img)
    cv2.rectangle(body, (50, 50), (130, 140), 255, -1)
    cv2.ellipse(body, (90, 50), (40, 12), 0, 0, 360, 255, -1)
    cv2.ellipse(body, (90, 140), (40, 12), 0, 0, 180, 255, -1)
    for y in range(30, 160):                                         # grey gradient, darker downwards
        img[y, body[y] > 0] = int(230 - 0.6 * (y - 30))
    cv2.ellipse(img, (90, 50), (40, 12), 0, 0, 360, 150, 1)          # light outline: top ellipse, sides, bottom
    cv2.ellipse(img, (90, 140), (40, 12), 0, 0, 180, 150, 1)
    cv2.line(img, (50, 50), (50, 140), 150, 1)
    cv2.line(img, (130, 50), (130, 140), 150, 1)
    found = shaded_artifacts(img, 0.5, [])
    assert len(found) == 1
    shapes, _ = classify([found[0][0]])
    assert [s.type for s in shapes] == ["dataStoreReference"]
    assert g.iou(shapes[0].box, (25.0, 19.0, 65.0, 76.0)) > 0.8         # the whole cylinder, points


def test_message_flows_on_artifacts_become_associations_and_others_stay():
    els = (BpmnElement("Task_1", "task", box=(0, 0, 90, 70)), BpmnElement("Task_2", "task", box=(200, 0, 290, 70)),
           BpmnElement("DataObjectReference_1", "dataObjectReference", box=(30, 120, 60, 150)),
           BpmnElement("TextAnnotation_1", "textAnnotation", box=(200, 120, 260, 140)),
           BpmnElement("MessageFlow_1", "messageFlow", source_id="DataObjectReference_1", target_id="Task_1"),
           BpmnElement("MessageFlow_2", "messageFlow", source_id="Task_1", target_id="Task_2"),
           BpmnElement("MessageFlow_3", "messageFlow", source_id="Task_2", target_id="TextAnnotation_1"))
    d = artifact_links(BpmnDiagram(page_no=1, width=300, height=200, elements=els, method="raster"))
    assert [(e.id, e.type) for e in d.flows] == [("DataInputAssociation_1", "dataInputAssociation"),
                                                 ("MessageFlow_2", "messageFlow"),
                                                 ("Association_3", "association")]


def test_c11_links_each_data_object_to_its_task_by_an_association(c11):
    from pdf_ocr_pipeline.bpmn.raster.extract import extract_raster
    # the labels under the data objects, as Tesseract boxes them (points)
    words = [("approver", (130.6, 264.5, 172.3, 273.1)), ("clarified", (458.9, 262.1, 494.9, 270.2)),
             ("approved", (282.2, 420.5, 325.9, 431.5))]
    d = extract_raster(c11, words, page_no=1, dpi=150)
    types = {e.id: e.type for e in d.elements}
    data = [e for e in d.shapes if e.type == "dataObjectReference"]
    assert len(data) == 3
    links = [e for e in d.flows if {types.get(e.source_id), types.get(e.target_id)} & {"dataObjectReference"}]
    assert len(links) == 3 and all("ssociation" in e.type for e in links)
    assert {e.source_id for e in links} | {e.target_id for e in links} >= {e.id for e in data}
