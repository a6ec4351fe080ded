"""The committed ONNX detector (issue 16) on three fixed pictures, through the pipeline's picture reader: a render,
a noisy rotated scan and a phone photo of a sketch. Scored as ``bench/bpmn_eval.py`` scores; the floors sit just
under what the committed model measured on them (the figure measured is in the comment)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")
cv2 = pytest.importorskip("cv2")
pymupdf = pytest.importorskip("pymupdf")

from bench.bpmn_detector.dataset import hd_scale  # noqa: E402
from bench.bpmn_eval import FLOW_CLASSES, SHAPE_CLASSES, score  # noqa: E402
from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn  # noqa: E402
from pdf_ocr_pipeline.bpmn.raster.detector.extract import (extract_detected, extract_picture,  # noqa: E402
                                                           picture_reader)
from pdf_ocr_pipeline.bpmn.raster.detector.runtime import MODEL_PATH, load  # noqa: E402

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"
SAMPLE = FIX / "corpus" / "sample"


def _page_png(pdf: Path, dpi: float) -> tuple[bytes, float, float]:
    with pymupdf.open(pdf) as doc:
        page = doc[0]
        return page.get_pixmap(dpi=int(dpi)).tobytes("png"), page.rect.width, page.rect.height


def _f1(pred, truth) -> tuple[float, float]:
    s = score(pred, truth)
    return s.prf(SHAPE_CLASSES)[2], s.prf(FLOW_CLASSES)[2]


def test_the_model_is_committed_and_describes_itself():
    assert MODEL_PATH.exists() and MODEL_PATH.stat().st_size < 50e6
    assert (MODEL_PATH.parent / "MODEL_CARD.md").exists()
    meta = load().metadata
    assert meta["classes"].split(",")[:3] == ["task", "subProcess", "startEvent"] and meta["stride"] == "4"


@pytest.mark.parametrize("stem, dpi, floors", [
    ("ex00_writer0034-default-vector", 100, (0.97, 0.97)),   # measured 1.000 / 1.000
    ("ex00_writer0034-default-scan", 120, (0.97, 0.97)),     # measured 1.000 / 1.000
])
def test_render_and_scan(stem, dpi, floors):
    png, w, h = _page_png(SAMPLE / f"{stem}.pdf", dpi)
    pred = extract_detected(png, [], page_no=1, dpi=dpi, width=w, height=h)
    assert {e.method for e in pred.elements} == {"detector"}
    shapes, flows = _f1(pred, parse_bpmn(SAMPLE / f"{stem}.truth.bpmn"))
    assert shapes >= floors[0] and flows >= floors[1], (shapes, flows)


def test_photo_of_a_sketch():
    img = FIX / "detector" / "ex03_writer0059.jpg"
    ann = FIX / "detector" / "ex03_writer0059.bpmn"
    gray = cv2.imread(str(img), cv2.IMREAD_GRAYSCALE)
    k = hd_scale(ann, gray.shape[1])
    pred = extract_detected(gray, [], page_no=1, dpi=72.0)  # points = the photo's pixels, as the truth's
    truth = parse_bpmn(ann, transform=(k, k, 0, 0))
    shapes, flows = _f1(pred, truth)
    assert shapes >= 0.96 and flows >= 0.81, (shapes, flows)  # measured 0.986 / 0.835


def test_the_pipeline_reads_pictures_with_the_detector_unless_told(monkeypatch):
    png, w, h = _page_png(SAMPLE / "ex00_writer0034-default-scan.pdf", 120)
    monkeypatch.delenv("PDF_OCR_BPMN_PICTURES", raising=False)
    assert picture_reader() == "detector"
    assert {e.method for e in extract_picture(png, [], page_no=1, dpi=120, width=w, height=h).elements} == {"detector"}
    monkeypatch.setenv("PDF_OCR_BPMN_PICTURES", "rules")
    assert {e.method for e in extract_picture(png, [], page_no=1, dpi=120, width=w, height=h).elements} == {"raster"}
    monkeypatch.setenv("PDF_OCR_BPMN_PICTURES", "yolo")
    with pytest.raises(ValueError, match="PDF_OCR_BPMN_PICTURES"):
        picture_reader()


def test_the_model_cards_figures_on_the_committed_sample(tmp_path):
    """MODEL_CARD.md states the committed model's figures on the committed corpus sample (a validation model, never
    trained on, in every renderer and variant); ``bench/bpmn_detector/evaluate.py`` reproduces them."""
    from bench.bpmn_detector import dataset as ds
    from bench.bpmn_detector.evaluate import dataset_pages, figures, run
    card = (MODEL_PATH.parent / "MODEL_CARD.md").read_text(encoding="utf-8")
    m = re.search(r"committed sample \(15 pages\).*?shapes F1\s+\*\*([0-9.]+)\*\*,\s+flows F1\s+\*\*([0-9.]+)\*\*",
                  card, re.S)
    assert m, "MODEL_CARD.md names the sample's figures"
    ds.build(SAMPLE, tmp_path, size=1024, val_percent=0, workers=1, log=lambda s: None)
    res = run(dataset_pages(tmp_path, "train", [SAMPLE]), None, rules=False, words="none", threshold=0.35,
              group=[], ocr_cache=None, log=lambda s: None)
    f = figures(res["all"]["det"])
    assert res["all"]["pages"] == 15
    assert f["shapes_f1"] == pytest.approx(float(m.group(1)), abs=0.0015)
    assert f["flows_f1"] == pytest.approx(float(m.group(2)), abs=0.0015)
