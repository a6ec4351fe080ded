"""Data objects and data stores read off their holes (``bpmn/raster/artifacts.py``)."""

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from pdf_ocr_pipeline.bpmn.raster.artifacts import (cylinder_dip, data_object_prim, data_store_prim,  # noqa: E402
                                                    dog_ear)
from pdf_ocr_pipeline.bpmn.recognise.shapes import classify  # noqa: E402


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


def _ink_fixture(name: str) -> np.ndarray:
    from tests.bpmn.conftest import BPMN_FIXTURES
    img = cv2.imread(str(BPMN_FIXTURES / name), cv2.IMREAD_GRAYSCALE)
    return np.where(img > 127, 255, 0).astype(np.uint8)


def _typed_holes(ink: np.ndarray) -> list[str]:
    from pdf_ocr_pipeline.bpmn.raster.extract import _holes
    dist = cv2.distanceTransform(ink, cv2.DIST_L2, 3)
    shapes, _ = classify([p for p, _, _, _ in _holes(ink, dist, 72 / 150)])
    return [s.type for s in shapes]


@pytest.mark.parametrize("name", ["raster_ink_data_store_b10.png", "raster_ink_data_store_b20.png"])
def test_a_flat_topped_body_under_the_merged_arcs_of_a_real_store_is_a_data_store(name):
    # B.1.0 / B.2.0 at 150 dpi + noise: the three top arcs merge into one band, the body's hole is flat-topped
    from pdf_ocr_pipeline.bpmn.raster.artifacts import cylinder_band
    ink = _ink_fixture(name)
    contours, hier = cv2.findContours(ink, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    hole = max((c for i, c in enumerate(contours) if hier[0][i][3] >= 0), key=cv2.contourArea)
    assert cylinder_dip(hole.reshape(-1, 2).astype(float)) is None   # no dip: the old test missed it
    band = cylinder_band(hole.reshape(-1, 2).astype(float), ink, 3.0)
    assert band is not None and 10 <= band <= 18                      # the truth's top lies 13 px above
    assert "dataStoreReference" in _typed_holes(ink)


def test_real_and_drawn_tasks_are_no_flat_topped_stores():
    ink = _ink_fixture("raster_ink_task_b10.png")          # B.1.0's "Abstract Task 4", same render
    assert "dataStoreReference" not in _typed_holes(ink)
    from pdf_ocr_pipeline.bpmn.raster.artifacts import cylinder_band

    def hole_of(img):
        contours, hier = cv2.findContours(img, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
        return max((c for i, c in enumerate(contours) if hier[0][i][3] >= 0), key=cv2.contourArea).reshape(-1, 2)

    def task(thick_top: bool):
        img = np.zeros((120, 160), np.uint8)
        cv2.rectangle(img, (20, 20), (140, 100), 255, 3)
        img = cv2.morphologyEx(img, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
        inner = np.zeros_like(img)
        cv2.rectangle(inner, (22, 22), (138, 98), 255, -1)
        # rounded inner corners (radius 8)
        for cx, cy in ((30, 30), (130, 30), (130, 90), (30, 90)):
            inner[cy - 8:cy + 9, cx - 8:cx + 9][:] = 0
            cv2.circle(inner, (cx, cy), 8, 255, -1)
        cv2.rectangle(inner, (30, 22), (130, 98), 255, -1)
        cv2.rectangle(inner, (22, 30), (138, 90), 255, -1)
        img = np.where(inner > 0, 0, 255).astype(np.uint8)
        img[:18] = 0
        img[:, :18] = 0
        img[:, 143:] = 0
        img[103:] = 0
        if thick_top:                                       # a heavy rule along its top (a lane border)
            img[10:24, 18:143] = 255
        return img
    for thick in (False, True):
        img = task(thick)
        assert cylinder_band(hole_of(img).astype(float), img, 3.0) is None
