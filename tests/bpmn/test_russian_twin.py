"""Russian twin of a miwg diagram (bench/bpmn_russian.py): the English labels of A.2.0 replaced in the PDF and
the truth by their Russian translations; the vector path must read them as well as the English ones. Also the
two line-order cases of OCR words that Russian labels exposed (x-height words start lower than a capital)."""

import re
import sys
from pathlib import Path

import pymupdf
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.bpmn_eval import SHAPE_CLASSES, _words, score  # noqa: E402
from bench.bpmn_russian import FONT, load_glossary, make_twin  # noqa: E402
from pdf_ocr_pipeline.bpmn.labels import attach_labels, lines_of  # noqa: E402
from pdf_ocr_pipeline.bpmn.parse_truth import parse_bpmn  # noqa: E402
from pdf_ocr_pipeline.bpmn.vector.extract import extract_vector  # noqa: E402

FIX = ROOT / "tests" / "fixtures" / "bpmn"
TF = (0.75, 0.75, 0, 0)


def _vector_score(pdf: Path, bpmn: Path):
    page = pymupdf.open(pdf)[0]
    pred = extract_vector(page, 1, _words(page))
    return pred, score(pred, parse_bpmn(bpmn, transform=TF))


@pytest.mark.skipif(not FONT.exists(), reason="DejaVu Sans not installed")
def test_russian_twin_labels_as_good_as_english(tmp_path):
    info = make_twin(FIX / "A.2.0.pdf", FIX / "A.2.0.bpmn", TF, tmp_path / "ru.pdf", tmp_path / "ru.bpmn",
                     load_glossary())
    assert info["replaced"] == info["labels"] == 8 and not info["left_english"]
    en_truth, ru_truth = parse_bpmn(FIX / "A.2.0.bpmn"), parse_bpmn(tmp_path / "ru.bpmn")
    # the truth keeps ids and DI; every name is Russian
    assert [(e.id, e.box) for e in en_truth.elements] == [(e.id, e.box) for e in ru_truth.elements]
    ru_labels = [e.label for e in ru_truth.elements if e.label]
    assert len(ru_labels) == 8 and all(re.search("[а-я]", t) and not re.search("[A-Za-z]", t) for t in ru_labels)
    assert "Шлюз (слияние потоков)" in ru_labels
    _, en = _vector_score(FIX / "A.2.0.pdf", FIX / "A.2.0.bpmn")
    pred, ru = _vector_score(tmp_path / "ru.pdf", tmp_path / "ru.bpmn")
    assert ru.labels == en.labels == 8
    assert ru.exact / ru.labels >= en.exact / en.labels - 0.13  # at most one label worse than English
    assert ru.exact >= 7 and ru.cer_sum / ru.labels < 0.05
    assert ru.prf(SHAPE_CLASSES)[2] == en.prf(SHAPE_CLASSES)[2] == 1.0
    got = [e.label for e in pred.elements if e.label]
    assert got and all(not re.search("[A-Za-z]", t) for t in got)


def test_ocr_line_order_with_x_height_words():
    # Tesseract boxes are tight to the ink: "событие" (starts at x-height... but б rises) and the digit start
    # higher than the capital word left of them; the line still reads left to right
    words = [("Начальное", (121.0, 196.8, 168.0, 203.5)), ("событие", (171.8, 196.3, 208.8, 203.0)),
             ("1", (212.6, 196.8, 216.5, 203.0))]
    assert [[w[0] for w in ln] for ln in lines_of(words)] == [["Начальное", "событие", "1"]]
    # two rows a few points apart stay two lines (overlapping labels of the English B.2.0)
    rows = [("Gateway", (674.2, 1033.1, 705.8, 1042.0)), ("End", (708.6, 1030.0, 722.8, 1038.9))]
    assert len(lines_of(rows)) == 2


def test_label_rows_inside_a_task_in_reading_order():
    class Task:
        type, box, label, label_box = "task", (130.0, 570.0, 200.0, 610.0), "", None
    t = Task()
    # a short OCR box for the first row (4.3 pt) and a taller one below: rows keep their order
    attach_labels([t], [], [("Пользовательская", (135.8, 581.3, 189.1, 585.6)),
                            ("задача", (150.2, 588.5, 169.4, 592.3)), ("5", (172.3, 587.5, 174.7, 591.8))])
    assert t.label == "Пользовательская задача 5"
