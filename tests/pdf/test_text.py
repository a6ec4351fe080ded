from pathlib import Path

import pymupdf
import pytest

from pdf_ocr_pipeline.pdf.text import page_text, page_words


def test_words_carry_boxes_in_points(fixtures: Path):
    with pymupdf.open(fixtures / "A.1.0.pdf") as doc:
        words = page_words(doc[0])
        assert {"Start", "Event", "Task", "1"} <= {w.text for w in words}
        assert all(0 <= w.x0 < w.x1 <= doc[0].rect.width for w in words)


def test_words_follow_page_rotation(tmp_path: Path, fixtures: Path):
    doc = pymupdf.open(fixtures / "A.1.0.pdf")
    before = {w.text: w for w in page_words(doc[0])}
    height = doc[0].rect.height
    doc[0].set_rotation(90)
    after = {w.text: w for w in page_words(doc[0])}
    # Turning the page 90 degrees clockwise maps (x, y) to (height - y, x).
    b, a = before["Start"], after["Start"]
    assert a.x0 == pytest.approx(height - b.y1, abs=0.5)
    assert a.y0 == pytest.approx(b.x0, abs=0.5)


def test_page_text_is_in_reading_order(fixtures: Path):
    with pymupdf.open(fixtures / "ru_report_p3-5_7.pdf") as doc:
        text = page_text(doc[0])
    assert text.startswith("РЕФЕРАТ")
