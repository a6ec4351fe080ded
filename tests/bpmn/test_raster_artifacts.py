"""Data objects and data stores read off their holes (``bpmn/raster_artifacts.py``)."""

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from pdf_ocr_pipeline.bpmn.raster_artifacts import (cylinder_dip, data_object_prim, data_store_prim,  # noqa: E402
                                                    dog_ear)
from pdf_ocr_pipeline.bpmn.shapes import classify  # noqa: E402


def _hole(draw, size=(160, 160)) -> np.ndarray:
    img = np.zeros(size, np.uint8)
    draw(img)
    contours, hier = cv2.findContours(img, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    holes = [c for i, c in enumerate(contours) if hier[0][i][3] >= 0]
    return max(holes, key=cv2.contourArea).reshape(-1, 2).astype(float)


def test_a_page_with_a_folded_corner_is_a_data_object_and_a_rounded_task_is_not():
    def page(img):
        cv2.polylines(img, [np.array([[40, 30], [85, 30], [105, 50], [105, 120], [40, 120]], np.int32)], True, 255, 2)
        cv2.polylines(img, [np.array([[85, 30], [85, 50], [105, 50]], np.int32)], False, 255, 2)   # the fold
    assert dog_ear(_hole(page)) == 1
    task = _hole(lambda img: cv2.rectangle(img, (20, 40), (140, 110), 255, 2))
    assert dog_ear(task) is None      # wider than tall, four sharp corners
    p = data_object_prim((10.0, 10.0, 32.0, 40.0), 1, 1.0, 0)
    shapes, _ = classify([p])
    assert [s.type for s in shapes] == ["dataObjectReference"]


def test_a_body_whose_top_dips_is_a_data_store():
    def store(img):
        cv2.ellipse(img, (80, 50), (40, 10), 0, 0, 360, 255, 2)        # the top ellipse
        cv2.line(img, (40, 50), (40, 110), 255, 2)
        cv2.line(img, (120, 50), (120, 110), 255, 2)
        cv2.ellipse(img, (80, 110), (40, 10), 0, 0, 180, 255, 2)       # the bottom arc
    dip = cylinder_dip(_hole(store))
    assert dip is not None and 5 <= dip <= 12
    shapes, _ = classify([data_store_prim((10.0, 20.0, 40.0, 45.0), 3.0, 1.0, 0)])
    assert [s.type for s in shapes] == ["dataStoreReference"]
    assert cylinder_dip(_hole(lambda img: cv2.rectangle(img, (20, 40), (140, 110), 255, 2))) is None
